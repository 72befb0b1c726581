"""Recurrent cells, one file per family. Every cell has the same interface:

    cell = Cell(in_channels, hidden_channels, **options)
    state = cell.init_state(x)            # zeros, from the first input's shape
    out, state = cell(x, state)           # one time step

``CELLS`` maps the short names used in configs ("convlstm", "cbm") to the classes.
"""
from .cbm import CBMCell
from .cbm_variants import CBMLSTMCell
from .convgru import ConvGRUCell
from .convlstm import ConvLSTMCell
from .gru import GRUCell
from .lstm import LSTMCell
from .minrnn import ConvMinGRUCell
from .scs import SCSCell
from .vrnn import VRNNCell

CELLS = {"convlstm": ConvLSTMCell, "cbm": CBMCell, "vrnn": VRNNCell, "lstm": LSTMCell, "gru": GRUCell,
         "convgru": ConvGRUCell, "cbm_lstm": CBMLSTMCell, "scs": SCSCell, "convmingru": ConvMinGRUCell}

__all__ = ["CELLS", "CBMCell", "ConvLSTMCell", "VRNNCell", "LSTMCell", "GRUCell", "ConvGRUCell",
           "CBMLSTMCell", "SCSCell", "ConvMinGRUCell"]
