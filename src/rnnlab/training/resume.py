"""Where a run stands, as saved in ``trainer_state.json``, and what a resume may change.

A run is always at one of three points (``phase``)::

    epoch e, phase "train",    batches_done k   k batches of epoch e trained; the next is k
    epoch e, phase "validate"                   epoch e trained; its validation not yet done
    epoch e, phase "done"                       epoch e complete (validated, checkpointed)

:class:`TrainerState` is everything needed to continue from that point bit for bit: the
counters, the epoch's partial totals, the best metric so far, and every random generator's
state. The data's order is not in the global generators: data objects own it
(``set_epoch(epoch)``), so skipping the first k batches of epoch e replays nothing.
The model's carried state (an LM's hidden state) and the optimizer are stored beside it
(``carry.safetensors``, ``optimizer.safetensors``).

A resumed run must compute what the uninterrupted run would have: :func:`config_changes`
lists every key in which the requested config differs from the saved one, and
:func:`check_resume_config` refuses those that change the numbers unless they are allowed
explicitly (``--allow-config-change train.epochs``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from rnnlab.training.metrics import Totals

Phase = Literal["train", "validate", "done"]

# Keys whose change cannot alter the computed weights: allowed on resume without asking.
HARMLESS_KEYS = frozenset(
    {
        "train.progress",
        "train.num_threads",
        "train.log_interval",
        "train.checkpoint_every_steps",
        "train.checkpoint_every_minutes",
        "train.tensorboard",
    }
)


# Fields added after format 2 was fixed: a checkpoint saved before them resumes with defaults.
_ADDED_LATER = frozenset({"averaging"})


class ResumeError(ValueError):
    """A run cannot be resumed as asked; the message says why and what to do."""


@dataclass
class TrainerState:
    """The trainer's counters and partial results (JSON in ``trainer_state.json``)."""

    epoch: int = 0
    phase: Phase = "done"
    batches_done: int = 0
    global_step: int = 0
    totals: dict[str, Any] = field(default_factory=dict)  # Totals of the epoch so far
    interval: dict[str, Any] = field(default_factory=dict)  # Totals since the last log line
    best_value: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    first_loss: float | None = None  # the run's first training loss (divergence bound)
    history: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    metrics_records: int = 0  # records in metrics.jsonl when this state was saved
    rng: dict[str, Any] = field(default_factory=dict)
    train_config: dict[str, Any] = field(default_factory=dict)
    world_size: int = 1  # ranks of the run; with more than one, `ranks` holds each one's
    ranks: list[dict[str, Any]] = field(default_factory=list)  # [{rng, totals, interval}]
    scaler: dict[str, Any] | None = None  # fp16 gradient scaler
    averaging: dict[str, Any] | None = None  # NT-ASGD's JSON state (training/averaging.py)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> TrainerState:
        """Rebuild from JSON; ResumeError naming ``where`` and the key that is wrong."""
        if not isinstance(data, dict):
            raise ResumeError(f"{where}: the trainer state must be a JSON object")
        if "global_step" not in data and "step" in data:  # format 1 (epoch boundaries only)
            raise ResumeError(f"{where}: written by format 1, which cannot be resumed")
        known = {f.name: f for f in fields(cls)}
        missing = sorted(set(known) - set(data) - _ADDED_LATER)
        if missing:
            raise ResumeError(f"{where}: the trainer state lacks {', '.join(missing)}")
        state = cls(**{k: data[k] for k in known if k in data})
        ints = ("epoch", "batches_done", "global_step", "bad_epochs", "metrics_records")
        ints += ("world_size",)
        for name in ints:
            value = getattr(state, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ResumeError(f"{where}: {name} must be an integer >= 0, got {value!r}")
        if state.phase not in ("train", "validate", "done"):
            raise ResumeError(f"{where}: phase must be train, validate or done")
        for name in ("totals", "interval", "rng", "train_config"):
            if not isinstance(getattr(state, name), dict):
                raise ResumeError(f"{where}: {name} must be a JSON object")
        if not isinstance(state.history, list) or not isinstance(state.ranks, list):
            raise ResumeError(f"{where}: history and ranks must be lists")
        if state.world_size > 1 and len(state.ranks) != state.world_size:
            raise ResumeError(f"{where}: {state.world_size} ranks but {len(state.ranks)} states")
        for name in ("scaler", "averaging"):
            if getattr(state, name) is not None and not isinstance(getattr(state, name), dict):
                raise ResumeError(f"{where}: {name} must be a JSON object or null")
        for name in ("best_value", "first_loss"):
            value = getattr(state, name)
            if value is not None and not isinstance(value, (int, float)):
                raise ResumeError(f"{where}: {name} must be a number or null")
        return state


def totals_to_dict(totals: Totals) -> dict[str, Any]:
    return {"loss_sum": totals.loss_sum, "count": totals.count, "sums": dict(totals.sums)}


def totals_from_dict(data: dict[str, Any]) -> Totals:
    totals = Totals()
    if data:
        totals.loss_sum = float(data["loss_sum"])
        totals.count = float(data["count"])
        totals.sums = {str(k): float(v) for k, v in data.get("sums", {}).items()}
    return totals


# --------------------------------------------------------------------------- configs
def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def config_changes(saved: dict[str, Any], requested: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(key, saved value, requested value)`` for every dotted key that differs."""
    old, new = _flatten(saved), _flatten(requested)
    missing = object()
    return [
        (key, old.get(key, missing), new.get(key, missing))
        for key in sorted(set(old) | set(new))
        if not _same(old.get(key, missing), new.get(key, missing))
    ]


def _allowed(key: str, allowed: tuple[str, ...]) -> bool:
    return key in HARMLESS_KEYS or any(key == a or key.startswith(a + ".") for a in allowed)


def _show(value: Any) -> str:
    plain = isinstance(value, (int, float, str, bool, list, type(None)))
    return repr(value) if plain else "(absent)"


def check_resume_config(
    saved: dict[str, Any],
    requested: dict[str, Any],
    allowed: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
) -> list[str]:
    """Refuse (ResumeError) a resume whose config changes the numbers; returns the allowed
    changes, as lines ``key: old -> new``, for the log. ``ignore``: keys filled from the data
    (compared through the data and vocabulary checks instead)."""
    changes = [c for c in config_changes(saved, requested) if c[0] not in ignore]

    def line(key: str, a: Any, b: Any) -> str:
        return f"{key}: {_show(a)} -> {_show(b)}"

    refused = [line(*c) for c in changes if not _allowed(c[0], allowed)]
    if refused:
        keys = " ".join(c[0] for c in changes if not _allowed(c[0], allowed))
        raise ResumeError(
            "the resumed run's config differs from the saved one in what changes the numbers:\n  "
            + "\n  ".join(refused)
            + f"\nresume with the saved config (drop those flags), or allow the change "
            f"deliberately: --allow-config-change {keys}"
        )
    return [line(*c) for c in changes]
