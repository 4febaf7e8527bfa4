"""Tasks: what one kind of run (language modelling, classification, tagging, ...) adds to
the shared run plumbing of :mod:`rnnlab.training.runs`.

A task subclasses :class:`Task` and registers itself (``@register_task``); ``rnnlab train
NAME``, the TOML ``task`` key and a checkpoint's ``task`` all name it. ``prepare`` returns a
:class:`Prepared`: the config with data-derived sizes, the vocabularies, the batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

SPLIT_ALIASES = {
    "train": "train",
    "valid": "valid",
    "validation": "valid",
    "val": "valid",
    "dev": "valid",
    "test": "test",
}


def canonical_split(name: str) -> str:
    """``dev`` / ``val`` / ``validation`` -> ``valid``; ValueError for unknown names."""
    try:
        return SPLIT_ALIASES[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown split {name!r}; use train, valid (or dev, val) or test"
        ) from None


# --------------------------------------------------------------------------- tasks
@dataclass
class Prepared:
    """What a task prepares for a run.

    Attributes:
        cfg: the run config with data-derived sizes filled in (e.g. ``model.vocab_size``).
        vocabs: name -> vocabulary, saved in every checkpoint.
        data: split -> re-iterable batches ("train", "valid", "test").
        info: extra result keys (e.g. ``optimal_ppl``, ``padding_fraction``).
        fingerprint: a hash of the training data; a resume on other data is refused.
    """

    cfg: Any
    vocabs: dict[str, Any]
    data: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None


class Task:
    """What one kind of run adds to the shared plumbing. Subclass and ``@register_task``."""

    name: ClassVar[str]  # `rnnlab train NAME`, the TOML `task` key, the checkpoint's task
    config_class: ClassVar[type]  # frozen dataclass with task, data, model, train sections
    unit: ClassVar[str] = "tokens"  # what the model counts: "<unit>_per_s"
    help: ClassVar[str] = ""
    flags: ClassVar[dict[str, str]] = {}  # argparse dest -> config key
    derived_keys: ClassVar[tuple[str, ...]] = ()  # filled from the data (model.vocab_size)

    def add_arguments(self, parser: Any) -> None:
        """The task's command-line flags (``flags`` maps them to config keys)."""

    def default_config(self, overrides: Sequence[str]) -> str:
        """The named config used when ``--config`` is not given."""
        raise NotImplementedError

    def finalize_config(self, cfg: Any) -> Any:
        """Make the config self-contained (e.g. absolute data paths) before the run."""
        return cfg

    def prepare(
        self,
        cfg: Any,
        *,
        data_dir: str | Path | None,
        vocabs: dict[str, Any] | None = None,
        splits: Sequence[str] = ("train", "valid", "test"),
    ) -> Prepared:
        """Read the data, build the vocabularies (or reuse ``vocabs``), make the batches of
        ``splits`` only."""
        raise NotImplementedError

    def build_model(self, cfg: Any, prepared: Prepared | None = None) -> Any:
        """The model for ``cfg`` (``Prepared.cfg``); ``prepared`` gives the vocabularies to a
        model that maps words (pretrained vectors, ``--init-from``) and takes its info."""
        raise NotImplementedError

    def validation_hook(self, prepared: Prepared) -> Any:
        """A ``hook(model, valid_data) -> {metric: value}`` the trainer runs after each
        validation, whose metrics join the validation metrics (and can be ``monitor``ed):
        e.g. BLEU of decoded translations. None (the default): no hook."""
        return None

    def describe(self, prepared: Prepared, model: Any) -> str:
        """One log line about the data and the model."""
        params = sum(p.numel() for p in model.parameters())
        return f"{self.name}: {type(model).__name__}, {params:,} parameters"

    def evaluate(
        self, model: Any, data: Any, prepared: Prepared, *, out_dir: Path | None = None
    ) -> dict[str, Any]:
        """Metrics of ``model`` on ``data`` (default: the model's own ``summarize``)."""
        from rnnlab.training.evaluation import evaluate

        metrics = evaluate(model, data)
        metrics.pop("units_per_s", None)
        return metrics

    def after_run(self, model: Any, prepared: Prepared, out: Path) -> dict[str, Any]:
        """Task-specific artefacts of a finished run (samples, gate heat maps) for its report;
        returns result keys. Failures are logged, never fatal."""
        return {}

    def text_data(self, cfg: Any, vocabs: dict[str, Any], path: Path) -> Any:
        """Batches of any text file, encoded with the checkpoint's vocabularies."""
        raise ValueError(f"task {self.name!r} cannot evaluate a --text-file")

    def summary_line(self, split: str, metrics: dict[str, Any]) -> str:
        shown = ", ".join(
            f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float) and k != "count"
        )
        return f"{split}: {shown}"


_TASKS: dict[str, Task] = {}
_BUILTIN_TASK_MODULES = ("rnnlab.models",)


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: register a task under ``cls.name``."""
    _TASKS[cls.name] = cls()
    return cls


def registered_tasks() -> dict[str, Task]:
    import importlib

    for module in _BUILTIN_TASK_MODULES:
        importlib.import_module(module)
    return dict(sorted(_TASKS.items()))


def get_task(name: str | None) -> Task:
    tasks = registered_tasks()
    if name not in tasks:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(tasks)}")
    return tasks[name]
