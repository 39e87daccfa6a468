"""Training, checkpoints and generation on a small real text (Cranfield abstracts)."""

from __future__ import annotations

import json

import pytest
import torch

from trainyard.artifacts import write_file_list
from trainyard.errors import DataError
from trainyard.lm import checkpoint
from trainyard.lm.generate import generate
from trainyard.lm.train import TrainSettings, learning_rate, train_lm

pytestmark = pytest.mark.slow  # LM training

SMALL = dict(layers=2, heads=2, dim=32, context=32, batch=8, steps=40, eval_every=20, warmup=5, lr=3e-3)


def test_training_lowers_validation_loss_and_checkpoints(cran_slice, tmp_path):
    out = tmp_path / "ckpt"
    seen = []
    state = train_lm(cran_slice, out, TrainSettings(**SMALL), progress=seen.append)
    assert state.step == 40 and len(state.history) == 2
    assert state.history[-1]["nll"] < state.history[0]["nll"] < 4.5  # below a uniform guess over ~50 characters
    assert state.history[-1]["bits_per_char"] == pytest.approx(state.history[-1]["nll"] / 0.6931, rel=1e-3)
    assert seen[-1]["tokens_per_s"] > 0 and seen[-1]["step"] == 40
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "tokenizer.json", "model.safetensors", "optimizer.safetensors", "rng.safetensors"} <= names
    model, tokenizer, config = checkpoint.load(out)
    assert config["step"] == 40 and model.config.context == 32 and not model.training
    text = generate(model, tokenizer, "the ", max_new_tokens=20, temperature=0.8, top_k=10, seed=1)
    assert len(text) == 20 and text == generate(
        model, tokenizer, "the ", max_new_tokens=20, temperature=0.8, top_k=10, seed=1
    )


def test_resume_is_exact(cran_slice, tmp_path):
    straight, resumed = tmp_path / "a", tmp_path / "b"
    train_lm(cran_slice, straight, TrainSettings(**SMALL))
    train_lm(cran_slice, resumed, TrainSettings(**SMALL), until=20)
    assert json.loads((resumed / "config.json").read_text())["step"] == 20
    train_lm(cran_slice, resumed, TrainSettings(**SMALL), resume=True)
    a, _, _ = checkpoint.load(straight)
    b, _, _ = checkpoint.load(resumed)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)


def test_cache_and_recompute_generate_the_same(cran_slice, tmp_path):
    train_lm(cran_slice, tmp_path / "c", TrainSettings(**{**SMALL, "steps": 20}))
    model, tokenizer, _ = checkpoint.load(tmp_path / "c")
    cached = generate(model, tokenizer, "flow ", max_new_tokens=25, temperature=0)
    assert cached == generate(model, tokenizer, "flow ", max_new_tokens=25, temperature=0, use_cache=False)


def test_bad_input(cran_slice, tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("too short", encoding="utf-8")
    with pytest.raises(DataError, match="not more than one context window"):
        train_lm(tiny, tmp_path / "x", TrainSettings(**SMALL))
    train_lm(cran_slice, tmp_path / "c", TrainSettings(**{**SMALL, "steps": 5, "eval_every": 5}))
    model, tokenizer, _ = checkpoint.load(tmp_path / "c")
    with pytest.raises(DataError, match="outside the model's vocabulary: '€'"):
        generate(model, tokenizer, "price in €", max_new_tokens=3)
    with pytest.raises(DataError, match="exceed the model's context of 32"):
        generate(model, tokenizer, "the ", max_new_tokens=40)
    with pytest.raises(DataError, match="not a trainyard lm checkpoint"):
        checkpoint.load(tmp_path)
    with pytest.raises(DataError, match="nothing to resume"):
        train_lm(cran_slice, tmp_path / "none", TrainSettings(**SMALL), resume=True)


def test_schedule_warms_up_then_decays():
    settings = TrainSettings(lr=1.0, warmup=10, steps=110)
    rates = [learning_rate(step, settings, 110) for step in range(110)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert rates[10] == pytest.approx(1.0) and rates[-1] == pytest.approx(0.1, abs=1e-3)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))


def test_incompatible_checkpoint_is_refused(cran_slice, tmp_path):
    ckpt = tmp_path / "c"
    train_lm(cran_slice, ckpt, TrainSettings(**{**SMALL, "steps": 2, "eval_every": 2}))
    config = json.loads((ckpt / "config.json").read_text())
    config["model"]["dim"] = 64
    (ckpt / "config.json").write_text(json.dumps(config))
    write_file_list(ckpt)  # edited on purpose, so the file list agrees: the shapes must still be checked
    with pytest.raises(DataError, match="the weights do not fit the saved config"):
        checkpoint.load(ckpt)


DAMAGE = {
    "model.safetensors": lambda data: data[: len(data) // 2],
    "optimizer.safetensors": lambda data: data[:64],
    "config.json": lambda data: data[:40],
    "tokenizer.json": lambda data: b"\xff\xfe\x00 garbage",
}


def test_a_damaged_checkpoint_is_one_line_and_the_last_good_one_resumes(cran_slice, tmp_path):
    ckpt = tmp_path / "c"
    train_lm(cran_slice, ckpt, TrainSettings(**{**SMALL, "steps": 10, "eval_every": 5}))
    previous = checkpoint.previous(ckpt)
    assert json.loads((previous / "config.json").read_text())["step"] == 5  # the save at step 10 kept step 5's
    good = {name: (ckpt / name).read_bytes() for name in DAMAGE}
    for name, damage in DAMAGE.items():
        (ckpt / name).write_bytes(damage(good[name]))
        with pytest.raises(
            DataError,
            match=rf"{name}: damaged .*resume from the last good one: .*--resume -o "
            rf".*c\.previous",
        ):
            train_lm(cran_slice, ckpt, TrainSettings(**{**SMALL, "steps": 20, "eval_every": 5}), resume=True)
        with pytest.raises(DataError, match=rf"{name}: damaged"):
            checkpoint.load_tokenizer(ckpt)
        (ckpt / name).write_bytes(good[name])
    state = train_lm(cran_slice, previous, TrainSettings(**{**SMALL, "steps": 10, "eval_every": 5}), resume=True)
    assert state.step == 10
