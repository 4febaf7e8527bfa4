"""Trainer: learning, clipping, loss scaling, schedules, early stopping, resume, Ctrl-C, NaN."""

from __future__ import annotations

import json
import math
import os
import signal
from dataclasses import dataclass

import pytest
import torch
from training_toys import (
    LMConfig,
    RegressorConfig,
    ShuffledBatches,
    ToyLM,
    ToyRegressor,
    ToyVocab,
    lm_batches,
)

from rnnlab.training import (
    Callback,
    GradientNormRecorder,
    NonFiniteError,
    StepOutput,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    load_checkpoint,
    move_to_device,
    read_jsonl,
    seed_everything,
)


def quiet(**kw) -> TrainConfig:
    return TrainConfig(progress=False, **kw)


def regressor(dropout=0.0, seed=0) -> ToyRegressor:
    torch.manual_seed(seed)
    return ToyRegressor(RegressorConfig(dropout=dropout))


def test_regressor_loss_decreases_and_result_keys(tmp_path):
    data = ShuffledBatches()
    model = regressor()
    trainer = Trainer(model, quiet(optimizer="adam", lr=0.02, epochs=5), run_dir=tmp_path)
    before = trainer.evaluate(data)["loss"]
    result = trainer.fit(data, data)
    assert result["valid_loss"] < 0.5 * before
    assert [h["train"]["loss"] for h in trainer.history][-1] < trainer.history[0]["train"]["loss"]
    assert result["epochs"] == 5 and result["steps"] == 5 * len(data)
    assert result["stop_reason"] == "epochs"
    assert result["best_valid_loss"] == min(h["valid"]["loss"] for h in trainer.history)
    assert result["tokens_per_s"] > 0 and result["wall_s"] > 0
    assert "valid_mae" in result  # model.summarize's metrics are reported
    records = read_jsonl(tmp_path / "metrics.jsonl")
    assert [(r["epoch"], r["split"]) for r in records[:2]] == [(1, "train"), (1, "valid")]
    assert set(records[0]) >= {"epoch", "step", "split", "metrics", "lr", "wall_s"}


def test_stateful_model_state_handling_and_ppl():
    data = lm_batches()
    model = ToyLM(LMConfig())
    trainer = Trainer(model, quiet(optimizer="adam", lr=0.05, epochs=3))
    result = trainer.fit(data, data)
    # one initial_state per training epoch and per validation pass
    assert model.calls["initial_state"] == 3 * 2
    assert model.calls["detach_state"] == 3 * 2 * len(data)
    assert result["valid_ppl"] == pytest.approx(math.exp(result["valid_loss"]))
    assert result["valid_ppl"] < trainer.history[0]["train"]["ppl"]


class _GradProbe(Callback):
    """After the optimizer step the (clipped) gradients are still in p.grad."""

    def __init__(self):
        self.after = []
        self.max_abs = []
        self.infos = []

    def on_step_end(self, trainer, info):
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        self.after.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
        self.max_abs.append(max(float(g.abs().max()) for g in grads))
        self.infos.append(info)


def test_clip_by_norm_bounds_global_norm():
    probe = _GradProbe()
    cfg = quiet(lr=0.01, epochs=1, clip_norm=0.1)
    Trainer(ToyLM(LMConfig()), cfg, callbacks=[probe]).fit(lm_batches())
    assert any(i.grad_norm > 0.1 for i in probe.infos)  # clipping had work to do
    assert all(n <= 0.1 + 1e-5 for n in probe.after)
    assert all(i.clipped == (i.grad_norm > 0.1) for i in probe.infos)


def test_clip_by_value_bounds_elements():
    probe = _GradProbe()
    cfg = quiet(lr=0.01, epochs=1, clip_value=1e-3)
    Trainer(ToyLM(LMConfig()), cfg, callbacks=[probe]).fit(lm_batches())
    assert all(m <= 1e-3 + 1e-9 for m in probe.max_abs)
    assert probe.infos[0].grad_norm > 1e-2  # pre-clip norm is reported


def test_sum_over_time_scales_gradients_by_time_steps():
    norms = {}
    for reduction in ("mean", "sum_over_time"):
        torch.manual_seed(0)
        rec = GradientNormRecorder(per_parameter=False)
        cfg = quiet(lr=1e-9, epochs=1, loss_reduction=reduction, max_steps=1)
        Trainer(ToyLM(LMConfig()), cfg, callbacks=[rec]).fit(lm_batches(bptt=5))
        norms[reduction] = rec.records[0]["total"]
    assert norms["sum_over_time"] == pytest.approx(5 * norms["mean"], rel=1e-5)


def test_step_schedule_changes_lr_per_epoch():
    cfg = quiet(lr=1.0, epochs=5, schedule="step", decay_start=3, gamma=0.5, max_loss=None)
    trainer = Trainer(regressor(), cfg)  # lr 1 diverges: only the lr sequence is checked
    trainer.fit(ShuffledBatches(n=16))
    assert [h["lr"] for h in trainer.history] == [1.0, 1.0, 0.5, 0.25, 0.125]


class _ConstantMetric(ToyRegressor):
    model_type = "toy_constant"  # not registered: only trained here

    def summarize(self, totals):
        return {"loss": 1.0}


def test_early_stopping_stops_after_patience():
    model = _ConstantMetric(RegressorConfig())
    cfg = quiet(lr=0.01, epochs=10, early_stopping_patience=2)
    result = Trainer(model, cfg).fit(ShuffledBatches(n=16), ShuffledBatches(n=16))
    assert result["stop_reason"] == "early_stopping"
    assert result["epochs"] == 3 and result["best_epoch"] == 1


def test_max_steps_stops_early():
    result = Trainer(regressor(), quiet(epochs=10, max_steps=3)).fit(ShuffledBatches())
    assert result["steps"] == 3 and result["stop_reason"] == "max_steps"


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_resume_reproduces_uninterrupted_run(tmp_path):
    data = ShuffledBatches()  # reshuffled per epoch from its own seed; the model uses dropout

    def cfg(max_steps=None):
        return quiet(
            optimizer="adam", lr=0.01, epochs=4, seed=3, schedule="cosine", max_steps=max_steps
        )

    full = Trainer(regressor(dropout=0.3), cfg(), run_dir=tmp_path / "a")
    full.fit(data, data)

    # the same run, stopped after 2 epochs, then resumed by a fresh process
    Trainer(regressor(dropout=0.3), cfg(2 * len(data)), run_dir=tmp_path / "b").fit(data, data)
    resumed = Trainer(regressor(dropout=0.3, seed=99), cfg(), run_dir=tmp_path / "b")
    result = resumed.fit(data, data, resume_from=tmp_path / "b" / "checkpoints" / "last")

    assert result["epochs"] == 4 and result["steps"] == full.global_step
    for key, value in _params(full.model).items():
        torch.testing.assert_close(_params(resumed.model)[key], value, rtol=0, atol=0)

    def losses(history):
        return [(h["lr"], h["train"]["loss"], h["valid"]["loss"]) for h in history]

    assert losses(resumed.history) == losses(full.history)


class _SignalAt(Callback):
    """Sends this process a real signal after optimizer step ``step``."""

    def __init__(self, step, signum=signal.SIGINT):
        self.step, self.signum = step, signum

    def on_step_end(self, trainer, info):
        if info.step == self.step:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_saves_last_and_resume_finishes(tmp_path, signum):
    data = ShuffledBatches()  # 8 batches per epoch
    cfg = quiet(lr=0.05, epochs=2)
    trainer = Trainer(regressor(), cfg, run_dir=tmp_path, callbacks=[_SignalAt(11, signum)])
    with pytest.raises(TrainingInterrupted) as err:
        trainer.fit(data)
    assert isinstance(err.value, KeyboardInterrupt)
    assert err.value.signal_name == signal.Signals(signum).name
    last = tmp_path / "checkpoints" / "last"
    assert err.value.checkpoint == last
    state = load_checkpoint(last, resume=True).trainer_state
    assert state["global_step"] == 11 and state["epoch"] == 2 and state["phase"] == "train"
    assert state["batches_done"] == 3
    torch.testing.assert_close(load_checkpoint(last).model_state, trainer.model.state_dict())

    again = Trainer(regressor(), cfg, run_dir=tmp_path)
    result = again.fit(data, resume_from=last)
    assert result["steps"] == 16 and result["epochs"] == 2


@dataclass(frozen=True)
class _NanConfig:
    bad_step: int = 3
    where: str = "loss"


class _NanModel(torch.nn.Module):
    model_type = "toy_nan"

    def __init__(self, config: _NanConfig):
        super().__init__()
        self.config = config
        self.w = torch.nn.Parameter(torch.ones(3))
        self.calls = 0

    def initial_state(self, batch_size, device):
        return None

    def detach_state(self, state):
        return state

    def step(self, batch, state):
        self.calls += 1
        loss = (self.w * batch).sum() ** 2
        if self.calls == self.config.bad_step:
            if self.config.where == "loss":
                loss = loss * float("nan")
            else:  # d/dw sqrt(0 * w) is inf: a finite loss with an infinite gradient
                loss = loss + torch.sqrt(self.w[0] * 0.0)
        return StepOutput(loss, 1)

    def summarize(self, totals):
        return {"loss": totals["loss"]}


@pytest.mark.parametrize("where", ["loss", "grad"])
def test_non_finite_loss_or_gradient_names_the_step(where):
    data = [torch.ones(3) * 0.1] * 5
    trainer = Trainer(_NanModel(_NanConfig(3, where)), quiet(lr=0.01, epochs=1))
    with pytest.raises(NonFiniteError, match=r"step 3 \(epoch 1, batch 2\)") as err:
        trainer.fit(data)
    if where == "grad":
        assert "gradient" in str(err.value) and "w" in str(err.value)
    assert trainer.global_step == 2  # the bad update was never applied


def test_deterministic_mode_is_restored_after_fit():
    before = torch.are_deterministic_algorithms_enabled()
    Trainer(regressor(), quiet(epochs=1, deterministic=True, num_threads=1)).fit(
        ShuffledBatches(n=16)
    )
    assert torch.are_deterministic_algorithms_enabled() == before


def test_same_seed_same_result():
    runs = []
    for _ in range(2):
        seed_everything(5)
        model = ToyRegressor(RegressorConfig(dropout=0.2))
        Trainer(model, quiet(lr=0.05, epochs=2, seed=5)).fit(ShuffledBatches())
        runs.append(_params(model))
    for key in runs[0]:
        torch.testing.assert_close(runs[0][key], runs[1][key], rtol=0, atol=0)


def test_best_and_last_checkpoints_hold_vocab_and_metrics(tmp_path):
    vocab = ToyVocab([f"w{i}" for i in range(12)])
    model = ToyLM(LMConfig())
    trainer = Trainer(
        model,
        quiet(optimizer="adam", lr=0.05, epochs=2),
        run_dir=tmp_path,
        vocabs={"tokens": vocab},
        run_config={"note": "toy"},
    )
    trainer.fit(lm_batches(), lm_batches())
    best = load_checkpoint(tmp_path / "checkpoints" / "best", resume=False)
    assert best.vocabs["tokens"] == vocab.to_dict() and best.optimizer_state is None
    assert best.config["run_config"] == {"note": "toy"}
    assert best.config["metrics"]["valid_loss"] == trainer.state.best_value
    assert not (tmp_path / "checkpoints" / "best" / "trainer_state.json").exists()
    last = load_checkpoint(tmp_path / "checkpoints" / "last", resume=True)
    assert last.config["epoch"] == 2 and last.optimizer_state is not None
    manifest = json.loads((tmp_path / "checkpoints" / "last" / "manifest.json").read_text())
    assert set(manifest["files"]) >= {
        "model.safetensors",
        "config.json",
        "vocab.tokens.json",
        "optimizer.safetensors",
        "trainer_state.json",
    }


def test_move_to_device_containers():
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")

    @dataclass
    class Batch:
        x: torch.Tensor
        n: int

    batch = {"p": Pair(torch.ones(1), [torch.zeros(2)]), "d": Batch(torch.ones(3), 3), "s": "k"}
    moved = move_to_device(batch, "cpu")
    assert isinstance(moved["p"], Pair) and isinstance(moved["d"], Batch)
    assert moved["d"].n == 3 and moved["s"] == "k"
    assert torch.equal(moved["p"].b[0], torch.zeros(2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_train_checkpoint_and_exact_resume(tmp_path):
    from rnnlab.training import load_model

    data = ShuffledBatches()  # shuffled on the CPU RNG; dropout draws from the CUDA RNG

    def cfg(max_steps=None):
        return quiet(
            optimizer="adam",
            lr=0.01,
            epochs=3,
            device="cuda",
            deterministic=True,
            max_steps=max_steps,
        )

    full = Trainer(regressor(dropout=0.3), cfg(), run_dir=tmp_path / "a")
    full.fit(data, data)
    assert next(full.model.parameters()).is_cuda
    Trainer(regressor(dropout=0.3), cfg(len(data)), run_dir=tmp_path / "b").fit(data, data)
    resumed = Trainer(regressor(dropout=0.3), cfg(), run_dir=tmp_path / "b")
    resumed.fit(data, data, resume_from=tmp_path / "b" / "checkpoints" / "last")
    for key, value in _params(full.model).items():
        torch.testing.assert_close(_params(resumed.model)[key], value, rtol=0, atol=0)
    model, _, _ = load_model(tmp_path / "a" / "checkpoints" / "last", device="cuda")
    assert next(model.parameters()).is_cuda
