"""Action recognition and anticipation (task ``action``): deeprnn Tables 1, 2, 3, 7, 8 and prernn Tables 5, 7.

At the ``smoke`` and ``cpu`` scales every column of a real data set is a built-in stand-in: a draw of
moving shapes (``STANDINS``: class = shape x direction, 12 or 24 classes; a different shape set, noise
level and data seed per data set), 32 px frames, 8 frames per video. The backbone-supported nets get a
narrow backbone (``ACTION_SCALES[scale]["nets"]``) with stand-in pretrained weights
(``benchmark.train.action.pretrain_standin``: still frames, what and where) in place of ImageNet weights.
``paper`` is deeprnn section 4.1 / prernn section 4.3 on the real data (``--data-root ROOT``: a data set
named ``<name>`` is read from ``ROOT/<name>`` when that folder exists, else from ROOT itself).

One run is one (net, data set, setting, seed); its labels name the net (``net``), the data set (``data``)
and, where it matters, the stream (``modality``). Runs that two tables share are declared once, under the
experiment that owns them (deeprnn Table 2's VGG rows are Table 1's UCF-101 runs; prernn Table 7's split 1
is Table 5's run), so they train once.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ...claims import DERIVED
from ...config import RunConfig, validate
from ...data.builtin_sequences import OTHER_SHAPES
from ...reference import load_reference
from ...results import load_results
from ...tables import BASELINE_ROW, baseline_cells, comparison, write_table
from ...figures import plt, save_figure
from .. import scaled

# ------------------------------------------------------------------------------------------ scales
# Stand-in ImageNet pretraining of the narrow backbones (cached per backbone and width; see
# benchmark.train.action.pretrain_standin): 300 Adam steps of 64 still frames.
STANDIN_PRETRAINING = dict(n=256, T=4, size=32, noise=0.1, seed=1000, steps=300, batch=64, lr=1e-3, where=1.0)
# deeprnn 4.1: TD 1.0, 0.8 after two epochs, 0.5 after two more; compressed to one epoch each below paper.
TD_PAPER = ((0, 1.0), (2, 0.8), (4, 0.5))
TD_SHORT = ((0, 1.0), (1, 0.8), (2, 0.5))

ACTION_SCALES = {
    "smoke": dict(epochs=1, batch_size=dict(shallow=4, deep=4), lr=1e-3, td=TD_SHORT, scheme=None,
                  data_kw=dict(n_train=8, n_test=4, T=4, size=32),
                  nets=dict(lrcn=dict(width=1 / 16), deep15=dict(width=8, backbone_width=1 / 16, feature_tap="stride8"),
                            standalone17=dict(width=4), prernn=dict(width=1 / 16)),
                  pretrained=dict(STANDIN_PRETRAINING, n=4, steps=1, batch=4), flow=dict(flow_iters=5)),
    # 32 px, 8 frames, 256 training videos; lr 1e-3 (1e-4 barely moves in ~100 steps); batch 16 for every net
    # (the paper's 64 for the shallow nets would leave 4 steps per epoch). The deep nets read the backbone's
    # stride-8 map (VGG conv4_3, GoogLeNet inception3b): 4x4 at 32 px, where conv5 would be 2x2 (1x1 for
    # GoogLeNet) and no conv RNN could see motion (measured: the 15-layer CBM stays at chance on direction
    # on conv5 at 32 px); the paper's conv5 keeps 14x14 of 224 px frames.
    "cpu": dict(epochs=6, batch_size=dict(shallow=16, deep=16), lr=1e-3, td=TD_SHORT, scheme=None,
                data_kw=dict(n_train=256, n_test=128, T=8, size=32),
                nets=dict(lrcn=dict(width=1 / 8), deep15=dict(width=32, backbone_width=1 / 8, feature_tap="stride8"),
                          standalone17=dict(width=8), prernn=dict(width=1 / 8)),
                pretrained=STANDIN_PRETRAINING, flow=dict(flow_iters=100),
                # the ResNet50 nets (BN throughout) fit the colour stream in ~3 epochs: 4 epochs keep the
                # 16 runs of prernn Table 5 within the budget
                prernn_epochs=4),
    # deeprnn 4.1: 224 crops of frames resized to 368, ImageNet backbones, Adam lr 1e-4, batch 64 shallow /
    # 16 deep, dropout 0.2 / 0.5 (the nets' defaults), overlap coherence (L 10 x S 7, 25%, lambda 0.8) for
    # the deep nets. The paper gives no epoch count (the TD schedule needs > 4) nor frames per video: 55
    # consecutive frames = the 7 overlapping clips of 10. Its weight decay 1e-5 and lr decay are not applied
    # (the shared loop has plain Adam). prernn: the same data settings, flow stacked over 10 frames.
    "paper": dict(epochs=8, batch_size=dict(shallow=64, deep=16), lr=1e-4, td=TD_PAPER,
                  scheme=dict(clip_len=10, clips=7, overlap_rate=0.25, lam=0.8),
                  data_kw=dict(T=55, stride=1, crop=224, shorter=368),
                  nets=dict(lrcn={}, deep15={}, standalone17={}, prernn={}),
                  pretrained=True, flow=dict(flow_stack=10, flow_iters=100)),
}

# Issue 18: at cpu every classification claim is read on 512 test videos per data set (binomial SE ~2.2 points
# at 50% accuracy; the 128 before gave ~4.4, larger than most of the papers' effects), a rule fixed before any
# run. deeprnn Tables 1, 2, 3, 7, 8 and prernn Tables 5, 7 use it.
TEST_VIDEOS = {"cpu": dict(n_test=512)}

# Built-in stand-ins of the real data sets (smoke / cpu): MovingShapes draws. UCF-101: 3 shapes x 4
# directions; HMDB-51 (harder, as the real one): 3 other shapes, twice the noise; Kinetics (bigger): 6 shapes
# that neither of the others has (OTHER_SHAPES: 24 classes), twice the videos. Issue 18: with Kinetics drawn
# from the UCF and HMDB shapes, every fine-tuning class was a pre-training class and Table 3 sat at the
# ceiling (HMDB-51 98.4); disjoint classes leave what a pre-training can carry over (motion, shape
# features), not the answer. prernn Table 7's splits 2 and 3 are further draws of the UCF one.
STANDINS = {
    "ucf101": dict(shapes=("triangle", "square", "circle"), noise=0.1, seed=0),
    "hmdb51": dict(shapes=("star", "rhombus", "cross"), noise=0.2, seed=1),
    "kinetics": dict(shapes=OTHER_SHAPES, noise=0.1, seed=2, size_factor=2),
}
DATA_NAMES = {"ucf101": "UCF-101", "hmdb51": "HMDB-51", "kinetics": "Kinetics"}
METRICS = {"Recg": "test_acc", "Atcp": "test_atcp"}


def family(model: str) -> str:
    if model.startswith("deep15_"):
        return "deep15"
    if model.startswith("standalone17_"):
        return "standalone17"
    if model.startswith("lrcn_"):
        return "lrcn"
    return "prernn"


def data_root_for(data_root: str | None, data: str) -> str | None:
    """``ROOT/<name>`` when that folder exists (several data sets under one root), else ROOT."""
    if not data_root:
        return None
    sub = os.path.join(data_root, data)
    return sub if os.path.isdir(sub) else data_root


def action_run(experiment: str, scale: str, seed: int, model: str, data: str, data_root: str | None,
               labels: dict, *, deep: bool = False, model_kw: dict | None = None, td=None, modality: str = "rgb",
               split: int = 1, data_kw: dict | None = None, epochs: int | None = None,
               lr: float | None = None) -> RunConfig:
    """One run of the action task. ``deep``: a deep net (paper: batch 16 and the overlap scheme);
    ``td``: the TD schedule of a CBM net (default: the scale's); ``split``: the data split (built-in: the
    draw)."""
    s = scaled(ACTION_SCALES, scale)
    fam = family(model)
    mk = {**s["nets"][fam], **(model_kw or {})}
    if s["pretrained"] and fam != "standalone17":
        mk["pretrained"] = s["pretrained"] if isinstance(s["pretrained"], bool) else dict(s["pretrained"])
    dkw = dict(s["data_kw"])
    if data_root:
        dataset, root = data, data_root_for(data_root, data)
        if data != "kinetics":
            dkw["split"] = split
    else:
        if "n_train" not in dkw:
            raise ValueError(f"the {scale} scale of the action tasks runs on the real data sets: pass --data-root PATH")
        dataset, root = "builtin", None
        st = dict(STANDINS[data])
        factor = st.pop("size_factor", 1)
        dkw.update(n_train=dkw["n_train"] * factor, n_test=dkw["n_test"] * factor, **st)
        dkw["seed"] = st["seed"] + 10 * (split - 1)  # another draw per split
    if modality != "rgb":
        dkw.update(modality=modality, **s["flow"])
    dkw.update(data_kw or {})
    is_cbm = "_cbm" in model
    scheme = s["scheme"] if deep and s["scheme"] else None
    cfg = RunConfig(experiment=experiment, scale=scale, task="action", model=model, seed=seed, model_kw=mk,
                    dataset=dataset, data_root=root, data_kw=dkw, epochs=epochs or s["epochs"],
                    batch_size=s["batch_size"]["deep" if deep else "shallow"], lr=s["lr"] if lr is None else lr, grad_clip=5.0,
                    td_schedule=tuple(td if td is not None else s["td"]) if is_cbm else (),
                    labels={"data": data, "modality": modality, "split": split, **labels},
                    **(dict(scheme="overlap", scheme_kw=dict(scheme)) if scheme else {}))
    validate(cfg)
    return cfg


# ------------------------------------------------------------------------------------------- cells
def _dataset_text(res: pd.DataFrame) -> str:
    parts = []
    for r in res.itertuples():
        src = getattr(r, "dataset", None) or "?"
        parts.append(f"{DATA_NAMES.get(r.data, r.data)} stand-in = {src}" if str(src).startswith("builtin")
                     else str(src))
    return "; ".join(sorted(set(parts)))


def cells(results: pd.DataFrame, where) -> pd.DataFrame:
    """Reproduced cells: ``where(result row) -> [(row, column, metric), ...]`` for each finished run;
    the mean over seeds (and over the runs a cell averages, e.g. three splits)."""
    done = results[results["status"] == "done"] if len(results) else results
    recs = []
    for _, r in done.iterrows():
        for row, column, metric in where(r):
            if metric in r and pd.notna(r[metric]):
                recs.append({"row": row, "column": column, "value": float(r[metric]), "seed": r["seed"],
                             "data": r["data"], "dataset": r.get("dataset")})
    if not recs:
        return pd.DataFrame(columns=["row", "column", "reproduced", "n_seeds", "dataset"])
    df = pd.DataFrame(recs)
    out = []
    for (row, col), g in df.groupby(["row", "column"], sort=False):
        out.append({"row": row, "column": col, "reproduced": round(g["value"].mean(), 2),
                    "n_seeds": int(g["seed"].nunique()), "dataset": _dataset_text(g)})
    return pd.DataFrame(out)


def _tidy(paper: str, table: str, reproduced: pd.DataFrame, scale: str) -> pd.DataFrame:
    return comparison(load_reference(paper, table), reproduced, scale)


def _caption(text: str, scale: str) -> str:
    if scale == "paper":
        return text
    return (f"{text}. {scale} scale: every data set is a built-in stand-in (moving shapes, class = shape x "
            f"direction; see the dataset column), narrow nets, stand-in pretrained backbones")


def data_baselines(cfgs, columns_of) -> pd.DataFrame:
    """Per data set of ``cfgs``, what a predictor that learns nothing scores on its test set (``benchmark.
    baselines``, measured on the data set's first run: its runs share the test videos and training labels),
    as the row "trivial baseline <data set>: ..." under the columns ``columns_of(data) -> {column: metric}``."""
    parts = []
    for data in dict.fromkeys(c.labels["data"] for c in cfgs):
        b = baseline_cells(next(c for c in cfgs if c.labels["data"] == data), columns_of(data))
        parts.append(b.assign(row=b["row"].str.replace(BASELINE_ROW, f"{BASELINE_ROW} {DATA_NAMES[data]}",
                                                       regex=False)))
    return pd.concat(parts, ignore_index=True) if parts else None


# ---------------------------------------------------------------------------------- deeprnn Table 1
TABLE1_NETS = {  # row -> (model, extra model_kw, deep)
    "1-layer LSTM": ("lrcn_vgg16_lstm", {}, False),
    "15-layer ConvLSTM": ("deep15_convlstm_vgg16", {}, True),
    # one CBM layer on VGG conv5, no shortcut (models.deep.backbone15 depth=1, block=1, shortcuts=False)
    "1-layer CBM": ("deep15_cbm_vgg16", dict(depth=1, block=1, shortcuts=False), False),
    "15-layer CBM": ("deep15_cbm_vgg16", {}, True),
}
TABLE1_DATA = ("ucf101", "hmdb51")


def table1_runs(scale, seeds, root, nets=None, data=TABLE1_DATA):
    return [action_run("deeprnn.table1", scale, seed, model, d, root, dict(net=row, row=row), deep=deep,
                       model_kw=mk, data_kw=None if root else TEST_VIDEOS.get(scale))
            for row, (model, mk, deep) in TABLE1_NETS.items() if nets is None or row in nets
            for d in data for seed in range(seeds)]


def recg_atcp(r):
    name = DATA_NAMES[r["data"]]
    return [(r["net"], f"{name} / {k}", m) for k, m in METRICS.items()]


def table1_outputs(runs_root, cfgs, out_dir, scale):
    base = data_baselines(cfgs, lambda d: {f"{DATA_NAMES[d]} / {k}": m for k, m in METRICS.items()})
    tidy = _tidy("deeprnn", "table1", pd.concat([cells(load_results(runs_root, cfgs), recg_atcp), base]), scale)
    files = write_table(tidy, out_dir / "tables" / "deeprnn", "table1", _caption(
        "deeprnn Table 1: top-1 (%) of action recognition (whole video) and anticipation (first 2 frames), "
        "shallow vs deep RNNs on VGG; UCF-101 and HMDB-51 split 1", scale),
        columns=["UCF-101 / Recg", "UCF-101 / Atcp", "HMDB-51 / Recg", "HMDB-51 / Atcp"])
    files.append(grouped_bars(tidy, out_dir / "figures" / "deeprnn" / "table1.png",
                              f"deeprnn Table 1: recognition / anticipation, paper vs ours ({scale} scale)"))
    return files


# ---------------------------------------------------------------------------------- deeprnn Table 2
TABLE2_NETS = {  # row -> (model, deep); the VGG rows are Table 1's UCF-101 runs
    "1-layer LSTM with InceptionV1 [4]": ("lrcn_googlenet_lstm", False),
    "15-layer ConvLSTM with InceptionV1": ("deep15_convlstm_googlenet", True),
    "15-layer CBM with InceptionV1": ("deep15_cbm_googlenet", True),
}
TABLE2_VGG_ROWS = {"1-layer LSTM": "1-layer LSTM with VGG [8]",
                   # not in the paper's Table 2 (their VGG numbers are Table 1's): the swap's other half
                   "15-layer ConvLSTM": "15-layer ConvLSTM with VGG (Table 1)",
                   "15-layer CBM": "15-layer CBM with VGG (Table 1)"}


# Issue 18 listed Table 2's stand-in backbones as under-trained (one seed, 128 test videos: InceptionV1 CBM
# 46.9 vs ConvLSTM 71.9). At cpu Table 2 reads 512 test videos (TEST_VIDEOS), training unchanged, after a
# pilot of the trivial baseline and one model (the 1-layer LSTM on InceptionV1, seed 0): majority class 9.0,
# the LSTM 51.8 (per epoch 23.6, 40.2, 26.0, 30.9, 51.8, 51.8): clearly above the baseline, far from the ceiling.
def table2_runs(scale, seeds, root):
    vgg = table1_runs(scale, seeds, root, nets=TABLE2_VGG_ROWS, data=("ucf101",))
    return vgg + [action_run("deeprnn.table2", scale, seed, model, "ucf101", root, dict(net=row, row=row), deep=deep,
                             data_kw=None if root else TEST_VIDEOS.get(scale))
                  for row, (model, deep) in TABLE2_NETS.items() for seed in range(seeds)]


def table2_outputs(runs_root, cfgs, out_dir, scale):
    def where(r):
        return [(TABLE2_VGG_ROWS.get(r["net"], r["net"]), "Recognition Acc", "test_acc")]

    base = data_baselines(cfgs, lambda d: {"Recognition Acc": "test_acc"})
    tidy = _tidy("deeprnn", "table2", pd.concat([cells(load_results(runs_root, cfgs), where), base]), scale)
    return write_table(tidy, out_dir / "tables" / "deeprnn", "table2", _caption(
        "deeprnn Table 2: action recognition top-1 (%) on UCF-101 split 1, VGG vs InceptionV1 (GoogLeNet) "
        "backbone", scale))


# ---------------------------------------------------------------------------------- deeprnn Table 3
TABLE3_ROW = "Deep CBM without BB"
# The paper's "Shallow LSTM with BB [8]" row: Table 1's 1-layer LSTM (LRCN on VGG16, the same model, backbone
# features and settings: TABLE1_NETS["1-layer LSTM"]) run through Table 3's protocol, trained on Kinetics and
# fine-tuned end to end on UCF-101 / HMDB-51 from it (its 86.8 on UCF-101 against Table 1's 71.1 is a
# Kinetics-pretrained number). The paper prints a published number there; the suite runs it so that the
# deeprnn.t3.cbm17_gt_shallow_lstm_* claims compare two run groups of the same seeds.
TABLE3_LSTM_ROW = "Shallow LSTM with BB [8]"
TABLE3_NETS = {  # row -> (model, extra model_kw, deep)
    TABLE3_ROW: ("standalone17_cbm", {}, True),
    TABLE3_LSTM_ROW: TABLE1_NETS["1-layer LSTM"],
}


# Issue 18: 512 test videos per data set at cpu (TEST_VIDEOS; Kinetics' stand-in too, not twice as many); see
# STANDINS for the Kinetics stand-in's classes. Training: a pilot
# of one model, the shallow LSTM (seed 0, Kinetics -> UCF-101 / HMDB-51; majority class 4.2 / 9.0 / 9.4), at
# the action scale's lr 1e-3 was unstable (Kinetics 21.5, and HMDB-51 stayed at the majority class, train loss
# at ln 12, after 6 epochs; 12 epochs: 23.4 / 30.9 / 64.8, UCF-101 falling from 33.6 as its loss rose). At
# lr 3e-4 for 12 epochs every stage learns steadily: 70.7 / 85.5 / 84.2. Table 3 runs (both nets) use that.
TABLE3_TRAINING = {"cpu": dict(epochs=12, lr=3e-4)}


def table3_runs(scale, seeds, root):
    """Each Table 3 net trained on Kinetics, then fine-tuned end to end on UCF-101 and HMDB-51
    (``data_kw["pretrain"]``: the Kinetics run of the same net and seed, trained first if needed): the
    stand-alone 17-layer CBM and the shallow LSTM on its VGG backbone (``TABLE3_NETS``)."""
    dkw = {} if root else TEST_VIDEOS.get(scale, {})
    train = {} if root else TABLE3_TRAINING.get(scale, {})
    cfgs = []
    for row, (model, mk, deep) in TABLE3_NETS.items():
        for seed in range(seeds):
            pre = action_run("deeprnn.table3", scale, seed, model, "kinetics", root, dict(net=row, row=row),
                             deep=deep, model_kw=mk, data_kw=dkw, **train)
            cfgs.append(pre)
            for d in ("ucf101", "hmdb51"):
                cfgs.append(action_run("deeprnn.table3", scale, seed, model, d, root,
                                       dict(net=row, row=row, pretrained_on="kinetics"), deep=deep, model_kw=mk,
                                       data_kw=dict(dkw, pretrain=pre.to_dict()), **train))
    return cfgs


def table3_outputs(runs_root, cfgs, out_dir, scale):
    def where(r):
        return [(r["net"], DATA_NAMES[r["data"]], "test_acc")]

    base = data_baselines(cfgs, lambda d: {DATA_NAMES[d]: "test_acc"})
    tidy = _tidy("deeprnn", "table3", pd.concat([cells(load_results(runs_root, cfgs), where), base]), scale)
    return write_table(tidy, out_dir / "tables" / "deeprnn", "table3", _caption(
        "deeprnn Table 3: action recognition top-1 (%) on Kinetics, then fine-tuned end to end on UCF-101 and "
        "HMDB-51: the stand-alone 17-layer CBM (no backbone) and the shallow LSTM with VGG backbone (Table 1's "
        "1-layer LSTM, pre-trained on Kinetics the same way); other rows are published numbers (reference "
        "only)", scale), columns=["Kinetics", "UCF-101", "HMDB-51"])


# ---------------------------------------------------------------------------------- deeprnn Table 7
# Table 7's caption: "For R, both of the two settings adopt ReLU(Conv)"; T = sigmoid conv (product) or
# ReLU conv (addition). (The backbone nets' released R is tanh: Table 1 keeps that, so Table 7's
# production row is its own run.)
TABLE7_MERGES = {"Production": "product", "Addition": "addition"}
TABLE7_R_ACT = "relu"


def table7_runs(scale, seeds, root):
    return [action_run("deeprnn.table7", scale, seed, "deep15_cbm_vgg16", "ucf101", root,
                       dict(net="15-layer CBM", row=row, merge=merge), deep=True,
                       model_kw=dict(merge=merge, r_act=TABLE7_R_ACT),
                       data_kw=None if root else TEST_VIDEOS.get(scale))
            for row, merge in TABLE7_MERGES.items() for seed in range(seeds)]


def table7_outputs(runs_root, cfgs, out_dir, scale):
    def where(r):
        return [(r["row"], "Recognition", "test_acc"), (r["row"], "Anticipation", "test_atcp")]

    base = data_baselines(cfgs, lambda d: {"Recognition": "test_acc", "Anticipation": "test_atcp"})
    tidy = _tidy("deeprnn", "table7", pd.concat([cells(load_results(runs_root, cfgs), where), base]), scale)
    files = write_table(tidy, out_dir / "tables" / "deeprnn", "table7", _caption(
        "deeprnn Table 7: 15-layer CBM on VGG, merge by element-wise product (T = sigmoid conv) vs addition "
        "(T = ReLU conv), R = ReLU conv; top-1 (%) on UCF-101", scale))
    files.append(grouped_bars(tidy, out_dir / "figures" / "deeprnn" / "table7.png",
                              f"deeprnn Table 7: merge function, paper vs ours ({scale} scale)"))
    return files


# ---------------------------------------------------------------------------------- deeprnn Table 8
TABLE8_RATES = (0.0, 0.2, 0.5, 0.8, 1.0)


def td_decay(schedule, final: float) -> tuple:
    """The scale's TD schedule (1.0, 0.8, 0.5) with its last rate replaced by ``final``; the middle step is
    max(0.8, final), so final 0.5 is the usual schedule and the rate never rises ("gradually decay")."""
    (e0, r0), (e1, r1), (e2, _) = schedule
    return ((e0, r0), (e1, max(r1, final)), (e2, final))


# Issue 18: Table 8's TD-rate sweep was flat (39.8-45.3) on 128 test videos, whose binomial SE (~4.4 points)
# is larger than the paper's effect. At cpu the test set is 512 videos of the UCF-101 stand-in (SE ~2.2), a
# rule fixed before any run (n_test >= 512 for classification claims); training unchanged. Pilot (seed 0,
# 512 test videos): majority class 8.98, the TD 0.5 net 48.0 (clearly above it, far from the ceiling).


def table8_runs(scale, seeds, root):
    td = scaled(ACTION_SCALES, scale)["td"]
    data_kw = TEST_VIDEOS.get(scale) if not root else None
    return [action_run("deeprnn.table8", scale, seed, "deep15_cbm_vgg19", "ucf101", root,
                       dict(net="15-layer CBM (VGG19)", row=f"TD rate {rate}", td_final=rate), deep=True,
                       td=td_decay(td, rate), data_kw=data_kw)
            for rate in TABLE8_RATES for seed in range(seeds)]


def table8_outputs(runs_root, cfgs, out_dir, scale):
    def where(r):
        return [(r["row"], "Acc", "test_acc")]

    base = baseline_cells(cfgs[0], {"Acc": "test_acc"}) if cfgs else None
    tidy = _tidy("deeprnn", "table8", pd.concat([cells(load_results(runs_root, cfgs), where), base]), scale)
    files = write_table(tidy, out_dir / "tables" / "deeprnn", "table8", _caption(
        "deeprnn Table 8: action recognition top-1 (%) on UCF-101 by final TD rate (decayed from 1.0), VGG19 + "
        "15-layer CBM, product merge", scale))
    files.append(td_rate_plot(tidy, out_dir / "figures" / "deeprnn" / "table8.png", scale))
    return files


def td_rate_plot(tidy: pd.DataFrame, out: Path, scale: str) -> Path:
    """Accuracy vs final TD rate, the paper's and ours (each on its own axis: the scales differ), and the
    trivial baseline of ours."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    base = tidy[tidy["row"].str.startswith(BASELINE_ROW)]
    tidy = tidy[tidy["row"].str.startswith("TD rate ")]
    df = tidy.assign(rate=tidy["row"].str.replace("TD rate ", "", regex=False).astype(float)).sort_values("rate")
    fig, ax = plt.subplots(figsize=(5.6, 4))
    ax.plot(df["rate"], df["paper"], "o-", color="tab:blue", label="paper (UCF-101)")
    ax.set_xlabel("final TD rate")
    ax.set_ylabel("paper: top-1 (%)", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(df["rate"], df["reproduced"], "s--", color="tab:red", label=f"ours ({scale} scale)")
    if len(base):  # on the axis of ours: the same test set
        ax2.axhline(float(base["reproduced"].iloc[0]), color="0.3", ls=":", lw=1.5, label=base["row"].iloc[0])
    ax2.set_ylabel(f"ours ({scale}): top-1 (%)", color="tab:red")
    ax.set_xticks(list(TABLE8_RATES))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower center", ncol=2, frameon=False)
    ax.set_title("deeprnn Table 8: recognition vs final TD rate", fontsize=10)
    return save_figure(fig, out, rect=(0, 0.07, 1, 1))


# ---------------------------------------------------------------------------------- prernn Table 5
TABLE5_NETS = {  # (row, method) -> model; VRNN has no SIH variant (the paper's "-")
    ("VRNN", "Traditional"): "tra_resnet50_vrnn", ("VRNN", "PreRNN"): "prernn_resnet50_vrnn",
    ("LSTM", "Traditional"): "tra_resnet50_lstm", ("LSTM", "PreRNN"): "prernn_resnet50_lstm",
    ("LSTM", "PreRNN-SIH"): "prernn_sih_resnet50_lstm",
    ("GRU", "Traditional"): "tra_resnet50_gru", ("GRU", "PreRNN"): "prernn_resnet50_gru",
    ("GRU", "PreRNN-SIH"): "prernn_sih_resnet50_gru",
}
STREAMS = {"rgb": "Color", "flow": "Flow"}
# prernn's "Baseline (w/o RNN)" (Table 7: 91.7% over three splits, "2.6% improvement over the baseline"): the
# same ResNet50, streams and training with the recurrent layer replaced by the per-frame output layer: ResNet50
# up to pool5 (res5c kept feedforward, as pretrained) -> a new output layer per frame, averaged over the video.
# It is Table 5's traditional net (its recurrent layer on pool5) with no recurrent layer (tra_net
# ``num_layers=0``), so it differs from the "Traditional" column only by the recurrence. Run on split 1 beside
# Table 5 (the paper's split for internal comparisons) and on splits 2 and 3 for Table 7.
NO_RNN_ROW, BASELINE_METHOD = "Baseline (w/o RNN)", "w/o RNN"
BASELINE_NET = ("tra_resnet50_vrnn", dict(num_layers=0))


# Issue 18: on the UCF-101 stand-in (noise 0.1) the ResNet50 nets' colour stream sat at the ceiling (93-99%)
# on 128 test videos. At cpu, prernn Tables 5 and 7 read 512 test videos (the rule for classification
# claims) of a noisier draw, noise 0.3, chosen by a rule fixed before its pilot: the lowest noise of
# (0.2, 0.3, 0.4) at which the traditional GRU's colour stream (seed 0, 512 test videos) scores <= 90% while
# its flow stream stays >= twice the majority class. Pilot (majority class 9.0): colour / flow at noise 0.2
# 99.0 / 35.7, at 0.3 89.3 / 22.3, at 0.4 73.8 / 20.1.
PRERNN_DATA = {"cpu": dict(TEST_VIDEOS["cpu"], noise=0.3)}


def prernn_run(experiment, scale, seed, row, method, modality, root, split=1):
    model, mk = BASELINE_NET if method == BASELINE_METHOD else (TABLE5_NETS[(row, method)], None)
    return action_run(experiment, scale, seed, model, "ucf101", root,
                      dict(net=row, row=row, method=method), modality=modality, split=split, model_kw=mk,
                      epochs=scaled(ACTION_SCALES, scale).get("prernn_epochs"),
                      data_kw=None if root else PRERNN_DATA.get(scale))


def table5_runs(scale, seeds, root):
    """Table 5's cells and, beside them, the baseline without RNN (colour and flow, split 1)."""
    return [prernn_run("prernn.table5", scale, seed, row, method, m, root)
            for (row, method) in (*TABLE5_NETS, (NO_RNN_ROW, BASELINE_METHOD)) for m in STREAMS
            for seed in range(seeds)]


def _table5_key(c):
    return c.labels["row"], c.labels["method"], c.labels["split"]


def two_stream_by_seed(runs_root, cfgs, key=_table5_key) -> dict:
    """Two-stream accuracy (%) per (key, seed): the average of the colour and flow runs' per-video softmax
    scores (their saved ``test_scores.npz``). Returns {key: {seed: accuracy}}."""
    from ...train.action import ensure_scores, two_stream_accuracy

    by = {}
    for c in cfgs:
        by.setdefault((key(c), c.seed), {})[c.labels["modality"]] = c
    out = {}
    for (k, seed), streams in by.items():
        if set(streams) != set(STREAMS):
            continue
        paths = [ensure_scores(runs_root, streams[m]) for m in STREAMS]
        if all(p is not None for p in paths):
            out.setdefault(k, {})[seed] = two_stream_accuracy(paths)
    return out


def two_stream_cells(runs_root, cfgs, key=_table5_key) -> dict:
    """{key: [two-stream accuracy per seed]} (``two_stream_by_seed`` without the seeds)."""
    return {k: list(v.values()) for k, v in two_stream_by_seed(runs_root, cfgs, key).items()}


# The two-stream accuracy as a claim value: one row per (row, method, split, seed), labelled as the colour
# run with modality "comb" and derived "two-stream" (prernn.table5.comb_gt_single_stream)
COMB, TWO_STREAM = "comb", "two-stream"


def _comb_labels(c: RunConfig) -> dict:
    return {**c.labels, "modality": COMB, DERIVED: TWO_STREAM}


def two_stream_claim_values(runs_root, cfgs) -> pd.DataFrame:
    by = two_stream_by_seed(runs_root, cfgs, key=lambda c: tuple(_comb_labels(c).items()))
    return pd.DataFrame([{**dict(k), "seed": seed, "test_acc": acc, "status": "done"}
                         for k, per_seed in by.items() for seed, acc in per_seed.items()])


def two_stream_claim_arms(cfgs) -> list[dict]:
    """Labels of the two-stream rows of one seed: one per colour run that has its flow run in the grid."""
    flows = [_comb_labels(c) for c in cfgs if c.labels["modality"] == "flow"]
    return [lab for lab in (_comb_labels(c) for c in cfgs if c.labels["modality"] == "rgb") if lab in flows]


def table5_outputs(runs_root, cfgs, out_dir, scale):
    def where(r):
        return [(r["row"], f"{r['method']} / {STREAMS[r['modality']]}", "test_acc")]

    res = load_results(runs_root, cfgs)
    rep = cells(res, where)
    comb = two_stream_cells(runs_root, cfgs)
    ds = _dataset_text(res[res["status"] == "done"]) if len(res) else ""
    extra = pd.DataFrame([{"row": row, "column": f"{method} / Comb", "reproduced": round(float(np.mean(v)), 2),
                           "n_seeds": len(v), "dataset": ds} for (row, method, _), v in comb.items()])
    methods = ["Traditional", "PreRNN", "PreRNN-SIH"]
    if any(c.labels["row"] == NO_RNN_ROW for c in cfgs):
        methods.append(BASELINE_METHOD)
    cols = [f"{m} / {s}" for m in methods for s in ("Color", "Flow", "Comb")]
    base = data_baselines(cfgs, lambda d: {c: "test_acc" for c in cols})  # every stream: the same labels
    tidy = _tidy("prernn", "table5", pd.concat([rep, extra, base], ignore_index=True), scale)
    files = write_table(tidy, out_dir / "tables" / "prernn", "table5", _caption(
        "prernn Table 5: UCF-101 split 1 top-1 (%), traditional RNN on ResNet50 pool5 vs PreRNN / PreRNN-SIH "
        "(res5c made recurrent); colour, optical flow (Horn-Schunck) and the two-stream average of their "
        "softmax scores (Comb); row 'Baseline (w/o RNN)': ResNet50 pool5 -> per-frame output layer, no "
        "recurrent layer (not in the paper's Table 5: its Table 7 baseline on split 1)", scale), columns=cols)
    files.append(grouped_bars(tidy[tidy["column"].str.endswith("Comb")],
                              out_dir / "figures" / "prernn" / "table5.png",
                              f"prernn Table 5: two-stream accuracy, paper vs ours ({scale} scale)"))
    return files


# ---------------------------------------------------------------------------------- prernn Table 7
# "Ours" = the suite's best PreRNN model, fixed in advance from the paper's Table 5 (best two-stream
# cell: PreRNN-GRU, 93.7), two-stream, averaged over the three UCF-101 splits. Split 1 is Table 5's run. The
# baseline without RNN (BASELINE_NET) the same way: its split 1 is Table 5's baseline run.
TABLE7_BEST = ("GRU", "PreRNN")
TABLE7_SPLITS = (1, 2, 3)
TABLE7_ROWS = {"Ours": TABLE7_BEST, NO_RNN_ROW: (NO_RNN_ROW, BASELINE_METHOD)}  # table row -> (row, method)


def prernn_table7_runs(scale, seeds, root):
    return [prernn_run("prernn.table5" if split == 1 else "prernn.table7", scale, seed, row, method, m, root,
                       split=split)
            for row, method in TABLE7_ROWS.values()
            for split in TABLE7_SPLITS for m in STREAMS for seed in range(seeds)]


def table7_by_seed(runs_root, cfgs) -> dict[str, dict[int, float]]:
    """{Table 7 row: {seed: two-stream accuracy averaged over the three splits}}, for the seeds whose six runs
    (3 splits x colour, flow) of that row are done."""
    by = two_stream_by_seed(runs_root, cfgs)
    out = {}
    for name, (row, method) in TABLE7_ROWS.items():
        per_split = [by.get((row, method, split), {}) for split in TABLE7_SPLITS]
        seeds = sorted(set.intersection(*(set(p) for p in per_split)))
        if seeds:
            out[name] = {seed: float(np.mean([p[seed] for p in per_split])) for seed in seeds}
    return out


# The three-split two-stream accuracy as a claim value (prernn.table7.ours_gt_baseline): one row per seed and
# Table 7 row, labelled like the table's cell plus derived "3-split two-stream". For catalogue/prernn.py to
# register as prernn.table7's claim_values / claim_arms.
THREE_SPLITS = "3-split two-stream"


def table7_claim_values(runs_root, cfgs) -> pd.DataFrame:
    return pd.DataFrame([{"row": name, "column": "Accuracy", DERIVED: THREE_SPLITS, "seed": seed, "test_acc": acc,
                          "status": "done"}
                         for name, per_seed in table7_by_seed(runs_root, cfgs).items()
                         for seed, acc in per_seed.items()])


def table7_claim_arms(cfgs) -> list[dict]:
    """The rows of one seed's runs: one per Table 7 row whose colour and flow runs of every split are there."""
    have = {(c.labels["row"], c.labels["method"], c.labels["split"], c.labels["modality"]) for c in cfgs}
    return [{"row": name, "column": "Accuracy", DERIVED: THREE_SPLITS} for name, (row, method) in TABLE7_ROWS.items()
            if all((row, method, split, m) in have for split in TABLE7_SPLITS for m in STREAMS)]


def prernn_table7_outputs(runs_root, cfgs, out_dir, scale):
    comb = two_stream_cells(runs_root, cfgs)
    res = load_results(runs_root, cfgs)
    rows = []
    for name, (row, method) in TABLE7_ROWS.items():
        per_split = [comb[(row, method, split)] for split in TABLE7_SPLITS if (row, method, split) in comb]
        if len(per_split) == len(TABLE7_SPLITS):  # the average of the three splits, each two-stream
            rows.append({"row": name, "column": "Accuracy",
                         "reproduced": round(float(np.mean([np.mean(v) for v in per_split])), 2),
                         "n_seeds": min(len(v) for v in per_split),
                         "dataset": _dataset_text(res[res["status"] == "done"])})
    rep = pd.DataFrame(rows, columns=["row", "column", "reproduced", "n_seeds", "dataset"])
    # the trivial baseline the same way as the rows: the mean over the three splits of each split's own
    firsts = [next((c for c in cfgs if c.labels["split"] == k), None) for k in TABLE7_SPLITS]
    if all(firsts):
        from ...baselines import trivial_baselines

        base = [trivial_baselines(c)["test_acc"][0] for c in firsts]
        rep.loc[len(rep)] = {"row": f"{BASELINE_ROW}: each split's own (mean of the three splits)",
                             "column": "Accuracy", "reproduced": round(float(np.mean(base)), 2), "n_seeds": 0,
                             "dataset": f"{firsts[0].dataset} (the test sets of the runs; no training)"}
    tidy = _tidy("prernn", "table7", rep, scale)
    row, method = TABLE7_BEST
    return write_table(tidy, out_dir / "tables" / "prernn", "table7", _caption(
        f"prernn Table 7: UCF-101 top-1 (%) averaged over the three splits; 'Ours' = {method}-{row} on "
        f"ResNet50, two-stream (colour + flow softmax average); 'Baseline (w/o RNN)' = ResNet50 pool5 -> "
        f"per-frame output layer, two-stream the same way; other rows are published numbers (reference only)",
        scale))


# ------------------------------------------------------------------------------------------ figures
def grouped_bars(tidy: pd.DataFrame, out: Path, title: str) -> Path:
    """Paper (left panel) and ours (right panel) side by side, one bar group per column, one bar per row:
    the orderings are what is compared (the scales differ)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t = tidy[~tidy["reference_only"].astype(bool)] if "reference_only" in tidy else tidy
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    for ax, what in zip(axes, ("paper", "reproduced")):
        piv = t.pivot_table(index="column", columns="row", values=what, sort=False)
        if piv.notna().any().any():
            piv.plot.bar(ax=ax, rot=0, legend=False)
        ax.set_title("paper" if what == "paper" else "ours", fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("top-1 (%)")
        ax.tick_params(axis="x", labelsize=7)
    handles, labels = axes[1].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=min(4, len(labels)), frameon=False)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, out, rect=(0, 0.1, 1, 1))
