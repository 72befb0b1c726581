"""Tables read off the built modules, no runs: prernn Table 3 (recurrent parameters of PreRNN-SIH vs
PreRNN) with the column layout prernn Tables 2 and 4 share, and scs Table 1 (the stand-alone 17-layer SCS)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from models import create_model
from models.prernn import new_recurrent_parameters

from ...reference import load_reference
from ...tables import comparison, write_table

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


def layout_cells(only=None) -> list[tuple[str, dict]]:
    """The (row, column) cells of prernn Tables 2 and 4 as (model-name parts, labels) pairs: every (kind,
    column) but PreRNN-SIH VRNN (the paper's '-'); ``only``: a predicate on (row, column) keeping a subset."""
    cells = []
    for row, kind in KINDS.items():
        for col, (family, suffix) in COLUMNS.items():
            if (family == "prernn_sih" and kind == "vrnn") or (only is not None and not only(row, col)):
                continue
            cells.append(((family, kind, suffix), dict(row=row, column=col, kind=kind, family=family, layers=suffix,
                                                        name=f"{FAMILY_PREFIX[family]}{row} {col.split(' / ')[1]}")))
    return cells


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
