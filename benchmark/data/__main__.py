"""``python -m benchmark.data``: check a copy of a real data set, or list the registered ones.

    python -m benchmark.data check NAME --root PATH
        no folder at PATH -> one line naming it and the fix, exit 2
        problems -> each printed, exit 1 (the first line names the first expected file/folder not found)
        a good copy -> samples per split, exit 0
        unknown NAME -> the known names, exit 2
    python -m benchmark.data list
        title, where to get it and the expected layout of every registered data set

:func:`readme_section` renders the same information as the README's Markdown data section.
"""
from __future__ import annotations

import argparse
import os
import sys

from .registry import get, load_all

__all__ = ["main", "readme_section"]


def readme_section() -> str:
    """Markdown for every registered data set (title, name, where to get it, layout, check command)."""
    lines = ["## Data sets", "",
             "Check a copy before training: `python -m benchmark.data check NAME --root PATH` "
             "(exit 0 and the samples per split when the copy is complete).", ""]
    for name, info in sorted(load_all().items()):
        lines += [f"### {info.title} (`{name}`)", "", f"Get: {info.get}", "", "Layout:", "", "```"]
        lines += info.layout.splitlines()
        lines += ["```", "", f"Check: `python -m benchmark.data check {name} --root PATH`", ""]
    return "\n".join(lines).rstrip() + "\n"


def _list() -> int:
    for name, info in sorted(load_all().items()):
        print(f"{name}: {info.title}")
        print(f"  get: {info.get}")
        for ln in info.layout.splitlines():
            print(f"  {ln}")
        print()
    return 0


def _check(name: str, root: str) -> int:
    try:
        info = get(name)
    except KeyError:
        print(f"error: unknown data set {name!r}; known: {', '.join(sorted(load_all()))}", file=sys.stderr)
        return 2
    if not os.path.isdir(root):
        print(f"error: no folder at {root}: pass --root the folder that holds your copy of {name} "
              f"(its layout: python -m benchmark.data list)", file=sys.stderr)
        return 2
    problems = info.check(root)
    if problems:
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s) with {info.title} at {root}", file=sys.stderr)
        return 1
    counts = info.counts(root)
    print(f"{info.title} at {root}: OK")
    for split, n in counts.items():
        print(f"  {split}: {n}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmark.data", description="Check or list the real data sets.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="check a copy of data set NAME under --root")
    c.add_argument("name")
    c.add_argument("--root", required=True)
    sub.add_parser("list", help="list the registered data sets (title, where to get it, layout)")
    sub.add_parser("readme", help="print the README data section (Markdown)")
    args = ap.parse_args(argv)
    if args.cmd == "check":
        return _check(args.name, args.root)
    if args.cmd == "readme":
        print(readme_section(), end="")
        return 0
    return _list()


if __name__ == "__main__":
    sys.exit(main())
