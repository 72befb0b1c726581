"""Validation of a user's copy of a real data set: the problems found, each naming a file and a fix."""
from __future__ import annotations

from .registry import get


def check_dataset(name: str, root: str) -> list[str]:
    return get(name).check(root)
