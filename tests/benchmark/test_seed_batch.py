"""Seed-batched training equals each seed trained alone (fp32), and writes each run as a lone run would."""
from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
import torch

from benchmark.catalogue import resolve
from benchmark.rundir import load_checkpoint
from benchmark.train.loop import run_training
from benchmark.train.seed_batch import batch_problem, pack_rule, seed_packs, train_seeds_batched


def _cfgs(model: str, epochs: int = 2, **change):
    cfgs = [c for c in resolve("deeprnn.table6").runs("smoke", 2) if c.model == model]
    return [dataclasses.replace(c, epochs=epochs, **change) for c in cfgs]


def _rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("model,change", [
    ("polygon_convlstm_2", {}),
    # CBM with BN in every cell and TD at rate 1 (no draw: deterministic)
    ("polygon_cbm_2", {"td_schedule": ((0, 1.0),)}),
])
def test_batched_losses_equal_lone_seeds(tmp_path, model, change):
    """A few steps (one epoch: 2 steps per seed; the seeds' batches differ in length, so one of them is
    padded). Over more steps Adam amplifies rounding (an update is ~lr * sign(g) where |g| is near eps),
    so longer runs agree statistically, not to 1e-4."""
    cfgs = _cfgs(model, epochs=1, **change)
    assert batch_problem(cfgs) is None
    alone = [tmp_path / f"alone{c.seed}" for c in cfgs]
    for c, d in zip(cfgs, alone):
        run_training(c, d, progress=False)
    packed = [tmp_path / f"packed{c.seed}" for c in cfgs]
    results = train_seeds_batched(cfgs, packed, progress=False)
    assert [r["seed_batched"] for r in results] == [2, 2]
    for a, b in zip(alone, packed):
        ra, rb = _rows(a), _rows(b)
        assert [r["epoch"] for r in rb] == [1]
        for x, y in zip(ra, rb):
            assert y["train_loss"] == pytest.approx(x["train_loss"], rel=1e-4)
            if model == "polygon_convlstm_2":  # no BN in the RNN: eval equal too
                assert y["test_loss"] == pytest.approx(x["test_loss"], rel=1e-4)
        # the two seeds really differ (own initialisation and data order)
    assert _rows(packed[0])[0]["train_loss"] != _rows(packed[1])[0]["train_loss"]
    # each seed's checkpoint is a lone run's: same keys and shapes, and its own weights (far closer to the
    # lone run of its seed than to the other seed's; not equal to 1e-4: a conv bias before BN has a zero
    # gradient up to rounding, and Adam turns rounding into steps of ~lr)
    ca, cb = load_checkpoint(alone[0] / "checkpoint.pt"), load_checkpoint(packed[0] / "checkpoint.pt")
    other = load_checkpoint(alone[1] / "checkpoint.pt")
    assert ca["model"].keys() == cb["model"].keys()
    assert all(ca["model"][k].shape == cb["model"][k].shape for k in ca["model"])

    def dist(x, y):
        return sum(float((x[k].float() - y[k].float()).norm()) for k in x if x[k].is_floating_point())

    assert dist(cb["model"], ca["model"]) < 0.1 * dist(cb["model"], other["model"])
    sa, sb = ca["optimizer"]["state"], cb["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    torch.testing.assert_close(sb[0]["exp_avg"], sa[0]["exp_avg"], rtol=1e-3, atol=1e-6)


def test_a_lone_run_resumes_from_a_batched_checkpoint(tmp_path):
    cfgs = _cfgs("polygon_convlstm_2")
    dirs = [tmp_path / f"s{c.seed}" for c in cfgs]
    train_seeds_batched(cfgs, dirs, progress=False)
    (dirs[0] / "result.json").unlink()
    longer = dataclasses.replace(cfgs[0], epochs=3)
    result = run_training(longer, dirs[0], progress=False)
    assert [r["epoch"] for r in _rows(dirs[0])] == [1, 2, 3]
    assert result["requeued"] == 1


def test_what_cannot_be_batched(tmp_path):
    cfgs = _cfgs("polygon_convlstm_2")
    assert batch_problem(cfgs[:1]) == "fewer than 2 seeds"
    assert batch_problem([cfgs[0], dataclasses.replace(cfgs[1], lr=0.5)]) == "the configs differ in more than the seed"
    seq_pack = seed_packs(resolve("deeprnn.table1").runs("smoke", 2))[0]
    assert len(seq_pack) == 2 and "has no stack_batches/loss_stacked" in batch_problem(seq_pack)
    (tmp_path / "s0").mkdir()
    (tmp_path / "s0" / "checkpoint.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="train the seeds alone"):
        train_seeds_batched(cfgs, [tmp_path / "s0", tmp_path / "s1"], progress=False)


def test_pack_rule_follows_the_measurement(tmp_path):
    cfg = _cfgs("polygon_convlstm_2")[0]
    csv = tmp_path / "seeds.csv"
    assert pack_rule(cfg, csv) is False  # nothing measured
    rows = [dict(model="m", n_seeds=5, mode="batched", precision="fp32", seconds=10.0),
            dict(model="m", n_seeds=5, mode="parallel", precision="fp32", seconds=12.0),
            dict(model="m", n_seeds=1, mode="single", precision="fp32", seconds=3.0)]
    pd.DataFrame(rows).to_csv(csv, index=False)
    assert pack_rule(cfg, csv) is True
    assert pack_rule(dataclasses.replace(cfg, precision="bf16"), csv) is False  # not measured in bf16
    rows[0]["seconds"] = 13.0
    pd.DataFrame(rows).to_csv(csv, index=False)
    assert pack_rule(cfg, csv) is False


@pytest.mark.e2e
def test_the_launcher_trains_packs_and_resumes_a_started_seed_alone(tmp_path):
    from benchmark.launch import launch, plan
    from benchmark.results import run_dir

    cfgs = [c for c in _cfgs("polygon_convlstm_2", epochs=1)] + _cfgs("polygon_cbm_2", epochs=1)
    p = plan(cfgs, tmp_path, "debug", seed_batching="on")
    assert sorted(len(pk) for g in p.packs for pk in g) == [2, 2]
    assert "seed batching: 4 runs in 2 pack(s)" in p.describe(tmp_path)
    assert not any(plan(cfgs, tmp_path, "debug", seed_batching="off").packs[0])
    counts = launch(cfgs, tmp_path, "debug", progress=False, seed_batching="on")
    assert counts.get("done") == 4
    for c in cfgs:
        result = json.loads((run_dir(tmp_path, c) / "result.json").read_text())
        assert result["seed_batched"] == 2
    # a seed with a checkpoint is never packed: it resumes alone
    more = [dataclasses.replace(c, epochs=2) for c in cfgs[:2]]
    launch(more[:1], tmp_path, "debug", progress=False, seed_batching="off")
    ckpt = run_dir(tmp_path, more[0]) / "checkpoint.pt"
    assert ckpt.exists()
    (run_dir(tmp_path, more[0]) / "result.json").unlink()
    assert not any(any(g) for g in plan(more, tmp_path, "debug", seed_batching="on").packs)
