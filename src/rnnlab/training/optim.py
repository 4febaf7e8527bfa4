"""Optimisers and learning-rate schedules, built from a :class:`TrainConfig`.

Schedules act once per epoch (epochs are 1-based):

* ``none``:    lr in every epoch.
* ``step``:    lr * gamma ** (1 + (e - decay_start) // step_size) for e >= decay_start
               (decay_start defaults to step_size + 1, i.e. torch's StepLR). Zaremba's
               small PTB setup, "lr 1 halved each epoch from epoch 5": step_size=1,
               decay_start=5, gamma=0.5.
* ``plateau``: multiply by gamma when the monitored validation metric has not improved for
               more than ``patience`` epochs (patience 0, gamma 0.25: pytorch/examples'
               "divide by 4 when validation loss stops falling").
* ``cosine``:  min_lr + (lr - min_lr) * (1 + cos(pi * (e - 1) / epochs)) / 2.

No schedule goes below ``min_lr``. The schedule's state is plain JSON (for checkpoints).

Per step, ``scaled_lr(optimizer, scale)`` multiplies the lr for one optimizer step and puts
the schedule's values back afterwards (AWD-LSTM's lr * seq_len / bptt with random windows).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from typing import Any

import torch

from rnnlab.training.config import TrainConfig


def build_optimizer(
    params: Iterable[torch.nn.Parameter] | torch.nn.Module, cfg: TrainConfig
) -> torch.optim.Optimizer:
    """The optimizer ``cfg.optimizer`` over ``params`` (or a module's parameters)."""
    if isinstance(params, torch.nn.Module):
        params = params.parameters()
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if cfg.optimizer in ("sgd", "nt_asgd"):  # nt_asgd: SGD + the trainer's NTAverage
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov,
            weight_decay=cfg.weight_decay,
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(
            params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(
            params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; expected sgd, adam, adamw or nt_asgd")


class LRSchedule:
    """Per-epoch learning-rate schedule; sets the lr of every param group.

    Call ``start_epoch(epoch)`` before each epoch and ``end_epoch(metric)`` after its
    validation (``metric``: the monitored value, used by "plateau").

    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> sched = LRSchedule(opt, TrainConfig(lr=1.0, schedule="step", decay_start=3))
    >>> [sched.start_epoch(e) for e in (1, 2, 3, 4)]
    [1.0, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> None:
        self.optimizer = optimizer
        self.cfg = cfg
        self.base_lr = cfg.lr
        self.lr = cfg.lr
        self.best: float | None = None
        self.bad_epochs = 0

    def lr_for_epoch(self, epoch: int) -> float:
        """The lr of ``epoch`` (1-based) for the epoch-determined schedules."""
        cfg = self.cfg
        if cfg.schedule == "step":
            start = cfg.decay_start if cfg.decay_start is not None else cfg.step_size + 1
            decays = 0 if epoch < start else 1 + (epoch - start) // cfg.step_size
            lr = self.base_lr * cfg.gamma**decays
        elif cfg.schedule == "cosine":
            frac = (epoch - 1) / max(1, cfg.epochs)
            lr = cfg.min_lr + (self.base_lr - cfg.min_lr) * (1 + math.cos(math.pi * frac)) / 2
        elif cfg.schedule == "plateau":
            lr = self.lr
        else:
            lr = self.base_lr
        return max(lr, cfg.min_lr)

    def start_epoch(self, epoch: int) -> float:
        """Set and return the lr for ``epoch``."""
        self.lr = self.lr_for_epoch(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr
        return self.lr

    def end_epoch(self, metric: float | None) -> None:
        """Record the epoch's monitored validation metric ("plateau" decays here)."""
        if self.cfg.schedule != "plateau" or metric is None or math.isnan(metric):
            return
        sign = 1.0 if self.cfg.monitor_mode == "min" else -1.0
        if self.best is None or sign * metric < sign * self.best:
            self.best = metric
            self.bad_epochs = 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.cfg.patience:
            self.lr = max(self.lr * self.cfg.gamma, self.cfg.min_lr)
            self.bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "base_lr": self.base_lr,
            "lr": self.lr,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lr = float(state["base_lr"])
        self.lr = float(state["lr"])
        self.best = None if state["best"] is None else float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])


@contextlib.contextmanager
def scaled_lr(optimizer: torch.optim.Optimizer, scale: float) -> Iterator[None]:
    """Inside: every param group's lr multiplied by ``scale``; afterwards the exact previous
    values again (restored, not divided back), so schedules and checkpoints never see it.

    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=30.0)
    >>> with scaled_lr(opt, 62 / 70):
    ...     round(opt.param_groups[0]["lr"], 4)
    26.5714
    >>> opt.param_groups[0]["lr"]
    30.0
    """
    if scale == 1.0:
        yield
        return
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"the lr scale must be a finite number > 0, got {scale}")
    saved = [group["lr"] for group in optimizer.param_groups]
    for group, lr in zip(optimizer.param_groups, saved):
        group["lr"] = lr * scale
    try:
        yield
    finally:
        for group, lr in zip(optimizer.param_groups, saved):
            group["lr"] = lr


def nominal_window(data: Any) -> int:
    """``data.bptt``: the window length that ``scale_lr_by_window`` divides each step's
    window by (``LMBatches`` declares it); a ValueError naming the data otherwise."""
    bptt = getattr(data, "bptt", None)
    if isinstance(bptt, bool) or not isinstance(bptt, int) or bptt < 1:
        raise ValueError(
            "train.scale_lr_by_window needs training data with an integer bptt >= 1 (the "
            f"nominal window length, as LMBatches has); {type(data).__name__} has bptt={bptt!r}"
        )
    return bptt


def build_schedule(optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> LRSchedule:
    """The learning-rate schedule ``cfg.schedule`` for ``optimizer``."""
    return LRSchedule(optimizer, cfg)
