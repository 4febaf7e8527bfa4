"""Trainer callbacks: hooks into the training loop, for instruments and loggers.

Order of the hooks within ``Trainer.fit``::

    on_train_start(trainer)
    for each epoch:
        on_epoch_start(trainer, epoch)
        for each batch:
            loss.backward()
            on_after_backward(trainer, step)   # raw gradients: before clipping and the update
            clip, optimizer.step()
            on_step_end(trainer, info)         # info: StepInfo (loss, grad_norm, lr, ...)
        validation
        on_epoch_end(trainer, epoch, metrics)  # metrics: {"train": {...}, "valid": {...}}
    on_train_end(trainer, result)

``trainer.model`` is the model; in ``on_after_backward`` every parameter's ``.grad`` holds
this step's gradient (scaled as the optimizer sees it; see ``TrainConfig.loss_reduction``).

Example, per-parameter gradient norms at every step::

    rec = GradientNormRecorder()
    Trainer(model, cfg, callbacks=[rec]).fit(train, valid)
    rec.records[0]   # {"step": 1, "total": 3.2, "per_parameter": {"rnn.weight_hh_l0": 0.4, ...}}
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from rnnlab.training.trainer import Trainer


@dataclass(frozen=True)
class StepInfo:
    """What ``on_step_end`` receives about the optimizer step just taken.

    ``loss`` is the model's mean loss per unit; ``grad_norm`` the global L2 norm of the
    gradients before clipping (None when ``check_finite`` is off and no clipping asked
    for it); ``clipped`` whether ``clip_norm`` rescaled them.
    """

    step: int  # optimizer steps taken so far (1 after the first)
    epoch: int  # 1-based
    batch_index: int  # 0-based index of the batch within the epoch
    loss: float
    count: float
    grad_norm: float | None
    clipped: bool
    lr: float


class Callback:
    """Base class: override the hooks you need; all default to doing nothing."""

    def on_train_start(self, trainer: Trainer) -> None:
        pass

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        pass

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        """Gradients are in ``p.grad``; ``step`` is the number this optimizer step will get."""

    def on_step_end(self, trainer: Trainer, info: StepInfo) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, Any]) -> None:
        pass

    def on_train_end(self, trainer: Trainer, result: dict[str, Any]) -> None:
        pass


class GradientNormRecorder(Callback):
    """Records the global and per-parameter gradient L2 norms (before clipping).

    Args:
        every: record one step in ``every``.
        per_parameter: also record each named parameter's norm.
    """

    def __init__(self, every: int = 1, per_parameter: bool = True) -> None:
        self.every = every
        self.per_parameter = per_parameter
        self.records: list[dict[str, Any]] = []

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        if step % self.every:
            return
        norms = {
            name: float(torch.linalg.vector_norm(p.grad.detach()))
            for name, p in trainer.model.named_parameters()
            if p.grad is not None
        }
        total = sum(v * v for v in norms.values()) ** 0.5
        record: dict[str, Any] = {"step": step, "total": total}
        if self.per_parameter:
            record["per_parameter"] = norms
        self.records.append(record)


class TensorBoardLogger(Callback):
    """Writes step loss/lr/grad norm and epoch metrics as TensorBoard scalars.

    Needs the ``tensorboard`` package; without it, warns once and does nothing.
    """

    def __init__(self, log_dir: str) -> None:
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except Exception:  # noqa: BLE001 - ImportError, or tensorboard's own import errors
            warnings.warn("tensorboard is not installed; TensorBoard logging is off", stacklevel=2)
            return
        self.writer = SummaryWriter(log_dir)

    def on_step_end(self, trainer: Trainer, info: StepInfo) -> None:
        if self.writer is None:
            return
        self.writer.add_scalar("train/step_loss", info.loss, info.step)
        self.writer.add_scalar("train/lr", info.lr, info.step)
        if info.grad_norm is not None:
            self.writer.add_scalar("train/grad_norm", info.grad_norm, info.step)

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for split, values in metrics.items():
            for name, value in values.items():
                self.writer.add_scalar(f"{split}/{name}", value, epoch)
        self.writer.flush()

    def on_train_end(self, trainer: Trainer, result: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.close()
