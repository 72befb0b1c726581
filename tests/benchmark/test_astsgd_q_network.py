"""ASTSGD's learned q (scs 5.2, "a small network with 3 fully connection layers which takes r_s, r_t, and g as
input to optimize q"): ``q_rule="network"`` (train/astsgd.py, schemes/gradient.py QController). Its output is
the q every SCS cell draws with; it is trained (REINFORCE on the main loss) by the update the docstring states;
it learns the q that lowers the loss; eq. 20 stays the default."""
import copy
import math

import pytest
import torch

from benchmark.config import RunConfig
from benchmark.schemes.gradient import QController, astsgd_q
from benchmark.train import subgoal as sg
from benchmark.data.subgoal_sets import BuiltinActions
from models import create_model
from models.nets.subgoal_heads import scs_cells


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _cfg(**kw) -> RunConfig:
    return RunConfig(experiment="t.q", scale="smoke", task="subgoal", model="standalone17_scs", model_kw=dict(width=2),
                     data_kw=dict(variant="ucf101", n_train=4, n_test=4, T=4, size=32, flow_size=8),
                     scheme="bptt", scheme_kw=dict(astsgd=True, **kw))


@pytest.fixture(scope="module")
def net_and_batch():
    torch.manual_seed(0)
    ds = BuiltinActions("train", n=4, T=4, size=32)  # no flow targets: T^2 is not measured (L_t input 1)
    model = create_model("standalone17_scs", num_classes=ds.num_classes, width=2)
    sg.attach_heads(model, sg.options(_cfg(q_rule="network", astsgd_ema=0.0)), ds.num_classes)
    items = [ds[i] for i in range(4)]
    return model, {k: torch.stack([it[k] for it in items]) for k in items[0]}


def _eps(ctrl: QController, step: int) -> float:
    return float(torch.randn((), generator=torch.Generator().manual_seed(int(ctrl.seed) * 1_000_003 + step)))


def test_eq20_stays_the_default_and_the_options_are_checked():
    opts = sg.options(_cfg())
    assert opts["q_rule"] == "eq20"
    model = create_model("standalone17_scs", num_classes=12, width=2)
    sg.attach_heads(model, opts, 12)
    assert not hasattr(model, "q_net")  # eq. 20 runs build nothing new (their configs and weights unchanged)
    with pytest.raises(ValueError, match="q_rule"):
        sg.options(_cfg(q_rule="mlp"))
    with pytest.raises(ValueError, match="every step"):
        sg.options(_cfg(q_rule="network", astsgd_every="epoch"))


def test_the_network_output_is_the_q_the_cells_draw_with(net_and_batch):
    base, batch = net_and_batch
    cfg = _cfg(q_rule="network", astsgd_ema=0.0)  # the net's inputs are the step's own losses
    got = {}
    for bias in (20.0, -20.0):  # the same net and step, only the q network's last layer differs
        model = copy.deepcopy(base).train()
        with torch.no_grad():
            model.q_net.net.net[-1].bias.fill_(bias)
        torch.manual_seed(1)
        sg.loss(model, batch, cfg)
        ctrl = model.q_net
        x = ctrl.used_input.clone()
        t1, main = float(model.subgoal_state.ema_spatial), float(model.subgoal_state.ema_main)
        assert torch.allclose(x, torch.tensor([t1 / ctrl.init_loss, 1.0, main / ctrl.init_loss]))
        q = min(1.0, max(0.0, ctrl.mu(x) + ctrl.sigma * _eps(ctrl, 0)))
        assert float(model.subgoal_state.q) == pytest.approx(q, abs=1e-12)
        cells = scs_cells(model)
        assert len(cells) == 17 and all(c.stsgd_q == pytest.approx(q, abs=1e-12) for c in cells)
        got[bias] = q
    assert got[20.0] > 0.85 and got[-20.0] < 0.15  # mu ~ 1 or ~ 0 (+ the same exploration noise)


def test_the_network_is_trained_by_the_stated_reinforce_update():
    ctrl = QController(math.log(12), warm_start=False, seed=7, lr=0.05)
    x0, x1 = torch.tensor([0.9, 1.0, 1.0]), torch.tensor([0.8, 0.9, 0.95])
    before = {k: v.clone() for k, v in ctrl.net.state_dict().items()}
    q0 = ctrl.step(3.0, x0)                                  # step 0: nothing to judge yet; q0 for step 1
    assert q0 == pytest.approx(min(1.0, max(0.0, ctrl.mu(x0) + ctrl.sigma * _eps(ctrl, 0))))
    ctrl.step(2.9, x1)                                       # step 1: q0 is now the judged action, still no update
    assert all(torch.equal(before[k], v) for k, v in ctrl.net.state_dict().items())
    # step 2: reward of q0 = 2.9 - 2.7; advantage (reward - mean 0.0) / (0.1 |adv|) clipped to 3
    net = copy.deepcopy(ctrl.net)
    for p in net.parameters():
        p.requires_grad_(True)
    logp = -((q0 - net(x0[0], x0[1], x0[2])) ** 2) / (2 * ctrl.sigma ** 2)
    grads = torch.autograd.grad(logp, list(net.parameters()))
    ctrl.step(2.7, x1)
    assert float(ctrl.reward_mean) == pytest.approx(0.1 * 0.2)
    for (name, p), g in zip(ctrl.net.named_parameters(), grads):
        assert torch.allclose(p, before[name] + 0.05 * 3.0 * g, atol=1e-6), name
    assert not any(p.requires_grad for p in ctrl.net.parameters())  # the task's optimiser never sees them


@pytest.mark.parametrize("better", ["low", "high"])
def test_the_network_learns_the_q_that_lowers_the_main_loss(better):
    """A bandit: the update made under q_k lowers the next main loss by 0.1 (1 - q_k) (or 0.1 q_k)."""
    ctrl = QController(math.log(12), warm_start=False, seed=3)
    x = torch.tensor([0.8, 1.0, 0.9])
    mu0 = ctrl.mu(x)
    qs, losses = [1.0], [3.0]
    for k in range(300):
        qs.append(ctrl.step(losses[k], x))
        losses.append(losses[k] - 0.1 * ((1 - qs[k]) if better == "low" else qs[k]))
    assert 0.3 < mu0 < 0.7
    assert (ctrl.mu(x) < 0.1) if better == "low" else (ctrl.mu(x) > 0.9)


def test_warm_start_follows_eq20_and_fine_tuning_keeps_the_weights_only():
    init = math.log(12)
    ctrl = QController(init)
    for ls, lg in ((init, init), (1.5, 1.6), (1.0, 1.0), (2.0, 1.2)):
        assert ctrl.mu(ctrl.inputs(ls, lg)) == pytest.approx(astsgd_q(ls, lg, init), abs=0.05)
    model = create_model("standalone17_scs", num_classes=12, width=2)
    sg.attach_heads(model, sg.options(_cfg(q_rule="network")), 12)
    ctrl = model.q_net
    ctrl.step(3.0, torch.ones(3))
    ctrl.step(2.0, torch.ones(3))
    state = copy.deepcopy(model.state_dict())
    assert {"q_net.net.net.0.weight", "q_net.used_q", "q_net.steps"} <= set(state)  # checkpointed with the model
    fresh = create_model("standalone17_scs", num_classes=12, width=2)
    sg.attach_heads(fresh, sg.options(_cfg(q_rule="network")), 12)
    with torch.no_grad():
        for p in fresh.q_net.net.parameters():
            p.zero_()
    sg.load_pretrained(fresh, state)
    assert all(torch.equal(a, b) for a, b in zip(fresh.q_net.net.parameters(), ctrl.net.parameters()))
    assert math.isnan(float(fresh.q_net.prev_main)) and math.isnan(float(fresh.q_net.used_q))
