"""scs Table 8: the paper's hyper-parameters of every experiment beside what ``--scale paper`` runs."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ...reference import load_reference
from ...tables import comparison, write_table

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
    from .. import resolve

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
            from ...train.steering import LAMBDAS

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
