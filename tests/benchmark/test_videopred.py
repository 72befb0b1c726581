"""Video prediction on Moving Fashion-MNIST (issue 19, beyond.videopred): the videopred task learns, its loss
is each family's declared one, its trivial baseline is copy-last-frame's ``baseline_scores`` on the run's test
set (and equals ``evaluate`` of a copy-last model), the families' widths match the ConvLSTM's parameter budget
at the cpu scale, and the experiment writes its table, figure and claims at smoke."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.baselines import trivial_baselines
from benchmark.catalogue import resolve
from benchmark.catalogue.tasks import videopred as grid
from benchmark.config import RunConfig
from benchmark.data.moving_fmnist import baseline_scores, copy_last_frame
from benchmark.train import videopred as task
from benchmark.train.checkpoint import seed_everything
from benchmark.train.loop import run_training
from models import create_model
from models.stacks import count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

TINY = RunConfig(experiment="test", scale="smoke", task="videopred", model="mmnist_convlstm_s",
                 model_kw=dict(width_mult=8 / 128, num_layers=1, filter_size=3, openstl_unused=False),
                 data_kw=dict(n_train=32, n_test=8, size=32, n_in=4, n_out=4), epochs=8, batch_size=8, lr=1e-2,
                 eval_last=1)


class CopyLast(nn.Module):
    def __init__(self, n_out: int):
        super().__init__()
        self.n_out = n_out

    def forward(self, frames):
        return copy_last_frame(frames, self.n_out)


def test_the_task_learns_a_tiny_task(tmp_path):
    seed_everything(TINY.seed)  # what run_training does before it builds: the same untrained net
    model, _, test, _ = task.build(TINY)
    before = task.evaluate(model.eval(), test, TINY)["test_mse"]
    run_training(TINY, tmp_path / "run", progress=False)
    history = [r for r in pd.read_json(tmp_path / "run" / "metrics.jsonl", lines=True).to_dict("records")]
    assert len(history) == 8 and history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert history[-1]["test_mse"] < 0.9 * before


def test_loss_is_each_familys_declared_loss():
    torch.manual_seed(0)
    batch = {"frames": torch.rand(2, 4, 1, 16, 16), "target": torch.rand(2, 4, 1, 16, 16)}
    cfg = dataclasses.replace(TINY, data_kw={**TINY.data_kw, "size": 16})
    rnn = create_model("mmnist_cbm", width_mult=1 / 32, pre_seq_length=4, aft_seq_length=4, num_layers=1)
    made = rnn(batch["frames"], return_all=True)  # OpenSTL's: all 7 steps against frames 2..8
    want = F.mse_loss(made, torch.cat([batch["frames"], batch["target"]], 1)[:, 1:])
    assert task.loss(rnn, batch, cfg).item() == pytest.approx(want.item(), rel=1e-6)
    simvp = create_model("mmnist_simvp_gsta_s", width_mult=1 / 16, pre_seq_length=4, aft_seq_length=4).eval()
    assert task.loss(simvp, batch, cfg).item() == F.mse_loss(simvp(batch["frames"]), batch["target"]).item()
    with pytest.raises(ValueError, match="videopred trains RecurrentPredictor and SimVP models, got CopyLast"):
        task.loss(CopyLast(4), batch, cfg)
    with pytest.raises(ValueError, match="data_kw needs n_test"):
        task.datasets(dataclasses.replace(TINY, data_kw={"n_train": 2, "size": 32, "n_in": 2, "n_out": 2}))


def test_trivial_baseline_is_copy_last_on_the_runs_test_set():
    cfg = resolve("beyond.videopred").runs("smoke", 1)[0]
    _, test = task.datasets(cfg)
    want = baseline_scores(test)
    got = trivial_baselines(cfg)
    assert {k: v for k, (v, _) in got.items()} == {f"test_{k}": v for k, v in want.items()}
    assert {name for _, name in got.values()} == {"copy the last observed frame"}
    # the task's own evaluate of a copy-last "model" (batched, weighted by frames) gives the same numbers
    scored = task.evaluate(CopyLast(cfg.data_kw["n_out"]), test, cfg)
    assert scored == pytest.approx({k: v for k, (v, _) in got.items()}, rel=1e-12)
    # the data seed, not the run seed, makes the test set
    other = dataclasses.replace(cfg, seed=7)
    assert task.datasets(other)[1].fingerprint() == test.fingerprint()


def test_widths_match_the_convlstm_budget_within_5_percent_at_cpu():
    widths = grid.matched_widths("cpu")
    target = 4 * ((16 + 16) * 4 * 16 * 25 + 4 * 16) + 16 * 16  # 4 ConvLSTM(16) layers, filter 5, + conv_last
    assert widths[grid.TARGET] == (16 / 128, target) and target == 205_312
    assert {m: n for m, (_, n) in widths.items()} == {
        "mmnist_convlstm_s": 205_312, "mmnist_cbm": 204_498, "mmnist_scs": 204_930, "mmnist_predrnn_v2": 204_490,
        "mmnist_simvp_gsta_s": 206_253, "mmnist_convmingru": 201_416}
    for cfg in resolve("beyond.videopred").runs("cpu", 1):  # the grid's models are the counted ones
        with torch.device("meta"):
            n = count_parameters(task.make_model(cfg))
        assert n == cfg.labels["params"] and abs(n - target) <= 0.05 * target, cfg.model
    with pytest.raises(ValueError, match=r"mmnist_cbm: the nearest width_mult .* from the target 205312"):
        grid.match_width("mmnist_cbm", target, tol=0.001, pre_seq_length=10, aft_seq_length=10)


def test_smoke_writes_the_table_the_figure_and_the_claims(tmp_path, monkeypatch):
    from benchmark.run import main

    monkeypatch.setenv("BENCHMARK_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["beyond.videopred", "--scale", "smoke", "--cluster", "debug", "--runs-dir", str(tmp_path / "runs"),
                 "--out-dir", str(out)]) == 0
    df = pd.read_csv(out / "tables" / "beyond" / "videopred.csv")
    cells = df.set_index(["row", "column"])["reproduced"]
    cfgs = resolve("beyond.videopred").runs("smoke", 1)
    rows = [c.labels["row"] for c in cfgs]
    assert rows == ["ConvLSTM", "CBM", "SCS", "PredRNN-V2", "SimVP-gSTA", "ConvMinGRU"]
    base_row = "trivial baseline: copy the last observed frame"
    assert list(dict.fromkeys(df["row"])) == rows + [base_row] and len(df) == 6 * 7 + 5  # copy-last: no train loss
    from benchmark.results import run_dir
    from benchmark.train.loop import read_metrics

    losses = [m["train_loss"] for m in read_metrics(run_dir(tmp_path / "runs", cfgs[0]))]
    assert cells[("ConvLSTM", "train loss, epoch 1")] == round(losses[0], 4)
    assert cells[("ConvLSTM", "train loss, last epoch")] == round(losses[-1], 4)
    assert df["reproduced"].notna().all()
    assert all(cells[(c.labels["row"], "parameters")] == c.labels["params"] for c in cfgs)
    assert cells[(base_row, "parameters")] == 0
    assert cells[(base_row, "test MSE")] == round(trivial_baselines(cfgs[0])["test_mse"][0], 4)
    assert all((out / "tables" / "beyond" / f"videopred.{ext}").exists() for ext in ("md", "tex"))
    assert (out / "figures" / "beyond" / "videopred.png").stat().st_size > 0
    claims = pd.read_csv(out / "tables" / "beyond" / "videopred.claims.csv")
    assert len(claims) == 7 and claims["claim"].str.startswith("beyond.videopred.").all()
