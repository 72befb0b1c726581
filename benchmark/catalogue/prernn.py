"""prernn: "Making Convolutional Networks Recurrent for Visual Sequence Learning" (PreRNN, PreRNN-SIH)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from models import create_model
from models.prernn import new_recurrent_parameters

from ..reference import load_reference
from ..tables import comparison, write_table
from . import Experiment, register

# Table 3 columns: (backbone, recurrent layers) -> the registered name's suffix
TABLE3_COLUMNS = {"VGG16 / fc6": ("vgg16", "_fc6"), "VGG16 / fc7": ("vgg16", "_fc7"), "VGG16 / fc6/7": ("vgg16", "_fc67"),
                  "C3D / fc6": ("c3d", "_fc6"), "C3D / fc7": ("c3d", "_fc7"), "C3D / fc6/7": ("c3d", "_fc67"),
                  "ResNet50": ("resnet50", "")}


def _new_params(name: str) -> int:
    """Newly introduced recurrent parameters of a true-size model, built on the meta device."""
    with torch.device("meta"):
        return new_recurrent_parameters(create_model(name, num_classes=10))


def table3_cells() -> pd.DataFrame:
    rows = []
    for kind in ("lstm", "gru"):
        for col, (arch, suffix) in TABLE3_COLUMNS.items():
            ratio = _new_params(f"prernn_sih_{arch}_{kind}{suffix}") / _new_params(f"prernn_{arch}_{kind}{suffix}")
            rows.append({"row": kind.upper(), "column": col, "reproduced": round(ratio, 2), "n_seeds": 0,
                         "dataset": "none (counted from the built true-size modules)"})
    return pd.DataFrame(rows)


def table3_outputs(runs_root: Path, cfgs: list, out_dir: Path, scale: str) -> list[Path]:
    tidy = comparison(load_reference("prernn", "table3"), table3_cells(), scale)
    return write_table(tidy, out_dir / "tables" / "prernn", "table3",
                       "prernn Table 3: new recurrent parameters of PreRNN-SIH relative to PreRNN (exact)")


register(Experiment(id="prernn.table3", title="Recurrent parameters of PreRNN-SIH relative to PreRNN (exact, no data)",
                    make_runs=lambda scale, seeds, root: [], make_outputs=table3_outputs))


# ---------------------------------------------------------------- the layout Tables 2 and 4 share
KINDS = {"VRNN": "vrnn", "LSTM": "lstm", "GRU": "gru"}
# column -> (family, registered-name suffix)
COLUMNS = {
    "Traditional / 1 layer": ("tra", "1"), "Traditional / 2 layers": ("tra", "2"),
    "PreRNN / fc6": ("prernn", "fc6"), "PreRNN / fc7": ("prernn", "fc7"), "PreRNN / fc6/7": ("prernn", "fc67"),
    "PreRNN-SIH / fc6": ("prernn_sih", "fc6"), "PreRNN-SIH / fc7": ("prernn_sih", "fc7"),
    "PreRNN-SIH / fc6/7": ("prernn_sih", "fc67"),
}
FAMILY_PREFIX = {"tra": "Tra", "prernn": "Pre", "prernn_sih": "PreSIH"}
