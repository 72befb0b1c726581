"""The papers' claims as data: what the suite tests, where the paper says it, and in which form.

Each paper has one module (``deeprnn.py``, ``prernn.py``, ``scs.py``) holding ``CLAIMS``, a list of
:class:`Claim` records readable top to bottom as a table; ``beyond.py`` holds the suite's own questions about
the experiments past the papers (issue 19), in the same form. A claim names its experiment (a catalogue id),
a one-line statement, its :class:`Source`, the metric it is judged on and its form:

- :class:`Better` ``A > B``: two run groups (``better="lower"`` for errors: ``A < B``);
- :class:`Trend`: run groups in the order of a swept variable, the metric going ``up`` or ``down``;
- :class:`Peak`: one run group best among several;
- :class:`Interaction`: ``(A1 - A0) - (B1 - B0) > 0``, e.g. CBM gains more from depth than ConvLSTM;
- :class:`Exact`: a cell of the experiment's table equal to the printed value at the printed precision.

A run group (an "arm") is a filter on the runs' labels (``{"row": "Polyg-CBM 15"}``): for each seed it
must select exactly one run of the experiment's grid. ``python -m benchmark.claims arms ID`` lists the
labels and metrics an experiment's runs have. Some numbers a claim needs are no run's final metric but
follow from the runs (a two-stream fusion of two runs, a curve's start and end): an experiment may derive
them as extra rows, one per seed (``Experiment.claim_values``), each labelled like a run plus a
``derived`` label naming the quantity (``DERIVED``); an arm selects a derived row only when it names that
``derived`` value, so arms that name runs never select one. A claim the suite cannot test at some scale still is
listed, with the reason in ``untestable`` (scale -> reason; ``"all"`` for every scale).

How a claim is judged (the verdict rule) is :mod:`benchmark.claims.verdict`; evaluating the claims of
an experiment from its runs and writing ``tables/<paper>/<id>.claims.csv`` is
:mod:`benchmark.claims.evaluate`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Union

PAPERS = ("deeprnn", "prernn", "scs", "beyond")  # "beyond": issue 19, no paper
DERIVED = "derived"  # the label of an experiment's derived rows (Experiment.claim_values); runs have none


@dataclass(frozen=True)
class Source:
    paper: str               # deeprnn | prernn | scs | beyond
    where: str               # "Table 6", "Fig. 7c", "Sec. 4.2", "Abstract"
    quote: str = ""          # prose claims: the paper's words (CLAIMS.md's verbatim quote, may be shortened with ...)

    def __str__(self) -> str:
        text = f"{self.paper} {self.where}"
        return f'{text}: "{self.quote}"' if self.quote else text


@dataclass(frozen=True)
class Better:
    """A beats B: value(A) > value(B) (or < when the claim's metric is ``better="lower"``)."""
    a: dict
    b: dict


@dataclass(frozen=True)
class Trend:
    """The metric moves ``direction`` ("up" or "down", of the raw value) along ``arms``, given in the
    order of the swept variable ``over`` (depth, TD rate, clip length, ...)."""
    arms: tuple
    direction: str
    over: str = ""


@dataclass(frozen=True)
class Peak:
    """``best`` is the best of ``best`` and ``others`` (highest, or lowest when ``better="lower"``)."""
    best: dict
    others: tuple


@dataclass(frozen=True)
class Interaction:
    """(A1 - A0) - (B1 - B0) > 0 (in the metric's better direction): A gains more from 0 -> 1 than B."""
    a1: dict
    a0: dict
    b1: dict
    b0: dict


@dataclass(frozen=True)
class Exact:
    """A cell (row, column) of the experiment's tidy table (``tables/<paper>/<table>.csv``; default the
    experiment's own name) equals the paper's printed value at the printed precision (``decimals``:
    default, the decimals the reference value is printed with)."""
    row: str
    column: str
    table: str = ""
    decimals: int | None = None


Form = Union[Better, Trend, Peak, Interaction, Exact]


@dataclass(frozen=True)
class Claim:
    id: str                  # unique, "<paper>.<short name>", e.g. "deeprnn.t6.cbm15_gt_lstm15"
    experiment: str          # catalogue id whose runs test it, e.g. "deeprnn.table6"
    statement: str           # one line, in the paper's direction
    source: Source
    metric: str              # a run's final metric (result.json "final"), e.g. "test_iou"; Exact: the table column
    form: Form
    better: str = "higher"   # which way the metric is good: "higher" | "lower"
    untestable: dict = field(default_factory=dict)  # scale (or "all") -> why the suite cannot test it there

    @property
    def paper(self) -> str:
        return self.id.split(".")[0]

    def reason_untestable(self, scale: str) -> str:
        return self.untestable.get(scale) or self.untestable.get("all", "")


def all_claims() -> list[Claim]:
    """Every claim of the three papers and of ``beyond``, in file order."""
    out = []
    for paper in PAPERS:
        out.extend(importlib.import_module(f"{__name__}.{paper}").CLAIMS)
    return out


def claims_for(experiment: str) -> list[Claim]:
    return [c for c in all_claims() if c.experiment == experiment]
