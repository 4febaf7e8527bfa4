"""train.precision: bf16 / fp16 autocast around model.step (fp16 with a gradient scaler);
weights, optimizer state and checkpoints stay fp32; resume stays exact."""

from __future__ import annotations

import pytest
import torch

from rnnlab.training import Callback, Trainer, TrainingInterrupted, load_checkpoint


def _prepared(precision, backend):
    from rnnlab.models.lm_training import LMTask, lm_config

    cfg = lm_config(
        "quickstart",
        [
            "data.hmm_train_tokens=1500",
            "data.hmm_eval_tokens=200",
            "data.batch_size=4",
            "data.bptt=10",
            "model.hidden_size=16",
            "model.embed_dim=16",
            f"model.backend={backend}",
            "train.epochs=2",
            "train.progress=false",
            "train.num_threads=1",
            f"train.precision={precision}",
        ],
    )
    task = LMTask()
    return task, task.prepare(cfg, data_dir=None)


def _fit(task, prepared, run_dir, callbacks=(), resume=False):
    torch.manual_seed(0)
    model = task.build_model(prepared.cfg)
    trainer = Trainer(model, prepared.cfg.train, run_dir=run_dir, callbacks=list(callbacks))
    last = run_dir / "checkpoints" / "last" if resume else None
    return trainer, trainer.fit(prepared.data["train"], prepared.data["valid"], resume_from=last)


class _StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, info):
        if info.step == self.step:
            trainer.request_stop()


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_mixed_precision_trains_keeps_fp32_weights_and_resumes_exactly(
    tmp_path, precision, backend
):
    task, prepared = _prepared(precision, backend)
    full, result = _fit(task, prepared, tmp_path / "full")
    history = full.history
    assert history[-1]["train"]["loss"] < history[0]["train"]["loss"] < 6.5
    assert all(p.dtype == torch.float32 for p in full.model.parameters())
    saved = load_checkpoint(tmp_path / "full" / "checkpoints" / "last", resume=True)
    assert all(t.dtype == torch.float32 for t in saved.model_state.values())
    assert (saved.trainer_state["scaler"] is not None) == (precision == "fp16")
    with pytest.raises(TrainingInterrupted):
        _fit(task, prepared, tmp_path / "cut", [_StopAt(45)])
    resumed, _ = _fit(task, prepared, tmp_path / "cut", resume=True)
    for key, value in full.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key
