"""prernn: "Making Convolutional Networks Recurrent for Visual Sequence Learning" (PreRNN, PreRNN-SIH):
every table and figure of the paper, declared here. What they are built from lives in
``catalogue/tasks/<task>.py`` (grids of run configs, tables, figures)."""
from __future__ import annotations

from . import Experiment, register
from .tasks.action import (prernn_table7_outputs, prernn_table7_runs, table5_outputs, table5_runs,
                           table7_claim_arms, table7_claim_values, two_stream_claim_arms, two_stream_claim_values)
from .tasks.gestures import (curve_claim_arms, curve_claim_values, fig4_outputs, fig4_runs, fusion_claim_arms,
                             fusion_claim_values, table4_outputs, table4_runs, table6_outputs, table6_runs)
from .tasks.landmarks import (fig2_outputs, fig2_runs, fig3_outputs, saturation_claim_arms, saturation_claim_values,
                              table2_outputs, table2_runs)
from .tasks.layouts import table3_outputs

# ------------------------------------------------------------------------- face alignment
register(Experiment(
    id="prernn.table2",
    title="Face alignment on 300VW (VGG16): traditional 1/2-layer RNNs vs PreRNN fc6/fc7/fc6-7 vs PreRNN-SIH, "
          "VRNN/LSTM/GRU (AUC)",
    make_runs=lambda scale, seeds, root: table2_runs(scale, seeds, root),
    make_outputs=table2_outputs,
))
register(Experiment(
    id="prernn.fig2",
    title="Gate saturation (LSTM) and activation histograms (GRU), layers 1 and 2, Tra vs Pre (Table 2 models)",
    make_runs=fig2_runs,
    make_outputs=fig2_outputs,
    claim_values=saturation_claim_values, claim_arms=saturation_claim_arms,
))
register(Experiment(
    id="prernn.fig3",
    title="Cumulative error distribution curves of the Table 2 face-alignment models (300VW)",
    make_runs=lambda scale, seeds, root: table2_runs(scale, seeds, root),
    make_outputs=fig3_outputs,
))

# ------------------------------------------------------------------------- exact (no data)
register(Experiment(id="prernn.table3", title="Recurrent parameters of PreRNN-SIH relative to PreRNN (exact, no data)",
                    make_runs=lambda scale, seeds, root: [], make_outputs=table3_outputs))

# ------------------------------------------------------------------------- hand gestures
register(Experiment(
    id="prernn.table4",
    title="Hand gestures on NVGesture (C3D + CTC): traditional 1/2-layer RNNs vs PreRNN fc6/fc7/fc6-7 vs "
          "PreRNN-SIH, VRNN/LSTM/GRU (accuracy)",
    make_runs=lambda scale, seeds, root: table4_runs(scale, seeds, root),
    make_outputs=table4_outputs,
))
register(Experiment(
    id="prernn.fig4",
    title="Training curves (loss, accuracy per epoch) of traditional vs PreRNN vs PreRNN-SIH, VRNN and LSTM "
          "(the Table 4 runs)",
    make_runs=fig4_runs,
    make_outputs=fig4_outputs,
    claim_values=curve_claim_values, claim_arms=curve_claim_arms,
))
register(Experiment(
    id="prernn.table6",
    title="NVGesture: the best PreRNN model (colour, depth, colour + depth) beside published methods",
    make_runs=table6_runs,
    make_outputs=table6_outputs,
    claim_values=fusion_claim_values, claim_arms=fusion_claim_arms,
))

# ------------------------------------------------------------------------- action recognition
register(Experiment(id="prernn.table5",
                    title="UCF-101: traditional vs PreRNN vs PreRNN-SIH (VRNN / LSTM / GRU on ResNet50), colour, "
                          "flow and two-stream",
                    make_runs=table5_runs, make_outputs=table5_outputs,
                    claim_values=two_stream_claim_values, claim_arms=two_stream_claim_arms))
register(Experiment(id="prernn.table7",
                    title="UCF-101, three splits: the best PreRNN model (two-stream PreRNN-GRU) vs published "
                          "methods (reference only)",
                    make_runs=prernn_table7_runs, make_outputs=prernn_table7_outputs,
                    claim_values=table7_claim_values, claim_arms=table7_claim_arms))
