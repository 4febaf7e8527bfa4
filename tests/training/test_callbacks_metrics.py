"""Callbacks (hook order, gradient recorder), metrics helpers, registry, training curves."""

from __future__ import annotations

import json
import math

import pytest
import torch
from training_toys import LMConfig, RegressorConfig, ShuffledBatches, ToyLM, ToyRegressor

from rnnlab.training import (
    Callback,
    GradientNormRecorder,
    JSONLLogger,
    Totals,
    TrainConfig,
    Trainer,
    UnknownModelType,
    build_model,
    perplexity,
    read_jsonl,
    registered_models,
    write_metrics_json,
)


class _Order(Callback):
    def __init__(self):
        self.events = []

    def on_train_start(self, trainer):
        self.events.append("train_start")

    def on_epoch_start(self, trainer, epoch):
        self.events.append(f"epoch_start {epoch}")

    def on_after_backward(self, trainer, step):
        # gradients exist, the optimizer has not stepped yet
        assert all(p.grad is not None for p in trainer.model.parameters())
        assert trainer.global_step == step - 1
        self.events.append(f"backward {step}")

    def on_step_end(self, trainer, info):
        self.events.append(f"step_end {info.step}")

    def on_epoch_end(self, trainer, epoch, metrics):
        assert set(metrics) == {"train", "valid"}
        self.events.append(f"epoch_end {epoch}")

    def on_train_end(self, trainer, result):
        self.events.append("train_end")


def test_hook_order():
    order = _Order()
    data = ShuffledBatches(n=16)  # 2 batches
    cfg = TrainConfig(epochs=1, progress=False)
    Trainer(ToyRegressor(RegressorConfig()), cfg, callbacks=[order]).fit(data, data)
    assert order.events == [
        "train_start",
        "epoch_start 1",
        "backward 1",
        "step_end 1",
        "backward 2",
        "step_end 2",
        "epoch_end 1",
        "train_end",
    ]


def test_gradient_norm_recorder_matches_info():
    rec = GradientNormRecorder(every=2)
    infos = []

    class Keep(Callback):
        def on_step_end(self, trainer, info):
            infos.append(info)

    cfg = TrainConfig(epochs=1, progress=False, lr=0.1)
    model = ToyLM(LMConfig())
    Trainer(model, cfg, callbacks=[rec, Keep()]).fit(
        [(torch.randint(0, 12, (2, 4)), torch.randint(0, 12, (2, 4)))] * 4
    )
    assert [r["step"] for r in rec.records] == [2, 4]
    names = {n for n, _ in model.named_parameters()}
    assert set(rec.records[0]["per_parameter"]) == names
    assert rec.records[0]["total"] == pytest.approx(infos[1].grad_norm, rel=1e-5)


def test_totals_perplexity_and_jsonl(tmp_path):
    t = Totals()
    t.add(2.0, 10, {"correct": 3})
    t.add(4.0, 30)
    assert t.as_dict() == {"loss_sum": 140.0, "count": 40.0, "correct": 3.0, "loss": 3.5}
    assert perplexity(math.log(100)) == pytest.approx(100) and perplexity(1e4) == math.inf
    with JSONLLogger(tmp_path / "m.jsonl") as log:
        log.log({"epoch": 1, "metrics": {"ppl": math.inf}})
    with (tmp_path / "m.jsonl").open("a") as fh:
        fh.write('{"epoch": 2, "metr')  # torn last line of a killed run
    assert read_jsonl(tmp_path / "m.jsonl") == [{"epoch": 1, "metrics": {"ppl": math.inf}}]
    out = write_metrics_json(tmp_path / "out" / "m.json", {"test_ppl": 114.5, "wall_s": 3})
    assert json.loads(out.read_text()) == {"test_ppl": 114.5, "wall_s": 3}


def test_registry_builds_and_rejects_unknown():
    model = build_model("toy_lm", {"vocab_size": 7, "hidden": 3})
    assert isinstance(model, ToyLM) and model.decoder.out_features == 7
    assert "toy_regressor" in registered_models()
    with pytest.raises(UnknownModelType, match="unknown model_type 'nope'; registered: .*toy_lm"):
        build_model("nope", {})


def test_plot_curves(tmp_path):
    from rnnlab.plotting.curves import epoch_series, plot_curves

    data = ShuffledBatches(n=16)
    cfg = TrainConfig(epochs=2, progress=False, lr=0.05)
    Trainer(ToyRegressor(RegressorConfig()), cfg, run_dir=tmp_path).fit(data, data)
    series = epoch_series(read_jsonl(tmp_path / "metrics.jsonl"), "loss")
    assert series["train"][0] == [1, 2] and len(series["valid"][1]) == 2
    png = plot_curves(tmp_path / "metrics.jsonl", tmp_path / "curves.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_tensorboard_is_optional(tmp_path):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.warns(UserWarning, match="tensorboard is not installed"):
            trainer = Trainer(
                ToyRegressor(RegressorConfig()),
                TrainConfig(epochs=1, progress=False, tensorboard=True),
                run_dir=tmp_path,
            )
        trainer.fit(ShuffledBatches(n=16))
    else:
        Trainer(
            ToyRegressor(RegressorConfig()),
            TrainConfig(epochs=1, progress=False, tensorboard=True),
            run_dir=tmp_path,
        ).fit(ShuffledBatches(n=16))
        assert any((tmp_path / "tb").iterdir())
