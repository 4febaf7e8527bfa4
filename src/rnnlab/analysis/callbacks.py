"""Trainer callback: watch gradient flow through time while a model trains.

``GradientFlowCallback`` measures, every ``every`` optimizer steps, ||dL/dh_t|| for each
time step t of a fixed probe batch (the loss at the last step; see
``rnnlab.analysis.gradient_flow.state_gradient_norms``) on one of the model's recurrent
layers, and the fitted per-step decay. It works on any model the Trainer trains: it
needs only the layer (by attribute path) and the layer's input for the probe.
``rnnlab.training.callbacks.GradientNormRecorder`` records the parameter gradient norms.

    cb = GradientFlowCallback("rnn", probe=lambda model: model.features(x_probe), every=50)
    Trainer(model, cfg, callbacks=[cb]).fit(train)
    cb.records[-1]   # {"step": 100, "dL_dh": [T norms], "decay": {"rate": 0.93, ...}}
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from rnnlab.analysis.gradient_flow import decay_rate, state_gradient_norms
from rnnlab.training.callbacks import Callback

__all__ = ["GradientFlowCallback"]


class GradientFlowCallback(Callback):
    """Record ||dL/dh_t|| over the time steps of a probe batch during training.

    Args:
        layer: the recurrent layer, or its path in the model (``model.get_submodule``).
        probe: the layer's input (T, B, D) (or (B, T, D) if batch_first), or a callable
            model -> that input (e.g. embedding a fixed batch of token ids).
        every: measure at steps 0, every, 2 * every, ... (the step number the callback gets).
        loss_fn: per-sample loss of the last state, callable(h_T (B, H)) -> (B,);
            default a fixed random projection (see ``gradient_flow.readout_vector``).
    The measurement uses ``torch.autograd.grad`` on the replayed layer, so it leaves the
    parameters' ``.grad`` (this step's training gradients) untouched.
    """

    def __init__(
        self,
        layer: str | nn.Module,
        probe: Tensor | Callable[[nn.Module], Tensor],
        every: int = 100,
        loss_fn=None,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.layer, self.probe, self.every, self.loss_fn = layer, probe, every, loss_fn
        self.records: list[dict] = []

    def measure(self, model: nn.Module, step: int) -> dict:
        """Take one measurement now and append it to ``records``."""
        layer = model.get_submodule(self.layer) if isinstance(self.layer, str) else self.layer
        with torch.enable_grad():
            x = self.probe(model) if callable(self.probe) else self.probe
            x = x.detach().to(next(layer.parameters()).device)
            norms = state_gradient_norms(layer, x, loss_fn=self.loss_fn)
        record = {"step": step, "dL_dh": norms["h"].tolist(), "decay": decay_rate(norms["h"])}
        if "c" in norms:
            record["dL_dc"] = norms["c"].tolist()
        self.records.append(record)
        return record

    def on_after_backward(self, trainer, step: int) -> None:
        if step % self.every == 0:
            self.measure(trainer.model, step)
