"""NT-ASGD (training/averaging.py) and the per-step lr scaling of random BPTT windows: the
trigger fires exactly when awd-lstm's rule says, the validated / saved / final weights are
the mean of the iterates since the switch, and a run stopped in the averaging phase resumes
bit-identically."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from training_toys import RegressorConfig, ShuffledBatches, ToyRegressor

from rnnlab.training import (
    Callback,
    StepOutput,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    read_jsonl,
    register_model,
    summarize_loss,
)
from rnnlab.training.averaging import NTAverage, nonmono_triggered
from rnnlab.training.checkpoint_load import load_checkpoint
from rnnlab.training.optim import scaled_lr

# awd-lstm's rule by hand, nonmono = 2 (value > min(logs[:-2]) once len(logs) > 2):
#   epoch 4: 3.5 > min(5.0) = 5.0? no      epoch 5: 3.2 > min(5, 4) = 4.0? no
#   epoch 6: 2.9 > min(5, 4, 3) = 3.0? no  epoch 7: 3.1 > min(5, 4, 3, 3.5) = 3.0? YES
SCRIPT = [5.0, 4.0, 3.0, 3.5, 3.2, 2.9, 3.1, 2.0, 1.5]
TRIGGER_EPOCH = 7


def test_the_rule_on_a_scripted_sequence():
    fired = [
        nonmono_triggered(SCRIPT[: e - 1], SCRIPT[e - 1], 2) for e in range(1, len(SCRIPT) + 1)
    ]
    assert fired == [e >= TRIGGER_EPOCH and SCRIPT[e - 1] > 3.0 for e in range(1, 10)]
    assert fired.index(True) + 1 == TRIGGER_EPOCH
    avg = NTAverage(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), nonmono=2)
    switched = [avg.end_epoch(e, v) for e, v in enumerate(SCRIPT, start=1)]
    assert switched.index(True) + 1 == TRIGGER_EPOCH and sum(switched) == 1  # once
    assert avg.start_epoch == TRIGGER_EPOCH + 1 and avg.logs == SCRIPT[:TRIGGER_EPOCH]
    assert not nonmono_triggered([1.0], 9.0, 1)  # needs more than nonmono earlier values
    assert nonmono_triggered([1.0, 2.0], 1.5, 1)
    with pytest.raises(ValueError, match="nonmono must be >= 1"):
        nonmono_triggered([1.0], 2.0, 0)


@dataclass(frozen=True)
class ScriptedConfig:
    size: int = 3


@register_model
class Scripted(torch.nn.Module):
    """Trains w (size,) towards each batch's target; its validation loss is the scripted
    value the validation data yields, and every evaluation records the weights it saw."""

    model_type: ClassVar[str] = "scripted_nt_asgd"
    config_class: ClassVar[type] = ScriptedConfig

    def __init__(self, config: ScriptedConfig) -> None:
        super().__init__()
        self.config = config
        self.w = torch.nn.Parameter(torch.zeros(config.size))
        self.seen: list[torch.Tensor] = []

    def initial_state(self, batch_size, device):
        return None

    def detach_state(self, state):
        return state

    def step(self, batch, state):
        if self.training:
            return StepOutput(((self.w - batch) ** 2).sum(), 1.0)
        self.seen.append(self.w.detach().clone())
        return StepOutput(batch + 0.0 * self.w.sum(), 1.0)

    def summarize(self, totals):
        return summarize_loss(totals)


class ScriptedValidation:
    """Pass k over it yields the one value SCRIPT[k]."""

    def __init__(self) -> None:
        self.passes = 0

    def __iter__(self):
        value = torch.tensor(SCRIPT[self.passes])
        self.passes += 1
        yield value


class Iterates(Callback):
    """The raw weights after every optimizer step, by epoch."""

    def __init__(self) -> None:
        self.by_epoch: dict[int, list[torch.Tensor]] = {}

    def on_step_end(self, trainer, info):
        w = torch.cat([p.detach().flatten() for p in trainer.model.parameters()]).clone()
        self.by_epoch.setdefault(info.epoch, []).append(w)


def _targets():
    g = torch.Generator().manual_seed(3)
    return [torch.randn(3, generator=g) for _ in range(4)]


def test_switch_epoch_and_the_average_of_the_iterates(tmp_path):
    torch.manual_seed(0)
    model = Scripted(ScriptedConfig())
    cfg = TrainConfig(optimizer="nt_asgd", nonmono=2, lr=0.3, epochs=len(SCRIPT), progress=False)
    iterates = Iterates()
    trainer = Trainer(model, cfg, run_dir=tmp_path, callbacks=[iterates])
    result = trainer.fit(_targets(), ScriptedValidation())
    assert result["asgd_start_epoch"] == TRIGGER_EPOCH + 1
    events = [r for r in read_jsonl(tmp_path / "metrics.jsonl") if r["split"] == "event"]
    assert [(e["event"], e["epoch"], e["asgd_start_epoch"]) for e in events] == [
        ("asgd_start", TRIGGER_EPOCH, TRIGGER_EPOCH + 1)
    ]
    # validation before the switch saw the raw weights, after it the mean of the iterates
    for epoch in range(1, TRIGGER_EPOCH + 1):
        assert torch.equal(model.seen[epoch - 1], iterates.by_epoch[epoch][-1])
    since = []
    for epoch in range(TRIGGER_EPOCH + 1, len(SCRIPT) + 1):
        since += iterates.by_epoch[epoch]
        hand = torch.stack(since).mean(0)  # (3,)
        torch.testing.assert_close(model.seen[epoch - 1], hand)
        assert not torch.allclose(hand, since[-1])  # the average is not the last iterate
    # fit leaves the average in the model; `best` (epoch 9, improving) holds it too;
    # `last` holds the raw weights, from which training would continue
    torch.testing.assert_close(model.w.detach(), hand)
    assert result["best_epoch"] == len(SCRIPT)
    best = load_checkpoint(tmp_path / "checkpoints" / "best").model_state["w"]
    torch.testing.assert_close(best, hand)
    last = load_checkpoint(tmp_path / "checkpoints" / "last").model_state["w"]
    assert torch.equal(last, since[-1])


def test_averaged_weights_are_swapped_back_bit_for_bit():
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = torch.optim.SGD([p], lr=1.0)
    avg = NTAverage(opt, nonmono=1)
    with avg.averaged_weights():  # nothing averaged yet: a no-op
        assert torch.equal(p.detach(), torch.tensor([1.0, 2.0]))
    avg.start_epoch = 2
    for value in ([1.0, 2.0], [3.0, 6.0], [5.0, 1.0]):
        with torch.no_grad():
            p.copy_(torch.tensor(value))
        avg.after_step()
    with avg.averaged_weights():
        torch.testing.assert_close(p.detach(), torch.tensor([3.0, 3.0]))
    assert torch.equal(p.detach(), torch.tensor([5.0, 1.0]))
    state = avg.state_dict()
    assert state == {"start_epoch": 2, "count": 3, "logs": []}
    fresh = NTAverage(torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=1.0), 1)
    with pytest.raises(ValueError, match="no average for parameter"):
        fresh.load_state_dict(state)


def _anti_data():
    """Validation targets of the opposite sign: the better the toy fits its training data,
    the worse it does here, so NT-ASGD's trigger fires after a few epochs."""
    data = ShuffledBatches(seed=1)
    data.y = -data.y
    return data


class _StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, info):
        if info.step == self.step:
            trainer.request_stop()


def _regressor_run(run_dir, callbacks=(), resume=False):
    torch.manual_seed(0)
    model = ToyRegressor(RegressorConfig(dropout=0.2))
    cfg = TrainConfig(
        optimizer="nt_asgd", nonmono=1, lr=0.05, epochs=6, progress=False, seed=4,
        checkpoint_every_steps=5,
    )  # fmt: skip
    trainer = Trainer(model, cfg, run_dir=run_dir, callbacks=list(callbacks))
    last = run_dir / "checkpoints" / "last" if resume else None
    return trainer, trainer.fit(ShuffledBatches(), _anti_data(), resume_from=last)


@pytest.mark.parametrize("stop_step", [20, 29, 32, 37, 45])
def test_stopped_in_the_averaging_phase_resumes_bit_identically(tmp_path, stop_step):
    full, ref = _regressor_run(tmp_path / "full")
    assert ref["asgd_start_epoch"] == 4  # 8 steps an epoch: averaging from step 25 on
    with pytest.raises(TrainingInterrupted):
        _regressor_run(tmp_path / "cut", [_StopAt(stop_step)])
    resumed, result = _regressor_run(tmp_path / "cut", resume=True)
    for key, value in full.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key
    assert resumed.averaging.state_dict() == full.averaging.state_dict()
    for key in ("asgd_start_epoch", "valid_loss", "best_epoch", "steps"):
        assert result[key] == ref[key], key


# --------------------------------------------------------------------------- lr scaling
class RecordingSGD(torch.optim.SGD):
    """SGD that records the lr of each step."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.used: list[float] = []

    def step(self, closure=None):
        self.used.append(self.param_groups[0]["lr"])
        return super().step(closure)


class BaseLr(Callback):
    def __init__(self):
        self.after: list[float] = []

    def on_step_end(self, trainer, info):
        self.after.append(trainer.optimizer.param_groups[0]["lr"])


def _lm(scale: bool, bptt: int = 8):
    from rnnlab.models.language_model import LanguageModel, LMConfig
    from rnnlab.text.lm_batching import LMBatches

    torch.manual_seed(0)
    model = LanguageModel(LMConfig(vocab_size=13, embed_dim=4, hidden_size=6))
    stream = torch.randint(13, (600,), generator=torch.Generator().manual_seed(1))
    data = LMBatches(stream, 4, bptt, random_bptt=True, bptt_std=3.0, min_bptt=2, seed=5)
    cfg = TrainConfig(
        lr=2.0, epochs=2, schedule="step", decay_start=2, gamma=0.5, progress=False,
        scale_lr_by_window=scale, max_loss=None,
    )  # fmt: skip
    optimizer = RecordingSGD(model.parameters(), lr=cfg.lr)
    return model, data, cfg, optimizer


@pytest.mark.parametrize("scale", [True, False])
def test_each_steps_lr_is_scaled_by_its_window_and_restored(scale):
    model, data, cfg, optimizer = _lm(scale)
    base = BaseLr()
    Trainer(model, cfg, optimizer=optimizer, callbacks=[base]).fit(data)
    expected, restored = [], []
    for epoch, lr in ((1, 2.0), (2, 1.0)):  # the step schedule halves the lr in epoch 2
        data.set_epoch(epoch)
        windows = [batch.inputs.shape[0] for batch in data]
        assert len(set(windows)) > 3  # random lengths
        expected += [lr * (T / data.bptt) if scale else lr for T in windows]
        restored += [lr] * len(windows)
    assert optimizer.used == expected
    assert base.after == restored  # the schedule's lr after every step


def test_lr_scaling_needs_a_nominal_window():
    model, data, cfg, optimizer = _lm(True)
    batches = list(data)  # a plain list has no bptt
    with pytest.raises(ValueError, match="integer bptt >= 1.*list has bptt=None"):
        Trainer(model, cfg, optimizer=optimizer).fit(batches)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3.0)
    with pytest.raises(ValueError, match="finite number > 0"):
        with scaled_lr(opt, 0.0):
            pass
    assert opt.param_groups[0]["lr"] == 3.0


def test_lm_with_random_windows_scaled_lr_and_nt_asgd_resumes_bit_identically(tmp_path):
    """The AWD recipe's trainer options on a small LM (random bptt, lr * T / bptt, nt_asgd
    with nonmono 1), stopped mid-epoch and resumed: the weights equal the uninterrupted run's."""
    from rnnlab.models.lm_training import LMTask, lm_config

    overrides = [
        "data.hmm_train_tokens=1200", "data.hmm_eval_tokens=200", "data.batch_size=4",
        "data.bptt=10", "data.random_bptt=true", "model.hidden_size=12", "model.embed_dim=12",
        "model.dropout=0.3", "train.epochs=6", "train.progress=false", "train.num_threads=1",
        "train.optimizer=nt_asgd", "train.nonmono=1", "train.scale_lr_by_window=true",
        "train.lr=20", "train.schedule=none",
    ]  # fmt: skip
    task = LMTask()
    prepared = task.prepare(lm_config("quickstart", overrides), data_dir=None)

    def run(run_dir, callbacks=(), resume=False):
        torch.manual_seed(prepared.cfg.train.seed)
        trainer = Trainer(
            task.build_model(prepared.cfg), prepared.cfg.train, run_dir=run_dir,
            vocabs=prepared.vocabs, task="lm", callbacks=list(callbacks),
        )  # fmt: skip
        last = run_dir / "checkpoints" / "last" if resume else None
        data = prepared.data
        return trainer, trainer.fit(data["train"], data["valid"], resume_from=last)

    full, ref = run(tmp_path / "full")
    assert ref["asgd_start_epoch"] == 5  # validation loss rose after epoch 4 (lr 20 is high)
    with pytest.raises(TrainingInterrupted):
        run(tmp_path / "cut", [_StopAt(ref["steps"] - 40)])  # in epoch 5, averaging
    resumed, result = run(tmp_path / "cut", resume=True)
    for key, value in full.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key
    assert result["asgd_start_epoch"] == ref["asgd_start_epoch"]
    assert result["valid_loss"] == ref["valid_loss"]


def test_trainer_states_saved_before_averaging_existed_still_load():
    from rnnlab.training import TrainerState
    from rnnlab.training.resume import ResumeError

    older = {k: v for k, v in TrainerState().to_dict().items() if k != "averaging"}
    assert TrainerState.from_dict(older, "old/trainer_state.json").averaging is None
    with pytest.raises(ResumeError, match="averaging must be a JSON object or null"):
        TrainerState.from_dict({**older, "averaging": [1]}, "x/trainer_state.json")
