"""--precision bf16 (autocast where bf16 is fast, refused elsewhere, part of the run's identity) and
--compile (never part of the identity; eager when compiling fails)."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from benchmark import precision
from benchmark.catalogue import resolve
from benchmark.config import config_hash
from benchmark.train.loop import run_training


def _cfg(**change):
    cfg = [c for c in resolve("deeprnn.table6").runs("smoke", 1) if c.model == "polygon_convlstm_2"][0]
    return dataclasses.replace(cfg, epochs=1, **change)


def _rows(d):
    return [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]


def test_precision_is_part_of_a_runs_identity_and_compile_is_not():
    fp32 = _cfg()
    assert config_hash(dataclasses.replace(fp32, precision="bf16")) != config_hash(fp32)
    assert config_hash(dataclasses.replace(fp32, compile=True)) == config_hash(fp32)
    # fp32 (the default) is left out of the hash: runs from before the option keep their directories. The
    # hash as it was computed before these fields existed (threads and the default late fields left out):
    import hashlib

    d = fp32.to_dict()
    for key in ("threads", "scheme", "scheme_kw", "stsgd_schedule", "precision", "compile", "lr_schedule",
                "average_last", "epoch_items", "eval_last"):
        d.pop(key)
    before = hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]
    assert config_hash(fp32) == before
    with pytest.raises(ValueError, match="precision='fp16': use one of"):
        from benchmark.config import validate

        validate(dataclasses.replace(fp32, precision="fp16"))


def test_autocast_runs_convolutions_in_bf16_and_keeps_the_loss_fp32():
    conv = torch.nn.Conv2d(3, 4, 3)
    with precision.autocast("bf16"):
        y = conv(torch.randn(1, 3, 8, 8))
        loss = torch.nn.functional.cross_entropy(torch.randn(2, 5, dtype=torch.bfloat16), torch.tensor([0, 1]))
    assert y.dtype == torch.bfloat16 and loss.dtype == torch.float32
    with precision.autocast("fp32"):
        assert conv(torch.randn(1, 3, 8, 8)).dtype == torch.float32


@pytest.mark.skipif(precision.bf16_problem() is not None, reason="this CPU has no fast bf16")
def test_a_bf16_run_trains_close_to_fp32(tmp_path):
    run_training(_cfg(), tmp_path / "fp32", progress=False)
    run_training(_cfg(precision="bf16"), tmp_path / "bf16", progress=False)
    a, b = _rows(tmp_path / "fp32")[0], _rows(tmp_path / "bf16")[0]
    assert a["train_loss"] != b["train_loss"]  # really another precision
    assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-2)


def test_bf16_is_refused_where_it_would_be_emulated(monkeypatch, tmp_path):
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ())
    assert "AVX512_BF16 or AMX" in precision.bf16_problem()
    with pytest.raises(ValueError, match="use --precision fp32"):
        run_training(_cfg(precision="bf16"), tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / "result.json").exists()


def test_compile_falls_back_to_eager_with_the_same_numbers(monkeypatch, tmp_path):
    def broken_compile(model, *a, **kw):
        def call(*args, **kwargs):
            raise RuntimeError("no C++ compiler")
        return call

    run_training(_cfg(), tmp_path / "eager", progress=False)
    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.warns(RuntimeWarning, match="torch.compile failed .*no C\\+\\+ compiler.*training eager"):
        run_training(_cfg(compile=True), tmp_path / "compiled", progress=False)
    assert _rows(tmp_path / "compiled")[0]["train_loss"] == _rows(tmp_path / "eager")[0]["train_loss"]
