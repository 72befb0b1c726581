"""Figures generated from runs: training curves (loss dashed, test metric solid), ablation plots."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402


def save_figure(fig, out, dpi: int = 120, rect: tuple | None = None, tight: bool = True) -> Path:
    """Lay ``fig`` out (``rect``: the part of the figure the axes may fill), write it to ``out`` (its folder
    made), close it; returns the path."""
    out = Path(out)
    if tight:
        fig.tight_layout(**({"rect": rect} if rect is not None else {}))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def training_curves(curves: pd.DataFrame, hue: str, out: Path, title: str, metric: str = "test_iou",
                    metric_label: str = "test IoU (%)", hue_label: str | None = None) -> Path:
    """Train loss (dashed, left axis) and the test metric (solid, right axis) per epoch, one colour per
    ``hue`` value, averaged over seeds (band: min-max over seeds)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    ax2 = ax.twinx()
    levels = sorted(curves[hue].unique()) if len(curves) else []
    import seaborn as sns  # here, not at the top: it imports scipy.stats (~1 s of every CLI start)

    palette = dict(zip(levels, sns.color_palette("viridis", n_colors=max(len(levels), 1))))
    for level in levels:
        g = curves[curves[hue] == level].groupby("epoch")
        loss, met = g["train_loss"], g[metric]
        lab = f"{hue_label or hue} {level}"
        ax.plot(loss.mean().index, loss.mean().values, "--", color=palette[level], label=f"{lab} (loss)")
        ax2.plot(met.mean().index, met.mean().values, "-", lw=2, color=palette[level], label=f"{lab} ({metric_label})")
        if curves[curves[hue] == level]["seed"].nunique() > 1:
            ax2.fill_between(met.min().index, met.min().values, met.max().values, color=palette[level], alpha=0.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (dashed)")
    ax2.set_ylabel(f"{metric_label} (solid)")
    ax.set_title(title, fontsize=10)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    if h1:  # below the axes, so it never hides a curve
        fig.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower center", ncol=2, frameon=False)
        return save_figure(fig, out, rect=(0, 0.01 + 0.035 * ((len(h1) + len(h2) + 1) // 2), 1, 1))
    return save_figure(fig, out)
