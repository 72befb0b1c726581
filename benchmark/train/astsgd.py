"""Advanced STSGD for task ``subgoal`` (scs eqs. 19-20, Fig. 4) and the epoch's loss parts, both kept in the
model's ``subgoal_state`` (``models.nets.subgoal_heads.SubgoalState``: checkpointed and resumed with it).

``opts`` are the task's options (``subgoal.options``). ASTSGD (``astsgd``): before every training forward
every SCS cell gets ``set_schedule(model, "stsgd_q", q)`` (block the T input with prob. q, the R input with prob.
1 - q); q from eq. 20 (``schemes.gradient.astsgd_q``: q0 0.5, alpha 1, thresh 1, InitL_g = ln(number of
classes)) with L_s and L_g the running (exponential, ``astsgd_ema`` = 0.9 per step) means of the training
losses of r_s and g. ``astsgd_every="step"`` (default; the released code recomputes q after every clip)
updates q after every optimisation step; ``"epoch"`` keeps it for a whole epoch and updates it from the
epoch's mean losses. Before the first update L_s = L_g = InitL_g, so q starts at 1 (eq. 20; Fig. 4b: "at
the beginning of training, q is about 1"). Without sub-goals L_s is still measured (no gradient), as
released. q is logged per epoch (``astsgd_q`` at the end, ``astsgd_q_mean`` over the steps,
``astsgd_q_start``).

``q_rule`` chooses how q follows the losses: ``"eq20"`` (default) the empirical formula above; ``"network"``
the paper's other option, "a small network with 3 fully connection layers which takes r_s, r_t, and g as
input to optimize q" (section 5.2): ``schemes.gradient.QController`` kept in the model as ``q_net`` (``attach``:
its inputs are the running losses of r_s and g above and of r_t, T^2's flow loss; trained once per step by
REINFORCE on the main loss, see there; ``qnet_hidden``, ``qnet_sigma``, ``qnet_lr``). ``"network"`` updates q
every step only (``astsgd_every="step"``).
"""
from __future__ import annotations

import numpy as np
import torch

from models import set_schedule
from models.nets.subgoal_heads import has_subgoals

from ..schemes.gradient import QController, astsgd_q

Q_RULES = ("eq20", "network")


def check_options(opts: dict) -> None:
    if opts["q_rule"] not in Q_RULES:
        raise ValueError(f"q_rule must be one of {Q_RULES}, got {opts['q_rule']!r}")
    if opts["q_rule"] == "network" and opts["astsgd_every"] != "step":
        raise ValueError("q_rule='network' updates q every step: use astsgd_every='step'")


def attach(model, opts: dict) -> None:
    """``model.q_net`` (``QController``) for an SCS net with sub-goals under ASTSGD with ``q_rule="network"``;
    its exploration draws are seeded by torch's initial seed (the run's seed, set before the model is built)."""
    if opts["astsgd"] and opts["q_rule"] == "network" and has_subgoals(model):
        if torch.distributed.is_available() and torch.distributed.is_initialized() and \
                torch.distributed.get_world_size() > 1:
            # each rank would learn its own q from its own loss, and DDP would overwrite the controller's
            # buffers from rank 0 at every forward: not one controller
            raise ValueError("q_rule='network' runs in one process only: launch it without DDP (one GPU or CPU)")
        model.add_module("q_net", QController(
            model.subgoal_state.init_loss, q0=opts["q0"], alpha=opts["alpha"], thresh=opts["thresh"],
            hidden=opts["qnet_hidden"], sigma=opts["qnet_sigma"], lr=opts["qnet_lr"],
            seed=torch.initial_seed() % (2 ** 31)))


def _unwrap(model):
    return getattr(model, "module", model)  # a DDP wrapper's model


def record(model, parts_list: list[dict], opts: dict) -> None:
    """Epoch sums of the loss parts of one step's clips; ASTSGD's q from eq. 20 on the running losses (per
    step)."""
    model = _unwrap(model)
    state = getattr(model, "subgoal_state", None)
    if state is None or not model.training:
        return
    means = {k: float(np.mean([p[k] for p in parts_list if k in p])) for k in ("main", "t1", "t2", "coherence")
             if any(k in p for p in parts_list)}
    for k, v in means.items():
        state.add(k, v)
    if not (opts["astsgd"] and has_subgoals(model)):
        return
    if float(state.q_start) < 0:
        state.q_start.fill_(float(state.q))
    state.add("q", float(state.q))
    m = opts["astsgd_ema"]
    state.ema_main.mul_(m).add_((1 - m) * means["main"])
    state.ema_spatial.mul_(m).add_((1 - m) * means["t1"])
    ctrl = getattr(model, "q_net", None)
    if ctrl is not None:  # q_rule "network": learn from the losses, then the next step's q
        if "t2" in means:
            ctrl.observe_temporal(means["t2"], m)
        q = ctrl.step(means["main"], ctrl.inputs(float(state.ema_spatial), float(state.ema_main)))
        state.q.fill_(q)
        set_schedule(model, "stsgd_q", q)
    elif opts["astsgd_every"] == "step":
        update_q(model, opts, float(state.ema_spatial), float(state.ema_main))


def update_q(model, opts: dict, loss_spatial: float, loss_main: float) -> float:
    """q = eq. 20 (``astsgd_q``) for these losses; stored in the model and set in every SCS cell."""
    state = _unwrap(model).subgoal_state
    q = astsgd_q(loss_spatial, loss_main, state.init_loss, q0=opts["q0"], alpha=opts["alpha"],
                 thresh=opts["thresh"])
    state.q.fill_(q)
    set_schedule(_unwrap(model), "stsgd_q", q)
    return q


def epoch_metrics(model, opts: dict, sub: bool) -> dict:
    """The epoch's mean training-loss parts and, for an SCS net with sub-goals (``sub``) under ASTSGD, q;
    with ``astsgd_every="epoch"`` q is updated here for the next epoch. The epoch sums are reset."""
    out = {}
    state = getattr(model, "subgoal_state", None)
    if state is not None:
        for k in ("main", "t1", "t2", "coherence"):
            if float(getattr(state, f"n_{k}")):
                out[f"train_loss_{k}"] = state.mean(k)
        if sub and opts["astsgd"]:
            if opts["astsgd_every"] == "epoch" and float(state.n_t1):  # q for the next epoch
                out["astsgd_q_start"] = float(state.q)
                out["astsgd_q_mean"] = float(state.q)
                update_q(model, opts, state.mean("t1"), state.mean("main"))
            else:
                out["astsgd_q_start"] = float(state.q_start)
                out["astsgd_q_mean"] = state.mean("q")
            out["astsgd_q"] = float(state.q)
        state.reset_epoch()
    return out
