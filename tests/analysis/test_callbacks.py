"""GradientFlowCallback inside the Trainer: records per-time-step gradient norms and
leaves the training gradients alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from rnnlab.analysis.callbacks import GradientFlowCallback
from rnnlab.analysis.models import SequenceModel
from rnnlab.analysis.tasks import TASKS, generator
from rnnlab.training.contract import StepOutput


@dataclass(frozen=True)
class _Config:
    hidden_size: int = 8


class _CopyModel(SequenceModel):
    """SequenceModel with the trainer's model contract."""

    model_type: ClassVar[str] = "analysis_test_copy"

    def __init__(self):
        super().__init__(TASKS["copy"], "lstm", 8, forget_bias=1.0)
        self.config = _Config()

    def initial_state(self, batch_size, device):
        return None

    def detach_state(self, state):
        return state

    def step(self, batch, state):
        x, y = batch
        out = self(x)
        return StepOutput(self.loss(out, y), float(len(y)), None, {})

    def summarize(self, totals):
        return {"loss": totals["loss"]}


def test_callback_records_flow_without_touching_gradients():
    torch.manual_seed(0)
    model = _CopyModel()
    probe_x, _ = TASKS["copy"].sample(4, 12, generator(1))
    cb = GradientFlowCallback("rnn", probe=lambda m: m.features(probe_x), every=2)
    # direct call: the parameter gradients are the same before and after a measurement
    x, y = TASKS["copy"].sample(4, 12, generator(2))
    model.loss(model(x), y).backward()
    before = [p.grad.clone() for p in model.parameters()]
    cb.measure(model, 0)
    assert all(torch.equal(a, p.grad) for a, p in zip(before, model.parameters()))
    rec = cb.records[0]
    assert len(rec["dL_dh"]) == 12 and len(rec["dL_dc"]) == 12 and rec["decay"]["rate"] > 0

    from rnnlab.training.config import TrainConfig
    from rnnlab.training.trainer import Trainer

    cb.records.clear()
    batches = [TASKS["copy"].sample(4, 12, generator(s)) for s in range(5)]
    cfg = TrainConfig(optimizer="adam", lr=0.01, epochs=1, progress=False)
    Trainer(model, cfg, callbacks=[cb]).fit(batches)
    steps = [r["step"] for r in cb.records]
    assert steps and all(s % 2 == 0 for s in steps)
