"""The one verdict rule, fixed before any run (claims issue): every comparison is oriented so that the
paper's claim means ``diff > 0``, paired over seeds (same seed = same initialisation draw and data order),
with a 95% percentile bootstrap confidence interval of the mean over seeds.

- ``A > B``: per-seed difference ``A - B`` (``B - A`` when lower is better).
- trend: per-seed difference between the endpoints in the claimed direction; the share of adjacent
  steps that go the claimed way is reported beside it (with its own CI), not used for the verdict.
- peak: per-seed ``claimed best - best of the others``.
- interaction: per-seed ``(A1 - A0) - (B1 - B0)``.
- exact: ``reproduced`` iff the value rounds to the printed one at the printed precision, else
  ``contradicted``; ``ci_low = ci_high = diff``.

Verdict from the CI: ``reproduced`` when its low end is above 0, ``contradicted`` when its high end is
below 0, ``inconclusive`` when it contains 0 (also when fewer than 2 seeds leave no CI), ``not run``
when runs are missing. The bootstrap: ``scipy.stats.bootstrap``, percentile method, 10,000
resamples, ``random_state`` 0; when every per-seed value is the same the CI is that value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

N_RESAMPLES = 10_000
CONFIDENCE = 0.95
RANDOM_STATE = 0
MIN_SEEDS_FOR_CI = 2

REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN = "reproduced", "contradicted", "inconclusive", "not run"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN)


@dataclass(frozen=True)
class Outcome:
    diff: float        # mean over seeds of the oriented per-seed value (> 0: the paper's direction)
    ci_low: float
    ci_high: float
    n: int             # paired seeds

    @property
    def verdict(self) -> str:
        return verdict(self.ci_low, self.ci_high, self.n)


def mean_ci(values) -> tuple[float, float, float]:
    """(mean, CI low, CI high) of per-seed values; NaN CI with fewer than ``MIN_SEEDS_FOR_CI`` values."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size < MIN_SEEDS_FOR_CI:
        return m, math.nan, math.nan
    if np.ptp(v) == 0:
        return m, m, m
    res = stats.bootstrap((v,), np.mean, confidence_level=CONFIDENCE, n_resamples=N_RESAMPLES,
                          method="percentile", random_state=RANDOM_STATE)
    return m, float(res.confidence_interval.low), float(res.confidence_interval.high)


def verdict(ci_low: float, ci_high: float, n: int = MIN_SEEDS_FOR_CI) -> str:
    if n == 0:
        return NOT_RUN
    if math.isnan(ci_low) or math.isnan(ci_high):
        return INCONCLUSIVE
    if ci_low > 0:
        return REPRODUCED
    if ci_high < 0:
        return CONTRADICTED
    return INCONCLUSIVE


def _sign(better: str) -> float:
    if better not in ("higher", "lower"):
        raise ValueError(f"better={better!r}: use 'higher' or 'lower'")
    return 1.0 if better == "higher" else -1.0


def _outcome(per_seed) -> Outcome:
    m, lo, hi = mean_ci(per_seed)
    return Outcome(m, lo, hi, int(np.asarray(per_seed).size))


def better_than(a, b, better: str = "higher") -> Outcome:
    """A beats B: paired per-seed ``A - B`` (``B - A`` when lower is better)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return _outcome(_sign(better) * (a - b))


def trend(values, direction: str) -> tuple[Outcome, Outcome]:
    """``values``: (seeds, steps) in the order of the swept variable. Returns (endpoint difference in the
    claimed direction, share of adjacent steps going that way)."""
    v = np.asarray(values, float)
    if direction not in ("up", "down"):
        raise ValueError(f"direction={direction!r}: use 'up' or 'down'")
    if v.ndim != 2 or v.shape[1] < 2:
        raise ValueError("a trend needs (seeds, steps) values with at least 2 steps")
    s = 1.0 if direction == "up" else -1.0
    ends = s * (v[:, -1] - v[:, 0])
    share = (s * np.diff(v, axis=1) > 0).mean(axis=1)
    return _outcome(ends), _outcome(share)


def peak(best, others, better: str = "higher") -> Outcome:
    """``best``: (seeds,); ``others``: (seeds, k). Per seed: best - best of the others (oriented)."""
    s = _sign(better)
    b, o = s * np.asarray(best, float), s * np.asarray(others, float)
    return _outcome(b - o.max(axis=1))


def interaction(a1, a0, b1, b0, better: str = "higher") -> Outcome:
    """Per seed: (A1 - A0) - (B1 - B0), oriented."""
    a1, a0, b1, b0 = (np.asarray(x, float) for x in (a1, a0, b1, b0))
    return _outcome(_sign(better) * ((a1 - a0) - (b1 - b0)))


def decimals_of(printed: float) -> int:
    """Decimals a printed number shows (0.47 -> 2, 15.7 -> 1, 12 -> 0)."""
    text = repr(float(printed))
    if "e" in text or "E" in text:
        text = f"{printed:.10f}".rstrip("0")
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def exact(value: float, printed: float, decimals: int | None = None) -> tuple[Outcome, str]:
    """(outcome, verdict): equal at the printed precision -> reproduced, else contradicted."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Outcome(math.nan, math.nan, math.nan, 0), NOT_RUN
    d = decimals_of(printed) if decimals is None else decimals
    diff = round(float(value), d) - round(float(printed), d)
    diff = round(diff, d + 2)
    return Outcome(diff, diff, diff, 1), (REPRODUCED if diff == 0 else CONTRADICTED)
