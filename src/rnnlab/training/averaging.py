"""NT-ASGD: SGD that switches to averaging its iterates when validation stops improving.

Merity, Keskar & Socher 2018, "Regularizing and Optimizing LSTM Language Models", section 3
(salesforce/awd-lstm-lm ``main.py``). Training runs plain SGD; after each validation the
non-monotone trigger asks whether the value is worse than the best of the values seen more
than ``nonmono`` evaluations ago::

    logs = validation values of the SGD phase, oldest first (before this one)
    switch  if  len(logs) > nonmono  and  value > min(logs[:-nonmono])

From the next optimizer step on, the trainer keeps the running mean of the iterates,
``average_k = average_{k-1} + (w_k - average_{k-1}) / k`` (``w_k``: the weights after the
k-th step since the switch); this is ``torch.optim.ASGD(t0=0, lambd=0)``, which awd-lstm
swaps in. Validation, the ``best`` checkpoint and the model left after ``fit`` use the
averaged weights; training continues from the raw ones.

Where the state lives (so that exact resume needs no new checkpoint file): the mean of each
parameter is kept in the optimizer's per-parameter state under ``"average"`` (as ASGD keeps
``"ax"``), so ``optimizer.state_dict()`` and the checkpoint code save and restore it; the
rest (``start_epoch``, ``count``, ``logs``) is the JSON of :meth:`NTAverage.state_dict`,
saved in the trainer state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch

AVERAGE_KEY = "average"  # the key of the running mean in optimizer.state[p]


def nonmono_triggered(logs: Sequence[float], value: float, nonmono: int) -> bool:
    """The non-monotone trigger: is ``value`` worse (higher) than the best of ``logs`` older
    than the last ``nonmono`` ones? ``logs``: earlier values, oldest first.

    >>> nonmono_triggered([5.0, 4.0, 4.5], 4.2, 2)   # min of [5.0] is 5.0: still better
    False
    >>> nonmono_triggered([4.0, 4.5, 4.4], 4.2, 2)   # 4.2 > min([4.0])
    True
    """
    if nonmono < 1:
        raise ValueError(f"nonmono must be >= 1, got {nonmono}")
    return len(logs) > nonmono and value > min(logs[:-nonmono])


class NTAverage:
    """The trigger and the running average of the parameters of ``optimizer``.

    The trainer calls ``end_epoch`` after each validation, ``after_step`` after each
    optimizer step, and evaluates inside ``averaged_weights()``.

    Args:
        optimizer: the SGD optimizer; the average of each of its parameters lives in
            ``optimizer.state[p]["average"]``.
        nonmono: the trigger's window (5 in awd-lstm).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, nonmono: int) -> None:
        if nonmono < 1:
            raise ValueError(f"nonmono must be >= 1, got {nonmono}")
        self.optimizer = optimizer
        self.nonmono = nonmono
        self.start_epoch: int | None = None  # the first epoch whose steps are averaged
        self.count = 0  # iterates in the average
        self.logs: list[float] = []  # validation values of the SGD phase (lower is better)

    @property
    def active(self) -> bool:
        return self.start_epoch is not None

    def _params(self) -> list[torch.nn.Parameter]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def end_epoch(self, epoch: int, value: float) -> bool:
        """Record epoch ``epoch``'s validation ``value`` (lower is better); returns True when
        this value triggers the switch (averaging then starts with epoch ``epoch + 1``)."""
        if self.active:
            return False
        triggered = nonmono_triggered(self.logs, value, self.nonmono)
        self.logs.append(float(value))
        if triggered:
            self.start_epoch = epoch + 1
        return triggered

    def switch_message(self, epoch: int, metric: str, value: float) -> str:
        """What the log says when epoch ``epoch``'s ``metric`` = ``value`` triggered."""
        return (
            f"NT-ASGD: {metric} {value:.4g} after epoch {epoch} is worse than the best before "
            f"the last {self.nonmono} validations; averaging the weights from epoch "
            f"{self.start_epoch} on"
        )

    @torch.no_grad()
    def after_step(self) -> None:
        """Fold the weights just produced by an optimizer step into the average."""
        if not self.active:
            return
        self.count += 1
        for p in self._params():
            state = self.optimizer.state[p]
            if self.count == 1:
                state[AVERAGE_KEY] = p.detach().clone()
            else:
                avg = state[AVERAGE_KEY]
                avg.add_(p.detach() - avg, alpha=1.0 / self.count)

    @contextlib.contextmanager
    def averaged_weights(self) -> Iterator[None]:
        """Inside: the parameters hold the average; afterwards their raw values again, bit
        for bit. A no-op before the first averaged step."""
        if self.count == 0:
            yield
            return
        params = self._params()
        with torch.no_grad():
            raw = [p.detach().clone() for p in params]
            for p in params:
                p.copy_(self.optimizer.state[p][AVERAGE_KEY])
        try:
            yield
        finally:
            with torch.no_grad():
                for p, value in zip(params, raw):
                    p.copy_(value)

    @torch.no_grad()
    def load_average_into_params(self) -> None:
        """Replace the parameters by their average for good (the end of training)."""
        if self.count:
            for p in self._params():
                p.copy_(self.optimizer.state[p][AVERAGE_KEY])

    def state_dict(self) -> dict[str, Any]:
        """The JSON part of the state (the average itself is in the optimizer's state)."""
        return {"start_epoch": self.start_epoch, "count": self.count, "logs": list(self.logs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        start, count, logs = state["start_epoch"], state["count"], state["logs"]
        if start is not None and (not isinstance(start, int) or start < 1):
            raise ValueError(f"start_epoch must be an integer >= 1 or null, got {start!r}")
        if not isinstance(count, int) or count < 0 or (count and start is None):
            raise ValueError(f"count must be an integer >= 0 (0 before the switch), got {count!r}")
        if not isinstance(logs, list) or not all(isinstance(v, (int, float)) for v in logs):
            raise ValueError("logs must be a list of numbers")
        missing = [
            i
            for i, p in enumerate(self._params())
            if AVERAGE_KEY not in self.optimizer.state.get(p, {})
        ]
        if count and missing:
            raise ValueError(
                f"{count} iterates averaged, but the optimizer state has no average for "
                f"parameter(s) {missing[:5]}"
            )
        self.start_epoch, self.count, self.logs = start, count, [float(v) for v in logs]
