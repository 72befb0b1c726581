"""beyond: experiments past the three papers (issue 19, "Beyond the papers"), declared here. No paper prints
their numbers: the suite asks its own questions (``benchmark/claims/beyond.py``) and judges them over seeds.
What they are built from lives in ``catalogue/tasks/<task>.py`` (grids of run configs, tables, figures)."""
from __future__ import annotations

from . import Experiment, register
from .tasks.videopred import videopred_outputs, videopred_runs

# ------------------------------------------------------------------------- video prediction
register(Experiment(
    id="beyond.videopred",
    title="Moving Fashion-MNIST 10 -> 10: ConvLSTM, CBM, SCS, PredRNN-V2, SimVP-gSTA, ConvMinGRU at matched "
          "parameter budgets (OpenSTL's metrics)",
    make_runs=videopred_runs, make_outputs=videopred_outputs))
