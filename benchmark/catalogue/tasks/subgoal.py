"""scs action recognition with the sub-goals (task ``subgoal``): Table 2 (stand-alone and backbone-supported
nets on Kinetics / UCF-101 / HMDB-51), Table 3 (ablation of the stand-alone SCS) and Fig. 4 (q over training
under ASTSGD; the sub-task ablation).

Columns. "Pre-trained on Kinetics" rows are trained on Kinetics (their Kinetics cell) and fine-tuned end to end
on UCF-101 and HMDB-51 from those weights; the other rows train on UCF-101 / HMDB-51 directly (their
backbone pre-trained on ImageNet at paper scale). The Kinetics run is the fine-tune runs' ``pretrain``
(experiment ``scs.kinetics``: the launcher trains it first, once, shared by every id whose settings match).
At smoke/cpu scale the three data sets are built-in MovingShapes stand-ins (``BUILTIN_VARIANTS``: Kinetics
= 6 shapes x 4 directions, UCF-101 = 3 shapes x 4, HMDB-51 = 3 other shapes x 4 with more noise), 32 px
frames, T = 8, tiny widths, no ImageNet weights. At paper scale ``--data-root`` holds one folder per data
set: ``kinetics/``, ``ucf101/``, ``hmdb51/`` (split 1).

Training (every row): LTSC (clips of ``clip_len``, 25% overlap, lam 0.8) over the T training frames; SCS
nets add T^1 and T^2 and use ASTSGD (section 5.5 "we adopt ASTSGD"; Table 8 prints STSGD, see the
reference notes); CBM nets use the CBM paper's Temporal Dropout schedule (1.0, 0.8, 0.5).

Table 3 variants (stand-alone SCS): whole = LTSC + T^1 + T^2 + ASTSGD; w/o two sub-tasks = no T^1/T^2 loss
(L_s still measured for ASTSGD, as released); w/o T^2 = no flow loss; w/o ASTSGD = no gradient switch at all
(plain back-propagation); w/o LTSC = one random window of ``clip_len`` frames per video, full BPTT. ASTSGD's q
follows eq. 20 (the paper's "empirical formula"); one more variant, "q network" (not a row of the paper's
table), is the whole SCS with q from the paper's other option, the learned 3-layer q network (section 5.2,
``q_rule="network"``), so that Fig. 4 compares the two rules.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.ticker import MaxNLocator
import pandas as pd

from ...claims import DERIVED
from ...config import RunConfig, validate
from ...reference import load_reference
from ...results import load_curves, load_results, run_dir, run_status
from ...tables import BASELINE_ROW, baseline_cells, comparison, write_table
from ...figures import plt, save_figure
from ...train.loop import load_finished
from .. import scaled

COLUMNS = {"kinetics": "Kinetics", "ucf101": "UCF-101", "hmdb51": "HMDB-51"}
PRETRAIN_EXPERIMENT = "scs.kinetics"

# Per scale: data sizes, T, the LTSC clip, epochs, and per model family (stand-alone / backbone / lrcn) the
# model options, batch, lr. Paper: scs Table 8 (batch 40 / 16, lr 1e-4, 17 / 15 layers, feature dim 512,
# LTSC L x S = 5 x 6 stand-alone, 10 x 7 backbone-supported, so T = 5 + 5 * 4 = 25 and 10 + 6 * 8 = 58 frames).
ACTION_SCALES = {
    "smoke": dict(
        data=dict(T=4, size=32, flow_size=8, n={"kinetics": (8, 4), "ucf101": (8, 4), "hmdb51": (8, 4)}),
        epochs=dict(kinetics=1, ucf101=1, hmdb51=1),
        families=dict(
            standalone=dict(model_kw=dict(width=2), batch_size=4, lr=1e-3, clip_len=2),
            backbone=dict(model_kw=dict(width=4, backbone_width=1 / 32), batch_size=4, lr=1e-3, clip_len=2),
            lrcn=dict(model_kw=dict(width=1 / 32), batch_size=4, lr=1e-3, clip_len=2),
        ),
        td_schedule=((0, 1.0),)),
    # A few hundred samples, 32 px, T = 8 (LTSC: clips of 5 sharing one frame: (0,5) (4,8)); lr 3e-3 because a
    # handful of epochs at 1e-4 leaves every net at chance (a choice, not the paper's); fine-tuning shorter.
    # Issue 18 (one seed, 96 test videos: Kinetics at chance, several nets at chance on HMDB-51): every column
    # tests on 512 videos (the rule for classification claims), evaluated after the last epoch only (the
    # tables read final accuracy; Table 3's q curves are training-side). The Kinetics pre-training was chosen by
    # a rule fixed before its pilot: of K1 = as before (320 videos x 4 epochs), K2 = 640 x 4, K3 = 640 x 8, the
    # cheapest at which the whole stand-alone SCS (seed 0) scores >= twice the trivial baseline on the Kinetics
    # stand-in and on its HMDB-51 fine-tune (and <= 90). Pilot, K1: Kinetics 13.3 (baseline 5.3), HMDB-51 26.4
    # (baseline 9.0), so K1: the training is unchanged.
    "cpu": dict(
        data=dict(T=8, size=32, flow_size=16, n={"kinetics": (320, 512), "ucf101": (160, 512), "hmdb51": (160, 512)}),
        epochs=dict(kinetics=4, ucf101=3, hmdb51=3),
        # rows without Kinetics pre-training have no pre-training at all here (no ImageNet weights offline):
        # first 6 epochs instead of 3 (measured: 3 leave the backbone nets at chance, 8 reach ~28% on UCF-101).
        # Issue 18: at 5 seeds and 512 test videos those 6 epochs (30 Adam steps) left every backbone net near
        # chance (HMDB-51 9.8-11.5, trivial 9.0). Rule fixed before its pilot: the fewest of 12, 24 epochs at
        # which BB (VGG) supported SCS (seed 0) scores >= twice the trivial baseline on HMDB-51 (18.0); else 24.
        # Pilot: 12 epochs 15.4, 24 epochs 26.2 (45 s). So 24.
        scratch_epochs=dict(ucf101=24, hmdb51=24),
        families=dict(
            standalone=dict(model_kw=dict(width=4), batch_size=32, lr=3e-3, clip_len=5),
            backbone=dict(model_kw=dict(width=16, backbone_width=1 / 16), batch_size=32, lr=3e-3, clip_len=5),
            # issue 18: the LSTM + VGG's VGG trains from scratch like the backbone rows' and sat at chance with
            # the scale's epochs (Kinetics 5.4 vs trivial 5.3, HMDB-51 11.1 vs 9.0 at 5 seeds); rule fixed before
            # its pilot: the backbone rows' factor (4x: Kinetics 16 epochs, fine-tuning 12) if the seed-0 Kinetics
            # run then scores >= twice the trivial baseline (10.5), else the scale's epochs. Pilot: Kinetics 17.4
            # (20 s), its HMDB-51 fine-tuning 43.6, so 4x.
            lrcn=dict(model_kw=dict(width=1 / 16), batch_size=32, lr=3e-3, clip_len=5, epoch_factor=4),
        ),
        td_schedule=((0, 1.0), (1, 0.8), (2, 0.5)), eval_last=1),
    # Paper: 224 crops of frames resized to shorter side 368 (section 5.5), flow targets at 56 px; epochs are not
    # printed: 30 on Kinetics as in the released code, 15 for UCF-101 / HMDB-51 (a choice).
    "paper": dict(
        data=dict(size=224, shorter=368, flow_size=56, split=1),
        epochs=dict(kinetics=30, ucf101=15, hmdb51=15),
        families=dict(
            standalone=dict(model_kw=dict(width=64), batch_size=40, lr=1e-4, clip_len=5, clips=6),
            backbone=dict(model_kw=dict(width=512, pretrained=True), batch_size=16, lr=1e-4, clip_len=10, clips=7),
            lrcn=dict(model_kw=dict(pretrained=True), batch_size=16, lr=1e-4, clip_len=10, clips=7),
        ),
        td_schedule=((0, 1.0), (2, 0.8), (4, 0.5))),
}

# table 2 rows: (model, family, pre-trained on Kinetics)
TABLE2_ROWS = {
    "LSTM with BB (VGG) [8]": ("lrcn_vgg16_lstm", "lrcn", True),
    "Stand-alone CBM [30]": ("standalone17_cbm", "standalone", True),
    "Stand-alone SCS": ("standalone17_scs", "standalone", True),
    "15-layer ConvLSTM": ("deep15_convlstm_vgg16", "backbone", False),
    "BB (VGG) supported CBM [30]": ("deep15_cbm_vgg16", "backbone", False),
    "BB (VGG) supported SCS": ("deep15_scs_vgg16", "backbone", False),
    "BB (Inception) supported SCS": ("deep15_scs_googlenet", "backbone", False),
}

# table 3 rows: the stand-alone SCS ablation (subgoal scheme_kw changes; "ltsc": False = one short window)
Q_NETWORK_ROW = "Whole Stand-alone SCS, ASTSGD q network"
TABLE3_ROWS = {
    "Whole Stand-alone SCS": dict(),
    "Stand-alone SCS w/o two sub-tasks": dict(subgoals=False),
    "Stand-alone SCS w/o sub-task T^2 only": dict(t2=False),
    "Stand-alone SCS w/o ASTSGD": dict(astsgd=False),
    "Stand-alone SCS w/o LTSC": dict(ltsc=False),
    # not a row of the paper's table: the whole SCS with ASTSGD's other q rule, the learned 3-layer q network
    # (section 5.2; train/astsgd.py q_rule), beside eq. 20 (the whole SCS row)
    Q_NETWORK_ROW: dict(q_rule="network"),
}
VARIANT_NAMES = {"Whole Stand-alone SCS": "whole", "Stand-alone SCS w/o two sub-tasks": "w/o sub-tasks",
                 "Stand-alone SCS w/o sub-task T^2 only": "w/o T2", "Stand-alone SCS w/o ASTSGD": "w/o ASTSGD",
                 "Stand-alone SCS w/o LTSC": "w/o LTSC", Q_NETWORK_ROW: "q network"}


def _data_kw(scale: str, data: str, data_root: str | None, family: dict) -> tuple[str, str | None, dict]:
    """(dataset, data_root, data_kw) of one data set at this scale."""
    d = scaled(ACTION_SCALES, scale)["data"]
    L, S = family["clip_len"], family.get("clips")
    if data_root:  # paper scale on the real data: T covers S LTSC clips of L frames (stride L - overlap)
        overlap = max(1, round(L * 0.25))
        T = L + (S - 1) * (L - overlap)
        kw = dict(T=T, size=d["size"], shorter=d["shorter"], flow_size=d["flow_size"])
        if data != "kinetics":
            kw["split"] = d["split"]
        return data, str(Path(data_root) / data), kw
    if "n" not in d:
        raise ValueError(f"the {scale} scale of the action tasks runs on the real data sets: pass --data-root PATH")
    n_train, n_test = d["n"][data]
    return "builtin", None, dict(variant=data, n_train=n_train, n_test=n_test, T=d["T"], size=d["size"],
                                 flow_size=d["flow_size"])


def action_run(experiment: str, scale: str, seed: int, model: str, family_name: str, data: str,
               data_root: str | None, labels: dict, variant: dict | None = None,
               pretrain: RunConfig | None = None, epochs: int | None = None) -> RunConfig:
    """One run of task ``subgoal``: ``variant`` = the Table 3 changes (SCS nets), ``pretrain`` = the
    Kinetics run whose weights it starts from; ``epochs`` (default: the scale's for ``data``)."""
    s = scaled(ACTION_SCALES, scale)
    fam = s["families"][family_name]
    variant = dict(variant or {})
    dataset, root, data_kw = _data_kw(scale, data, data_root, fam)
    scs = "_scs" in model
    kw = dict(clip_len=fam["clip_len"])
    if scs:
        kw.update(astsgd=True, subgoals=True, t2=True)
        kw.update({k: v for k, v in variant.items() if k != "ltsc"})
    scheme = "ltsc"
    if variant.get("ltsc") is False:  # "w/o LTSC": one short window per video, full BPTT over it
        scheme, kw = "bptt", {k: v for k, v in kw.items() if k != "clip_len"}
        data_kw["train_window"] = fam["clip_len"]
    if pretrain is not None:
        data_kw["pretrain"] = pretrain.to_dict()
    cfg = RunConfig(experiment=experiment, scale=scale, task="subgoal", model=model, seed=seed,
                    model_kw=dict(fam["model_kw"]), dataset=dataset, data_root=root, data_kw=data_kw,
                    epochs=epochs or s["epochs"][data] * fam.get("epoch_factor", 1), batch_size=fam["batch_size"],
                    lr=fam["lr"], grad_clip=5.0,
                    td_schedule=s["td_schedule"] if "_cbm" in model else (), labels=labels,
                    scheme=scheme, scheme_kw=kw, eval_last=s.get("eval_last", 0))
    validate(cfg)
    return cfg


def pretrain_run(scale: str, seed: int, model: str, family_name: str, data_root: str | None,
                 variant: dict | None = None) -> RunConfig:
    """The Kinetics run (neutral labels, so that identical settings are shared between ids)."""
    return action_run(PRETRAIN_EXPERIMENT, scale, seed, model, family_name, "kinetics", data_root,
                      dict(role="pretrain on Kinetics"), variant)


def pretrain_of(cfg: RunConfig) -> RunConfig | None:
    spec = cfg.data_kw.get("pretrain")
    return RunConfig.from_dict(spec) if spec else None


def _with_pretrain_rows(cfgs: list[RunConfig]) -> list[tuple[RunConfig, dict]]:
    """(config, display labels) of the grid's runs and of each fine-tune run's pre-training run, the latter
    shown as its row's Kinetics cell (its own labels are neutral, see ``pretrain_run``)."""
    out, seen = [(c, c.labels) for c in cfgs], set()
    for c in cfgs:
        pre = pretrain_of(c)
        if pre is None or (c.labels["row"], c.seed) in seen:
            continue
        seen.add((c.labels["row"], c.seed))
        out.append((pre, {**c.labels, "column": COLUMNS["kinetics"]}))
    return out


def _load(loader, runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    parts = []
    for cfg, labels in _with_pretrain_rows(cfgs):
        df = loader(runs_root, [cfg])
        if len(df):
            for k in ("row", "column", "variant"):
                df[k] = labels.get(k)
            parts.append(df)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _results(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    return _load(load_results, runs_root, cfgs)


def _curves(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    return _load(load_curves, runs_root, cfgs)


_STANDIN = {s: (f" [{s} scale: the columns are built-in MovingShapes stand-ins of the data sets, see "
                 "benchmark/data/subgoal_sets.py BUILTIN_VARIANTS]") for s in ("smoke", "cpu")}


def _cells(res: pd.DataFrame, metric: str = "test_acc") -> pd.DataFrame:
    done = res[res["status"] == "done"] if len(res) else res
    if not len(done) or metric not in done:
        return pd.DataFrame(columns=["row", "column", "reproduced", "n_seeds", "dataset"])
    g = done.groupby(["row", "column"], sort=False)
    return pd.DataFrame({"reproduced": g[metric].mean().round(2), "n_seeds": g["seed"].nunique(),
                         "dataset": g["dataset"].agg(lambda s: ", ".join(sorted(set(map(str, s)))))}).reset_index()


def _baseline_row(cfgs: list[RunConfig]) -> pd.DataFrame:
    """One "trivial baseline" row: under each data set's column, what a predictor that learns nothing scores
    on that data set's test videos (``benchmark.baselines``; Kinetics: the pre-training runs' set)."""
    by_column = {}
    for cfg, labels in _with_pretrain_rows(cfgs):
        by_column.setdefault(labels["column"], cfg)
    parts = [baseline_cells(cfg, {column: "test_acc"}) for column, cfg in by_column.items()]
    cells = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["row", "column"])
    whats = cells["row"].str.removeprefix(f"{BASELINE_ROW}: ").str.replace(r" \(\d+\)$", "", regex=True)
    return cells.assign(row=f"{BASELINE_ROW}: {' / '.join(sorted(set(whats)))} (per column)") if len(cells) else cells


# ------------------------------------------------------------------------------------------------ Table 2
def table2_runs(scale: str, seeds: int, data_root: str | None) -> list[RunConfig]:
    cfgs = []
    for row, (model, fam, pre) in TABLE2_ROWS.items():
        for seed in range(seeds):
            p = pretrain_run(scale, seed, model, fam, data_root) if pre else None
            for data in ("ucf101", "hmdb51"):
                epochs = None if pre else scaled(ACTION_SCALES, scale).get("scratch_epochs", {}).get(data)
                cfgs.append(action_run("scs.table2", scale, seed, model, fam, data, data_root,
                                       dict(row=row, column=COLUMNS[data], model=model, pretrained_kinetics=pre),
                                       pretrain=p, epochs=epochs))
    return cfgs


def _table(name: str, caption: str, columns: list[str]):
    """The outputs of scs Table 2 or 3: the runs' mean cells and the trivial-baseline row beside the paper's."""
    def outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
        cells = pd.concat([_cells(_results(runs_root, cfgs)), _baseline_row(cfgs)], ignore_index=True)
        return write_table(comparison(load_reference("scs", name), cells, scale), out_dir / "tables" / "scs", name,
                           caption + _STANDIN.get(scale, ""), columns=columns)
    return outputs


table2_outputs = _table("table2", "scs Table 2: action recognition top-1 (%), stand-alone (pre-trained on Kinetics, "
                                  "then fine-tuned) and backbone-supported nets", list(COLUMNS.values()))


# ------------------------------------------------------------------------------------------------ Table 3
def table3_runs(scale: str, seeds: int, data_root: str | None) -> list[RunConfig]:
    cfgs = []
    for row, variant in TABLE3_ROWS.items():
        for seed in range(seeds):
            p = pretrain_run(scale, seed, "standalone17_scs", "standalone", data_root, variant)
            cfgs.append(action_run("scs.table3", scale, seed, "standalone17_scs", "standalone", "hmdb51", data_root,
                                   dict(row=row, column=COLUMNS["hmdb51"], variant=VARIANT_NAMES[row]),
                                   variant=variant, pretrain=p))
    return cfgs


table3_outputs = _table("table3", "scs Table 3: ablation of the stand-alone SCS, top-1 (%) (Kinetics; HMDB-51 "
                                  "fine-tuned from it)", [COLUMNS["kinetics"], COLUMNS["hmdb51"]])


# ------------------------------------------------------------------------------------------------- Fig. 4
def fig4_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    files = table3_outputs(runs_root, cfgs, out_dir, scale)
    curves = _curves(runs_root, cfgs)
    q = curves[curves["astsgd_q"].notna()] if len(curves) and "astsgd_q" in curves else pd.DataFrame()
    cols = ["variant", "column", "seed", "epoch", "astsgd_q_start", "astsgd_q_mean", "astsgd_q", "train_loss_main",
            "train_loss_t1", "train_loss_t2", "test_acc", "test_acc_bn_batch", "test_acc_spatial",
            "test_acc_spatial_bn_batch"]
    csv = out_dir / "tables" / "scs" / "fig4_q.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    q.drop(columns=["_k"], errors="ignore").reindex(columns=cols).to_csv(csv, index=False)
    files.append(csv)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    if len(q):  # pre-training (Kinetics, solid) first, then the fine-tuning runs (HMDB-51, dashed: q restarts)
        q = q.assign(_k=(q["column"] != COLUMNS["kinetics"]).astype(int)).sort_values(["_k"], kind="stable")
    for (variant, column, seed), g in (q.groupby(["variant", "column", "seed"], sort=False) if len(q) else []):
        g = g.sort_values("epoch")
        xs = [0] + list(g["epoch"])
        ys = [g["astsgd_q_start"].iloc[0]] + list(g["astsgd_q"])
        colour = f"C{list(VARIANT_NAMES.values()).index(variant)}" if variant in VARIANT_NAMES.values() else None
        first = seed == q["seed"].min()  # one legend entry per variant and column, whatever the seeds
        ax.plot(xs, ys, "-o" if column == COLUMNS["kinetics"] else "--s", ms=3, color=colour, alpha=0.8,
                label=(f"{variant}, {column}" + (f" ({q['seed'].nunique()} seeds)" if q["seed"].nunique() > 1 else ""))
                if first else None)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_ylim(min(0.4, float(q["astsgd_q"].min()) - 0.05) if len(q) else 0.4, 1.05)  # q network: may go lower
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (0 = start of training)")
    ax.set_ylabel("q (end of epoch)")
    ax.set_title("b: q under ASTSGD (eq. 20; 'q network': the learned 3-layer q network)", fontsize=10)
    ax.legend(fontsize=7)
    res = _results(runs_root, cfgs)
    cells = _cells(res)
    if len(cells):
        piv = cells.pivot_table(index="row", columns="column", values="reproduced", sort=False)
        piv = piv.reindex(index=[r for r in TABLE3_ROWS if r in piv.index],
                          columns=[c for c in (COLUMNS["kinetics"], COLUMNS["hmdb51"]) if c in piv.columns])
        piv.index = [VARIANT_NAMES.get(r, r) for r in piv.index]
        piv.plot.bar(ax=bx, rot=20)
        bx.set_ylabel("top-1 (%)")
        bx.legend(fontsize=8)
    bx.set_title("sub-task ablation (Table 3 variants)", fontsize=10)
    fig.suptitle(f"scs Fig. 4: stand-alone SCS, ASTSGD's q and the ablation ({scale} scale"
                 + (", built-in stand-ins)" if scale != "paper" else ")"), fontsize=10)
    fig.tight_layout()
    png = out_dir / "figures" / "scs" / "fig4.png"
    save_figure(fig, png, tight=False)
    files.append(png)
    maps = fig4a_maps(runs_root, cfgs, out_dir / "figures" / "scs" / "fig4a.png", scale)
    return files + ([maps] if maps else [])


def fig4a_maps(runs_root: Path, cfgs: list[RunConfig], out: Path, scale: str, layer: int = 4) -> Path | None:
    """Fig. 4a: h_s and h_t maps (channel mean of layer ``layer``'s spatial and temporal streams) of one test
    video, for the whole SCS and the one trained without sub-tasks (HMDB-51 runs, seed 0)."""
    import torch

    from ...rundir import run_dir, run_status
    from .toys import feature_map_figure

    pick = {c.labels.get("variant"): c for c in cfgs if c.seed == 0 and c.labels.get("variant") in
            ("whole", "w/o sub-tasks") and run_status(run_dir(runs_root, c)) == "done"}
    if len(pick) < 2:
        return None
    examples = []
    for name in ("whole", "w/o sub-tasks"):
        model, test = load_finished(runs_root, pick[name])
        frames = test[0]["frames"][None]
        got = {"h_s": [], "h_t": []}

        def keep(mod, inputs, output, got=got):  # returns None: the output is left as it is
            got["h_s"].append(output[1].spatial[0])
            got["h_t"].append(output[1].temporal[0])

        hook = model.rnn.cells[layer].register_forward_hook(keep)
        try:
            with torch.no_grad():
                model(frames)
        finally:
            hook.remove()
        examples.append((f"{'with' if name == 'whole' else 'without'} sub-tasks", test[0]["frames"],
                         {f"h_s ({name})": torch.stack(got["h_s"]), f"h_t ({name})": torch.stack(got["h_t"])}))
    return feature_map_figure(examples, out, f"scs Fig. 4a: layer {layer + 1} h_s, h_t of the stand-alone SCS\n"
                                             f"with / without sub-tasks ({scale} scale)")


# q as a claim value (scs.fig4.q_falls_from_1): for every finished ASTSGD run, q at the start of training
# (epoch 1's astsgd_q_start) and at its end (the last epoch's astsgd_q), from the run's metrics.jsonl, as two
# rows labelled like the run plus derived "q start" / "q end" (metric astsgd_q)
Q_START, Q_END = "q start", "q end"


def _astsgd(cfg: RunConfig) -> bool:
    return bool(cfg.scheme_kw.get("astsgd"))


KINETICS_RUN = "Kinetics pre-training run"  # the DERIVED label of a grid row's Kinetics cell (claims)


def kinetics_claim_values(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    """Per grid row and seed, its Kinetics cell: the final test accuracy of the pre-training run its
    fine-tuning runs start from (a run of experiment scs.kinetics, not of the grid), labelled like the row
    with column "Kinetics" and ``DERIVED`` = ``KINETICS_RUN`` (Tables 2 and 3's Kinetics claims)."""
    rows = []
    for cfg, labels in _with_pretrain_rows(cfgs):
        if labels["column"] != COLUMNS["kinetics"]:
            continue
        res = load_results(runs_root, [cfg])
        if len(res) and res["status"].iloc[0] == "done":
            rows.append({**labels, DERIVED: KINETICS_RUN, "seed": cfg.seed, "test_acc": float(res["test_acc"].iloc[0]),
                         "status": "done"})
    return pd.DataFrame(rows)


def kinetics_claim_arms(cfgs: list[RunConfig]) -> list[dict]:
    return [{**labels, DERIVED: KINETICS_RUN} for _, labels in _with_pretrain_rows(cfgs)
            if labels["column"] == COLUMNS["kinetics"]]


def q_claim_values(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    rows = []
    for cfg in cfgs:
        if not _astsgd(cfg) or run_status(run_dir(runs_root, cfg)) != "done":
            continue
        curve = load_curves(runs_root, [cfg])
        if "astsgd_q" not in curve or "astsgd_q_start" not in curve:
            continue
        curve = curve.sort_values("epoch")
        start, end = curve["astsgd_q_start"].dropna(), curve["astsgd_q"].dropna()
        if len(start) and len(end):
            rows += [{**cfg.labels, DERIVED: d, "seed": cfg.seed, "astsgd_q": float(v), "status": "done"}
                     for d, v in ((Q_START, start.iloc[0]), (Q_END, end.iloc[-1]))]
    return pd.DataFrame(rows)


def q_claim_arms(cfgs: list[RunConfig]) -> list[dict]:
    return [{**c.labels, DERIVED: d} for c in cfgs if _astsgd(c) for d in (Q_START, Q_END)]
