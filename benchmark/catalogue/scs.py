"""scs: "Complex Sequential Understanding through the Awareness of Spatial and Temporal Concepts"."""
from __future__ import annotations

from pathlib import Path

from ..config import RunConfig
from . import Experiment, register


def fig3_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    """scs Fig. 3: exact expected number of back-prop chains by length, depth x sequence length x p."""
    from ..analytic import plot_scs_chains, scs_fig3_table

    df = scs_fig3_table()
    csv = out_dir / "tables" / "scs" / "fig3_chains.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(csv, index=False)
    return [csv, plot_scs_chains(df, out_dir / "figures" / "scs" / "fig3.png")]


register(Experiment(
    id="scs.fig3",
    title="Expected number of back-propagation chains by length vs depth, sequence length, STSGD p (exact)",
    make_runs=lambda scale, seeds, root: [],
    make_outputs=fig3_outputs,
))
