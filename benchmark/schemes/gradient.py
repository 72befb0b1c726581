"""Gradient schemes: schedules for the Temporal Dropout rate / STSGD p, and ASTSGD's q.

The masks themselves live in the cells (``CBMCell.temporal_dropout``, ``SCSCell.stsgd_draw``): one draw
per layer per time step; this module decides the rate in force. ASTSGD's q has two rules (scs 5.2): the
empirical formula (eq. 20, ``astsgd_q``) and the learned one, "a small network with 3 fully connection layers
which takes r_s, r_t, and g as input to optimize q" (``QNet``, trained by ``QController``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.func import functional_call


@dataclass(frozen=True)
class Schedule:
    """Piecewise-constant value by epoch: ``((0, 1.0), (2, 0.8), (4, 0.5))`` = 1.0 for epochs 0-1,
    0.8 for 2-3, 0.5 from epoch 4 (deeprnn 4.1's TD schedule)."""
    steps: tuple = ((0, 0.0),)

    def __call__(self, epoch: int) -> float:
        value = self.steps[0][1]
        for start, v in sorted(self.steps):
            if epoch >= start:
                value = v
        return float(value)

    @classmethod
    def decay_to(cls, final: float, start: float = 1.0, every: int = 1) -> "Schedule":
        """deeprnn's TD schedule shape: start, then 0.8 after ``every`` epochs, then ``final`` after
        ``every`` more (a final rate >= 0.8 is reached directly)."""
        if final >= 0.8:
            return cls(((0, start), (every, final)))
        return cls(((0, start), (every, 0.8), (2 * every, final)))


def astsgd_q(loss_spatial: float, loss_main: float, init_loss_main: float, q0: float = 0.5,
             alpha: float = 1.0, thresh: float = 1.0) -> float:
    """scs eq. 20: q = q0 + (1 - q0) * max(0, L_s - thresh) / (InitL_g - thresh) * (alpha (L_g / L_s - 1) + 1).

    Bound: the result is clipped to [0, 1] because q is a probability (eq. 19's gamma(q)); eq. 20 alone
    can leave [0, 1] when L_g > L_s early in training."""
    if init_loss_main <= thresh:
        raise ValueError(f"InitL_g ({init_loss_main}) must exceed thresh ({thresh}); "
                         f"InitL_g is ln(number of classes) as released")
    ratio = max(0.0, loss_spatial - thresh) / (init_loss_main - thresh)
    q = q0 + (1 - q0) * ratio * (alpha * (loss_main / max(loss_spatial, 1e-12) - 1) + 1)
    return float(min(1.0, max(0.0, q)))


def initial_main_loss(num_classes: int) -> float:
    """InitL_g as released: the cross-entropy of a uniform guess, ln(number of classes)."""
    return math.log(num_classes)


class QNet(nn.Module):
    """The alternative of scs 5.2: "a small network with 3 fully connected layers which takes r_s, r_t
    and g as input to optimize q". Inputs are the three current losses; output q in (0, 1)."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, loss_spatial, loss_temporal, loss_main) -> torch.Tensor:
        x = torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in
                         (loss_spatial, loss_temporal, loss_main)], dim=-1)
        return torch.sigmoid(self.net(x)).squeeze(-1)


class QController(nn.Module):
    """ASTSGD's learned q (scs 5.2): a ``QNet`` fed the running losses of r_s, r_t and g, trained during the
    run to choose the q that lowers the main loss. The paper says only that the network is trained "to
    optimize q"; the rule here is ours: a Gaussian policy trained by REINFORCE, one update per training step
    (``step``, called once the step's clips are through, before the optimiser's update):

    - act: the inputs are the running losses (L_s, L_t, L_g) divided by ``init_loss`` (InitL_g; L_t by its first
      value, 1 while T^2 is not measured); the net gives mu; the q in force for the next step is
      clip(mu + ``sigma`` * eps, 0, 1), eps ~ N(0, 1) drawn from a generator seeded by (``seed``, step), so the
      draws never touch torch's global generator and a resumed run draws the same ones.
    - learn: the update made at step k under q_k shows in the main loss of step k + 1, so at step k + 1 the
      reward of q_k is L_k - L_{k+1} (the step's main losses). Advantage = reward - a running mean of the
      rewards, divided by a running mean of its size, clipped to [-3, 3]; then theta += ``lr`` * advantage *
      d log N(q_k; mu(x_k), sigma) / d theta (plain SGD: no optimiser state outside the module).
    - warm start: the net is first fitted to eq. 20 (``astsgd_q`` with this run's InitL_g, q0, alpha, thresh) on
      random losses, so that it starts where the formula does (q about 1 at the start of training, Fig. 4b).

    The net's parameters have ``requires_grad=False``: the task's optimiser and its gradient clipping leave
    them alone; only ``learn`` changes them. One process only (``train.astsgd.attach`` refuses DDP: ranks
    would learn apart). The net starts from a fixed seed (1234) for every run seed, then the warm start. Everything (weights, running means, the pending actions) is
    a parameter or buffer, so it is checkpointed and resumed with the model."""

    def __init__(self, init_loss: float, q0: float = 0.5, alpha: float = 1.0, thresh: float = 1.0,
                 hidden: int = 16, sigma: float = 0.05, lr: float = 1e-2, seed: int = 0, warm_start: bool = True):
        super().__init__()
        self.init_loss, self.sigma, self.lr = float(init_loss), float(sigma), float(lr)
        with torch.random.fork_rng(devices=[]):  # the caller's RNG stream is left as it was
            torch.manual_seed(1234)
            self.net = QNet(hidden)
            if warm_start:
                self._fit_eq20(q0, alpha, thresh)
        for p in self.net.parameters():
            p.requires_grad_(False)
        for name, value in (("seed", int(seed)), ("steps", 0)):
            self.register_buffer(name, torch.tensor(value, dtype=torch.int64))
        for name in ("ema_temporal", "t2_ref", "reward_mean", "reward_scale", "prev_main", "used_q", "judged_q"):
            self.register_buffer(name, torch.tensor(0.0, dtype=torch.float64))
        for name in ("used_input", "judged_input"):
            self.register_buffer(name, torch.zeros(3, dtype=torch.float32))
        self.reset_episode()

    def _fit_eq20(self, q0: float, alpha: float, thresh: float, n: int = 256, steps: int = 200) -> None:
        """Adam on the MSE to eq. 20 over ``n`` random loss triples (one thread: these are tiny products)."""
        x = torch.rand(n, 3) * torch.tensor([1.5, 2.0, 1.5])      # L_s / InitL_g, L_t ratio, L_g / InitL_g
        y = torch.tensor([astsgd_q(float(a) * self.init_loss, float(c) * self.init_loss, self.init_loss, q0, alpha,
                                   thresh) for a, _, c in x.tolist()])
        params = list(self.net.parameters())
        m1, m2 = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]
        lr, b1, b2 = 2e-2, 0.9, 0.999  # Adam, written out (torch.optim's first use imports torch._dynamo: seconds)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for t in range(1, steps + 1):
                loss = nn.functional.mse_loss(self.net(x[:, 0], x[:, 1], x[:, 2]), y)
                grads = torch.autograd.grad(loss, params)
                with torch.no_grad():
                    for p, g, a, b in zip(params, grads, m1, m2):
                        a.mul_(b1).add_((1 - b1) * g)
                        b.mul_(b2).add_((1 - b2) * g * g)
                        p.sub_(lr * (a / (1 - b1 ** t)) / ((b / (1 - b2 ** t)).sqrt() + 1e-8))
        finally:
            torch.set_num_threads(threads)

    def reset_episode(self) -> None:
        """Forget the pending actions and the running means (a fine-tuning run starts its own training)."""
        for name in ("ema_temporal", "t2_ref", "prev_main", "used_q", "judged_q"):
            getattr(self, name).fill_(float("nan"))
        for name in ("reward_mean", "reward_scale"):
            getattr(self, name).zero_()
        for name in ("used_input", "judged_input"):
            getattr(self, name).fill_(float("nan"))

    def observe_temporal(self, loss_temporal: float, ema: float) -> None:
        """The running (exponential, factor ``ema``) mean of T^2's loss; its first value is the scale of L_t."""
        if math.isnan(float(self.t2_ref)):
            self.t2_ref.fill_(max(float(loss_temporal), 1e-8))
            self.ema_temporal.fill_(float(loss_temporal))
        else:
            self.ema_temporal.mul_(ema).add_((1 - ema) * float(loss_temporal))

    def inputs(self, loss_spatial: float, loss_main: float) -> torch.Tensor:
        """The net's inputs from the running losses of r_s and g (and T^2's, ``observe_temporal``)."""
        lt = 1.0 if math.isnan(float(self.t2_ref)) else float(self.ema_temporal) / float(self.t2_ref)
        return torch.tensor([loss_spatial / self.init_loss, lt, loss_main / self.init_loss], dtype=torch.float32)

    def mu(self, x: torch.Tensor) -> float:
        with torch.no_grad():
            return float(self.net(x[0], x[1], x[2]))

    def learn(self, loss_main: float) -> float | None:
        """The REINFORCE update for the judged action (the q of the step before the one just trained), whose
        effect the main loss ``loss_main`` of the step just trained shows; returns the normalised advantage
        (None while there is nothing to judge)."""
        prev_main = float(self.prev_main)
        self.prev_main.fill_(float(loss_main))
        if math.isnan(prev_main) or math.isnan(float(self.judged_q)):
            return None
        reward = prev_main - float(loss_main)
        adv = reward - float(self.reward_mean)
        self.reward_mean.mul_(0.9).add_(0.1 * reward)
        self.reward_scale.mul_(0.9).add_(0.1 * abs(adv))
        adv = max(-3.0, min(3.0, adv / (float(self.reward_scale) + 1e-8)))
        params = {k: p.detach().clone().requires_grad_(True) for k, p in self.net.named_parameters()}
        with torch.enable_grad():
            x = self.judged_input
            mu = functional_call(self.net, params, (x[0], x[1], x[2]))
            logp = -((float(self.judged_q) - mu) ** 2) / (2 * self.sigma ** 2)
            grads = torch.autograd.grad(logp, list(params.values()))
        with torch.no_grad():
            for p, g in zip(self.net.parameters(), grads):
                p.add_(self.lr * adv * g)
        return adv

    def act(self, x: torch.Tensor) -> float:
        """The q for the next step: mu(x) plus exploration noise, clipped to [0, 1]."""
        gen = torch.Generator().manual_seed(int(self.seed) * 1_000_003 + int(self.steps))
        eps = float(torch.randn((), generator=gen))
        q = min(1.0, max(0.0, self.mu(x) + self.sigma * eps))
        self.steps.add_(1)
        self.used_input.copy_(x)
        self.used_q.fill_(q)
        return q

    def step(self, loss_main: float, x: torch.Tensor) -> float:
        """One training step through: learn from the judged action, move the step's own action to be judged
        next, and return the q of the next step (``act`` on the inputs ``x``)."""
        self.learn(loss_main)
        self.judged_input.copy_(self.used_input)
        self.judged_q.copy_(self.used_q)
        return self.act(x)
