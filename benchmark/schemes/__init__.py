"""Training schemes any experiment can switch on.

clips.py      sequence schemes: full BPTT, plain short clips, Overlap Coherence clips, LTSC partitions
              (``clip_plan``: the one planner) and the clip-by-clip backward (``backward_terms``)
overlap.py    the one clip loop every task trains through: state hand-over and coherence between clips
coherence.py  the overlap coherence loss (deeprnn eq. 4) / LTSC overlap loss (scs eq. 23)
gradient.py   gradient schemes: TD and STSGD schedules, ASTSGD's q (scs eq. 20) and its learned-q net
"""
from .clips import clip_plan, full_sequence, ltsc_partition, overlap_clips, plain_clips, random_overlap_clips
from .coherence import coherence_loss
from .gradient import QNet, Schedule, astsgd_q

__all__ = ["clip_plan", "full_sequence", "plain_clips", "overlap_clips", "random_overlap_clips", "ltsc_partition",
           "coherence_loss", "Schedule", "astsgd_q", "QNet"]
