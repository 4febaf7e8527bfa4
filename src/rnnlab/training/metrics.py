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
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rnnlab.training.storage import json_ready, write_atomic, write_json


def perplexity(loss: float) -> float:
    """``exp(loss)`` for a mean negative log-likelihood in nats; inf instead of overflowing."""
    if math.isnan(loss):
        return math.nan
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


class JSONLLogger:
    """Appends one JSON object per line to ``path`` (flushed at every record); ``records``
    counts the records in the file (set it when appending to an existing log).
    Non-finite floats are written as Python's json writes them (``NaN``, ``Infinity``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")
        self.records = 0

    def log(self, record: Mapping[str, Any]) -> None:
        self._fh.write(json.dumps(json_ready(dict(record)), allow_nan=True) + "\n")
        self._fh.flush()
        self.records += 1

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> JSONLLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_metrics_json(path: str | Path, metrics: Mapping[str, Any]) -> Path:
    """Write flat final metrics (``--metrics-out``) as one JSON object, atomically.

    Non-finite floats stay floats (``Infinity``, ``NaN``: Python's json reads them back).
    """
    return write_json(path, dict(metrics))


def truncate_jsonl(path: str | Path, records: int) -> None:
    """Keep only the first ``records`` records of a JSONL log (a resumed run drops what was
    logged after the checkpoint it resumes from); a missing file is left missing."""
    path = Path(path)
    if not path.exists():
        return
    kept: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if len(kept) >= records:
            break
        if line.strip():
            kept.append(line)
    write_atomic(path, lambda tmp: tmp.write_text("".join(k + "\n" for k in kept), "utf-8"))


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
