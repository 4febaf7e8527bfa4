"""Evaluation over a dataset with the model contract, and moving batches to a device.

    metrics = evaluate(model, test_batches)     # e.g. {"loss": 4.74, "ppl": 114.5, ...}

Used by :class:`~rnnlab.training.trainer.Trainer` for validation and by ``rnnlab evaluate``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.nn.utils.rnn import PackedSequence

from rnnlab.training.metrics import Throughput, Totals


def resolve_device(name: str | torch.device) -> torch.device:
    """``"auto"`` -> cuda, else mps, else cpu (what is available); anything else as
    ``torch.device``, refused (ValueError) when that device is not available here."""
    if isinstance(name, str) and name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available")
    if device.type == "cuda" and device.index is not None:
        if device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {str(device)!r} requested but there are "
                f"{torch.cuda.device_count()} CUDA devices"
            )
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {str(device)!r} requested but MPS is not available")
    return device


def move_to_device(batch: Any, device: torch.device | str) -> Any:
    """Move the tensors in ``batch`` to ``device``: tensors, PackedSequences, tuples
    (named ones keep their type), lists, dicts and dataclasses, recursively."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, PackedSequence):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)((k, move_to_device(v, device)) for k, v in batch.items())
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # NamedTuple
        return type(batch)(*(move_to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(v, device) for v in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        changes = {
            f.name: move_to_device(getattr(batch, f.name), device)
            for f in dataclasses.fields(batch)
            if f.init
        }
        return dataclasses.replace(batch, **changes)
    return batch


def batch_size_of(data: Any) -> int | None:
    """``data.batch_size`` if the dataset declares it (passed to ``model.initial_state``)."""
    size = getattr(data, "batch_size", None)
    return size if isinstance(size, int) else None


def summarize_totals(model: Any, totals: Totals) -> dict[str, float]:
    """``model.summarize(totals)``, with the mean ``loss`` always present."""
    metrics = {k: float(v) for k, v in model.summarize(totals.as_dict()).items()}
    metrics.setdefault("loss", totals.mean_loss)
    return metrics


class EvaluationStopped(Exception):
    """``should_stop()`` returned true between two batches (a signal during validation)."""


def evaluate(
    model: torch.nn.Module,
    data: Iterable[Any],
    *,
    device: torch.device | str | None = None,
    max_batches: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, float]:
    """Run ``model.step`` over ``data`` without gradients (eval mode, state carried across
    batches as in training); returns ``model.summarize`` of the totals plus ``count`` and
    ``units_per_s``. The model's train/eval mode is restored after. ``should_stop`` is
    asked between batches; when it says yes, EvaluationStopped is raised."""
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    totals, speed = Totals(), Throughput()
    try:
        with torch.no_grad():
            state = model.initial_state(batch_size_of(data), torch.device(device))
            speed.start()
            for i, batch in enumerate(data):
                if max_batches is not None and i >= max_batches:
                    break
                if should_stop is not None and should_stop():
                    raise EvaluationStopped
                out = model.step(move_to_device(batch, device), state)
                state = model.detach_state(out.state)
                totals.add(float(out.loss), out.count, out.sums)
                speed.add(out.count)
            speed.stop()
    finally:
        model.train(was_training)
    if totals.count == 0:
        raise ValueError("evaluation data yielded no batches (or only empty ones)")
    return {**summarize_totals(model, totals), "count": totals.count, "units_per_s": speed.rate}
