"""The scs paper's claims as data (Pang et al., "Complex Sequential Understanding through the Awareness of
Spatial and Temporal Concepts": Semi-Coupled Structure, STSGD / ASTSGD, LTSC).

One :class:`~benchmark.claims.Claim` per ordering or trend that the paper's tables and figures show, and at
least one per numbered scs entry of ``shared/CLAIMS.md`` (its quote is in ``Source.quote``; "P<n>" in the
comments is that entry's number). Settings and descriptions that are not results are listed too: as an
Exact claim where a cell of a tidy table checks them (Tables 1, 4, 8), else with ``untestable["all"]``
saying why, and the form the suite would use.

Arms filter the run labels of each experiment's grid (``python -m benchmark.claims arms scs.table4``).
Metrics are the runs' final metrics: ``test_iou`` (polygon), ``test_acc`` (subgoal, sequence),
``test_acc_l6`` / ``test_mse`` (steering), ``test_mse`` / ``test_csi`` / ``test_far`` / ``test_pod``
(nowcast), ``err_gap_30_50`` (the LTSC toy); ``astsgd_q`` at the start and end of an ASTSGD run's training
is a row scs.fig4 derives from the run's curve (``q_at``, ``Experiment.claim_values``).
"""
from __future__ import annotations

from . import DERIVED, Better, Claim, Exact, Interaction, Peak, Source, Trend


def src(where: str, quote: str = "") -> Source:
    return Source("scs", where, quote)


# ------------------------------------------------------------------------------------------------ arms
def polyg(row: str) -> dict:
    """A scs.table4 / scs.fig5 run: "Polyg-SCS 15", "Polyg-LSTM 5", "Polyg-CBM 15" (the CBM runs are deeprnn Table
    6's, labelled as there; the table prints them as "Polyg-CBM [30]"), "Polyg-SCS 10 q0 0.5"."""
    return {"row": row}


def action(row: str, column: str) -> dict:
    """A scs.table2 run: its row and its fine-tuning column ("UCF-101" or "HMDB-51")."""
    return {"row": row, "column": column}


def kinetics(arm: dict) -> dict:
    """The Kinetics cell of a scs.table2 row / scs.table3 variant: its pre-training run's final accuracy (a run of
    experiment scs.kinetics, not of the grid; derived rows: catalogue/tasks/subgoal.py kinetics_claim_values)."""
    return {**arm, "column": "Kinetics", DERIVED: "Kinetics pre-training run"}


def variant(name: str) -> dict:
    """A scs.table3 / scs.fig4 run (HMDB-51, fine-tuned from its Kinetics pre-training)."""
    return {"variant": name}


def q_at(name: str, when: str) -> dict:
    """q of a scs.fig4 ASTSGD run at the start ("q start": epoch 1's astsgd_q_start) or the end ("q end": the
    last epoch's astsgd_q) of training, read from its metrics.jsonl (derived rows: catalogue/tasks/subgoal.py
    q_claim_values)."""
    return {**variant(name), DERIVED: when}


def steer(kind: str, data: str, length: int = 7, p: float | None = None) -> dict:
    """A scs.table5 run: kind scs / cnn_lstm / cnn, data "LiVi" / "Comma", observed length, STSGD p (SCS)."""
    arm = {"kind": kind, "data": data, "length": length}
    if p is not None:
        arm["p"] = p
    return arm


def scs_p(data: str, length: int = 7) -> tuple:
    """The SCS runs of scs.table5 along the initial STSGD p 0.0, 0.3, 0.5."""
    return tuple(steer("scs", data, length, p) for p in (0.0, 0.3, 0.5))


def nowcast(row: str) -> dict:
    """A scs.table7 run: "ConvLSTM [50]", "SCS p=0.0", "SCS p=0.3", "SCS p=0.5"."""
    return {"row": row}


FIG2_SCS, FIG2_LSTM = "SCS", "LSTM (ConvLSTM)"
T2_SA_SCS, T2_SA_CBM, T2_LRCN = "Stand-alone SCS", "Stand-alone CBM [30]", "LSTM with BB (VGG) [8]"
T2_CONVLSTM, T2_VGG_CBM = "15-layer ConvLSTM", "BB (VGG) supported CBM [30]"
T2_VGG_SCS, T2_INC_SCS = "BB (VGG) supported SCS", "BB (Inception) supported SCS"
T6_RUN = {"row": "SCS model LiVi p=0.5"}  # the one run of scs.table6 (LiVi, p = 0.5, length 7)
T7_SCS, T7_CONVLSTM = nowcast("SCS p=0.5"), nowcast("ConvLSTM [50]")

# ------------------------------------------------------------------------------------------------ reasons
FIG3_ANALYTIC = ("an analytic figure with no runs and no printed numbers: the expected chain counts are computed "
                 "exactly in tables/scs/fig3_chains.csv (columns path_length, expected_paths, p, depth, seq_len); "
                 "the claim forms compare run groups, and the arms here name rows of that table, not runs")
T6_TWO_METRICS = ("compares two metrics of the same run (T^2's accuracy t2_acc_l6_<road> with T^1's "
                  "t1_acc_l6_<road>); the claim forms compare one metric between run groups and scs.table6 has "
                  "one run per seed. Needs the per-run gap t2_minus_t1_acc_l6_<road> in result.json and a form "
                  "that compares a metric with 0 (the gap is in tables/scs/table6.csv, column 'T^2 - T^1 / λ=6')")


CLAIMS = [
    # -------------------------------------------------------------------- Fig. 2: toy, shape vs direction
    Claim("scs.fig2.direction_unseen_shapes", "scs.fig2",
          "SCS recognises the moving direction of shapes it never saw better than LSTM (temporal concept)",
          src("Sec. 1, Fig. 2", "our method outperforms LSTM [16] on recognizing “Which direction is the geometry "
                                "going?” when it encounters a specific geometry it never saw"),
          "test_acc", Better({"row": FIG2_SCS, "task": "direction"}, {"row": FIG2_LSTM, "task": "direction"})),
    Claim("scs.fig2.shape_disordered_motion", "scs.fig2",
          "SCS recognises the shape better than LSTM when the frames are shown in shuffled order (spatial concept)",
          src("Sec. 1, Fig. 2", "... and “what is the geometry?” when the motion is disordered"),
          "test_acc", Better({"row": FIG2_SCS, "task": "shape"}, {"row": FIG2_LSTM, "task": "shape"})),

    # -------------------------------------------------------------------- LTSC toy (Sec. 5.3)
    # P6
    Claim("scs.ltsc.star_50_frames_back", "scs.ltsc",
          "Trained on clips shorter than 10, SCS + LTSC tells how far back (30-50 frames) the star was with less "
          "error than plain clip sampling",
          src("Sec. 5.3", "With LTSC, the model can correctly output the … results even if the star image appears "
                          "50 frames ago when the decoupled sequence lengths are smaller than 10."),
          "err_gap_30_50", Better({"scheme_name": "ltsc"}, {"scheme_name": "clips"}), better="lower",
          untestable={"smoke": "smoke sequences are 12 frames (gaps up to 6): no err_gap_30_50"}),
    # P5
    Claim("scs.ltsc.overlap_25", "scs.ltsc",
          "LTSC clips overlap by eta = 25%",
          src("Sec. 5.3", "In this paper, we chose 25% for η ."),
          "err_gap_30_50", Better({"scheme_name": "ltsc"}, {"scheme_name": "clips"}), better="lower",
          untestable={"all": "a setting, not a result: the catalogue's LTSC clips overlap by 25% (scs.ltsc: "
                             "clip_len // 4; action recognition: round(0.25 L)); the result it serves is "
                             "scs.ltsc.star_50_frames_back"}),

    # -------------------------------------------------------------------- Fig. 3: back-propagation chains
    Claim("scs.fig3.chains_grow_with_depth", "scs.fig3",
          "The number and length of back-propagation chains grow with the depth (and the sequence length)",
          src("Fig. 3", "with the growing of the model depth and sequence length, the number and length of the "
                        "chains grow significantly"),
          "expected_paths", Trend(({"depth": 2}, {"depth": 5}, {"depth": 10}, {"depth": 15}), "up", "depth"),
          untestable={"all": FIG3_ANALYTIC}),
    Claim("scs.fig3.stsgd_cuts_long_chains", "scs.fig3",
          "STSGD with a larger p leaves fewer long back-propagation chains",
          src("Fig. 3", "Our STSGD with large p can efficiently reduce the number of long sequences."),
          "expected_paths", Trend(({"p": 0.0}, {"p": 0.3}, {"p": 0.5}), "down", "STSGD p (long chains)"),
          untestable={"all": FIG3_ANALYTIC}),

    # -------------------------------------------------------------------- Table 1: stand-alone 17-layer SCS
    Claim("scs.t1.stem_output_112", "scs.table1",
          "The stand-alone SCS starts with a 7 x 7, 64, stride-2 layer giving 112 x 112 maps",
          src("Table 1"), "output size", Exact("7 × 7, 64, stride2", "output size")),
    Claim("scs.t1.last_stage_output_7", "scs.table1",
          "The last block of the stand-alone SCS (two 3 x 3, 512 layers, x 2) gives 7 x 7 maps",
          src("Table 1"), "output size", Exact("[3 × 3, 512; 3 × 3, 512] × 2", "output size")),

    # -------------------------------------------------------------------- Table 8: hyper-parameters
    # P8
    Claim("scs.t8.standalone_17_layers", "scs.table8",
          "The stand-alone action-recognition SCS has 17 layers",
          src("Sec. 5.5", "For the backbone-supported structure, there is a CNN backbone pre-trained on ImageNet "
                          "[24] ... before the 15-layer SCS network. While for the stand-alone version, the model "
                          "only consists of a 17-layer SCS network."),
          "Num. layers", Exact("Num. layers", "Action Recognition / Stand-alone")),
    Claim("scs.t8.backbone_15_layers", "scs.table8",
          "The backbone-supported action-recognition SCS has 15 SCS layers on the backbone",
          src("Sec. 5.5", "For the backbone-supported structure, there is a CNN backbone pre-trained on ImageNet "
                          "[24] (we choose VGG and InceptionV1 as examples) before the 15-layer SCS network."),
          "Num. layers", Exact("Num. layers", "Action Recognition / BB supported")),
    # P16
    Claim("scs.t8.outline_ltsc_clips", "scs.table8",
          "The outline-annotation SCS splits its point sequence into short LTSC clips (Table 8: 10 x 4)",
          src("Sec. 5.6", "For each foreground, the model predicts 60 outline points at most. ... so we adopt the "
                          "… LTSC mechanism to split the sequence into 6 short clips and utilize ASTSGD to "
                          "decouple the temporal and spatial training process of the deep structure."),
          "LTSC setting (clips)", Exact("LTSC setting (clips)", "Outline Annotation / SCS"),
          untestable={"all": "the outline task wires neither LTSC nor ASTSGD (catalogue/tasks/polygon.py: it trains with "
                             "full BPTT and no sub-goal heads), so the cell has no reproduced value; the prose's 6 "
                             "clips also disagree with Table 8's 10 x 4"}),
    Claim("scs.t8.driving_scs_15_layers", "scs.table8",
          "The auto-driving SCS has 15 layers (Table 8)",
          src("Table 8"), "Num. layers", Exact("Num. layers", "Auto Driving / SCS")),

    # -------------------------------------------------------------------- Table 4: Polygon-RNN depth sweep
    # P1
    Claim("scs.t4.deep_scs_beats_baseline", "scs.table4",
          "The 15-layer Polyg-SCS beats the original Polygon-RNN (2-layer Polyg-LSTM): 71.0 vs 61.4 IoU "
          "(the text says 70.4, +15%)",
          src("Sec. 2.2", "In this case, our deep SCS model reaches an average of 70.4 in terms of IoU, 15% "
                          "relative improvements over the baseline."),
          "test_iou", Better(polyg("Polyg-SCS 15"), polyg("Polyg-LSTM 2"))),
    Claim("scs.t4.scs_best_at_5", "scs.table4",
          "At 5 layers Polyg-SCS beats Polyg-LSTM, Polyg-GRU and Polyg-CBM (65.8 vs 63.0 / 63.8 / 63.1)",
          src("Sec. 5.6 (Tab. 4)", "Compared with traditional LSTM or GRU module, our model can be stacked "
                                   "deeply and achieve better performances with less parameters."),
          "test_iou", Peak(polyg("Polyg-SCS 5"),
                           (polyg("Polyg-LSTM 5"), polyg("Polyg-GRU 5"), polyg("Polyg-CBM 5")))),
    Claim("scs.t4.scs_best_at_15", "scs.table4",
          "At 15 layers Polyg-SCS beats Polyg-LSTM, Polyg-GRU and Polyg-CBM (71.0 vs 46.7 / 64.7 / 70.4)",
          src("Sec. 5.6 (Tab. 4)", "Compared with CBM [30], the new SCS with sub-tasks and ASTSGD achieves "
                                   "better performances."),
          "test_iou", Peak(polyg("Polyg-SCS 15"),
                           (polyg("Polyg-LSTM 15"), polyg("Polyg-GRU 15"), polyg("Polyg-CBM 15")))),
    Claim("scs.t4.scs_gains_with_depth", "scs.table4",
          "Polyg-SCS gets better with depth: 62.9, 65.8, 68.0, 71.0 IoU at 2, 5, 10, 15 layers",
          src("Sec. 5.6 (Tab. 4)", "our model can be stacked deeply and achieve better performances"),
          "test_iou", Trend(tuple(polyg(f"Polyg-SCS {d}") for d in (2, 5, 10, 15)), "up", "depth")),
    Claim("scs.t4.lstm_falls_when_deep", "scs.table4",
          "Polyg-LSTM gets worse beyond 5 layers: 63.0, 59.3, 46.7 IoU at 5, 10, 15 layers",
          src("Table 4"),
          "test_iou", Trend(tuple(polyg(f"Polyg-LSTM {d}") for d in (5, 10, 15)), "down", "depth")),
    # the same claims on the cpu regime's primary metrics (test NLL: the teacher-forced cross-entropy of the
    # paper's 28 x 28 + 1 classes, Sec. 5.6), issue 15
    Claim("scs.t4.depth_interaction_nll", "scs.table4",
          "SCS gains more test NLL than ConvLSTM from 2 -> 15 layers",
          src("Fig. 5c", "our SCS model can benefit from the increasing model depth while LSTM model is difficult "
                         "to train when stacked deep"),
          "test_loss", Interaction(polyg("Polyg-SCS 15"), polyg("Polyg-SCS 2"), polyg("Polyg-LSTM 15"),
                                   polyg("Polyg-LSTM 2")), better="lower"),
    Claim("scs.t4.scs15_lower_nll_than_lstm15", "scs.table4",
          "At 15 layers Polyg-SCS has a lower test NLL than Polyg-LSTM",
          src("Sec. 5.6 (Tab. 4)", "Compared with traditional LSTM or GRU module, our model can be stacked "
                                   "deeply and achieve better performances with less parameters."),
          "test_loss", Better(polyg("Polyg-SCS 15"), polyg("Polyg-LSTM 15")), better="lower"),
    Claim("scs.t4.scs_nll_falls_with_depth", "scs.table4",
          "Polyg-SCS test NLL falls with depth 2 -> 5 -> 10 -> 15",
          src("Sec. 5.6 (Tab. 4)", "our model can be stacked deeply and achieve better performances"),
          "test_loss", Trend(tuple(polyg(f"Polyg-SCS {d}") for d in (2, 5, 10, 15)), "down", "depth")),
    Claim("scs.t4.scs15_params", "scs.table4",
          "The 15-layer SCS stack has 5.85M RNN parameters",
          src("Sec. 5.6 (Tab. 4)", "achieve better performances with less parameters"),
          "# params of RNN", Exact("Polyg-SCS 15", "# params of RNN")),
    Claim("scs.t4.lstm15_params", "scs.table4",
          "The 15-layer ConvLSTM stack has 15.71M RNN parameters",
          src("Table 4"), "# params of RNN", Exact("Polyg-LSTM 15", "# params of RNN")),
    # P14
    Claim("scs.t4.cityscapes_crops", "scs.table4",
          "The outline data are 51k training and 10k test Cityscapes object crops, resized to 224 x 224",
          src("Sec. 5.6", "After cropping, there are 51k training images and 10k test images. The preserved images "
                          "are resized to 224×224 ."),
          "test_iou", Better(polyg("Polyg-SCS 15"), polyg("Polyg-LSTM 15")),
          untestable={"all": "a data setting, not a result: the paper scale crops Cityscapes objects to 224 x 224 "
                             "(POLYGON_SCALES['paper']); smoke / cpu use built-in shapes"}),
    # P15
    Claim("scs.t4.grid_28_classes", "scs.table4",
          "Each outline point is one of 28 x 28 + 1 classes (positions and a terminator), trained by cross-entropy",
          src("Sec. 5.6", "Each position of the image is a class and the loss function is the cross-entropy of the "
                          "softmax outputs with respect to the image positions ($28 \\times 28 + 1$, 784 positions "
                          "in total and a terminator)."),
          "test_loss", Better(polyg("Polyg-SCS 15"), polyg("Polyg-LSTM 15")), better="lower",
          untestable={"all": "a task setting, not a result: the paper scale's grid is 28 (28 x 28 + 1 classes, "
                             "POLYGON_SCALES['paper']); smoke / cpu use grids of 8 / 12"}),
    # P24
    Claim("scs.t4.grad_clip_5", "scs.table4",
          "RNN gradients are clipped to [-5, 5] in back-propagation through time",
          src("Sec. 5.9", "In the process of back-propagation-through-time (BPTT) [45], the gradients of RNN "
                          "parameters was clipped to the range [-5, 5]."),
          "test_iou", Trend(tuple(polyg(f"Polyg-SCS {d}") for d in (2, 5, 10, 15)), "up", "depth"),
          untestable={"all": "a training setting of every experiment, not a result: the scs run configs set "
                             "grad_clip=5.0, applied by value (clip_grad_value_, train/loop.py); Table 8 has no row "
                             "for it, so no table cell checks it"}),

    # -------------------------------------------------------------------- Fig. 5c: training by depth, initial q
    Claim("scs.fig5.depth_helps_scs_not_lstm", "scs.fig5",
          "Going from 2 to 15 layers helps Polyg-SCS more than Polyg-LSTM (+8.1 vs -14.7 IoU)",
          src("Fig. 5c", "our SCS model can benefit from the increasing model depth while LSTM model is difficult "
                         "to train when stacked deep"),
          "test_iou", Interaction(polyg("Polyg-SCS 15"), polyg("Polyg-SCS 2"),
                                  polyg("Polyg-LSTM 15"), polyg("Polyg-LSTM 2"))),
    Claim("scs.fig5.larger_initial_q", "scs.fig5",
          "A larger initial q (0, 0.5, 0.9) gives the 10-layer Polyg-SCS a better IoU",
          src("Fig. 5c", "a larger initial q can better decouple the training process of h_s and h_t , thus leads "
                         "to a better performance"),
          "test_iou", Trend((polyg("Polyg-SCS 10"), polyg("Polyg-SCS 10 q0 0.5"), polyg("Polyg-SCS 10 q0 0.9")),
                            "up", "initial q")),

    # -------------------------------------------------------------------- Table 2: action recognition
    Claim("scs.t2.standalone_scs_best_ucf", "scs.table2",
          "Fine-tuned from Kinetics, the stand-alone SCS beats LSTM+VGG and the stand-alone CBM on UCF-101 "
          "(92.6 vs 86.8 / 91.9)",
          src("Sec. 5.5", "We can see that our SCS has much better performances than LSTM, ConvLSTM, and CBM [30] "
                          "models."),
          "test_acc", Peak(action(T2_SA_SCS, "UCF-101"), (action(T2_LRCN, "UCF-101"), action(T2_SA_CBM, "UCF-101")))),
    Claim("scs.t2.standalone_scs_best_hmdb", "scs.table2",
          "Fine-tuned from Kinetics, the stand-alone SCS beats LSTM+VGG and the stand-alone CBM on HMDB-51 "
          "(65.0 vs 49.7 / 61.7)",
          src("Sec. 5.5", "We can see that our SCS has much better performances than LSTM, ConvLSTM, and CBM [30] "
                          "models."),
          "test_acc", Peak(action(T2_SA_SCS, "HMDB-51"), (action(T2_LRCN, "HMDB-51"), action(T2_SA_CBM, "HMDB-51")))),
    Claim("scs.t2.vgg_scs_best_hmdb", "scs.table2",
          "On a VGG backbone the 15-layer SCS beats the 15-layer ConvLSTM and CBM on HMDB-51 (42.5 vs 34.2 / 40.2)",
          src("Sec. 5.5", "We can see that our SCS has much better performances than LSTM, ConvLSTM, and CBM [30] "
                          "models."),
          "test_acc", Peak(action(T2_VGG_SCS, "HMDB-51"),
                           (action(T2_CONVLSTM, "HMDB-51"), action(T2_VGG_CBM, "HMDB-51")))),
    Claim("scs.t2.inception_gt_vgg_hmdb", "scs.table2",
          "The Inception-supported SCS beats the VGG-supported SCS on HMDB-51 (52.1 vs 42.5)",
          src("Table 2"),
          "test_acc", Better(action(T2_INC_SCS, "HMDB-51"), action(T2_VGG_SCS, "HMDB-51"))),
    Claim("scs.t2.kinetics_standalone_scs_best", "scs.table2",
          "On Kinetics the stand-alone SCS beats LSTM+VGG and the stand-alone CBM (61.7 vs 53.9 / 60.2)",
          src("Table 2"),
          "test_acc", Peak(kinetics({"row": T2_SA_SCS}), (kinetics({"row": T2_LRCN}), kinetics({"row": T2_SA_CBM})))),
    # P7
    Claim("scs.t2.frames_368_crop_224", "scs.table2",
          "Action-recognition frames are rescaled to a shorter side of 368 and randomly cropped (or flipped) to "
          "224 x 224",
          src("Sec. 5.5", "For each video, the frames are rescaled with their shorter side into 368 and a 224×224 "
                          "crop is randomly sampled from the rescaled frames or their horizontal flips."),
          "test_acc", Better(action(T2_SA_SCS, "HMDB-51"), action(T2_SA_CBM, "HMDB-51")),
          untestable={"all": "a data setting, not a result: the paper scale reads frames at shorter side 368 "
                             "with 224 crops (ACTION_SCALES['paper']); smoke / cpu use 32 px built-in stand-ins"}),

    # -------------------------------------------------------------------- Table 3: ablation (stand-alone SCS)
    # P11
    Claim("scs.t3.subtasks_help", "scs.table3",
          "Removing the two sub-tasks costs the stand-alone SCS accuracy on HMDB-51 (65.0 vs 63.7; text: 1.2%)",
          src("Ablation Study (Sec. 5.5)", "From the view of the performances, it leads to 1.2% accuracy boost and "
                                           "from Fig. 4 a, we can see that this paradigm makes h_s and h_t more "
                                           "focus on their own functions ..."),
          "test_acc", Better(variant("whole"), variant("w/o sub-tasks"))),
    # P12
    Claim("scs.t3.astsgd_helps", "scs.table3",
          "Removing ASTSGD costs the stand-alone SCS accuracy on HMDB-51 (65.0 vs 63.2; text: 1.4%)",
          src("Ablation Study (Sec. 5.5)", "Then we remove the ASTSGD from the training process, leading to 1.4% "
                                           "accuracy drop."),
          "test_acc", Better(variant("whole"), variant("w/o ASTSGD"))),
    # P10
    Claim("scs.t3.ltsc_helps", "scs.table3",
          "Without LTSC (one short clip) the stand-alone SCS loses accuracy on HMDB-51 (65.0 vs 62.9; text: 2%)",
          src("Sec. 5.5", "Without LTSC, the model can only access a short clip due to the limit of computational "
                          "resource and the accuracy drops 2%."),
          "test_acc", Better(variant("whole"), variant("w/o LTSC"))),
    Claim("scs.t3.t2_helps", "scs.table3",
          "Removing only the temporal sub-task T^2 costs the stand-alone SCS accuracy on HMDB-51 (65.0 vs 64.2)",
          src("Table 3"),
          "test_acc", Better(variant("whole"), variant("w/o T2"))),
    Claim("scs.t3.kinetics_whole_best", "scs.table3",
          "On Kinetics the whole stand-alone SCS beats every ablation (61.7 vs 60.5 / 61.3 / 60.8 / 59.7)",
          src("Table 3"),
          "test_acc", Peak(kinetics(variant("whole")),
                           tuple(kinetics(variant(v)) for v in ("w/o sub-tasks", "w/o T2", "w/o ASTSGD", "w/o LTSC")))),
    # P9
    Claim("scs.t3.astsgd_adopted", "scs.table3",
          "The deep action-recognition SCS is trained with ASTSGD",
          src("Sec. 5.5", "In addition, due to the deep structure of SCS network, we adopt ASTSGD."),
          "test_acc", Better(variant("whole"), variant("w/o ASTSGD")),
          untestable={"all": "a training setting, not a result: every SCS action-recognition run uses ASTSGD "
                             "(catalogue/tasks/subgoal.py action_run); Table 8's 'Training method' cell (STSGD, which "
                             "contradicts the prose) is text, not a cell of the tidy table; the result is "
                             "scs.t3.astsgd_helps"}),

    # -------------------------------------------------------------------- Fig. 4b: q under ASTSGD
    # P13
    Claim("scs.fig4.q_falls_from_1", "scs.fig4",
          "Under ASTSGD q starts at about 1 (spatial first) and falls towards 0.5 as training goes on",
          src("Fig. 4b", "At the beginning of training, q is about 1, which leads SCS to focus on spatial "
                         "information first. As the training goes on, the value of q gradually approaches 0.5 ..."),
          "astsgd_q", Trend((q_at("whole", "q start"), q_at("whole", "q end")), "down",
                            "one run's training (start -> end)")),
    # P3
    Claim("scs.fig4.q_network", "scs.fig4",
          "A small 3-layer fully connected network fed r_s, r_t and g controls how q decreases: under ASTSGD with "
          "the q network, q falls over training",
          src("Sec. 5.2", "Moreover, to automatically control the process of decreasing q , we train a small "
                          "network with 3 fully connection layers which takes r_s , r_t , and g as input to "
                          "optimize q ."),
          "astsgd_q", Trend((q_at("q network", "q start"), q_at("q network", "q end")), "down",
                            "one run's training (start -> end)")),
    Claim("scs.fig4.q_network_vs_eq20", "scs.fig4",
          "ASTSGD with the learned q network trains the stand-alone SCS to a higher HMDB-51 accuracy than with "
          "the empirical formula of eq. 20 (the paper offers eq. 20 'to simplify the problem'; it prints no "
          "number for the network)",
          Source("scs", "Sec. 5.2, ASTSGD's q (a question the suite adds: the paper compares no q rules; it trains a "
                        "3-layer q network and offers eq. 20 'to simplify the problem')"),
          "test_acc", Better(variant("q network"), variant("whole"))),
    # P4
    Claim("scs.fig4.q0_half", "scs.fig4",
          "ASTSGD's q0 (the floor q approaches) is 0.5",
          src("Sec. 5.2", "q_0 is usually set as 0.5."),
          "astsgd_q", Trend((variant("whole"), variant("whole")), "down", "epochs of one run (first -> last)"),
          untestable={"all": "a setting, not a result: ASTSGD runs with q0 = 0.5 (train/subgoal.py options); "
                             "what it implies (q falls towards 0.5) is scs.fig4.q_falls_from_1"}),

    # -------------------------------------------------------------------- Table 5: steering angle
    # P18
    Claim("scs.t5.stsgd_p_livi", "scs.table5",
          "On LiVi a higher initial STSGD p makes the SCS more accurate (31.8, 34.1, 35.1 at p 0, 0.3, 0.5; "
          "length 7, λ = 6)",
          src("Sec. 5.7", "And STSGD relatively improves the performances by 9% on average."),
          "test_acc_l6", Trend(scs_p("LiVi"), "up", "initial STSGD p")),
    Claim("scs.t5.stsgd_p_comma", "scs.table5",
          "On comma.ai a higher initial STSGD p makes the SCS more accurate (45.4, 48.8, 49.2 at p 0, 0.3, 0.5; "
          "length 7, λ = 6)",
          src("Sec. 5.7", "And STSGD relatively improves the performances by 9% on average."),
          "test_acc_l6", Trend(scs_p("Comma"), "up", "initial STSGD p")),
    # P19
    Claim("scs.t5.longer_view_livi", "scs.table5",
          "On LiVi the SCS observing 7 frames beats the one observing 3 (35.1 vs 33.4 at p 0.5, λ = 6)",
          src("Sec. 5.7", "We find that, adopting LTSC to access more temporal information makes the model achieve "
                          "better performances without increasing memory resources."),
          "test_acc_l6", Better(steer("scs", "LiVi", 7, 0.5), steer("scs", "LiVi", 3, 0.5))),
    Claim("scs.t5.longer_view_comma", "scs.table5",
          "On comma.ai the SCS observing 7 frames beats the one observing 3 (49.2 vs 47.4 at p 0.5, λ = 6)",
          src("Sec. 5.7", "We find that, adopting LTSC to access more temporal information makes the model achieve "
                          "better performances without increasing memory resources."),
          "test_acc_l6", Better(steer("scs", "Comma", 7, 0.5), steer("scs", "Comma", 3, 0.5))),
    Claim("scs.t5.scs_gt_cnn_lstm_livi", "scs.table5",
          "On LiVi the SCS steers more accurately than CNN+LSTM (35.1 vs 29.2, length 7, λ = 6)",
          src("Sec. 2.3", "Again, the SCS performs substantially better than conventional LSTM models (see Tab. 5)."),
          "test_acc_l6", Better(steer("scs", "LiVi", 7, 0.5), steer("cnn_lstm", "LiVi", 7))),
    Claim("scs.t5.scs_mse_lt_cnn_lstm_comma", "scs.table5",
          "On comma.ai the SCS has a lower MSE than CNN+LSTM (0.037 vs 0.056, length 7)",
          src("Sec. 2.3", "Again, the SCS performs substantially better than conventional LSTM models (see Tab. 5)."),
          "test_mse", Better(steer("scs", "Comma", 7, 0.5), steer("cnn_lstm", "Comma", 7)), better="lower"),
    Claim("scs.t5.cnn_lstm_gt_cnn_livi", "scs.table5",
          "On LiVi CNN+LSTM over 7 frames steers more accurately than the single-frame CNN (29.2 vs 24.5, λ = 6)",
          src("Table 5"),
          "test_acc_l6", Better(steer("cnn_lstm", "LiVi", 7), steer("cnn", "LiVi", 1))),
    # P17
    Claim("scs.t5.frames_192x64", "scs.table5",
          "Driving frames are cropped (sky and irrelevant parts) and resized to 192 x 64",
          src("Sec. 5.7", "And the final input images are resized to 192×64 ."),
          "test_acc_l6", Better(steer("scs", "LiVi", 7, 0.5), steer("cnn_lstm", "LiVi", 7)),
          untestable={"all": "a data setting, not a result: the paper scale reads 64 x 192 frames "
                             "(STEER_SCALES['paper']); smoke / cpu use generated roads of 12 x 36 / 24 x 72"}),

    # -------------------------------------------------------------------- Table 6: T^1 vs T^2 by road type
    Claim("scs.t6.t2_gt_t1_crossroads", "scs.table6",
          "On crossroads the temporal sub-goal T^2 steers much better than the spatial T^1 (29.1 vs 18.3, λ = 6)",
          src("Sec. 5.7", "While on crossroads, \\mathcal{T}^2 performs much better than \\mathcal{T}^1 , which shows "
                          "that we need more temporal information to give out steering angles."),
          # A: T^2's accuracy, B would be T^1's (t1_acc_l6_crossroads) of the same run
          "t2_acc_l6_crossroads", Better(T6_RUN, T6_RUN),
          untestable={"all": T6_TWO_METRICS}),
    Claim("scs.t6.gap_order_by_road", "scs.table6",
          "The T^2 - T^1 gap orders straight < curve < T-junction < crossroads (2.6, 4.7, 8.8, 10.8 at λ = 6)",
          src("Sec. 5.7", "On these four conditions, the performance gaps of \\mathcal{T}^2 and \\mathcal{T}^1 can be "
                          "ordered as: straight roads < curve roads < T-junctions < crossroads."),
          # step k reads t2_minus_t1_acc_l6_<road k> (straight, curve, t_junction, crossroads) of the same run
          "t2_minus_t1_acc_l6", Trend((T6_RUN, T6_RUN, T6_RUN, T6_RUN), "up", "road type"),
          untestable={"all": T6_TWO_METRICS}),

    # -------------------------------------------------------------------- Table 7: precipitation nowcasting
    Claim("scs.t7.scs_mse_lt_convlstm", "scs.table7",
          "The SCS encoder-decoder forecasts radar echoes with a lower MSE than ConvLSTM (0.01022 vs 0.01156)",
          src("Table 7"), "test_mse", Better(T7_SCS, T7_CONVLSTM), better="lower"),
    Claim("scs.t7.scs_csi_gt_convlstm", "scs.table7",
          "The SCS has a higher critical success index than ConvLSTM (0.5636 vs 0.5349)",
          src("Table 7"), "test_csi", Better(T7_SCS, T7_CONVLSTM)),
    Claim("scs.t7.scs_far_lt_convlstm", "scs.table7",
          "The SCS has a lower false alarm rate than ConvLSTM (0.1682 vs 0.1733)",
          src("Table 7"), "test_far", Better(T7_SCS, T7_CONVLSTM), better="lower"),
    Claim("scs.t7.scs_pod_gt_convlstm", "scs.table7",
          "The SCS has a higher probability of detection than ConvLSTM (0.6368 vs 0.5986)",
          src("Table 7"), "test_pod", Better(T7_SCS, T7_CONVLSTM)),
    # P23
    Claim("scs.t7.stsgd_p_csi", "scs.table7",
          "A higher initial STSGD p raises the SCS's CSI (0.5624, 0.5635, 0.5636 at p 0, 0.3, 0.5)",
          src("Sec. 5.8", "With a higher initial p , the model achieves better performance (see details in Tab. 7), "
                          "which indicates the important role of STSGD for SCS."),
          "test_csi", Trend((nowcast("SCS p=0.0"), nowcast("SCS p=0.3"), nowcast("SCS p=0.5")), "up",
                            "initial STSGD p")),
    Claim("scs.t7.stsgd_p_mse", "scs.table7",
          "The SCS with initial STSGD p = 0.5 has a lower MSE than with p = 0 (0.01022 vs 0.01030)",
          src("Sec. 5.8", "With a higher initial p , the model achieves better performance (see details in Tab. 7), "
                          "which indicates the important role of STSGD for SCS."),
          "test_mse", Better(nowcast("SCS p=0.5"), nowcast("SCS p=0.0")), better="lower"),
    # P2
    Claim("scs.t7.stsgd_p_schedule", "scs.table7",
          "STSGD starts with p_s = p_t = 0.5 and lowers p to 0 as training goes on",
          src("Sec. 5.2", "This scheme partly decouples the spatial and temporal learning process by initializing "
                          "p_s and p_t to a relative high value ($p_s = p_t = 0.5$) and as the training goes on, p "
                          "decreases to 0 to synthesize the spatial and temporal training processes."),
          "test_csi", Better(nowcast("SCS p=0.5"), nowcast("SCS p=0.0")),
          untestable={"all": "a training setting, not a result: STSGD's p starts at its initial value and "
                             "decays to 0 (catalogue/tasks/prediction.py stsgd_decay, shared by Tables 5 and 7); the "
                             "results it serves are scs.t5.stsgd_p_* and scs.t7.stsgd_p_*"}),
    # P20
    Claim("scs.t7.reec_2018_crops", "scs.table7",
          "REEC-2018: composite-reflectivity images of Eastern China every 6 minutes, the top 100 rainy days, "
          "224 x 244 crops",
          src("Sec. 5.8", "The experiments are conducted on our REEC-2018 dataset which contains a set of CR images "
                          "of Eastern China in 2018 and the CR image is recorded every 6 minutes. ... crop a "
                          "224×244 pixel region as our input images."),
          "test_mse", Better(T7_SCS, T7_CONVLSTM), better="lower",
          untestable={"all": "a data setting, not a result: REEC-2018 is not public; the paper scale takes "
                             "224 x 224 maps (TABLE7_SCALES['paper'], 244 read as a typo); smoke / cpu use "
                             "built-in moving echoes"}),
    # P21
    Claim("scs.t7.threshold_half", "scs.table7",
          "CSI, FAR and POD count hits, misses and false alarms on maps thresholded at 0.5",
          src("Sec. 5.8", "We convert the prediction and the label to a 0/1 matrix using a threshold of 0.5 and "
                          "define “hit” (prediction=label=1), “miss” (prediction=0, label=1), “falsealarm” "
                          "(prediction=1, label=0)."),
          "test_csi", Better(T7_SCS, T7_CONVLSTM),
          untestable={"all": "a metric definition, not a result: the nowcast task scores pixels thresholded at "
                             "0.5 (train/nowcast.py scores, eqs. 25-27); the results it defines are "
                             "scs.t7.scs_csi_gt_convlstm, scs.t7.scs_far_lt_convlstm, scs.t7.scs_pod_gt_convlstm"}),
    # P22
    Claim("scs.t7.five_in_five_out", "scs.table7",
          "The nowcasting models see 5 radar images and predict the next 5, without LTSC",
          src("Sec. 5.8", "The models take 5 CR images as input and predict 5 future images. This is not a long "
                          "sequence, so we do not adopt the LTSC scheme."),
          "test_mse", Better(T7_SCS, T7_CONVLSTM), better="lower",
          untestable={"all": "a task setting, not a result: every scale of scs.table7 uses n_in = n_out = 5 and "
                             "no LTSC scheme (TABLE7_SCALES)"}),
]

# the claims the README names in one generated line per experiment (benchmark.claims.summary.headline_lines)
HEADLINES = {"scs.table4": ("scs.t4.depth_interaction_nll", "scs.t4.scs15_lower_nll_than_lstm15",
                            "scs.t4.scs_best_at_15")}
