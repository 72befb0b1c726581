"""Experiments that reuse other experiments' runs or read the built models: deeprnn Fig. 7 (training curves
of the Table 6 runs + the TD-rate comparison), scs Fig. 5 (outline examples, curves by depth and by initial
q), scs Table 1 (the stand-alone 17-layer SCS layout, read off the built module)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from ..figures import training_curves  # noqa: E402
from ..reference import load_reference  # noqa: E402
from ..results import load_curves, run_dir, run_status  # noqa: E402
from ..tables import comparison, write_table  # noqa: E402
from . import Experiment, register  # noqa: E402
from .deeprnn import polygon_runs, polygon_td  # noqa: E402
from .scs import SCS_TABLE4_ROWS, TABLE8_OUTLINE, table4_runs  # noqa: E402


def _replace(cfg, experiment: str, labels: dict, **changes):
    return dataclasses.replace(cfg, experiment=experiment, labels={**cfg.labels, **labels}, **changes)


# ---------------------------------------------------------------- deeprnn Fig. 7
FIG7C_FINAL_TD = (0.0, 1.0)  # plus 0.5, the Table 6 runs'
FIG7C_DEPTHS = (10, 15)


def fig7_runs(scale, seeds, root):
    base = polygon_runs("deeprnn.table6", scale, seeds, root)  # Fig. 7a/b are the Table 6 runs
    extra = []
    for cfg in polygon_runs("deeprnn.fig7", scale, seeds, root, rows={"cbm": "Polyg-CBM"}, depths=FIG7C_DEPTHS):
        for final in FIG7C_FINAL_TD:
            extra.append(_replace(cfg, "deeprnn.fig7", dict(td_final=final, row=f"{cfg.labels['row']} TD {final}"),
                                  td_schedule=polygon_td(scale, final)))
    return base + extra  # (labels are hashed: the Table 6 runs keep theirs; no td_final label = 0.5)


def _with_default(curves: pd.DataFrame, label: str, value: float) -> pd.DataFrame:
    if len(curves):
        curves[label] = curves[label].fillna(value) if label in curves else value
    return curves


def fig7_outputs(runs_root, cfgs, out_dir, scale):
    curves = _with_default(load_curves(runs_root, cfgs), "td_final", 0.5)
    fig_dir = Path(out_dir) / "figures" / "deeprnn"
    files = []
    for cell, name, what in (("convlstm", "fig7a", "Polyg-LSTM"), ("cbm", "fig7b", "Polyg-CBM (TD 1.0 -> 0.8 -> 0.5)")):
        sub = curves[(curves["cell"] == cell) & (curves["td_final"] == 0.5)] if len(curves) else curves
        files.append(training_curves(sub, "depth", fig_dir / f"{name}.png",
                                     f"deeprnn Fig. 7{name[-1]}: {what} by depth ({scale} scale)", hue_label="layers"))
    sub = curves[(curves["cell"] == "cbm") & curves["depth"].isin(FIG7C_DEPTHS)] if len(curves) else curves
    if len(sub):
        sub = sub.assign(setting=[f"{d} layers, TD {t:g}" for d, t in zip(sub["depth"], sub["td_final"])])
    files.append(training_curves(sub, "setting", fig_dir / "fig7c.png",
                                 f"deeprnn Fig. 7c: final TD rate on 10/15-layer Polyg-CBM ({scale} scale)",
                                 hue_label=""))
    # the final numbers behind the curves, so the report can show them as a table too
    if len(curves):
        last = curves.sort_values("epoch").groupby(["row", "seed"], sort=False).tail(1)
        summary = last.groupby("row", sort=False).agg(train_loss=("train_loss", "mean"), test_iou=("test_iou", "mean"),
                                                      epochs=("epoch", "max"), n_seeds=("seed", "nunique")).round(3)
    else:
        summary = pd.DataFrame(columns=["train_loss", "test_iou", "epochs", "n_seeds"])
    csv = Path(out_dir) / "tables" / "deeprnn" / "fig7_final.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    summary.assign(scale=scale).to_csv(csv)
    return files + [csv]


register(Experiment(
    id="deeprnn.fig7",
    title="Training loss and test IoU curves: LSTM depths, CBM depths at TD 0.5, final TD rates at 10/15 layers",
    make_runs=fig7_runs, make_outputs=fig7_outputs))


# ---------------------------------------------------------------- scs Fig. 5 c
# Without the sub-goal heads in the outline task, ASTSGD cannot move q, so "initial q" is an STSGD p that
# starts at q0 and decays linearly to 0 over the first half of training (a named choice).
FIG5_Q0 = (0.5, 0.9)  # plus q0 = 0: the Table 4 SCS run
FIG5_Q_DEPTH = 10


def q_decay(q0: float, epochs: int) -> tuple:
    half = max(1, epochs // 2)
    return tuple((e, round(q0 * (1 - e / half), 4)) for e in range(half)) + ((half, 0.0),)


def scs_fig5_runs(scale, seeds, root):
    rows = {"convlstm": SCS_TABLE4_ROWS["convlstm"], "scs": SCS_TABLE4_ROWS["scs"]}
    base = [c for c in table4_runs(scale, seeds, root) if c.labels["cell"] in rows]
    extra = []  # (labels are hashed: the Table 4 runs keep theirs; no q0 label = 0)
    paper = TABLE8_OUTLINE["scs"] if scale == "paper" else {}
    for cfg in polygon_runs("scs.fig5", scale, seeds, root, rows={"scs": rows["scs"]}, depths=(FIG5_Q_DEPTH,)):
        for q0 in FIG5_Q0:
            extra.append(_replace(cfg, "scs.fig5", dict(q0=q0, row=f"{cfg.labels['row']} q0 {q0}"),
                                  stsgd_schedule=q_decay(q0, cfg.epochs), **paper))
    return base + extra


def outline_examples(runs_root: Path, cfg, out: Path, title: str, n: int = 6) -> Path:
    """Predicted (red) and ground-truth (green) outlines of a trained polygon run on test images."""
    from models import create_model

    from ..data.polygon import collate_polygons, target_to_polygon
    from ..train.checkpoint import read_checkpoint
    from ..train.loop import CHECKPOINT_FILE
    from ..train.polygon import datasets

    _, test = datasets(cfg)
    model = create_model(cfg.model, grid=cfg.data_kw["grid"], image_size=cfg.data_kw["image_size"], **cfg.model_kw)
    ckpt = read_checkpoint(run_dir(runs_root, cfg) / CHECKPOINT_FILE)
    model.load_state_dict(ckpt["model"])
    model.eval()
    batch = collate_polygons([test[i] for i in range(min(n, len(test)))])
    with torch.no_grad():
        pred = model.decode(batch["image"], max_len=test.max_len).numpy()
    fig, axes = plt.subplots(1, len(pred), figsize=(1.9 * len(pred), 2.2), squeeze=False)
    for ax, img, p, gt in zip(axes[0], batch["image"], pred, batch["polygon"]):
        im = img.permute(1, 2, 0).numpy()
        ax.imshow(np.clip(im, 0, 1) if im.shape[2] == 3 else im[..., 0], cmap="gray")
        for poly, colour in ((gt, "lime"), (target_to_polygon(p, test.grid, test.image_size), "red")):
            if len(poly):
                closed = np.vstack([poly, poly[:1]])
                ax.plot(closed[:, 0], closed[:, 1], "-o", color=colour, ms=2, lw=1.2)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def scs_fig5_outputs(runs_root, cfgs, out_dir, scale):
    curves = _with_default(load_curves(runs_root, cfgs), "q0", 0.0)
    fig_dir = Path(out_dir) / "figures" / "scs"
    files = []
    for cell, name, what in (("convlstm", "fig5c_lstm", "Polyg-LSTM"), ("scs", "fig5c_scs", "Polyg-SCS")):
        sub = curves[(curves["cell"] == cell) & (curves["q0"] == 0.0)] if len(curves) else curves
        files.append(training_curves(sub, "depth", fig_dir / f"{name}.png",
                                     f"scs Fig. 5c: {what} by depth ({scale} scale)", hue_label="layers"))
    sub = curves[(curves["cell"] == "scs") & (curves["depth"] == FIG5_Q_DEPTH)] if len(curves) else curves
    files.append(training_curves(sub, "q0", fig_dir / "fig5c_q.png",
                                 f"scs Fig. 5c: {FIG5_Q_DEPTH}-layer Polyg-SCS by initial q ({scale} scale)",
                                 hue_label="initial q"))
    done = [c for c in cfgs if c.labels["cell"] == "scs" and c.labels.get("q0", 0.0) == 0.0
            and run_status(run_dir(runs_root, c)) == "done"]
    if done:
        best = max(done, key=lambda c: c.labels["depth"])
        files.append(outline_examples(runs_root, best, fig_dir / "fig5b.png",
                                      f"scs Fig. 5b: outlines by the {best.labels['depth']}-layer Polyg-SCS "
                                      f"(green: ground truth, red: predicted; {scale} scale)"))
    return files


register(Experiment(
    id="scs.fig5",
    title="Outline examples; Polyg-SCS / Polyg-LSTM training curves by depth and by initial q",
    make_runs=scs_fig5_runs, make_outputs=scs_fig5_outputs))


# ---------------------------------------------------------------- scs Table 1 (exact, no data)
def standalone17_layout(width: int = 64, image_size: int = 224) -> pd.DataFrame:
    """The stand-alone 17-layer SCS as built (``models.deep.standalone17``): per row of scs Table 1 the
    kernel, channels, stride / layers per block / repeats and the output size for one ``image_size`` frame,
    measured by hooks on the cells of a forward pass."""
    from models.deep import standalone17

    net = standalone17("scs", width).eval()
    sizes = {}
    hooks = [cell.register_forward_hook(lambda m, i, o, k=k: sizes.__setitem__(k, tuple(o[0].shape[1:])))
             for k, cell in enumerate(net.cells)]
    with torch.no_grad():
        net.step(torch.zeros(1, 3, image_size, image_size), None)
    for h in hooks:
        h.remove()
    # the stage output is the map after the block's post op (the stem's max-pool): measure it as the
    # next cell's input size, or the last cell's output
    stem = net.cells[0]
    rows = [{"row": f"7 × 7, {sizes[0][0]}, stride2", "layer blocks / kernel": stem.r_conv.kernel_size[0],
             "layer blocks / channels": sizes[0][0], "layer blocks / stride": stem.r_conv.stride[0],
             "output size": sizes[0][1]}]
    cells = list(net.cells)[1:]
    stages: dict[int, list[int]] = {}
    for k, cell in enumerate(cells, start=1):
        stages.setdefault(sizes[k][0], []).append(k)
    block_of = {k: b for b, r in enumerate(net.block_ranges()) for k in r}
    for channels, ks in stages.items():
        kernel = cells[ks[0] - 1].r_conv.kernel_size[0]
        blocks = sorted({block_of[k] for k in ks})
        per_block = {net.block_sizes[b] for b in blocks}
        if len(per_block) != 1:
            raise ValueError(f"stage of {channels} channels mixes block sizes {per_block}")
        n = per_block.pop()
        rows.append({"row": f"[{kernel} × {kernel}, {channels}; {kernel} × {kernel}, {channels}] × {len(blocks)}",
                     "layer blocks / kernel": kernel, "layer blocks / channels": channels,
                     "layer blocks / layers per block": n, "layer blocks / repeats": len(blocks),
                     "output size": sizes[ks[-1]][1]})
    tidy = pd.DataFrame(rows).melt(id_vars="row", var_name="column", value_name="reproduced").dropna()
    return tidy


def scs_table1_outputs(runs_root, cfgs, out_dir, scale):
    cells = standalone17_layout().assign(n_seeds=0, dataset="none (the built 17-layer SCS, one 224 x 224 frame)")
    tidy = comparison(load_reference("scs", "table1"), cells, scale)
    return write_table(tidy, Path(out_dir) / "tables" / "scs", "table1",
                       "scs Table 1: the stand-alone 17-layer SCS, read off the built module (exact)")


register(Experiment(id="scs.table1", title="Stand-alone 17-layer SCS structure, read off the built module (exact)",
                    make_runs=lambda scale, seeds, root: [], make_outputs=scs_table1_outputs))


# ---------------------------------------------------------------- scs Table 8 (the paper scale's settings)
# Each column of scs Table 8 is a set of the catalogue's own `paper`-scale run configs; every cell is read
# off those configs (and the models they build), so the table shows what `--scale paper` will really run.
TABLE8_COLUMNS = {
    "Action Recognition / BB supported": ("scs.table2", lambda c: c.model.startswith("deep15_scs")),
    "Action Recognition / Stand-alone": ("scs.table2", lambda c: c.model == "standalone17_scs"),
    "Outline Annotation / LSTM": ("scs.table4", lambda c: c.labels.get("cell") == "convlstm"),
    "Outline Annotation / SCS": ("scs.table4", lambda c: c.labels.get("cell") == "scs"),
    "Auto Driving / CNN+LSTM": ("scs.table5", lambda c: c.model == "steer_cnn_lstm"),
    "Auto Driving / SCS": ("scs.table5", lambda c: c.model == "steer_scs"),
    "Precipitation Forecasting / ConvLSTM": ("scs.table7", lambda c: c.model == "nowcast_convlstm"),
    "Precipitation Forecasting / SCS": ("scs.table7", lambda c: c.model.startswith("nowcast_scs")),
}
PLACEHOLDER_ROOT = "/path/to/data"  # paper-scale grids that need a data root are declared with this one


def paper_configs(exp_id: str):
    from . import resolve

    exp = resolve(exp_id)
    try:
        return exp.runs("paper", 1, None)
    except (ValueError, FileNotFoundError):
        return exp.runs("paper", 1, PLACEHOLDER_ROOT)


def _recurrent_layout(cfg) -> tuple[int, int] | None:
    """(recurrent layers, top feature dimension) of the model a config builds (on the meta device)."""
    from models import create_model

    kw = dict(cfg.model_kw)
    kw.pop("pretrained", None)
    if cfg.task == "polygon":
        kw.update(grid=cfg.data_kw.get("grid", 28), image_size=cfg.data_kw.get("image_size", 224))
    with torch.device("meta"):
        model = create_model(cfg.model, **kw)
    from models.stacks import RecurrentStack

    stacks = [m for m in model.modules() if isinstance(m, RecurrentStack)]
    if stacks:  # the first recurrent stack (the encoder of an encoder-decoder)
        return len(stacks[0].cells), max(stacks[0].widths)
    cells = [m for m in model.modules() if isinstance(m, (torch.nn.LSTMCell, torch.nn.LSTM, torch.nn.GRUCell))]
    if not cells:
        return None
    return len(cells), max(getattr(m, "hidden_size") for m in cells)


def table8_cells() -> pd.DataFrame:
    rows, cache = [], {}
    for column, (exp_id, pick) in TABLE8_COLUMNS.items():
        # an experiment that cannot declare its paper grid raises here: no cell is left silently empty
        cfgs = [c for c in cache.setdefault(exp_id, paper_configs(exp_id)) if pick(c)]
        if not cfgs:
            continue
        c = cfgs[0]
        cell = {"Batch size": c.batch_size, "Learning rate": c.lr}
        layouts = [x for x in (_recurrent_layout(m) for m in {c2.model: c2 for c2 in cfgs}.values()) if x]
        layout = (max(x[0] for x in layouts), max(x[1] for x in layouts)) if layouts else None
        depths = sorted({c2.labels["depth"] for c2 in cfgs if "depth" in c2.labels})
        if len(depths) > 1:
            cell.update({f"Num. layers (choice {k + 1})": d for k, d in enumerate(depths)})
        elif layout:
            cell["Num. layers"] = layout[0]
        if layout:
            cell["Feature dimension"] = layout[1]
        backbone = c.model_kw.get("backbone", "resnet18" if c.model == "steer_cnn_lstm" else None)
        if backbone and c.model == "steer_cnn_lstm":
            cell["Num. layers (backbone)"] = int("".join(ch for ch in backbone if ch.isdigit()))
        if c.scheme == "ltsc":
            cell["LTSC setting (clip length)"] = c.scheme_kw.get("clip_len")
            if c.scheme_kw.get("clips") is not None:
                cell["LTSC setting (clips)"] = c.scheme_kw["clips"]
        if c.task == "steering":
            from ..train.steering import LAMBDAS

            cell.update({f"λ (choice {k + 1})": lam for k, lam in enumerate(sorted(LAMBDAS))})
        for row, value in cell.items():
            rows.append({"row": row, "column": column, "reproduced": float(value),
                         "dataset": f"{exp_id} --scale paper ({c.model})"})
    return pd.DataFrame(rows).assign(n_seeds=0)


def scs_table8_outputs(runs_root, cfgs, out_dir, scale):
    tidy = comparison(load_reference("scs", "table8"), table8_cells(), "paper")
    return write_table(tidy, Path(out_dir) / "tables" / "scs", "table8",
                       "scs Table 8: hyper-parameters, the paper's beside the ones `--scale paper` runs "
                       "(read off the catalogue's paper-scale configs and the models they build)")


register(Experiment(id="scs.table8", title="Hyper-parameters of every experiment: the paper's vs what --scale paper runs",
                    make_runs=lambda scale, seeds, root: [], make_outputs=scs_table8_outputs))
