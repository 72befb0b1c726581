"""The catalogue: every table and figure of the three papers as an experiment declared as data, and the
experiments past them (``beyond.*``, issue 19).

An ``Experiment`` turns (scale, seeds, data root) into a grid of ``RunConfig`` and turns the finished
runs into tables and figures. Ids are "<paper>.<table or figure>"; a bare id ("table6") means the
deeprnn paper, the suite's primary paper.
"""
from __future__ import annotations

import dataclasses
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..config import RunConfig

if TYPE_CHECKING:
    import pandas as pd

PRIMARY_PAPER = "deeprnn"
DEFAULT_SEEDS = {"smoke": 1, "cpu": 5, "paper": 3}


@dataclass(frozen=True)
class Experiment:
    id: str                                   # "deeprnn.table6"
    title: str                                # what the paper's table/figure shows
    make_runs: Callable[..., list[RunConfig]]  # (scale, seeds, data_root) -> grid of run configs
    make_outputs: Callable[..., list[Path]]    # (runs_root, cfgs, out_dir, scale) -> written files
    # seeds per scale (claims issue: 5 at cpu so that every claim gets a paired CI); an experiment may
    # override it, and --seeds overrides both
    default_seeds: dict = field(default_factory=lambda: dict(DEFAULT_SEEDS))
    # Claim values that are not a run's final metric (a two-stream fusion of two runs, a curve's start and
    # end, gate statistics read from a checkpoint): ``claim_values(runs_root, cfgs)`` gives extra per-seed
    # rows (label columns, ``seed``, metric columns, ``status="done"``), added to the runs' rows before the
    # claims are judged; ``claim_arms(cfgs of one seed)`` declares the labels of the rows it gives for that
    # seed, so that ``claims.evaluate.arm_problems`` checks a claim's arms against them as against the runs.
    # Each row and each declared label set carries a ``derived`` label (``claims.DERIVED``, e.g. "two-stream"),
    # which runs never have: only an arm that names it selects the row.
    claim_values: Callable[[Path, list[RunConfig]], pd.DataFrame] | None = None
    claim_arms: Callable[[list[RunConfig]], list[dict]] | None = None

    def __post_init__(self):
        if (self.claim_values is None) != (self.claim_arms is None):
            raise ValueError(f"{self.id}: claim_values and claim_arms go together (the rows and their labels)")

    @property
    def paper(self) -> str:
        return self.id.split(".")[0]

    def runs(self, scale: str, seeds: int | None = None, data_root: str | None = None,
             precision: str | None = None) -> list[RunConfig]:
        """The grid at ``scale``; ``precision`` (fp32 / bf16) overrides the experiment's (None keeps it)."""
        n = seeds if seeds is not None else self.default_seeds[scale]
        if n < 1:
            raise ValueError(f"--seeds {n}: the number of seeds must be at least 1")
        cfgs = self.make_runs(scale, n, data_root)
        if precision is not None:
            cfgs = [dataclasses.replace(c, precision=precision) for c in cfgs]
        return cfgs

    def outputs(self, runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
        """The experiment's tables and figures, then its claims judged from the same runs."""
        from ..claims.evaluate import evaluate_experiment

        files = self.make_outputs(runs_root, cfgs, Path(out_dir), scale)
        return files + evaluate_experiment(self.id, runs_root, cfgs, Path(out_dir), scale)


def scaled(base: dict, scale: str, **overrides) -> dict:
    """The settings of ``scale`` in ``base`` (scale -> settings; a scale given as another scale's name, e.g.
    ``"paper": "cpu"``, inherits that one), as a deep copy (no caller can change another's), with
    ``overrides`` applied: a dict overriding a dict updates it, anything else replaces the value."""
    import copy

    seen = [scale]
    while isinstance(base.get(seen[-1]), str):
        if base[seen[-1]] in seen:
            raise ValueError(f"scales inherit in a circle: {' -> '.join(seen + [base[seen[-1]]])}")
        seen.append(base[seen[-1]])
    if seen[-1] not in base:
        raise ValueError(f"unknown scale {scale!r}; this experiment has {', '.join(base)}")
    out = copy.deepcopy(base[seen[-1]])
    for key, value in overrides.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def exact_figure(id: str, title: str, table_fn: Callable, plot_fn: Callable, csv_name: str) -> Experiment:
    """An analytic experiment: no runs, no data; ``table_fn()`` gives the exact numbers (saved as
    ``tables/<paper>/<csv_name>.csv``) and ``plot_fn(df, path)`` draws ``figures/<paper>/<fig>.png``."""
    paper, fig = id.split(".")

    def outputs(runs_root: Path, cfgs: list, out_dir: Path, scale: str) -> list[Path]:
        df = table_fn()
        csv = out_dir / "tables" / paper / f"{csv_name}.csv"
        csv.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(csv, index=False)
        return [csv, plot_fn(df, out_dir / "figures" / paper / f"{fig}.png")]

    outputs.__wrapped__ = table_fn  # what `python -m benchmark.run where ID` shows: the exact numbers' code
    return Experiment(id=id, title=title, make_runs=lambda scale, seeds, root: [], make_outputs=outputs)


_EXPERIMENTS: dict[str, Experiment] = {}


_DECLARED_IN: dict[str, str] = {}


def register(exp: Experiment) -> Experiment:
    _EXPERIMENTS[exp.id] = exp
    _DECLARED_IN[exp.id] = sys._getframe(1).f_code.co_filename  # the paper's file that declares it
    return exp


def where(name: str) -> tuple[Path, int]:
    """The file and line that declare experiment ``name`` (the line that names its id)."""
    exp = resolve(name)
    path = Path(_DECLARED_IN[exp.id])
    lines = path.read_text().splitlines()
    line = next((i for i, text in enumerate(lines, 1) if f'"{exp.id}"' in text), 1)
    return path, line


# the modules that declare experiments: one per paper, every id of that paper in it, and ``beyond`` (issue 19:
# experiments past the papers) (what the experiments are built from lives in ``catalogue/tasks/``)
CATALOGUE_MODULES = ("deeprnn", "prernn", "scs", "beyond")


def _load() -> None:
    import importlib

    for name in CATALOGUE_MODULES:
        importlib.import_module(f"{__name__}.{name}")


def list_ids() -> list[str]:
    _load()
    return sorted(_EXPERIMENTS)


class UnknownExperiment(KeyError):
    def __str__(self) -> str:
        return self.args[0]


def resolve(name: str) -> Experiment:
    """Experiment by id; a bare id means the primary paper. Unknown ids list the valid ones."""
    _load()
    key = name if "." in name else f"{PRIMARY_PAPER}.{name}"
    if key in _EXPERIMENTS:
        return _EXPERIMENTS[key]
    close = difflib.get_close_matches(key, _EXPERIMENTS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UnknownExperiment(f"unknown experiment {name!r}{hint}; valid ids: {', '.join(sorted(_EXPERIMENTS))} "
                            f"(bare ids like 'table6' mean {PRIMARY_PAPER}.*)")
