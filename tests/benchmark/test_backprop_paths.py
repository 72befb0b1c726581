"""Exact expected back-propagation path counts (deeprnn Fig. 2, scs Fig. 3): DP vs brute force, closed forms."""

from fractions import Fraction as Fr
from math import comb

import pytest

from benchmark.analytic.backprop_paths import (
    DEFAULT_FIG2,
    DEFAULT_FIG3,
    cbm_closed_form,
    cbm_fig2_table,
    cbm_path_counts,
    enumerate_paths_bruteforce,
    plot_cbm_paths,
    plot_scs_chains,
    scs_chain_counts,
    scs_fig3_table,
    stsgd_marginals,
)

RATES = [Fr(0), Fr(1, 2), Fr(1), Fr(3, 10)]


def as_dict(df):
    return dict(zip(df["path_length"].tolist(), df["expected_paths"].tolist()))


def same(dp, bf):
    assert dp["path_length"].tolist() == bf["path_length"].tolist()
    assert dp["n_paths"].tolist() == bf["n_paths"].tolist()
    assert as_dict(dp) == as_dict(bf)  # exact Fractions


# ---------------------------------------------------------------------------------------------- DP == brute force
@pytest.mark.parametrize("depth,length", [(2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4)])
@pytest.mark.parametrize("rate", RATES)
def test_td_dp_equals_bruteforce(depth, length, rate):
    dp = cbm_path_counts(depth, length, rate, exact=True)
    bf = enumerate_paths_bruteforce(depth, length, scheme="td", rate=rate)
    same(dp, bf)


@pytest.mark.parametrize("depth,length", [(2, 2), (2, 3), (3, 2)])
@pytest.mark.parametrize("p", RATES)
def test_stsgd_paper_dp_equals_bruteforce(depth, length, p):
    dp = scs_chain_counts(depth, length, p, rule="paper", exact=True)
    bf = enumerate_paths_bruteforce(depth, length, scheme="stsgd", rule="paper", rate=p)
    same(dp, bf)


def test_stsgd_paper_unequal_ps_pt():
    dp = scs_chain_counts(2, 3, None, rule="paper", p_s=Fr(1, 5), p_t=Fr(7, 10), exact=True)
    bf = enumerate_paths_bruteforce(2, 3, scheme="stsgd", rule="paper", rate=None, p_s=Fr(1, 5), p_t=Fr(7, 10))
    same(dp, bf)


@pytest.mark.parametrize("depth,length", [(2, 2), (2, 3), (3, 2), (2, 4)])
@pytest.mark.parametrize("q", [Fr(0), Fr(3, 10), Fr(1, 2), Fr(7, 10), Fr(1)])
def test_stsgd_released_dp_equals_bruteforce(depth, length, q):
    # R and T edges of one group share the draws here (never both closed); brute force uses the joint law
    dp = scs_chain_counts(depth, length, q, rule="released", exact=True)
    bf = enumerate_paths_bruteforce(depth, length, scheme="stsgd", rule="released", rate=q)
    same(dp, bf)


@pytest.mark.parametrize("sources,length_def", [("all", "hops"), ("first", "units"), ("all", "units")])
def test_options_dp_equals_bruteforce(sources, length_def):
    for rate in (Fr(3, 10), Fr(1, 2)):
        dp = cbm_path_counts(3, 3, rate, sources=sources, length_def=length_def, exact=True)
        bf = enumerate_paths_bruteforce(3, 3, scheme="td", rate=rate, sources=sources, length_def=length_def)
        same(dp, bf)
        dp = scs_chain_counts(2, 3, rate, rule="released", sources=sources, length_def=length_def, exact=True)
        bf = enumerate_paths_bruteforce(2, 3, scheme="stsgd", rule="released", rate=rate, sources=sources,
                                        length_def=length_def)
        same(dp, bf)


def test_float_matches_fraction():
    a = cbm_path_counts(4, 5, 0.3)
    b = cbm_path_counts(4, 5, Fr(3, 10), exact=True)
    for x, y in zip(a["expected_paths"], b["expected_paths"]):
        assert x == pytest.approx(float(y), rel=1e-12)


# ---------------------------------------------------------------------------------------------- closed forms
def test_td0_plain_lattice_counts_by_hand():
    # D = 1: x_1 reaches o_{1,1} by R or by T (2 paths), o_{1,t} (t > 1) only by T + recurrence (1 path)
    assert as_dict(cbm_path_counts(1, 4, 0)) == {1: 2, 2: 1, 3: 1, 4: 1}
    # D = 2, L = 3, counted by hand: t=1: 2*2; t=2: T-step in layer 1 or 2 (other layer R|T): 2+2;
    # t=3: 2+2 (both steps in one layer) + 1 (one step in each layer, both via T)
    assert as_dict(cbm_path_counts(2, 3, 0)) == {2: 4, 3: 4, 4: 5}
    # with no dropping the expectation is the plain path count
    df = cbm_path_counts(4, 6, 0)
    assert df["expected_paths"].tolist() == df["n_paths"].astype(float).tolist()


@pytest.mark.parametrize("rate", [Fr(0), Fr(3, 10), Fr(1, 2), Fr(1)])
def test_td_closed_form(rate):
    depth, length = 5, 7
    df = cbm_path_counts(depth, length, rate, by_target=True, exact=True)
    # a path's length is fixed by its target ("paths with different lengths (paths from 0 to different 1)")
    assert df.groupby("target_t")["path_length"].nunique().eq(1).all()
    assert (df["path_length"] == depth + df["target_t"] - 1).all()
    for m, v in enumerate(df.sort_values("target_t")["expected_paths"]):
        assert v == cbm_closed_form(depth, m, rate)


@pytest.mark.parametrize("depth,length", [(1, 1), (3, 4), (6, 9)])
def test_td1_only_representation_path(depth, length):
    d = as_dict(cbm_path_counts(depth, length, 1))
    assert d == {depth + m: (1.0 if m == 0 else 0.0) for m in range(length)}


def test_stsgd_limits():
    # paper rule, p = 1: both switches always closed -> nothing survives; p = 0: plain counts
    assert all(v == 0 for v in as_dict(scs_chain_counts(3, 4, 1.0)).values())
    df = scs_chain_counts(3, 4, 0.0)
    assert df["expected_paths"].tolist() == df["n_paths"].astype(float).tolist()
    # released rule, q = 1: T input always detached, R never -> the single representation path
    assert as_dict(scs_chain_counts(3, 4, 1.0, rule="released")) == {3: 1, 4: 0, 5: 0, 6: 0}
    # released rule, q = 0: R input always detached -> only T routes: compositions of m steps into D layers
    d = as_dict(scs_chain_counts(3, 5, 0.0, rule="released"))
    assert d == {3 + m: comb(m + 2, 2) for m in range(5)}
    # STSGD paper rule with p_s = 0 is TD with rate p_t
    assert as_dict(scs_chain_counts(4, 5, None, p_s=0.0, p_t=0.3)) == as_dict(cbm_path_counts(4, 5, 0.3))


def test_stsgd_marginals():
    assert stsgd_marginals(0.3) == (0.3, 0.3)
    assert stsgd_marginals(Fr(3, 10), "released") == (Fr(7, 10), Fr(9, 100))
    assert stsgd_marginals(Fr(7, 10), "released") == (Fr(9, 100), Fr(7, 10))
    with pytest.raises(ValueError):
        stsgd_marginals(1.5)
    with pytest.raises(ValueError):
        stsgd_marginals(0.5, rule="nope")


def test_sources_all_and_units():
    p, depth, length = Fr(1, 2), 3, 5
    first = as_dict(cbm_path_counts(depth, length, p, exact=True))
    allsrc = as_dict(cbm_path_counts(depth, length, p, sources="all", exact=True))
    # x_s -> o_{D,s+m} has the same count as x_1 -> o_{D,1+m}; there are L - m such pairs
    assert allsrc == {depth + m: (length - m) * first[depth + m] for m in range(length)}
    units = as_dict(cbm_path_counts(depth, length, p, length_def="units", exact=True))
    assert units == {ell + depth: v for ell, v in first.items()}


def test_bad_arguments():
    with pytest.raises(ValueError):
        cbm_path_counts(0, 3, 0.5)
    with pytest.raises(ValueError):
        cbm_path_counts(2, 3, 1.2)
    with pytest.raises(ValueError):
        cbm_path_counts(2, 3, 0.5, sources="middle")
    with pytest.raises(ValueError):
        enumerate_paths_bruteforce(6, 6, scheme="stsgd", rate=0.5)  # too many realisations


# ---------------------------------------------------------------------------------------------- figures
def test_default_tables():
    fig2 = cbm_fig2_table()
    assert set(fig2["td_rate"]) == set(DEFAULT_FIG2["td_rates"])
    assert set(fig2.columns) >= {"path_length", "expected_paths", "td_rate", "depth", "seq_len"}
    # TD lowers every count and rate 1 keeps only the shortest path
    g = {r: as_dict(s) for r, s in fig2.groupby("td_rate")}
    assert all(g[0.5][k] < g[0.0][k] for k in g[0.0])
    assert sum(g[1.0].values()) == 1
    fig3 = scs_fig3_table()
    assert len(fig3.groupby(["depth", "seq_len", "p"])) == (
        len(DEFAULT_FIG3["depths"]) * len(DEFAULT_FIG3["lengths"]) * len(DEFAULT_FIG3["ps"]))
    assert set(fig3.columns) >= {"path_length", "expected_paths", "p", "depth", "seq_len"}


def _is_png(path):
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_write_png(tmp_path):
    out = plot_cbm_paths(cbm_fig2_table(), tmp_path / "fig2.png")
    assert _is_png(out)
    df = scs_fig3_table(depths=(2, 5), lengths=(5, 10), ps=(0.0, 0.5, 1.0))  # p = 1: all zero, not drawn
    out = plot_scs_chains(df, tmp_path / "sub" / "fig3.png")
    assert _is_png(out)
