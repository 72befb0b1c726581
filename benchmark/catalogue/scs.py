"""scs: "Complex Sequential Understanding through the Awareness of Spatial and Temporal Concepts" (Semi-Coupled
Structure, STSGD/ASTSGD, LTSC): every table and figure of the paper, declared here. What they are built from
lives in ``catalogue/tasks/<task>.py`` (grids of run configs, tables, figures)."""
from __future__ import annotations

from ..analytic import plot_scs_chains, scs_fig3_table
from . import Experiment, exact_figure, register
from .tasks.driving import table5_outputs, table5_runs, table6_outputs, table6_runs
from .tasks.hyperparameters import scs_table8_outputs
from .tasks.layouts import scs_table1_outputs
from .tasks.polygon import scs_fig5_outputs, scs_fig5_runs, table4_outputs, table4_runs
from .tasks.prediction import table7_outputs, table7_runs
from .tasks.subgoal import (fig4_outputs, kinetics_claim_arms, kinetics_claim_values, q_claim_arms, q_claim_values,
                            table2_outputs, table2_runs, table3_outputs, table3_runs)
from .tasks.toys import fig2_outputs, fig2_runs, gap_outputs, ltsc_runs

# ------------------------------------------------------------------------- exact (no runs, no data)
register(Experiment(id="scs.table1", title="Stand-alone 17-layer SCS structure, read off the built module (exact)",
                    make_runs=lambda scale, seeds, root: [], make_outputs=scs_table1_outputs))
register(exact_figure(
    "scs.fig3", "Expected number of back-propagation chains by length vs depth, sequence length, STSGD p (exact)",
    scs_fig3_table, plot_scs_chains, "fig3_chains"))
register(Experiment(id="scs.table8", title="Hyper-parameters of every experiment: the paper's vs what --scale paper runs",
                    make_runs=lambda scale, seeds, root: [], make_outputs=scs_table8_outputs))

# ------------------------------------------------------------------------- toy experiments
register(Experiment(id="scs.fig2", title="Toy: shape vs direction, SCS vs LSTM, unseen shapes and disordered motion; "
                                         "h_s, h_t and F maps", make_runs=fig2_runs, make_outputs=fig2_outputs))
register(Experiment(
    id="scs.ltsc",
    title="Star and rhombus: distance to the star seen up to 50 frames back, SCS with LTSC on clips < 10",
    make_runs=ltsc_runs,
    make_outputs=gap_outputs("scs", "ltsc", "scs 5.3 LTSC: distance error by gap, SCS trained on short clips")))

# ------------------------------------------------------------------------- action recognition
register(Experiment(
    id="scs.table2",
    title="Action recognition: LSTM+VGG, stand-alone CBM/SCS (Kinetics, fine-tuned on UCF-101/HMDB-51), "
          "VGG/Inception-supported ConvLSTM/CBM/SCS",
    make_runs=table2_runs, make_outputs=table2_outputs, claim_values=kinetics_claim_values,
    claim_arms=kinetics_claim_arms))
register(Experiment(
    id="scs.table3",
    title="Ablation of the stand-alone SCS: without sub-tasks, without T2, without ASTSGD, without LTSC",
    make_runs=table3_runs, make_outputs=table3_outputs, claim_values=kinetics_claim_values,
    claim_arms=kinetics_claim_arms))
register(Experiment(
    id="scs.fig4",
    title="q over training under ASTSGD and the sub-task ablation (the Table 3 runs)",
    make_runs=table3_runs, make_outputs=fig4_outputs, claim_values=q_claim_values, claim_arms=q_claim_arms))

# ------------------------------------------------------------------------- polygon annotation
register(Experiment(
    id="scs.table4",
    title="Polygon-RNN depth sweep 2/5/10/15 with LSTM, GRU, CBM and SCS: IoU and RNN parameters",
    # SCS trained as a plain stack here (TD schedule on CBM only); sub-goal losses, LTSC and ASTSGD for the
    # outline task are not wired
    make_runs=table4_runs,
    make_outputs=table4_outputs))
register(Experiment(
    id="scs.fig5",
    title="Outline examples; Polyg-SCS / Polyg-LSTM training curves by depth and by initial q",
    make_runs=scs_fig5_runs, make_outputs=scs_fig5_outputs))

# ------------------------------------------------------------------------- steering and nowcasting
register(Experiment(
    id="scs.table5",
    title="Steering angle: SCS (STSGD p = 0, 0.3, 0.5) vs CNN+LSTM vs CNN, observed length 7 / 3; comma.ai, LiVi",
    make_runs=table5_runs, make_outputs=table5_outputs))
register(Experiment(
    id="scs.table6",
    title="Steering: T^1 (spatial) vs T^2 (temporal) sub-goal accuracy by road type on LiVi (SCS runs of Table 5)",
    make_runs=table6_runs, make_outputs=table6_outputs))
register(Experiment(
    id="scs.table7",
    title="Radar echo nowcasting 5 -> 5: ConvLSTM vs 15-layer SCS encoder-decoder at STSGD p = 0, 0.3, 0.5",
    make_runs=table7_runs, make_outputs=table7_outputs))
