"""Exact resume in one process: stop anywhere (mid-epoch, during validation), resume, and
end bit-identical to the uninterrupted run; the trainer state's own checks."""

from __future__ import annotations

import json

import pytest
import torch
from training_toys import RegressorConfig, ShuffledBatches, ToyRegressor

from rnnlab.training import Callback, TrainConfig, Trainer, TrainerState, read_jsonl
from rnnlab.training.resume import ResumeError, check_resume_config, config_changes


def _lm_setup():
    from rnnlab.models.lm_training import LMTask, lm_config

    overrides = [
        "data.hmm_train_tokens=1200",
        "data.hmm_eval_tokens=200",
        "data.batch_size=4",
        "data.bptt=10",
        "model.hidden_size=12",
        "model.embed_dim=12",
        "model.dropout=0.3",
        "train.epochs=2",
        "train.progress=false",
        "train.num_threads=1",
        "train.log_interval=4",
    ]
    cfg = lm_config("quickstart", overrides)
    task = LMTask()
    return task, task.prepare(cfg, data_dir=None)


class _StopAt(Callback):
    """Request a stop after optimizer step ``step`` (what SIGINT / SIGTERM do)."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, info):
        if info.step == self.step:
            trainer.request_stop()


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _fit(task, prepared, run_dir, callbacks=(), resume=False):
    torch.manual_seed(prepared.cfg.train.seed)
    model = task.build_model(prepared.cfg)
    trainer = Trainer(
        model,
        prepared.cfg.train,
        run_dir=run_dir,
        vocabs=prepared.vocabs,
        task="lm",
        callbacks=list(callbacks),
    )
    last = run_dir / "checkpoints" / "last" if resume else None
    return trainer, trainer.fit(prepared.data["train"], prepared.data["valid"], resume_from=last)


@pytest.mark.parametrize("stop_step", [1, 7, 29, 30, 31, 45])
def test_lm_stopped_mid_epoch_resumes_bit_identically(tmp_path, stop_step):
    """The carried LSTM state, the partial epoch totals, the RNG (dropout) and the data
    position are all restored: weights, metrics and the log equal the uninterrupted run's."""
    from rnnlab.training import TrainingInterrupted

    task, prepared = _lm_setup()
    full, full_result = _fit(task, prepared, tmp_path / "full")
    assert full.global_step > stop_step  # 30 steps per epoch, 2 epochs
    with pytest.raises(TrainingInterrupted):
        _fit(task, prepared, tmp_path / "cut", [_StopAt(stop_step)])
    resumed, result = _fit(task, prepared, tmp_path / "cut", resume=True)
    for key, value in _weights(full.model).items():
        assert torch.equal(_weights(resumed.model)[key], value), key
    for key in ("train_loss", "valid_loss", "valid_ppl", "steps", "epochs"):
        assert result[key] == full_result[key], key
    log = read_jsonl(tmp_path / "cut" / "metrics.jsonl")
    ref = read_jsonl(tmp_path / "full" / "metrics.jsonl")
    strip = lambda rs: [(r["step"], r["split"], r["metrics"]["loss"]) for r in rs]  # noqa: E731
    assert strip(log) == strip(ref)  # no record lost or repeated


def test_stop_during_validation_resumes_and_finishes(tmp_path):
    """A signal during validation saves `last` in phase "validate"; the resumed run skips the
    trained batches, validates, and ends bit-identical (it could never finish before)."""
    from rnnlab.training import TrainingInterrupted

    task, prepared = _lm_setup()
    full, _ = _fit(task, prepared, tmp_path / "full")

    class StopWhenValidating(Callback):
        """Wraps the validation data: the first pass over it asks the trainer to stop."""

        def on_train_start(self, trainer):
            valid = prepared.data["valid"]

            class Stopping:
                batch_size = valid.batch_size

                def __iter__(self):
                    trainer.request_stop()
                    return iter(valid)

            self.restore = prepared.data["valid"]
            prepared.data["valid"] = Stopping()

    cb = StopWhenValidating()
    model = task.build_model(prepared.cfg)
    trainer = Trainer(model, prepared.cfg.train, run_dir=tmp_path / "cut", callbacks=[cb])
    cb.on_train_start(trainer)
    with pytest.raises(TrainingInterrupted) as err:
        torch.manual_seed(prepared.cfg.train.seed)
        trainer.model.load_state_dict(_fresh_weights(task, prepared))
        trainer.fit(prepared.data["train"], prepared.data["valid"])
    prepared.data["valid"] = cb.restore
    assert "validate" in str(err.value)
    state = json.loads((tmp_path / "cut/checkpoints/last/trainer_state.json").read_text())
    assert state["trainer"]["phase"] == "validate" and state["trainer"]["epoch"] == 1
    resumed, result = _fit(task, prepared, tmp_path / "cut", resume=True)
    assert result["epochs"] == 2
    for key, value in _weights(full.model).items():
        assert torch.equal(_weights(resumed.model)[key], value), key


def _fresh_weights(task, prepared):
    torch.manual_seed(prepared.cfg.train.seed)
    return task.build_model(prepared.cfg).state_dict()


def test_regressor_stopped_mid_epoch_resumes_bit_identically(tmp_path):
    from rnnlab.training import TrainingInterrupted

    data = ShuffledBatches()  # 8 batches, reshuffled per epoch from its own seed

    def run(run_dir, callbacks=(), resume=False):
        torch.manual_seed(0)
        model = ToyRegressor(RegressorConfig(dropout=0.3))
        cfg = TrainConfig(optimizer="adam", lr=0.01, epochs=3, progress=False, seed=4)
        trainer = Trainer(model, cfg, run_dir=run_dir, callbacks=list(callbacks))
        last = run_dir / "checkpoints" / "last" if resume else None
        trainer.fit(data, data, resume_from=last)
        return trainer

    full = run(tmp_path / "a")
    with pytest.raises(TrainingInterrupted):
        run(tmp_path / "b", [_StopAt(13)])
    resumed = run(tmp_path / "b", resume=True)
    for key, value in _weights(full.model).items():
        assert torch.equal(_weights(resumed.model)[key], value)


def test_periodic_checkpoints_are_written_mid_epoch(tmp_path):
    data = ShuffledBatches()
    cfg = TrainConfig(lr=0.01, epochs=1, progress=False, checkpoint_every_steps=3)
    saves = []

    class Watch(Callback):
        def on_step_end(self, trainer, info):
            last = tmp_path / "checkpoints" / "last" / "trainer_state.json"
            if last.exists():
                saves.append(json.loads(last.read_text())["trainer"]["global_step"])

    Trainer(ToyRegressor(RegressorConfig()), cfg, run_dir=tmp_path, callbacks=[Watch()]).fit(data)
    assert sorted(set(saves)) == [3, 6]  # seen at the next step after each save


def test_trainer_state_errors_name_the_file_and_key():
    where = "runs/x/checkpoints/last/trainer_state.json"
    good = TrainerState().to_dict()
    assert TrainerState.from_dict(good, where) == TrainerState()
    with pytest.raises(
        ResumeError, match=r"trainer_state\.json: the trainer state lacks global_step"
    ):
        TrainerState.from_dict({k: v for k, v in good.items() if k != "global_step"}, where)
    with pytest.raises(ResumeError, match="epoch must be an integer >= 0"):
        TrainerState.from_dict({**good, "epoch": "2"}, where)
    with pytest.raises(ResumeError, match="phase must be"):
        TrainerState.from_dict({**good, "phase": "warmup"}, where)
    with pytest.raises(ResumeError, match="format 1"):
        TrainerState.from_dict({"step": 3, "epoch": 1}, where)


def test_resume_config_check_lists_every_difference():
    saved = {"data": {"batch_size": 20, "bptt": 35}, "train": {"epochs": 4, "progress": True}}
    asked = {"data": {"batch_size": 32, "bptt": 70}, "train": {"epochs": 6, "progress": False}}
    assert [c[0] for c in config_changes(saved, asked)] == [
        "data.batch_size",
        "data.bptt",
        "train.epochs",
        "train.progress",
    ]
    with pytest.raises(ResumeError) as err:
        check_resume_config(saved, asked, ("train.epochs",))
    text = str(err.value)
    assert "data.batch_size: 20 -> 32" in text and "data.bptt: 35 -> 70" in text
    assert (
        "train.epochs" not in text.split("\n")[1]
        and "--allow-config-change data.batch_size data.bptt" in text
    )
    lines = check_resume_config(saved, asked, ("data", "train.epochs"))
    assert "train.progress: True -> False" in lines  # harmless: allowed without asking
