"""Shared declarations of the toy sequence experiments (deeprnn Figs. 3 and 5, scs Fig. 2 and LTSC):
the grid builder, the tables they print (no paper numbers: the papers show these as figures) and the
feature-map figures read from a trained run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ...config import RunConfig, validate
from ...figures import plt, save_figure
from ...results import load_results
from ...tables import TIDY_COLUMNS, baseline_cells, write_table
from ...train.loop import load_finished
from .. import scaled


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


def _tile(frame: np.ndarray, size: tuple[int, int], cmap: str) -> np.ndarray:
    """One frame scaled to [0, 1] on its own range (what a lone ``imshow`` shows), coloured, resized
    (nearest neighbour) to ``size``: an (H, W, 3) array."""
    lo, hi = float(frame.min()), float(frame.max())
    unit = (frame - lo) / (hi - lo) if hi > lo else np.zeros_like(frame)
    rgb = plt.get_cmap(cmap)(unit)[..., :3]
    from skimage.transform import resize  # here: importing it costs ~0.25 s of every CLI start

    return resize(rgb, (*size, 3), order=0, anti_aliasing=False) if rgb.shape[:2] != size else rgb


def feature_map_figure(examples: list[tuple[str, torch.Tensor, dict[str, torch.Tensor]]], out: Path,
                       title: str, max_frames: int = 6) -> Path:
    """Rows: for each example its input frames (grey) then one row per captured map (channel mean, magma),
    every frame on its own colour range. Drawn as one mosaic image in one axes: 8 rows x 6 frames as
    subplots took 0.8-1.4 s, the mosaic 0.25-0.34 s (measured in one run)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    T = min(max_frames, examples[0][1].shape[0])
    rows = [row for label, frames, maps in examples
            for row in [(f"{label}\ninput", frames[:, 0], "gray")] + [(k, v.mean(1), "magma") for k, v in maps.items()]]
    size = tuple(max(arr.shape[-2 + i] for _, arr, _ in rows) for i in range(2))
    gap = max(1, size[0] // 16)
    step = (size[0] + gap, size[1] + gap)
    canvas = np.ones((len(rows) * step[0] - gap, T * step[1] - gap, 3))
    for r, (_, arr, cmap) in enumerate(rows):
        for t in range(T):
            y, x = r * step[0], t * step[1]
            canvas[y:y + size[0], x:x + size[1]] = _tile(arr[t].float().numpy(), size, cmap)
    fig, ax = plt.subplots(figsize=(1.3 * T, 1.3 * len(rows)))
    ax.imshow(canvas, interpolation="nearest")
    ax.set_xticks([t * step[1] + size[1] / 2 for t in range(T)], [f"F{t + 1}" for t in range(T)], fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks([r * step[0] + size[0] / 2 for r in range(len(rows))], [name for name, _, _ in rows], fontsize=7)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, out, dpi=110)


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


# ---------------------------------------------------------------- toy experiments (section 3)

TD_TOY = ((0, 1.0), (1, 0.8), (2, 0.5))
FIG3_SCALES = {
    "smoke": dict(epochs=1, batch_size=8, lr=1e-3, data_kw=dict(generator="moving_shapes", n_train=16, n_test=8, T=4, size=16),
                  model_kw=dict(widths=[3, 3, 3], stem_channels=4, downsample=1)),
    "cpu": dict(epochs=40, batch_size=32, lr=3e-3, data_kw=dict(generator="moving_shapes", n_train=1024, n_test=256, T=8, size=32),
                model_kw=dict(widths=[3, 3, 3], stem_channels=8, downsample=1)),
    "paper": "cpu",  # a toy: the paper gives no other setting
}


def fig3_runs(scale, seeds, root):
    s = scaled(FIG3_SCALES, scale)
    return [sequence_run("deeprnn.fig3", scale, seed, "seq_cbm", s, dict(row="3-layer CBM, 3 channels"),
                         td_schedule=TD_TOY) for seed in range(seeds)]


def _cbm_r_and_t(cell, x, out, state):
    from models.cells.cbm import ACTIVATIONS

    return {"R unit": ACTIVATIONS[cell.r_act](cell.r_bn(cell.r_conv(x))), "T unit": state}


def fig3_outputs(runs_root, cfgs, out_dir, scale):
    from ...data.builtin_sequences import DIRECTIONS

    tidy, files = metric_table(runs_root, cfgs, out_dir, "deeprnn", "fig3",
                               "deeprnn Fig. 3 toy: which shape moves which way (accuracy, %)", "row",
                               {"test accuracy (%)": "test_acc"}, scale)
    done = [c for c in cfgs if (runs_root / c.experiment).exists() and _done(runs_root, c)]
    if done:
        model, test = load_finished(runs_root, done[0])
        examples = []
        for i in range(4):
            item = test[i]
            shape = test.shapes[int(item["label"]) // 4]
            direction = DIRECTIONS[int(item["label"]) % 4]
            maps = capture_last_layer(model, item["frames"][None], _cbm_r_and_t)
            examples.append((f"{shape} {direction}", item["frames"], maps))
        files.append(feature_map_figure(examples, out_dir / "figures" / "deeprnn" / "fig3.png",
                                        "deeprnn Fig. 3: last layer's R (representation) and T (temporal)\n"
                                        f"maps, channel mean ({scale} scale)"))
    return files


def _done(runs_root, cfg):
    from ...rundir import run_dir, run_status

    return run_status(run_dir(runs_root, cfg)) == "done"


FIG5_SCALES = {
    "smoke": dict(epochs=1, batch_size=4, lr=1e-3,
                  data_kw=dict(generator="gap", n_train=8, n_test=4, T=12, max_gap=6, max_pos=3),
                  model_kw=dict(widths=[4, 4], stem_channels=4, downsample=2), clip_len=4),
    # 80 frames, the odd one in the first 30, distances up to 50 (the paper's gap), clips of 8 (< 10).
    "cpu": dict(epochs=20, batch_size=16, lr=3e-3,
                data_kw=dict(generator="gap", n_train=256, n_test=64, T=80, max_gap=50, max_pos=30),
                model_kw=dict(widths=[16, 16, 16], stem_channels=16, downsample=2), clip_len=8),
    "paper": "cpu",
}
FIG5_SCHEMES = {"clips": "plain clip sampling", "overlap": "overlap coherence"}


def fig5_runs(scale, seeds, root):
    s = scaled(FIG5_SCALES, scale)
    return [sequence_run("deeprnn.fig5", scale, seed, "seq_cbm", s,
                         dict(row=f"{FIG5_SCHEMES[sch]} (clips of {s['clip_len']})", scheme_name=sch),
                         td_schedule=TD_TOY, scheme=sch, scheme_kw=dict(clip_len=s["clip_len"], lam=0.8))
            for sch in FIG5_SCHEMES for seed in range(seeds)]


GAP_METRICS = {"error, gap 0-9": "err_gap_0_9", "error, gap 10-19": "err_gap_10_19",
               "error, gap 20-29": "err_gap_20_29", "error, gap 30-50": "err_gap_30_50",
               "exact distance (%)": "test_acc"}


def gap_outputs(paper, name, caption):
    def outputs(runs_root, cfgs, out_dir, scale):
        tidy, files = metric_table(runs_root, cfgs, out_dir, paper, name, caption, "row", GAP_METRICS, scale)
        err = tidy[tidy["column"].str.startswith("error")]
        files.append(bar_figure(err, out_dir / "figures" / paper / f"{name}.png",
                                f"{caption} ({scale} scale)", "mean |predicted - true distance| (frames)"))
        return files
    return outputs


# ---------------------------------------------------------------- toy experiments

LTSC_SCHEMES = {"clips": "SCS, plain clip sampling", "ltsc": "SCS + LTSC"}


def ltsc_runs(scale, seeds, root):
    s = scaled(FIG5_SCALES, scale)
    s["data_kw"] = {**s["data_kw"], "kind": "star"}
    return [sequence_run("scs.ltsc", scale, seed, "seq_scs", s,
                         dict(row=f"{LTSC_SCHEMES[sch]} (clips of {s['clip_len']})", scheme_name=sch),
                         scheme=sch, scheme_kw=dict(clip_len=s["clip_len"], lam=0.8,
                                                    overlap=max(1, s["clip_len"] // 4)))
            for sch in LTSC_SCHEMES for seed in range(seeds)]


# scs Fig. 2: shape vs direction. Direction is learnt on three shapes and tested on three unseen ones;
# shape is tested on frames in shuffled order ("disordered motion").
FIG2_SCALES = {
    "smoke": dict(epochs=1, batch_size=8, lr=1e-3, data_kw=dict(generator="moving_shapes", n_train=16, n_test=8, T=4, size=16),
                  model_kw=dict(widths=[4, 4], stem_channels=4, downsample=1)),
    "cpu": dict(epochs=12, batch_size=32, lr=3e-3, data_kw=dict(generator="moving_shapes", n_train=1024, n_test=256, T=8, size=32),
                model_kw=dict(widths=[8, 8, 8], stem_channels=8, downsample=1)),
    "paper": "cpu",
}
FIG2_TASKS = {
    # direction learnt on circles only, tested on five shapes never seen
    "direction": dict(target="direction", shapes=("circle",), noise=0.3,
                      test_kw=dict(shapes=("triangle", "square", "star", "rhombus", "cross"))),
    # shape under heavy noise (one frame is ambiguous, so the net must integrate over time), tested on
    # frames in shuffled order
    "shape": dict(target="shape", noise=0.8, test_kw=dict(disorder=True)),
}
FIG2_MODELS = {"seq_scs": "SCS", "seq_convlstm": "LSTM (ConvLSTM)"}


def fig2_runs(scale, seeds, root):
    cfgs = []
    for model, name in FIG2_MODELS.items():
        for task, extra in FIG2_TASKS.items():
            s = scaled(FIG2_SCALES, scale, data_kw=extra)
            for seed in range(seeds):
                cfgs.append(sequence_run("scs.fig2", scale, seed, model, s, dict(row=name, task=task)))
    return cfgs


def fig2_outputs(runs_root, cfgs, out_dir, scale):
    from ...rundir import run_dir, run_status

    files = []
    tidy = []
    for task, col in (("direction", "direction acc., unseen shapes (%)"), ("shape", "shape acc., disordered motion (%)")):
        sub = [c for c in cfgs if c.labels["task"] == task]
        t, _ = metric_table(runs_root, sub, out_dir, "scs", "fig2", "", "row", {col: "test_acc"}, scale)
        tidy.append(t)
    import pandas as pd

    from ...tables import write_table

    tidy = pd.concat(tidy, ignore_index=True)
    files += write_table(tidy, out_dir / "tables" / "scs", "fig2",
                         "scs Fig. 2 toy: SCS vs LSTM on the temporal (direction) and spatial (shape) concept")
    scs_dir = [c for c in cfgs if c.model == "seq_scs" and c.labels["task"] == "direction"
               and run_status(run_dir(runs_root, c)) == "done"]
    if scs_dir:
        model, test = load_finished(runs_root, scs_dir[0])
        parts = lambda cell, x, out, state: {"h_s (spatial)": state.spatial, "h_t (temporal)": state.temporal,  # noqa: E731
                                             "F (synthesised)": out}
        from ...data.builtin_sequences import DIRECTIONS

        examples = [(f"moving {DIRECTIONS[int(test[i]['label'])]}", test[i]["frames"],
                     capture_last_layer(model, test[i]["frames"][None], parts)) for i in range(3)]
        files.append(feature_map_figure(examples, out_dir / "figures" / "scs" / "fig2.png",
                                        f"scs Fig. 2: last SCS layer's h_s, h_t and F on unseen shapes\n({scale} scale)"))
    return files
