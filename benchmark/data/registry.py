"""One entry per real data set: where users get it, the layout expected, how to check a copy.

Each data-set module registers a ``DatasetInfo`` at import time with one
``register_dataset(name, title, get, layout, check, counts)`` call. ``python -m benchmark.data check
NAME --root PATH`` and ``benchmark.run --data-root`` use ``check(name, root)``; the README's data
section is built from ``DATASETS``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

# Modules that register a data set (each calls ``register_dataset`` once at import).
MODULES = ("cityscapes", "ucf101", "hmdb51", "kinetics", "kth", "vw300", "nvgesture", "commaai", "livi", "radar", "masks")


@dataclass(frozen=True)
class DatasetInfo:
    name: str                                   # "ucf101"
    title: str                                  # "UCF-101"
    get: str                                    # where users get it (one line)
    layout: str                                 # the expected layout under ROOT (a few lines)
    check: Callable[[str], list[str]]           # root -> problems (empty = fine), each naming a file + fix
    counts: Callable[[str], dict[str, int]]     # root -> samples per split (for a good copy)


DATASETS: dict[str, DatasetInfo] = {}


def register(info: DatasetInfo) -> DatasetInfo:
    DATASETS[info.name] = info
    return info


def register_dataset(name: str, title: str, get: str, layout: str, check: Callable[[str], list[str]],
                     counts: Callable[[str], dict[str, int]]) -> DatasetInfo:
    """``register(DatasetInfo(...))``: the call a data-set module makes once, at import."""
    return register(DatasetInfo(name, title, get, layout, check, counts))


def load_all() -> dict[str, DatasetInfo]:
    for m in MODULES:
        try:
            importlib.import_module(f"benchmark.data.{m}")
        except ModuleNotFoundError as e:  # a module not written yet: its data set is simply absent
            if e.name != f"benchmark.data.{m}":
                raise
    return DATASETS


def get(name: str) -> DatasetInfo:
    load_all()
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]
