"""Metric bookkeeping for training: running totals, perplexity, throughput, JSONL logs.

A metrics log is a JSON Lines file, one record per line::

    {"epoch": 1, "step": 1327, "split": "train", "metrics": {"loss": 5.1, "ppl": 164.0},
     "lr": 1.0, "wall_s": 81.2, "time": 1795000000.0}

``split`` is "train" (epoch means), "train_interval" (running means every ``log_interval``
steps), "valid", or whatever a caller logs (e.g. "test").
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def perplexity(loss: float) -> float:
    """``exp(loss)`` for a mean negative log-likelihood in nats; inf instead of overflowing."""
    return math.exp(loss) if loss < 700 else math.inf


class Totals:
    """Accumulates ``StepOutput``s: ``loss_sum = sum(loss * count)``, ``count``, and ``sums``.

    >>> t = Totals(); t.add(2.0, 10, {"correct": 3}); t.add(4.0, 30)
    >>> t.as_dict()
    {'loss_sum': 140.0, 'count': 40.0, 'correct': 3.0, 'loss': 3.5}
    """

    def __init__(self) -> None:
        self.loss_sum = 0.0
        self.count = 0.0
        self.sums: dict[str, float] = {}

    def add(self, loss: float, count: float, sums: Mapping[str, float] | None = None) -> None:
        self.loss_sum += float(loss) * float(count)
        self.count += float(count)
        for key, value in (sums or {}).items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value)

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / self.count if self.count > 0 else math.nan

    def as_dict(self) -> dict[str, float]:
        """The ``totals`` handed to ``model.summarize``: sums plus the mean ``loss``."""
        return {"loss_sum": self.loss_sum, "count": self.count, **self.sums, "loss": self.mean_loss}


class Throughput:
    """Units (tokens) per second over the time spent between ``start`` and ``stop``.

    The clock only runs between ``start()`` and ``stop()``, so validation is excluded.
    """

    def __init__(self) -> None:
        self.units = 0.0
        self.seconds = 0.0
        self._t0: float | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        if self._t0 is not None:
            self.seconds += time.perf_counter() - self._t0
            self._t0 = None

    def add(self, units: float) -> None:
        self.units += float(units)

    @property
    def rate(self) -> float:
        running = time.perf_counter() - self._t0 if self._t0 is not None else 0.0
        total = self.seconds + running
        return self.units / total if total > 0 else 0.0


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf": strict JSON has no literal for them
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):  # numpy / torch scalars
        return _json_safe(value.item())
    return value


class JSONLLogger:
    """Appends one JSON object per line to ``path`` (flushed at every record)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")

    def log(self, record: Mapping[str, Any]) -> None:
        self._fh.write(json.dumps(_json_safe(dict(record))) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> JSONLLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_metrics_json(path: str | Path, metrics: Mapping[str, Any]) -> Path:
    """Write flat final metrics (``--metrics-out``) as one JSON object, atomically.

    Non-finite floats become the strings "nan"/"inf"; nested values are kept as they are.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(_json_safe(dict(metrics)), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All records of a JSONL file (blank lines skipped; a torn last line is ignored)."""
    records = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # written while the run was killed
                break
            raise ValueError(f"{path}:{i + 1}: not valid JSON") from None
    return records
