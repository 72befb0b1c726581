"""Inspection command: a model's parameters by part.

    python -m models.summary prernn_sih_vgg16_lstm_fc6 --kw num_classes=136
    python -m models.summary prernn_vgg16_lstm_fc6 --meta      # true size, nothing allocated

Parts are found by attribute name: ``backbone`` (or ``encoder``), ``rnn``, ``head`` (or ``classifier``);
parameters outside them, if any, get an ``other`` row. ``new_rnn`` is the recurrent layers' newly
introduced weights (PreRNN Table 3's count, ``models.prernn.new_recurrent_parameters``).
"""
from __future__ import annotations

import argparse
import ast
import sys
from typing import Sequence

import pandas as pd
import torch
import torch.nn as nn

PARTS = {"backbone": ("backbone", "encoder"), "rnn": ("rnn",), "head": ("head", "classifier")}


def _part(model: nn.Module, names: Sequence[str]) -> nn.Module | None:
    for n in names:
        m = getattr(model, n, None)
        if isinstance(m, nn.Module):
            return m
    return None


def parameter_table(model: nn.Module) -> pd.DataFrame:
    """Rows backbone, rnn, head (other if any), total; columns params and params_M (millions)."""
    seen: set[int] = set()
    rows: dict[str, int] = {}
    for part, names in PARTS.items():
        m = _part(model, names)
        n = 0
        if m is not None:
            for p in m.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    n += p.numel()
        rows[part] = n
    rest = sum(p.numel() for p in model.parameters() if id(p) not in seen)
    if rest:
        rows["other"] = rest
    rows["total"] = sum(p.numel() for p in model.parameters())
    df = pd.DataFrame({"params": pd.Series(rows, dtype="int64")})
    df["params_M"] = (df["params"] / 1e6).round(3)
    df.index.name = "part"
    return df


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    from .prernn import new_recurrent_parameters
    from .registry import create_model

    ap = argparse.ArgumentParser(prog="python -m models.summary", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a registered model name (models.list_models())")
    ap.add_argument("--kw", nargs="*", default=[], metavar="KEY=VALUE", help="keyword arguments for the factory")
    ap.add_argument("--meta", action="store_true", help="build on the meta device (count without allocating)")
    args = ap.parse_args(argv)
    kw = {}
    for item in args.kw:
        if "=" not in item:
            ap.error(f"--kw expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        kw[k] = _value(v)
    if args.meta:
        with torch.device("meta"):
            model = create_model(args.model, **kw)
    else:
        model = create_model(args.model, **kw)
    df = parameter_table(model)
    print(f"{args.model} {kw or ''}".rstrip())
    print(df.to_string())
    new = new_recurrent_parameters(model)
    if new:
        print(f"new recurrent weights: {new} ({new / 1e6:.3f} M)")
    return df


if __name__ == "__main__":
    main(sys.argv[1:])
