"""Sequence and gradient schemes: exact, data-free checks."""
import math

import numpy as np
import pytest
import torch

from benchmark.schemes import (Schedule, astsgd_q, coherence_loss, ltsc_partition, overlap_clips, plain_clips,
                               random_overlap_clips)
from benchmark.schemes.clips import overlaps
from benchmark.schemes.gradient import QNet, initial_main_loss


def _covers_and_chains(clips, T):
    covered = set()
    for a, b in clips:
        covered |= set(range(a, b))
    assert covered == set(range(T))
    assert all(b > a for a, b in overlaps(clips)), clips  # every adjacent pair overlaps


def test_released_overlap_clips_exact():
    # L = 10, r = 0.25: stride 8 (NOTES.md); S = 7 clips as for UCF-101
    assert overlap_clips(100, 10, S=7) == [(0, 10), (8, 18), (16, 26), (24, 34), (32, 42), (40, 50), (48, 58)]
    assert overlap_clips(30, 10) == [(0, 10), (8, 18), (16, 26), (20, 30)]
    assert overlap_clips(5, 10) == [(0, 5)]


@pytest.mark.parametrize("T,L", [(30, 10), (58, 10), (64, 8), (11, 4)])
def test_overlap_clips_cover_every_frame_and_chain(T, L):
    _covers_and_chains(overlap_clips(T, L), T)


@pytest.mark.parametrize("seed", range(20))
def test_random_overlap_clips_cover_and_chain(seed):
    rng = np.random.default_rng(seed)
    clips = random_overlap_clips(60, 4, 9, rng)
    _covers_and_chains(clips, 60)
    assert all(4 <= b - a <= 9 for a, b in clips[:-1])


def test_plain_clips_are_disjoint_and_cover():
    clips = plain_clips(25, 10)
    assert clips == [(0, 10), (10, 20), (20, 25)]
    assert all(b <= a for a, b in overlaps(clips))  # no overlaps: the weak baseline


def test_ltsc_partition_satisfies_eqs_21_22():
    clips = ltsc_partition(58, 10, overlap=2)
    _covers_and_chains(clips, 58)
    assert clips[:2] == [(0, 10), (8, 18)]
    with pytest.raises(ValueError):
        ltsc_partition(58, 10, overlap=0)  # eq. 22 needs non-empty intersections


def test_coherence_loss_zero_on_identical_and_gradient_only_reaches_current_clip():
    prev = torch.randn(2, 3, 5, requires_grad=True)
    assert coherence_loss(prev.detach().clone(), prev).item() == 0.0
    cur = torch.randn(2, 3, 5, requires_grad=True)
    loss = coherence_loss(cur, prev)
    loss.backward()
    assert prev.grad is None  # the earlier clip is the (detached) target
    assert cur.grad is not None and torch.count_nonzero(cur.grad) > 0
    expected = ((cur.softmax(-1) - prev.softmax(-1)) ** 2).mean()
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        coherence_loss(cur, prev[:, :2])


def test_astsgd_q_follows_eq_20():
    # q = q0 + (1 - q0) * max(0, L_s - thresh)/(InitL_g - thresh) * (alpha (L_g/L_s - 1) + 1)
    init = initial_main_loss(101)  # ln(101) = 4.6151...
    q = astsgd_q(loss_spatial=3.0, loss_main=3.3, init_loss_main=init, q0=0.5, alpha=1.0, thresh=1.0)
    assert q == pytest.approx(0.5 + 0.5 * (2.0 / (math.log(101) - 1.0)) * (3.3 / 3.0), rel=1e-12)
    assert astsgd_q(0.9, 0.9, init) == 0.5                  # spatial loss below thresh: q = q0
    assert astsgd_q(50.0, 500.0, init) == 1.0               # clipped to a probability
    with pytest.raises(ValueError):
        astsgd_q(1.0, 1.0, init_loss_main=0.5)


def test_schedule_by_epoch():
    td = Schedule(((0, 1.0), (2, 0.8), (4, 0.5)))  # deeprnn 4.1: decay after two epochs, then two more
    assert [td(e) for e in range(6)] == [1.0, 1.0, 0.8, 0.8, 0.5, 0.5]
    assert Schedule.decay_to(0.0, every=1).steps == ((0, 1.0), (1, 0.8), (2, 0.0))
    assert Schedule.decay_to(1.0).steps == ((0, 1.0), (1, 1.0))


def test_qnet_outputs_a_probability_and_trains():
    net = QNet()
    q = net(torch.tensor([2.0, 1.0]), torch.tensor([1.5, 0.5]), torch.tensor([3.0, 1.2]))
    assert q.shape == (2,) and bool(((q > 0) & (q < 1)).all())
    q.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_overlap_terms_hand_over_and_cohere_by_the_rule():
    """The one clip loop: which state each clip starts from, where its cut falls, which frames cohere."""
    import torch

    from benchmark.schemes.overlap import overlap_terms

    calls, coh = [], []

    def run(a, b, state0, cut):  # the 'state' after frame t is t + 1; outputs are the frame indices
        calls.append((a, b, None if state0 is None else int(state0), cut))
        out = torch.arange(a, b, dtype=torch.float32)[None]
        return out, None if cut is None else torch.tensor(cut), torch.tensor(b)

    def coherence(out, prev, n, at):
        coh.append((out[0, :n].tolist(), prev[0, at:at + n].tolist()))
        return torch.tensor(0.0)

    clips = [(0, 4), (3, 7), (6, 10)]
    list(overlap_terms(clips, run, lambda out, a, b: torch.tensor(float(a)), coherence, 0.8, "timestamp"))
    assert calls == [(0, 4, None, 3), (3, 7, 3, 6), (6, 10, 6, None)]  # each starts from the state at its start
    assert coh == [([3.0], [3.0]), ([6.0], [6.0])]                       # the shared frames, aligned
    calls.clear()
    list(overlap_terms(clips, run, lambda out, a, b: torch.tensor(0.0), coherence, 0.8, "previous_last"))
    assert calls == [(0, 4, None, None), (3, 7, 4, None), (6, 10, 7, None)]  # the previous clip's final state
    with pytest.raises(ValueError, match="init must be 'timestamp' or 'previous_last'"):
        list(overlap_terms(clips, run, None, None, 0.8, "zeros"))
