"""Shared declarations of the toy sequence experiments (deeprnn Figs. 3 and 5, scs Fig. 2 and LTSC):
the grid builder, the tables they print (no paper numbers: the papers show these as figures) and the
feature-map figures read from a trained run."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from models import create_model  # noqa: E402

from ..config import RunConfig, validate  # noqa: E402
from ..results import load_results, run_dir  # noqa: E402
from ..tables import TIDY_COLUMNS, baseline_cells, write_table  # noqa: E402
from ..train.checkpoint import read_checkpoint  # noqa: E402
from ..train.loop import CHECKPOINT_FILE  # noqa: E402


def sequence_run(experiment: str, scale: str, seed: int, model: str, settings: dict, labels: dict,
                 **overrides) -> RunConfig:
    """One toy run: ``settings`` is the scale's dict (epochs, batch_size, lr, data_kw, model_kw)."""
    cfg = RunConfig(experiment=experiment, scale=scale, task="sequence", model=model, seed=seed,
                    model_kw=dict(settings["model_kw"]), data_kw=dict(settings["data_kw"]),
                    epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"],
                    labels=labels, **overrides)
    validate(cfg)
    return cfg


def metric_table(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, paper: str, name: str, caption: str,
                 row_key: str, metrics: dict[str, str], scale: str) -> tuple[pd.DataFrame, list[Path]]:
    """Tidy table of reproduced-only cells (mean over seeds) for figures the papers print no numbers for."""
    res = load_results(runs_root, cfgs)
    done = res[res["status"] == "done"] if len(res) else res
    rows = []
    for row in dict.fromkeys(c.labels[row_key] for c in cfgs):
        sub = done[done[row_key] == row] if len(done) else done
        for col, metric in metrics.items():
            val = sub[metric].mean() if len(sub) and metric in sub else float("nan")
            rows.append({"row": row, "column": col, "paper": float("nan"), "reproduced": round(float(val), 2),
                         "delta": float("nan"), "unit": "", "scale": scale,
                         "dataset": ", ".join(sorted(set(sub["dataset"]))) if len(sub) else None,
                         "n_seeds": int(sub["seed"].nunique()) if len(sub) else 0, "reference_only": False,
                         "source": f"{paper} {name} (a figure in the paper: no printed numbers)", "note": None})
    if cfgs:  # what a predictor that learns nothing scores on the same test set
        for r in baseline_cells(cfgs[0], metrics).itertuples():
            rows.append({"row": r.row, "column": r.column, "paper": float("nan"), "reproduced": r.reproduced,
                         "delta": float("nan"), "unit": "", "scale": scale, "dataset": r.dataset, "n_seeds": 0,
                         "reference_only": False, "source": "benchmark.baselines (no training)", "note": None})
    tidy = pd.DataFrame(rows).reindex(columns=TIDY_COLUMNS)
    return tidy, write_table(tidy, out_dir / "tables" / paper, name, caption)


def load_trained(runs_root: Path, cfg: RunConfig):
    """The model of a finished run, from its checkpoint (eval mode), and its test set."""
    from ..train.sequence import datasets

    ckpt = read_checkpoint(run_dir(runs_root, cfg) / CHECKPOINT_FILE)
    _, test_set = datasets(cfg)
    model = create_model(cfg.model, num_classes=test_set.num_classes, **cfg.model_kw)
    model.load_state_dict(ckpt["model"])
    return model.eval(), test_set


def capture_last_layer(model, frames: torch.Tensor, parts) -> dict[str, torch.Tensor]:
    """Run ``frames`` (1, T, C, H, W) and collect, per time step, maps of the top recurrent layer:
    ``parts(cell, x, out, state) -> {name: (C, H, W) tensor}``. Returns {name: (T, C, H, W)}."""
    cell, got = model.rnn.cells[-1], {}

    def hook(mod, inputs, output):
        for k, v in parts(mod, inputs[0], output[0], output[1]).items():
            got.setdefault(k, []).append(v[0].detach())

    h = cell.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(frames)
    finally:
        h.remove()
    return {k: torch.stack(v) for k, v in got.items()}


def feature_map_figure(examples: list[tuple[str, torch.Tensor, dict[str, torch.Tensor]]], out: Path,
                       title: str, max_frames: int = 6) -> Path:
    """Rows: for each example its input frames then one row per captured map (channel-mean)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    n_rows = sum(1 + len(maps) for _, _, maps in examples)
    T = min(max_frames, examples[0][1].shape[0])
    fig, axes = plt.subplots(n_rows, T, figsize=(1.3 * T, 1.3 * n_rows), squeeze=False)
    r = 0
    for label, frames, maps in examples:
        for name, arr in [(f"{label}\ninput", frames[:, 0])] + [(k, v.mean(1)) for k, v in maps.items()]:
            for t in range(T):
                ax = axes[r, t]
                ax.imshow(arr[t].numpy(), cmap="gray" if "input" in name else "magma")
                ax.set_xticks([]), ax.set_yticks([])
                if t == 0:
                    ax.set_ylabel(name, fontsize=7)
                if r == 0:
                    ax.set_title(f"F{t + 1}", fontsize=8)
            r += 1
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def bar_figure(tidy: pd.DataFrame, out: Path, title: str, ylabel: str) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    piv = tidy.pivot_table(index="column", columns="row", values="reproduced", sort=False)
    ax = piv.plot.bar(figsize=(6.4, 4), rot=0)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    plt.tight_layout()
    plt.savefig(out, dpi=120)
    plt.close()
    return out


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2))
    return path
