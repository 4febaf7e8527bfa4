"""Named run configurations: the TOML files shipped in ``rnnlab/configs`` (or any path),
each with a ``task`` key, checked against the task that reads it.

    cfg = load_run_config(LMTask(), "ptb-small", ["train.epochs=2"])
    shipped_configs()   # [{"name", "task", "description"}], for `rnnlab configs`
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnlab.training.config import ConfigError, from_dict, load_toml
from rnnlab.training.tasks import Task

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def config_path(name: str | Path) -> Path:
    """A named config shipped with rnnlab (``ptb-small``) or a path to a TOML file."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        if path.exists() and (not path.is_file() or path.suffix != ".toml"):
            raise ConfigError(f"--config {path}: expected a .toml file or a named config")
        return path
    shipped = CONFIG_DIR / f"{name}.toml"
    if not shipped.is_file():
        names = ", ".join(c["name"] for c in shipped_configs())
        raise ConfigError(f"unknown config {name!r}; shipped configs: {names}")
    return shipped


def shipped_configs() -> list[dict[str, str]]:
    """``[{"name", "task", "description"}]`` of the configs in ``rnnlab/configs``; the
    description is the file's first comment line."""
    out = []
    for path in sorted(CONFIG_DIR.glob("*.toml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        head = []
        for line in lines:  # the first sentence of the opening comment
            if not line.startswith("#") or line.lstrip("# ").startswith(("rnnlab ", "(")):
                break
            head.append(line.lstrip("# ").strip())
        text = " ".join(head)
        comment = text if len(text) <= 100 else text[:100].rsplit(" ", 1)[0] + " ..."
        try:
            task = str(load_toml(path).get("task", "?"))
        except ConfigError:
            task = "?"
        out.append({"name": path.stem, "task": task, "description": comment})
    return out


def load_run_config(task: Task, name: str | Path | None, overrides: Sequence[str] = ()) -> Any:
    """The task's run config: a named config or TOML file (its ``task`` key must name this
    task), then ``section.key=value`` overrides. Without a name: the task's default."""
    from rnnlab.training.config import apply_overrides

    path = config_path(name if name is not None else task.default_config(overrides))
    data = load_toml(path)
    declared = data.get("task")
    if declared is None:
        raise ConfigError(f'{path}: a run config needs a top-level key task = "{task.name}"')
    if declared != task.name:
        raise ConfigError(
            f"{path} is a config for task {declared!r}, not {task.name!r} "
            f"(use `rnnlab train {declared} --config {path}`)"
        )
    try:
        cfg = from_dict(task.config_class, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return apply_overrides(cfg, list(overrides))
