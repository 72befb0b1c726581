"""Validation of a user's copy of a real data set: the problems found, each naming a file and a fix."""
from __future__ import annotations


def check_dataset(name: str, root: str) -> list[str]:
    if name == "cityscapes":
        from .cityscapes import check_layout

        problems = check_layout(root, "train")
        return problems or check_layout(root, "val")
    raise ValueError(f"no checker for data set {name!r}; known: cityscapes")
