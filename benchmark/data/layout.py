"""Checking a user's copy of a real data set, shared by the loaders of ``benchmark.data``.

* :func:`first_missing` -- the first problem of a copy: ROOT absent, then the first required file or
  folder (:class:`Need`) absent, with a hint when its name lies a few levels off (:func:`find_hint`);
* :class:`Report` -- problems that each read ``"<title>: <what>"`` followed by the lines saying where
  the data set was looked for and where to get it; :meth:`Report.run` adds the common first check
  (ROOT is a folder);
* :func:`name_first` / :func:`missing_lines` -- the first :data:`MAX_LISTED` missing paths named, then
  a count of the others;
* :func:`split_train_val` -- ``train.txt`` / ``val.txt`` name lists, or the last 20% of names as ``val``;
  :func:`pick_names` -- the names of one split (or those given).
"""
from __future__ import annotations

import math
import os
from typing import Callable, Iterable, NamedTuple, Sequence

__all__ = ["MAX_LISTED", "find_hint", "Need", "first_missing", "raise_not_found", "Report", "name_first",
           "missing_lines", "read_names", "split_train_val", "pick_names", "listed_but_absent"]

MAX_LISTED = 20   # missing files named one by one in a check; the rest are counted


def find_hint(root, name: str, max_depth: int = 3) -> str:
    """`` (found NAME at P: is ROOT one level off?)`` when ``name`` lies a few levels below ``root``."""
    root = str(root)
    if not os.path.isdir(root):
        return ""
    base_depth = root.rstrip(os.sep).count(os.sep)
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath.count(os.sep) - base_depth >= max_depth:
            dirnames[:] = []
        dirnames.sort()
        if name in filenames or name in dirnames:
            found = os.path.join(dirpath, name)
            return f" (a {name} was found at {found}: move it to the expected place or fix ROOT)"
    return ""


class Need(NamedTuple):
    """A file (or, ``folder=True``, a folder) that a copy must have, for :func:`first_missing`.

    Its problem reads ``missing [folder ]PATH<expected><hint>. <fix>``: ``expected`` e.g.
    ``" (expected ROOT/x/<name>.avi)"``; ``hint``: :func:`find_hint` for the path's base name;
    ``fix``: None for the data set's how-to-get line."""
    path: str
    folder: bool = False
    expected: str = ""
    hint: bool = True
    fix: str | None = None


def first_missing(title: str, root: str, how_to_get: str, needs: Iterable[Need]) -> str | None:
    """``"<title> root directory ROOT does not exist. <how_to_get>"``, else the problem of the first of
    ``needs`` (taken one at a time: a generator is only advanced while ROOT and the earlier ones exist)
    that is absent; None when everything is there."""
    if not os.path.isdir(root):
        return f"{title} root directory {root} does not exist. {how_to_get}"
    for need in needs:
        if not (os.path.isdir(need.path) if need.folder else os.path.isfile(need.path)):
            hint = find_hint(root, os.path.basename(need.path)) if need.hint else ""
            fix = how_to_get if need.fix is None else need.fix
            return f"missing {'folder ' if need.folder else ''}{need.path}{need.expected}{hint}. {fix}"
    return None


def raise_not_found(title: str, root: str, problem: str | None) -> None:
    """``FileNotFoundError("<title> not found: <problem>\\n  root: ROOT")`` unless ``problem`` is None."""
    if problem is not None:
        raise FileNotFoundError(f"{title} not found: {problem}\n  root: {root}")


class Report:
    """Problems of one copy, each ``"<title>: <what>"`` then the three lines ``root:``, ``expected:``
    (the main paths of the layout) and ``get:`` (where to get the data set)."""

    def __init__(self, title: str, root, expected: str, get: str):
        self.title = title
        self.where = f"  root: {root}\n  expected: {expected}\n  get: {get}"
        self.problems: list[str] = []

    def message(self, what: str) -> str:
        return f"{self.title}: {what}\n{self.where}"

    def add(self, what: str) -> None:
        self.problems.append(self.message(what))

    def add_all(self, whats: Iterable[str]) -> None:
        for what in whats:
            self.add(what)

    def not_found(self, what: str) -> FileNotFoundError:
        """The error a loader raises for a missing part of the layout (same text as a problem)."""
        return FileNotFoundError(self.message(what))

    def run(self, root: str, check: Callable[[str, "Report"], None]) -> list[str]:
        """The problems: ``folder ROOT not found``, else those that ``check(root, self)`` adds."""
        if not os.path.isdir(root):
            self.add(f"folder {root} not found")
        else:
            check(root, self)
        return self.problems


def name_first(items: Sequence, line: Callable[[object], str], more: Callable[[int], str],
               limit: int = MAX_LISTED) -> list[str]:
    """``line(item)`` for the first ``limit`` items, then ``more(number of the others)`` if any."""
    out = [line(x) for x in items[:limit]]
    if len(items) > limit:
        out.append(more(len(items) - limit))
    return out


def missing_lines(missing: Sequence[str], total: int, kind: str, listed_in: str, how_to_get: str,
                  limit: int = MAX_LISTED) -> list[str]:
    """``missing <kind> P (listed in <listed_in>); <how_to_get>`` for the first ``limit`` paths, then
    ``... and N more missing <kind>s (<missing> of <total>)``."""
    return name_first(missing, lambda p: f"missing {kind} {p} (listed in {listed_in}); {how_to_get}",
                      lambda n: f"... and {n} more missing {kind}s ({len(missing)} of {total})", limit)


def read_names(path: str) -> list[str]:
    """The non-blank lines of a name list (``train.txt``), stripped."""
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip()]


def split_train_val(root: str, names: Sequence[str], val_fraction: float) -> dict[str, list[str]]:
    """``{"train": [...], "val": [...]}``: ``ROOT/train.txt`` / ``ROOT/val.txt`` when either is there (an
    absent one lists nothing); otherwise ``names`` in their order, the last ``val_fraction`` of them
    (rounded, at least one when there are two or more) ``val``."""
    files = {s: os.path.join(root, f"{s}.txt") for s in ("train", "val")}
    if any(os.path.isfile(p) for p in files.values()):
        return {s: (read_names(p) if os.path.isfile(p) else []) for s, p in files.items()}
    n_val = 0 if len(names) < 2 else max(1, int(math.floor(val_fraction * len(names) + 0.5)))
    return {"train": names[:len(names) - n_val], "val": names[len(names) - n_val:]}


def pick_names(title: str, splits: dict[str, list[str]], split: str, names: Iterable[str] | None) -> list[str]:
    """``names`` when given, else those of ``split`` (ValueError listing the splits when it is not one)."""
    if names is None and split not in splits:
        raise ValueError(f"{title} split must be one of {sorted(splits)}, got {split!r}")
    return list(names) if names is not None else splits[split]


def listed_but_absent(root: str, splits: dict[str, list[str]], known: Iterable[str]) -> list[tuple[str, str]]:
    """``(name, ROOT/<split>.txt)`` for every name of a split list that is not among ``known``."""
    known = set(known)
    return [(name, os.path.join(root, split + ".txt")) for split, names in splits.items() for name in names
            if name not in known]
