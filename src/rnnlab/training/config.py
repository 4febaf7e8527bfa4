"""Typed run configurations: frozen dataclasses, TOML files and ``key=value`` overrides.

A run configuration is a frozen dataclass whose fields may be other dataclasses (sections).
The same machinery serves every task::

    @dataclass(frozen=True)
    class RunConfig:
        model: LanguageModelConfig = LanguageModelConfig()
        train: TrainConfig = TrainConfig()

    cfg = load_config(RunConfig, "configs/ptb-small.toml", ["train.lr=0.5", "model.tie=true"])
    save_config(cfg, "runs/x/config.json") # the resolved config as JSON, for the run directory

* ``from_dict(cls, d)`` builds a dataclass from a (nested) dict, rejecting unknown keys with
  an error that lists the valid ones, and checking/converting types (int -> float, list ->
  tuple, ``Literal`` choices, ``Optional``).
* ``apply_overrides(cfg, ["section.key=value", ...])`` converts each value string using the
  field's declared type: ``true/false``, ints, floats, ``none``/``null`` for optional fields,
  comma-separated or ``[a, b]`` tuples.
* ``TrainConfig`` holds every option of :class:`rnnlab.training.trainer.Trainer`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import types
import typing
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value, key or file is invalid; the message names it."""


# --------------------------------------------------------------------------- types
def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls) if f.init}


def _is_optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType) and type(None) in typing.get_args(tp)


def _strip_optional(tp: Any) -> Any:
    if _is_optional(tp):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007
    return tp


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp``; convert int->float and list->tuple."""
    if tp is Any:
        return value
    if value is None:
        if _is_optional(tp) or tp is type(None):
            return None
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got None")
    tp = _strip_optional(tp)
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ConfigError(f"{where}: expected one of {list(choices)}, got {value!r}")
        return value
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _convert(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            items = [_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        else:
            item_tp = args[0] if args else Any
            items = [_convert(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return dict(value)
    if is_dataclass(tp):
        if is_dataclass(value) and isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table [{where}], got {value!r}")
        return from_dict(tp, value, where=where)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if not -(2**63) <= value < 2**63:
            raise ConfigError(f"{where}: {value} is outside the 64-bit integer range")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


# --------------------------------------------------------------------------- dicts
def from_dict(cls: type[T], d: dict[str, Any], *, where: str = "") -> T:
    """Build the dataclass ``cls`` from a nested dict; unknown keys are errors.

    >>> from_dict(TrainConfig, {"lr": 1, "optimizer": "sgd"}).lr
    1.0
    """
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(d, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a table, got {d!r}")
    types_ = _field_types(cls)
    unknown = sorted(set(d) - set(types_))
    if unknown:
        section = f" in [{where}]" if where else ""
        raise ConfigError(
            f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            f"{section}; valid keys: {', '.join(sorted(types_))}"
        )
    kwargs = {k: _convert(v, types_[k], f"{where}.{k}" if where else k) for k, v in d.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from exc


def to_dict(cfg: Any) -> dict[str, Any]:
    """The dataclass as plain JSON-ready data (tuples become lists)."""

    def plain(v: Any) -> Any:
        if is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write the resolved config as JSON (atomically: temp file + ``os.replace``)."""
    from rnnlab.training.storage import write_json

    return write_json(path, to_dict(cfg))


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc})") from None


# --------------------------------------------------------------------------- overrides
def parse_value(text: str, tp: Any, where: str = "value") -> Any:
    """Convert the command-line string ``text`` to the annotation ``tp``.

    >>> parse_value("0.5", float), parse_value("yes", bool), parse_value("none", int | None)
    (0.5, True, None)
    """
    s = text.strip()
    if _is_optional(tp) and s.lower() in ("none", "null", ""):
        return None
    base = _strip_optional(tp)
    origin = typing.get_origin(base)
    if origin is Literal:
        choices = typing.get_args(base)
        for c in choices:
            if str(c) == s or (isinstance(c, bool) and s.lower() == str(c).lower()):
                return c
        raise ConfigError(f"{where}: expected one of {list(choices)}, got {s!r}")
    if origin in (tuple, list):
        inner = s[1:-1] if s.startswith("[") and s.endswith("]") else s
        parts = [p.strip().strip("'\"") for p in inner.split(",") if p.strip()]
        args = typing.get_args(base)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(parts) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} comma-separated values")
            items = [parse_value(p, a, where) for p, a in zip(parts, args)]
        else:
            item_tp = args[0] if args else str
            items = [parse_value(p, item_tp, where) for p in parts]
        return tuple(items) if origin is tuple else items
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(base):
            try:
                return parse_value(s, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: cannot read {s!r} as {_type_name(base)}")
    if base is bool:
        low = s.lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"{where}: expected true or false, got {s!r}")
    if base is int:
        try:
            return int(s)
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {s!r}") from None
    if base is float:
        try:
            return float(s)
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {s!r}") from None
    if base is str or base is Any:
        return s.strip("'\"") if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"" else s
    if is_dataclass(base):
        raise ConfigError(f"{where} is a section; set its keys, e.g. {where}.KEY=VALUE")
    raise ConfigError(
        f"{where}: cannot set a value of type {_type_name(base)} from the command line"
    )


def apply_overrides(cfg: T, overrides: list[str] | tuple[str, ...]) -> T:
    """Return a copy of the dataclass ``cfg`` with ``key=value`` / ``section.key=value`` set.

    >>> apply_overrides(TrainConfig(), ["lr=0.5", "clip_norm=none"]).lr
    0.5
    """
    data = to_dict(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, text = item.split("=", 1)
        key = key.strip()
        cls: Any = type(cfg)
        node = data
        parts = key.split(".")
        for depth, part in enumerate(parts):
            types_ = _field_types(cls)
            if part not in types_:
                where = ".".join(parts[:depth]) or "top level"
                raise ConfigError(
                    f"unknown config key {key!r} ({part!r} not in {where}); "
                    f"valid keys: {', '.join(sorted(types_))}"
                )
            tp = types_[part]
            if depth == len(parts) - 1:
                node[part] = to_dict(parse_value(text, tp, key))
            else:
                sub = _strip_optional(tp)
                if not is_dataclass(sub):
                    raise ConfigError(f"{'.'.join(parts[: depth + 1])} is not a section")
                if node.get(part) is None:
                    node[part] = to_dict(sub())
                node, cls = node[part], sub
    return from_dict(type(cfg), data)


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> T:
    """Defaults of ``cls``, updated by the TOML file at ``path`` (if any), then ``overrides``."""
    if path is None:
        return apply_overrides(cls(), overrides)
    try:
        cfg = from_dict(cls, load_toml(path))
    except ConfigError as exc:
        if str(path) in str(exc):
            raise
        raise ConfigError(f"{path}: {exc}") from exc
    return apply_overrides(cfg, overrides)


# --------------------------------------------------------------------------- TrainConfig
def _is_device(name: str) -> bool:
    return bool(re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", name))


OPTIMIZERS = ("sgd", "adam", "adamw", "nt_asgd")
SCHEDULES = ("none", "step", "plateau", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Every option of the trainer. Learning-rate semantics: see ``loss_reduction``.

    Attributes:
        optimizer: "sgd", "adam", "adamw" or "nt_asgd" (SGD that switches to averaging its
            iterates when validation stops improving, Merity et al. 2018; see
            ``rnnlab.training.averaging``).
        nonmono: "nt_asgd": switch when the monitored value is worse than the best of those
            more than ``nonmono`` validations ago.
        lr: initial learning rate, for the loss as ``loss_reduction`` defines it.
        momentum: SGD momentum (0 = plain SGD); ``nesterov`` for Nesterov momentum.
        weight_decay: L2 penalty (SGD, Adam) or decoupled decay (AdamW).
        betas, eps: Adam/AdamW parameters.
        clip_norm: rescale gradients whose global L2 norm exceeds this (None = off).
        clip_value: clamp every gradient element to [-clip_value, clip_value] (None = off);
            applied before ``clip_norm``.
        scale_lr_by_window: scale each step's lr by ``T / data.bptt``, T the step's window
            (``StepOutput.time_steps``), restored after the step: the companion of random
            BPTT lengths (AWD-LSTM), so that every token weighs the same. The schedule's lr
            (and the one saved) is unscaled.
        loss_reduction: "mean": backpropagate the model's mean loss per unit (token).
            "sum_over_time": backpropagate ``loss * time_steps`` (summed over the BPTT window,
            averaged over the batch), the form in which classic PTB recipes state lr and clip
            (Zaremba et al. 2014: lr 1, clip 5 at bptt 20 == lr 20, clip 0.25 with "mean").
        schedule: "none"; "step" (multiply by ``gamma`` every ``step_size`` epochs from
            ``decay_start``); "plateau" (multiply by ``gamma`` when the monitored validation
            metric has not improved for more than ``patience`` epochs); "cosine" (from lr to
            ``min_lr`` over ``epochs``, per epoch).
        step_size, decay_start: for "step"; decay_start None means ``step_size + 1``, so the
            lr in epoch e (1-based) is ``lr * gamma ** (1 + (e - decay_start) // step_size)``
            for e >= decay_start.
        gamma: multiplicative decay factor ("step", "plateau"); 0.25 divides by 4.
        patience: "plateau": epochs without improvement tolerated before decaying.
        min_lr: lower bound on the learning rate (all schedules).
        epochs: number of epochs; max_steps stops earlier after that many optimizer steps
            (the epoch in which it is reached ends there and is validated and checkpointed
            as complete: for smoke tests and benchmarks).
        early_stopping_patience: stop after this many epochs without improvement (None = off).
        monitor, monitor_mode: the validation metric (from ``model.summarize``) that selects
            the best checkpoint, drives "plateau" and early stopping; "min" or "max".
        seed: seeds python, numpy and torch at the start of ``fit``.
        deterministic: ``torch.use_deterministic_algorithms(True)`` during ``fit``.
        device: "cpu", "cuda", "cuda:1", ... or "auto" (cuda when available).
        log_interval: also log running train metrics every this many steps (0 = per epoch only).
        checkpoint_every_steps: also save ``last`` every this many optimizer steps
            (None = off); a resumed run continues from there bit for bit.
        checkpoint_every_minutes: also save ``last`` when this many minutes have passed since
            the previous save (None = off; the default 10 only matters for long runs).
        precision: "fp32"; "bf16" or "fp16" run ``model.step`` under ``torch.autocast`` (fp16
            with a gradient scaler); weights, optimizer state and checkpoints stay fp32.
        max_loss: stop (``TrainingDiverged``) when a training loss exceeds this; "auto" = 100 x
            max(1, the run's first loss); None = only non-finite losses stop the run.
        num_threads: torch intra-op threads during ``fit`` (None = leave as is).
        progress: show a tqdm progress bar.
        tensorboard: also write TensorBoard scalars to ``run_dir/tb`` (if installed).
        check_finite: raise on a NaN/inf loss or gradient (names the step).
    """

    optimizer: Literal["sgd", "adam", "adamw", "nt_asgd"] = "sgd"
    nonmono: int = 5
    lr: float = 1.0
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    clip_norm: float | None = None
    clip_value: float | None = None
    scale_lr_by_window: bool = False
    loss_reduction: Literal["mean", "sum_over_time"] = "mean"
    schedule: Literal["none", "step", "plateau", "cosine"] = "none"
    step_size: int = 1
    decay_start: int | None = None
    gamma: float = 0.5
    patience: int = 0
    min_lr: float = 0.0
    epochs: int = 10
    max_steps: int | None = None
    early_stopping_patience: int | None = None
    monitor: str = "loss"
    monitor_mode: Literal["min", "max"] = "min"
    seed: int = 0
    deterministic: bool = False
    device: str = "cpu"
    log_interval: int = 50
    checkpoint_every_steps: int | None = None
    checkpoint_every_minutes: float | None = 10.0
    max_loss: float | Literal["auto"] | None = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    num_threads: int | None = None
    progress: bool = True
    tensorboard: bool = False
    check_finite: bool = True

    def __post_init__(self) -> None:
        checks = [
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}"),
            (
                self.loss_reduction in ("mean", "sum_over_time"),
                "loss_reduction must be 'mean' or 'sum_over_time'",
            ),
            (self.monitor_mode in ("min", "max"), "monitor_mode must be 'min' or 'max'"),
            (self.precision in ("fp32", "bf16", "fp16"), "precision must be fp32, bf16 or fp16"),
            (
                math.isfinite(self.lr) and self.lr > 0,
                f"lr must be a finite number > 0, got {self.lr}",
            ),
            (
                _is_device(self.device),
                f"device must be cpu, cuda, cuda:N, mps or auto, got {self.device!r}",
            ),
            (
                self.checkpoint_every_steps is None or self.checkpoint_every_steps >= 1,
                "checkpoint_every_steps must be >= 1 or None",
            ),
            (
                self.checkpoint_every_minutes is None or self.checkpoint_every_minutes > 0,
                "checkpoint_every_minutes must be > 0 or None",
            ),
            (
                self.max_loss in (None, "auto")
                or (isinstance(self.max_loss, float) and self.max_loss > 0),
                "max_loss must be a number > 0, 'auto' or None",
            ),
            (self.momentum >= 0, "momentum must be >= 0"),
            (self.nonmono >= 1, f"nonmono must be >= 1, got {self.nonmono}"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.eps > 0, "eps must be > 0"),
            (self.clip_norm is None or self.clip_norm > 0, "clip_norm must be > 0 or None"),
            (self.clip_value is None or self.clip_value > 0, "clip_value must be > 0 or None"),
            (self.step_size >= 1, "step_size must be >= 1"),
            (self.decay_start is None or self.decay_start >= 1, "decay_start must be >= 1"),
            (0 < self.gamma <= 1, "gamma must be in (0, 1]"),
            (self.patience >= 0, "patience must be >= 0"),
            (self.min_lr >= 0, "min_lr must be >= 0"),
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.max_steps is None or self.max_steps >= 1, "max_steps must be >= 1 or None"),
            (
                self.early_stopping_patience is None or self.early_stopping_patience >= 1,
                "early_stopping_patience must be >= 1 or None",
            ),
            (self.log_interval >= 0, "log_interval must be >= 0"),
            (self.num_threads is None or self.num_threads >= 1, "num_threads must be >= 1"),
        ]
        numbers = (
            "lr",
            "momentum",
            "weight_decay",
            "eps",
            "gamma",
            "min_lr",
            "clip_norm",
            "clip_value",
            "checkpoint_every_minutes",
        )
        checks += [
            (getattr(self, n) is None or math.isfinite(getattr(self, n)), f"{n} must be finite")
            for n in numbers
        ]
        checks.append(
            (all(math.isfinite(b) and 0 <= b < 1 for b in self.betas), "betas must be in [0, 1)")
        )
        errors = [msg for ok, msg in checks if not ok]
        if errors:
            raise ConfigError("invalid TrainConfig: " + "; ".join(errors))

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
