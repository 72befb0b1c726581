"""Recurrent cells, one file per family. Every cell has the same interface:

    cell = Cell(in_channels, hidden_channels, **options)
    state = cell.init_state(x)            # zeros, from the first input's shape
    out, state = cell(x, state)           # one time step

``CELLS`` maps the short names used in configs ("convlstm", "cbm") to the classes.
"""
from .cbm import CBMCell
from .convlstm import ConvLSTMCell

CELLS = {"convlstm": ConvLSTMCell, "cbm": CBMCell}

__all__ = ["CELLS", "CBMCell", "ConvLSTMCell"]
