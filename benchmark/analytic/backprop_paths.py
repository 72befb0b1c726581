r"""Exact expected numbers of back-propagation paths in a deep CBM / SCS stack.

Reproduces two analytic figures, with no data and no sampling:

* deeprnn (CBM paper, 001) **Fig. 2 bottom**: "Expectation numbers of backpropagation paths with
  different lengths (paths from "0" to different "1" in Top) when adopting different TD rates. Note that
  the back-propagation remains unchanged when setting TD rate to 0.0."  TD rates 0, 0.5, 1.
* scs (SCS paper, 003) **Fig. 3**: "Expectation numbers of back-propagation chains. The horizontal axis is
  the length of the back-propagation chain and the vertical axis is the exception [sic] number of the
  chains. Note that with the growing of the model depth and sequence length, the number and length of the
  chains grow significantly. Our STSGD with large p can efficiently reduce the number of long sequences."

The unrolled graph
------------------
Layers ``i = 1..D``, time steps ``t = 1..L``; ``o_{0,t} = x_t`` is the input.  deeprnn eqs. 1-3
(``o'_{i,t} = R(o_{i-1,t})``, ``c_{i,t} = T(c_{i,t-1}, o_{i-1,t})``, ``o_{i,t} = zeta(o'_{i,t}, c_{i,t})``)
and scs eqs. 4-6 (``s^l_t = h_s(u^{l-1}_t)``, ``c^l_t = h_t([u^{l-1}_t, sigma(c^l_{t-1})])``,
``u^l_t = ReLU(s^l_t) * Sigmoid(c^l_t)``) give the same topology.  Edges that carry gradient backwards:

* representation edge  ``o_{i-1,t} -> o'_{i,t} -> o_{i,t}``  (R unit / h_s, then the merge),
* temporal-input edge  ``o_{i-1,t} -> c_{i,t}``             (T unit / h_t input; the "dashed line" of
  deeprnn Fig. 1 / scs Fig. 1b), then the merge ``c_{i,t} -> o_{i,t}``,
* recurrent edge       ``c_{i,t-1} -> c_{i,t}``            (the state; never dropped).

Random draws ("draw group" = one layer at one time step, ``(i, t)``; groups are independent):

* **TD** (deeprnn sec. 3.1 "forbidding back-propagation from T unit through the dashed line in Fig. 1
  with a certain probability"; NOTES "CBM as released": one draw per layer per step, detaching the lower
  layer's output *as fed to the T unit only*): the temporal-input edge of ``(i, t)`` is closed with
  probability ``p`` (the TD rate); the representation edge is always open.
* **STSGD, rule "paper"** (scs eqs. 17-18): the T term gets ``gamma_t(p_t)``, the R (spatial) term
  ``gamma_t(p_s)``, two independent draws; ``gamma(p) = 0`` with probability ``p``.  Fig. 3 and the
  Discussion use one ``p = p_s = p_t`` ("initializing p_s and p_t ... (p_s = p_t = 0.5)").  Both edges
  of a group can be closed at once (probability ``p_s p_t``).
* **STSGD, rule "released"** (NOTES "SCS as released"; eq. 19 with ``q``): draw A (prob. ``q``) detaches
  the T input, draw B (prob. ``1 - q``) detaches the R input; if both fire one is re-enabled (the code
  re-enables the T input when ``q < 0.5`` and the R input otherwise).  Here the R and T edges of one
  group are *dependent* (never both closed).  The ``p`` argument is ``q`` under this rule.

Definitions chosen (options named where the text leaves it open)
---------------------------------------------------------------
* **Path**: a directed path in the unrolled graph above from a source input to a target output, all of
  whose gated edges are open in the realised draws.  Expected number = sum over paths of
  P(path open) (linearity of expectation).
* **Targets** ("1"): the top-layer outputs ``o_{D,t}``, ``t = 1..L`` -- every step of the stack has an
  output/loss (deeprnn: per-frame logits; scs eq. 14, ``E = sum_t E_t``); "different 1" = several targets.
* **Sources** ``sources="first"`` (default): the single first input ``x_1`` ("0", bottom-left).  Option
  ``"all"``: every input ``x_s`` (one-line reason for the default: the caption names a single "0", and
  scs Fig. 3 is the successor of that figure, so the same endpoints are used for both).
* **Length** ``length_def="hops"`` (default): number of cell-to-cell moves = layers climbed (by R or by T)
  + recurrent steps, so a path from ``x_1`` to ``o_{D,t}`` has length ``D + t - 1``.  Reason: the
  caption equates "paths with different lengths" with "paths from "0" to different "1"", i.e. a path's
  length is fixed by which "1" it reaches, which holds exactly for this definition (and for the finer
  one below).  Option ``"units"``: every unit traversal and merge counted (R route 2 edges, T route 2
  edges, recurrent 1), length ``2D + t - 1`` -- the same counts shifted by ``D``.

Why marginal probabilities are exact here
-----------------------------------------
A path climbs from layer ``i-1`` to layer ``i`` exactly once, at one time step, through exactly one of
the two gated edges of group ``(i, t)``; the recurrent edges are not gated.  So a path uses at most one
edge of each draw group, edges from distinct groups are independent, and
``P(path open) = prod_i P(entry edge of layer i open)``: the dependence between the R and T edges of one
group (STSGD "released") does not enter any single path's survival probability.  (Consequently a TD /
STSGD drawn once per layer per *sequence* instead of per step gives the same expectations.)
``enumerate_paths_bruteforce`` makes no use of this argument: it enumerates every realisation of every
group's *joint* (R, T) state with its probability and counts open paths in each, and the tests check that
it equals the dynamic programme.

Dynamic programme (``O(D L * max_length)``, exact with ``fractions.Fraction`` inputs)::

    G[i][t] = shift(F[i-1][t], w_T_in) * P(T open) + shift(G[i][t-1], w_rec)        # into c_{i,t}
    F[i][t] = shift(F[i-1][t], w_R)    * P(R open) + shift(G[i][t],   w_T_out)      # into o_{i,t}

with ``F[0][t] = [1 at length 0]`` for source inputs; the result is ``sum_t F[D][t]``.

Closed form (TD rate ``p``, ``sources="first"``, ``"hops"``): with ``m = t - 1`` recurrent steps and
``j`` layers that take ``k >= 1`` of them (these must enter through T),
``E[#paths to o_{D,1+m}] = sum_j C(D, j) C(m-1, j-1) (1-p)^j (2-p)^(D-j)`` for ``m >= 1`` and
``(2-p)^D`` for ``m = 0``; at ``p = 0`` this is the plain lattice count, at ``p = 1`` only the single
pure-representation path (length ``D``) survives.

Default figure parameters
-------------------------
The figure drawings are not in the paper text.  Fig. 2: the drawing's size is not stated; a
4-layer x 5-step graph (``DEFAULT_FIG2``) is used, with the caption's TD rates 0, 0.5, 1.  Fig. 3: the
text says only "model depth", "sequence length" and "p"; the grid uses the depths the SCS paper trains
(Table 8: {2, 5, 10, 15}), sequence lengths 5 (precipitation inputs) / 10 (LTSC clip length) / 20, and
the initial STSGD p values of its Tables 5 and 7 (0, 0.3, 0.5) under the paper rule (``DEFAULT_FIG3``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb
from pathlib import Path
from typing import Iterable

import pandas as pd

__all__ = [
    "DEFAULT_FIG2",
    "DEFAULT_FIG3",
    "LENGTH_DEFS",
    "SOURCES",
    "STSGD_RULES",
    "cbm_fig2_table",
    "cbm_path_counts",
    "cbm_closed_form",
    "enumerate_paths_bruteforce",
    "plot_cbm_paths",
    "plot_scs_chains",
    "scs_chain_counts",
    "scs_fig3_table",
    "stsgd_marginals",
]

#: Fig. 2 (deeprnn): graph size (our choice, the drawing's size is not in the text) and the caption's rates.
DEFAULT_FIG2 = {"depth": 4, "length": 5, "td_rates": (0.0, 0.5, 1.0)}
#: Fig. 3 (scs): depths of scs Table 8, lengths 5 / 10 / 20, initial p of scs Tables 5 and 7.
DEFAULT_FIG3 = {"depths": (2, 5, 10, 15), "lengths": (5, 10, 20), "ps": (0.0, 0.3, 0.5), "rule": "paper"}

#: Edge lengths per definition: R = input edge into the R unit, R_merge = R unit -> merged output,
#: T = input edge into the T unit, T_merge = T state -> merged output, rec = recurrent state edge.
LENGTH_DEFS = {
    "hops": {"R": 1, "R_merge": 0, "T": 1, "T_merge": 0, "rec": 1},
    "units": {"R": 1, "R_merge": 1, "T": 1, "T_merge": 1, "rec": 1},
}
SOURCES = ("first", "all")
STSGD_RULES = ("paper", "released")


# --------------------------------------------------------------------------------------------------
# draw models
# --------------------------------------------------------------------------------------------------
def _check_prob(name: str, p) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"{name} must lie in [0, 1], got {p!r}")


def stsgd_marginals(p, rule: str = "paper", p_s=None, p_t=None):
    """Marginal closing probabilities ``(P(R input detached), P(T input detached))`` of one group.

    ``rule="paper"``: ``(p_s, p_t)``, each defaulting to ``p`` (scs eqs. 17-18; ``p=None`` needs both).
    ``rule="released"``: ``p`` is ``q``; detach-T fires w.p. ``q``, detach-R w.p. ``1 - q``, and when both
    fire the T input is re-enabled if ``q < 0.5``, else the R input.  Hence
    ``(1 - q, q**2)`` for ``q < 0.5`` and ``((1 - q)**2, q)`` for ``q >= 0.5``.
    """
    if rule == "paper":
        p_s = p if p_s is None else p_s
        p_t = p if p_t is None else p_t
        if p_s is None or p_t is None:
            raise ValueError("give p, or both p_s and p_t")
        _check_prob("p_s", p_s)
        _check_prob("p_t", p_t)
        return p_s, p_t
    if rule == "released":
        if p_s is not None or p_t is not None:
            raise ValueError("p_s / p_t are only defined for rule='paper'")
        q = p
        _check_prob("q", q)
        if q < Fraction(1, 2):
            return 1 - q, q * q
        return (1 - q) * (1 - q), q
    raise ValueError(f"unknown STSGD rule {rule!r}; choose from {STSGD_RULES}")


def _group_distribution(scheme: str, rate, rule: str = "paper", p_s=None, p_t=None) -> dict:
    """Joint distribution of one group's ``(R_open, T_open)`` state, built from the draws themselves."""
    one = 1
    if scheme == "td":
        _check_prob("td_rate", rate)
        dist = {(True, True): one - rate, (True, False): rate}
    elif scheme == "stsgd" and rule == "paper":
        ps, pt = stsgd_marginals(rate, "paper", p_s, p_t)
        _check_prob("p_s", ps)
        _check_prob("p_t", pt)
        dist = {}
        for r_closed, t_closed in itertools.product((False, True), repeat=2):
            pr = (ps if r_closed else one - ps) * (pt if t_closed else one - pt)
            key = (not r_closed, not t_closed)
            dist[key] = dist.get(key, 0) + pr
    elif scheme == "stsgd" and rule == "released":
        q = rate
        _check_prob("q", q)
        dist = {}
        for a, b in itertools.product((False, True), repeat=2):  # a: detach T fires, b: detach R fires
            pr = (q if a else one - q) * ((one - q) if b else q)
            detach_t, detach_r = a, b
            if a and b:  # re-enable one, as the released code does
                if q < Fraction(1, 2):
                    detach_t = False
                else:
                    detach_r = False
            key = (not detach_r, not detach_t)
            dist[key] = dist.get(key, 0) + pr
    else:
        raise ValueError(f"unknown scheme/rule {scheme!r}/{rule!r}")
    return {k: v for k, v in dist.items() if v != 0}


# --------------------------------------------------------------------------------------------------
# dynamic programme
# --------------------------------------------------------------------------------------------------
def _check_graph(depth: int, length: int, sources: str, length_def: str) -> dict:
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    if int(length) != length or length < 1:
        raise ValueError(f"length (sequence length) must be a positive integer, got {length!r}")
    if sources not in SOURCES:
        raise ValueError(f"sources must be one of {SOURCES}, got {sources!r}")
    if length_def not in LENGTH_DEFS:
        raise ValueError(f"length_def must be one of {tuple(LENGTH_DEFS)}, got {length_def!r}")
    return LENGTH_DEFS[length_def]


def _max_path_length(depth: int, length: int, w: dict) -> int:
    return depth * max(w["R"] + w["R_merge"], w["T"] + w["T_merge"]) + (length - 1) * w["rec"]


def _dp(depth: int, length: int, p_r_open, p_t_open, sources: str, w: dict) -> list[list]:
    """Per target time step ``t`` (index ``t-1``), the expected number of open paths by path length."""
    n = _max_path_length(depth, length, w) + 1
    w_r, w_t_in, w_t_out, w_rec = w["R"] + w["R_merge"], w["T"], w["T_merge"], w["rec"]

    def add_shifted(out: list, poly: list, k: int, scale) -> None:
        for ell, v in enumerate(poly):
            if v:
                out[ell + k] += v * scale

    # F[t]: paths into o_{i,t} (starting with the inputs o_{0,t} = x_t)
    F = []
    for t in range(length):
        poly = [0] * n
        if sources == "all" or t == 0:
            poly[0] = 1
        F.append(poly)
    for _ in range(depth):
        G_prev = None
        F_new = []
        for t in range(length):
            G = [0] * n
            add_shifted(G, F[t], w_t_in, p_t_open)
            if G_prev is not None:
                add_shifted(G, G_prev, w_rec, 1)
            out = [0] * n
            add_shifted(out, F[t], w_r, p_r_open)
            add_shifted(out, G, w_t_out, 1)
            F_new.append(out)
            G_prev = G
        F = F_new
    return F


def _frame(per_target: list[list], all_open: list[list], by_target: bool, exact: bool, extra: dict) -> pd.DataFrame:
    """Tidy frame over the path lengths the graph has (n_paths > 0), zero expectations included."""
    rows = []
    conv = (lambda v: v) if exact else float
    if by_target:
        for t, (poly, cnt) in enumerate(zip(per_target, all_open), start=1):
            for ell, c in enumerate(cnt):
                if c:
                    rows.append({"path_length": ell, "target_t": t, "expected_paths": conv(poly[ell]),
                                 "n_paths": int(c)})
    else:
        tot = [sum(col) for col in zip(*per_target)]
        cnt = [sum(col) for col in zip(*all_open)]
        for ell, c in enumerate(cnt):
            if c:
                rows.append({"path_length": ell, "expected_paths": conv(tot[ell]), "n_paths": int(c)})
    df = pd.DataFrame(rows)
    for k, v in extra.items():
        df[k] = v
    return df


def cbm_path_counts(depth: int, length: int, td_rate=0.5, *, sources: str = "first",
                    length_def: str = "hops", by_target: bool = False, exact: bool = False) -> pd.DataFrame:
    """Expected number of open back-propagation paths of each length in a ``depth`` x ``length`` CBM under TD.

    deeprnn Fig. 2 bottom.  ``td_rate`` is the probability that one layer's temporal-input edge at one step
    is detached.  Columns: ``path_length, expected_paths, n_paths`` (paths with no edge dropped, i.e. TD
    rate 0), ``td_rate, depth, seq_len, sources, length_def`` (and ``target_t`` with ``by_target``).
    Pass ``fractions.Fraction`` rates and ``exact=True`` to keep exact rational expectations.
    """
    w = _check_graph(depth, length, sources, length_def)
    _check_prob("td_rate", td_rate)
    per_t = _dp(depth, length, 1, 1 - td_rate, sources, w)
    all_open = _dp(depth, length, 1, 1, sources, w)
    extra = {"td_rate": td_rate if exact else float(td_rate), "depth": int(depth), "seq_len": int(length),
             "sources": sources, "length_def": length_def}
    return _frame(per_t, all_open, by_target, exact, extra)


def scs_chain_counts(depth: int, length: int, p=0.5, *, rule: str = "paper", p_s=None, p_t=None,
                     sources: str = "first", length_def: str = "hops", by_target: bool = False,
                     exact: bool = False) -> pd.DataFrame:
    """Expected number of open back-propagation chains of each length in a deep SCS under STSGD.

    scs Fig. 3.  ``rule="paper"``: independent draws, R (h_s) edge closed w.p. ``p_s``, T (h_t) edge w.p.
    ``p_t`` (both default to ``p``; scs eqs. 17-18).  ``rule="released"``: ``p`` is ``q`` of the two-draw
    rule with re-enabling (see module docstring).  Columns: ``path_length, expected_paths, n_paths, p,
    rule, p_s, p_t`` (effective marginal closing probabilities), ``depth, seq_len, sources, length_def``.
    """
    w = _check_graph(depth, length, sources, length_def)
    ps_eff, pt_eff = stsgd_marginals(p, rule, p_s, p_t)
    per_t = _dp(depth, length, 1 - ps_eff, 1 - pt_eff, sources, w)
    all_open = _dp(depth, length, 1, 1, sources, w)
    conv = (lambda v: v) if exact else float
    extra = {"p": float("nan") if p is None else conv(p), "rule": rule, "p_s": conv(ps_eff), "p_t": conv(pt_eff), "depth": int(depth),
             "seq_len": int(length), "sources": sources, "length_def": length_def}
    return _frame(per_t, all_open, by_target, exact, extra)


def cbm_closed_form(depth: int, steps: int, td_rate=0.0):
    """Closed form of the expected number of TD paths from ``x_1`` to ``o_{D, 1+steps}`` ("hops").

    ``sum_j C(D,j) C(m-1,j-1) (1-p)^j (2-p)^(D-j)`` for ``m = steps >= 1``; ``(2-p)^D`` for ``m = 0``.
    """
    p, m, D = td_rate, steps, depth
    if m == 0:
        return (2 - p) ** D
    return sum(comb(D, j) * comb(m - 1, j - 1) * (1 - p) ** j * (2 - p) ** (D - j) for j in range(1, min(D, m) + 1))


def cbm_fig2_table(depth: int = DEFAULT_FIG2["depth"], length: int = DEFAULT_FIG2["length"],
                   td_rates: Iterable = DEFAULT_FIG2["td_rates"], **kw) -> pd.DataFrame:
    """deeprnn Fig. 2 bottom: ``cbm_path_counts`` for each TD rate, concatenated."""
    return pd.concat([cbm_path_counts(depth, length, r, **kw) for r in td_rates], ignore_index=True)


def scs_fig3_table(depths: Iterable[int] = DEFAULT_FIG3["depths"], lengths: Iterable[int] = DEFAULT_FIG3["lengths"],
                   ps: Iterable = DEFAULT_FIG3["ps"], rule: str = DEFAULT_FIG3["rule"], **kw) -> pd.DataFrame:
    """scs Fig. 3: ``scs_chain_counts`` over depths x sequence lengths x p, concatenated."""
    frames = [scs_chain_counts(d, n, p, rule=rule, **kw) for d in depths for n in lengths for p in ps]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# brute force (tests only; exponential)
# --------------------------------------------------------------------------------------------------
def enumerate_paths_bruteforce(depth: int, length: int, *, scheme: str = "td", rate=0.0, rule: str = "paper",
                               p_s=None, p_t=None, sources: str = "first", length_def: str = "hops",
                               max_realisations: int = 1 << 18) -> pd.DataFrame:
    """Expectation by explicit enumeration of every path and every realisation of the draws.

    Builds the unrolled graph node by node (inputs ``x_t``, R-unit outputs ``o'``, T states ``c``, merged
    outputs ``o``), lists every directed path from the sources to the top outputs by depth-first search,
    then enumerates every joint state of every draw group ``(i, t)`` -- the joint (R open, T open)
    distribution of ``scheme="td"`` (``rate`` = TD rate) or ``scheme="stsgd"`` (``rule``, ``rate`` = p or q)
    -- and adds P(realisation) x (number of open paths).  Returns the same columns as the DP functions
    (``path_length, expected_paths, n_paths``) plus ``n_realisations``; values are exact for Fraction rates.
    """
    w = _check_graph(depth, length, sources, length_def)
    dist = _group_distribution(scheme, rate, rule, p_s, p_t)
    states = list(dist.items())
    groups = [(i, t) for i in range(1, depth + 1) for t in range(1, length + 1)]
    gidx = {g: k for k, g in enumerate(groups)}
    n_real = len(states) ** len(groups)
    if n_real > max_realisations:
        raise ValueError(f"{n_real} realisations exceed max_realisations={max_realisations}")

    # explicit graph: node -> list of (successor, edge length, gate) ; gate = (group index, 'R'|'T') or None
    succ: dict = {}

    def edge(a, b, kind, gate=None):
        succ.setdefault(a, []).append((b, w[kind], gate))

    for t in range(1, length + 1):
        for i in range(1, depth + 1):
            below = ("x", t) if i == 1 else ("o", i - 1, t)
            edge(below, ("r", i, t), "R", (gidx[(i, t)], "R"))
            edge(("r", i, t), ("o", i, t), "R_merge")
            edge(below, ("c", i, t), "T", (gidx[(i, t)], "T"))
            edge(("c", i, t), ("o", i, t), "T_merge")
            if t < length:
                edge(("c", i, t), ("c", i, t + 1), "rec")
    targets = {("o", depth, t) for t in range(1, length + 1)}
    starts = [("x", s) for s in range(1, length + 1)] if sources == "all" else [("x", 1)]

    paths = []  # (length, R-gate bitmask, T-gate bitmask)

    def dfs(node, ell, r_mask, t_mask):
        if node in targets:
            paths.append((ell, r_mask, t_mask))  # targets are top outputs: no successors
            return
        for nxt, dl, gate in succ.get(node, ()):
            rm, tm = r_mask, t_mask
            if gate is not None:
                if gate[1] == "R":
                    rm |= 1 << gate[0]
                else:
                    tm |= 1 << gate[0]
            dfs(nxt, ell + dl, rm, tm)

    for s in starts:
        dfs(s, 0, 0, 0)

    n_paths: dict = {}
    for ell, _, _ in paths:
        n_paths[ell] = n_paths.get(ell, 0) + 1
    expected = {ell: 0 for ell in n_paths}
    for combo in itertools.product(states, repeat=len(groups)):
        prob = 1
        r_open = t_open = 0
        for k, ((ro, to), pr) in enumerate(combo):
            prob = prob * pr
            if ro:
                r_open |= 1 << k
            if to:
                t_open |= 1 << k
        counts: dict = {}
        for ell, rm, tm in paths:
            if rm & ~r_open == 0 and tm & ~t_open == 0:
                counts[ell] = counts.get(ell, 0) + 1
        for ell, c in counts.items():
            expected[ell] = expected[ell] + prob * c
    rows = [{"path_length": ell, "expected_paths": expected[ell], "n_paths": n_paths[ell],
             "n_realisations": n_real} for ell in sorted(n_paths)]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------------
def _pyplot():
    from ..figures import plt

    return plt


def _draw_lines(ax, df: pd.DataFrame, key: str, label_fmt: str) -> None:
    any_pos = False
    for val, sub in df.groupby(key, sort=True):
        sub = sub.sort_values("path_length")
        y = sub["expected_paths"].astype(float)
        pos = y > 0
        any_pos |= bool(pos.any())
        ax.plot(sub["path_length"][pos], y[pos], marker="o", label=label_fmt.format(val))
    if any_pos:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, which="both", alpha=0.3)


def plot_cbm_paths(df: pd.DataFrame, path) -> Path:
    """Plot ``cbm_path_counts`` / ``cbm_fig2_table`` output: one line per TD rate (zeros not drawn), log y."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    _draw_lines(ax, df, "td_rate", "TD rate {:g}")
    ax.set_xlabel("length of back-propagation path (" + ", ".join(sorted(set(df["length_def"]))) + ")")
    ax.set_ylabel("expected number of paths")
    sizes = sorted({(int(d), int(n)) for d, n in zip(df["depth"], df["seq_len"])})
    size_txt = "; ".join(f"{d} layers x {n} steps" for d, n in sizes)
    ax.set_title(f"deeprnn (CBM) Fig. 2 bottom: paths from x_1 to top outputs\n{size_txt}", fontsize=10)
    ax.legend()
    from ..figures import save_figure

    return save_figure(fig, path)


def plot_scs_chains(df: pd.DataFrame, path) -> Path:
    """Plot ``scs_chain_counts`` / ``scs_fig3_table`` output: one panel per (depth, sequence length), one line
    per p (and rule, when several), log y."""
    plt = _pyplot()
    depths = sorted(set(int(d) for d in df["depth"]))
    lengths = sorted(set(int(n) for n in df["seq_len"]))
    fig, axes = plt.subplots(len(depths), len(lengths), figsize=(3.6 * len(lengths), 2.8 * len(depths)),
                             squeeze=False)
    multi_rule = df["rule"].nunique() > 1
    data = df.assign(_line=[(f"{r} " if multi_rule else "") + f"p={float(p):g}" for r, p in zip(df["rule"], df["p"])])
    for a, d in enumerate(depths):
        for b, n in enumerate(lengths):
            ax = axes[a][b]
            sub = data[(data["depth"] == d) & (data["seq_len"] == n)]
            if len(sub):
                _draw_lines(ax, sub, "_line", "{}")
                ax.legend(fontsize=7)
            ax.set_title(f"depth {d}, sequence length {n}", fontsize=9)
            ax.set_xlabel("chain length")
            ax.set_ylabel("expected number of chains")
    rules = ", ".join(sorted(set(df["rule"])))
    fig.suptitle(f"SCS Fig. 3: expected numbers of back-propagation chains under STSGD ({rules} rule)")
    from ..figures import save_figure

    return save_figure(fig, path, dpi=110)
