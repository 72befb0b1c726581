"""deeprnn: "Deep RNN Framework for Visual Sequential Applications" (CBM, Temporal Dropout, Overlap
Coherence): every table and figure of the paper, declared here. What they are built from lives in
``catalogue/tasks/<task>.py`` (grids of run configs, tables, figures)."""
from __future__ import annotations

from ..analytic import cbm_fig2_table, plot_cbm_paths
from . import Experiment, exact_figure, register
from .tasks.action import (table1_outputs, table1_runs, table2_outputs, table2_runs, table3_outputs, table3_runs,
                           table7_outputs, table7_runs, table8_outputs, table8_runs)
from .tasks.polygon import fig7_outputs, fig7_runs, polygon_runs, table5_outputs, table6_outputs
from .tasks.prediction import table4_claim_arms, table4_claim_values, table4_outputs, table4_runs
from .tasks.toys import fig3_outputs, fig3_runs, fig5_runs, gap_outputs

# ------------------------------------------------------------------------- action recognition
register(Experiment(id="deeprnn.table1",
                    title="Action recognition and anticipation: 1-layer LSTM, 15-layer ConvLSTM, 1-layer and "
                          "15-layer CBM on VGG (UCF-101, HMDB-51)",
                    make_runs=table1_runs, make_outputs=table1_outputs))
register(Experiment(id="deeprnn.table2",
                    title="Backbone swap VGG vs InceptionV1: 1-layer LSTM, 15-layer ConvLSTM, 15-layer CBM (UCF-101)",
                    make_runs=table2_runs, make_outputs=table2_outputs))
register(Experiment(id="deeprnn.table3",
                    title="Stand-alone 17-layer CBM: Kinetics, fine-tuned on UCF-101 / HMDB-51 (literature rows "
                          "reference only)",
                    make_runs=table3_runs, make_outputs=table3_outputs))
register(Experiment(id="deeprnn.table7",
                    title="Merge function of the 15-layer CBM: product (T = sigmoid) vs addition (T = ReLU)",
                    make_runs=table7_runs, make_outputs=table7_outputs))
register(Experiment(id="deeprnn.table8",
                    title="Final TD rate 0.0 / 0.2 / 0.5 / 0.8 / 1.0 (decayed from 1.0), VGG19 + 15-layer CBM",
                    make_runs=table8_runs, make_outputs=table8_outputs))

# ------------------------------------------------------------------------- video prediction
register(Experiment(
    id="deeprnn.table4",
    title="Next-20-frame prediction from 10 frames: ConvLSTM, MCnet, MCnet with a 15-layer CBM motion encoder",
    make_runs=table4_runs, make_outputs=table4_outputs,
    claim_values=table4_claim_values, claim_arms=table4_claim_arms))

# ------------------------------------------------------------------------- polygon annotation
register(Experiment(id="deeprnn.table5", title="Channel layout of the 2/5/10/15-layer polygon RNNs (exact, no data)",
                    make_runs=lambda scale, seeds, root: [], make_outputs=table5_outputs))
register(Experiment(
    id="deeprnn.table6",
    title="Polygon-RNN depth sweep 2/5/10/15, ConvLSTM vs CBM: IoU and RNN parameters (also Fig. 7a/b)",
    make_runs=lambda scale, seeds, root: polygon_runs("deeprnn.table6", scale, seeds, root, bn_ablation=True),
    make_outputs=table6_outputs,
))
register(Experiment(
    id="deeprnn.fig7",
    title="Training loss and test IoU curves: LSTM depths, CBM depths at TD 0.5, final TD rates at 10/15 layers",
    make_runs=fig7_runs, make_outputs=fig7_outputs))

# ------------------------------------------------------------------------- analytic figures (no runs, no data)
register(exact_figure(
    "deeprnn.fig2", "Expected number of back-propagation paths of each length under TD rates 0, 0.5, 1 (exact)",
    cbm_fig2_table, plot_cbm_paths, "fig2_paths"))

# ------------------------------------------------------------------------- toy experiments (section 3)
register(Experiment(id="deeprnn.fig3", title="Toy: which shape moves which way; last-layer R and T feature maps",
                    make_runs=fig3_runs, make_outputs=fig3_outputs))
register(Experiment(
    id="deeprnn.fig5",
    title="Cat and dog: distance to the one odd image up to 50 frames back, clips shorter than 10",
    make_runs=fig5_runs,
    make_outputs=gap_outputs("deeprnn", "fig5", "deeprnn Fig. 5: distance error by gap, CBM trained on short clips")))
