"""The claims of the experiments past the papers (issue 19, "Beyond the papers"), as data.

No paper makes them: each is a question the suite answers over seeds, stated in the direction that would
favour the papers' cells (CBM, SCS) or the newer methods over ConvLSTM. ``beyond.videopred`` trains every
family on Moving Fashion-MNIST at a matched parameter budget (``catalogue/tasks/videopred.py``), so
"at equal parameters" holds by construction (within 5% at the cpu and paper scales). Metric: the run's
final ``test_mse`` (OpenSTL's per-frame MSE, lower is better); a claim whose arms are all within
copy-last-frame's score is marked saturated (``benchmark.baselines``).

Arms filter the runs' ``row`` label: "ConvLSTM", "CBM", "SCS", "PredRNN-V2", "SimVP-gSTA", "ConvMinGRU".
"""
from __future__ import annotations

from . import Better, Claim, Source

SRC = Source("beyond", "issue 19", "Beyond the papers: train and compare modern video-prediction models on Moving "
                                   "Fashion-MNIST, claims judged over seeds")
CONVLSTM, CBM, SCS, PREDRNN_V2, SIMVP, MINGRU = ({"row": r} for r in
                                                 ("ConvLSTM", "CBM", "SCS", "PredRNN-V2", "SimVP-gSTA", "ConvMinGRU"))


def lower_mse(cid: str, statement: str, a: dict, b: dict) -> Claim:
    """``a`` predicts Moving Fashion-MNIST with a lower test MSE than ``b`` (beyond.videopred)."""
    return Claim(f"beyond.videopred.{cid}", "beyond.videopred", statement, SRC, "test_mse", Better(a, b),
                 better="lower")


CLAIMS = [
    lower_mse("cbm_lt_convlstm", "Does CBM beat ConvLSTM at equal parameters? (test MSE, Moving Fashion-MNIST)",
              CBM, CONVLSTM),
    lower_mse("scs_lt_convlstm", "Does SCS beat ConvLSTM at equal parameters? (test MSE, Moving Fashion-MNIST)",
              SCS, CONVLSTM),
    lower_mse("cbm_lt_predrnn_v2", "Does CBM beat PredRNN-V2 at equal parameters? (test MSE, Moving Fashion-MNIST)",
              CBM, PREDRNN_V2),
    lower_mse("scs_lt_predrnn_v2", "Does SCS beat PredRNN-V2 at equal parameters? (test MSE, Moving Fashion-MNIST)",
              SCS, PREDRNN_V2),
    lower_mse("predrnn_v2_lt_convlstm", "Does PredRNN-V2 beat ConvLSTM at equal parameters? (test MSE)",
              PREDRNN_V2, CONVLSTM),
    lower_mse("simvp_lt_convlstm", "Does SimVP-gSTA beat ConvLSTM at equal parameters? (test MSE)",
              SIMVP, CONVLSTM),
    lower_mse("convmingru_lt_convlstm", "Does ConvMinGRU beat ConvLSTM at equal parameters? (test MSE)",
              MINGRU, CONVLSTM),
]

# the claims the README names in one generated line per experiment (benchmark.claims.summary.headline_lines)
HEADLINES = {"beyond.videopred": ("beyond.videopred.cbm_lt_convlstm", "beyond.videopred.scs_lt_convlstm")}
