"""Checkpoints: safetensors for tensors, JSON for everything else, never pickle.

A checkpoint is a directory (see ``docs/ARCHITECTURE.md``)::

    best/
      model.safetensors      model.state_dict(); tied (shared) tensors stored once,
                             the aliases listed in the file's metadata
      config.json            {"format": "rnnlab-checkpoint", "version": 1, "model_type",
                              "model_module", "model_config", "run_config", "metrics",
                              "step", "epoch", "vocab_class"}
      vocab.json             vocab.to_dict()                          (if a vocabulary is given)
      optimizer.safetensors  optimizer tensors, keys "state.<param index>.<name>"   (resume)
      trainer_state.json     {"trainer": ..., "scheduler": ..., "optimizer": <structure,
                              tensors replaced by {"tensor": key}>}              (resume)
      manifest.json          written last: {"files": {name: {"sha256", "size"}}}

Writes are atomic: the new checkpoint is written into a hidden sibling directory
(``.best.tmp-*``; each file itself via a temporary name and ``os.replace``), then the old
directory is renamed away (``.best.old-*``), the new one renamed into place and the old one
deleted. An interrupted save therefore leaves the previous checkpoint intact (if it dies
between the two renames, ``load_checkpoint`` finds the ``.old`` copy and says so).

    save_checkpoint("runs/x/checkpoints/best", model, vocab=vocab, run_config=cfg,
                    metrics={"valid_ppl": 120.3})
    model, vocab, config = load_model("runs/x/checkpoints/best")
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from rnnlab.training.storage import (
    dedupe_tensors,
    flatten_optimizer,
    sha256_file,
    to_plain,
    unflatten_optimizer,
    write_json,
    write_tensors,
)

FORMAT = "rnnlab-checkpoint"
VERSION = 1
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.json"
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_STATE_FILE = "trainer_state.json"
MANIFEST_FILE = "manifest.json"
DEFAULT_VOCAB_CLASS = "rnnlab.text.vocab:Vocabulary"


class CheckpointError(Exception):
    """A checkpoint is incomplete, corrupted, or does not fit the model; the message says how."""


class CheckpointNotFound(CheckpointError, FileNotFoundError):
    """The checkpoint directory does not exist."""


@dataclass
class Checkpoint:
    """Everything read back from a checkpoint directory (tensors on ``map_location``)."""

    path: Path
    config: dict[str, Any]
    model_state: dict[str, torch.Tensor]
    vocab: dict[str, Any] | None = None
    trainer_state: dict[str, Any] | None = None  # the ``trainer_state`` given to save
    scheduler_state: dict[str, Any] | None = None
    optimizer_state: dict[str, Any] | None = None  # ready for optimizer.load_state_dict


# --------------------------------------------------------------------------- vocabulary
def _vocab_size_of_model(model_config: Any, model: Any = None) -> int | None:
    for source in (model_config, model):
        if source is None:
            continue
        size = (
            source.get("vocab_size")
            if isinstance(source, dict)
            else getattr(source, "vocab_size", None)
        )
        if isinstance(size, int):
            return size
    return None


def _check_vocab_size(vocab_len: int | None, expected: int | None, where: str) -> None:
    if vocab_len is not None and expected is not None and vocab_len != expected:
        raise CheckpointError(
            f"vocabulary size mismatch: {where} has {vocab_len} entries but the model's "
            f"embedding expects vocab_size={expected}"
        )


# --------------------------------------------------------------------------- save
def save_checkpoint(
    directory: str | Path,
    model: torch.nn.Module,
    vocab: Any = None,
    run_config: Any = None,
    metrics: Mapping[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    trainer_state: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint directory atomically (replacing any previous one at ``directory``).

    Args:
        directory: the checkpoint directory, e.g. ``runs/x/checkpoints/last``.
        model: a registered model with a ``config`` dataclass and ``model_type``.
        vocab: an object with ``to_dict()`` (and a class with ``from_dict``), or None.
        run_config: the run's resolved config (a dataclass or dict), stored as JSON.
        metrics: flat metrics to store with the checkpoint.
        optimizer, scheduler, trainer_state: what resuming needs (all optional);
            ``scheduler`` needs ``state_dict()`` returning JSON data; ``trainer_state`` is
            JSON data whose ``"step"`` and ``"epoch"`` are copied into config.json.
    Returns:
        The checkpoint directory.
    """
    final = Path(directory)
    model_type = getattr(model, "model_type", None)
    model_config = getattr(model, "config", None)
    if not isinstance(model_type, str):
        raise CheckpointError(f"{type(model).__name__} has no model_type; cannot checkpoint it")
    if not dataclasses.is_dataclass(model_config):
        raise CheckpointError(f"{type(model).__name__}.config must be a dataclass")
    vocab_dict = None
    if vocab is not None:
        if not callable(getattr(vocab, "to_dict", None)):
            raise CheckpointError(f"vocab of type {type(vocab).__name__} has no to_dict()")
        vocab_len = len(vocab) if hasattr(vocab, "__len__") else None
        _check_vocab_size(vocab_len, _vocab_size_of_model(model_config, model), "the vocabulary")
        vocab_dict = vocab.to_dict()
    tstate = to_plain(dict(trainer_state)) if trainer_state is not None else None
    config = {
        "format": FORMAT,
        "version": VERSION,
        "model_type": model_type,
        "model_module": type(model).__module__,
        "model_config": to_plain(model_config),
        "run_config": to_plain(run_config) if run_config is not None else None,
        "metrics": to_plain(dict(metrics or {})),
        "step": (tstate or {}).get("step"),
        "epoch": (tstate or {}).get("epoch"),
        "vocab_class": (
            f"{type(vocab).__module__}:{type(vocab).__qualname__}" if vocab is not None else None
        ),
    }
    tensors, aliases = dedupe_tensors(model.state_dict())

    final.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    tmp = final.parent / f".{final.name}.tmp-{token}"
    tmp.mkdir()
    try:
        write_tensors(tmp / MODEL_FILE, tensors, {"aliases": json.dumps(aliases)})
        write_json(tmp / CONFIG_FILE, config)
        if vocab_dict is not None:
            write_json(tmp / VOCAB_FILE, vocab_dict)
        if optimizer is not None or scheduler is not None or tstate is not None:
            opt_structure = None
            if optimizer is not None:
                opt_tensors, opt_structure = flatten_optimizer(optimizer)
                if opt_tensors:  # plain SGD keeps no state
                    write_tensors(tmp / OPTIMIZER_FILE, opt_tensors, None)
            write_json(
                tmp / TRAINER_STATE_FILE,
                {
                    "trainer": tstate,
                    "scheduler": to_plain(scheduler.state_dict())
                    if scheduler is not None
                    else None,
                    "optimizer": opt_structure,
                },
                indent=None,  # long RNG states: one line
            )
        files = sorted(p.name for p in tmp.iterdir() if not p.name.startswith("."))
        manifest = {
            "format": FORMAT + "-manifest",
            "files": {
                n: {"sha256": sha256_file(tmp / n), "size": (tmp / n).stat().st_size} for n in files
            },
        }
        write_json(tmp / MANIFEST_FILE, manifest)
        old = final.parent / f".{final.name}.old-{token}"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return final


# --------------------------------------------------------------------------- load
def _resolve_dir(path: str | Path) -> Path:
    path = Path(path)
    if path.is_file():  # e.g. .../best/model.safetensors
        path = path.parent
    if path.is_dir():
        return path
    olds = sorted(path.parent.glob(f".{path.name}.old-*")) if path.parent.is_dir() else []
    if olds:
        raise CheckpointNotFound(
            f"checkpoint directory not found: {path}; a save was interrupted while swapping "
            f"directories, the previous checkpoint is intact at {olds[-1]} (rename it to {path})"
        )
    raise CheckpointNotFound(f"checkpoint directory not found: {path}")


def verify_checkpoint(path: str | Path) -> dict[str, Any]:
    """Check every file against manifest.json; returns the manifest. Errors name the file."""
    root = _resolve_dir(path)
    manifest_path = root / MANIFEST_FILE
    if not manifest_path.is_file():
        raise CheckpointError(
            f"{manifest_path} is missing: {root} is not a complete rnnlab checkpoint "
            "(an interrupted save, or not a checkpoint directory)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = manifest["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{manifest_path} is corrupted ({exc})") from exc
    for name, entry in entries.items():
        file = root / name
        if not file.is_file():
            raise CheckpointError(f"{file} is missing (listed in {MANIFEST_FILE})")
        size = file.stat().st_size
        if size != entry["size"]:
            kind = "truncated" if size < entry["size"] else "longer than recorded"
            raise CheckpointError(
                f"{file} is {kind}: {size} bytes, {MANIFEST_FILE} records {entry['size']}"
            )
        if sha256_file(file) != entry["sha256"]:
            raise CheckpointError(
                f"{file} fails its SHA-256 check against {MANIFEST_FILE}: "
                "the file was modified or corrupted"
            )
    return manifest


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{file} is not readable JSON ({exc})") from exc


def _read_tensors(file: Path, map_location: str | torch.device) -> tuple[dict, dict]:
    try:
        tensors = load_file(str(file), device=str(map_location))
        with safe_open(str(file), framework="pt") as fh:
            metadata = fh.metadata() or {}
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointError(f"{file} is not a readable safetensors file ({exc})") from exc
    return tensors, metadata


def load_checkpoint(
    path: str | Path, *, map_location: str | torch.device = "cpu", verify: bool = True
) -> Checkpoint:
    """Read a checkpoint directory (verified against its manifest unless ``verify=False``)."""
    root = _resolve_dir(path)
    if verify:
        verify_checkpoint(root)
    config = _read_json(root / CONFIG_FILE) if (root / CONFIG_FILE).is_file() else None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{root / CONFIG_FILE} is missing or not an rnnlab checkpoint config")
    if config.get("version") != VERSION:
        raise CheckpointError(
            f"{root / CONFIG_FILE}: checkpoint format version {config.get('version')} "
            f"is not supported (this rnnlab reads version {VERSION})"
        )
    model_state, metadata = _read_tensors(root / MODEL_FILE, map_location)
    for alias, stored in json.loads(metadata.get("aliases", "{}")).items():
        model_state[alias] = model_state[stored]
    ckpt = Checkpoint(path=root, config=config, model_state=model_state)
    if (root / VOCAB_FILE).is_file():
        ckpt.vocab = _read_json(root / VOCAB_FILE)
    if (root / TRAINER_STATE_FILE).is_file():
        ts = _read_json(root / TRAINER_STATE_FILE)
        ckpt.trainer_state = ts.get("trainer")
        ckpt.scheduler_state = ts.get("scheduler")
        if ts.get("optimizer") is not None:
            opt_tensors = {}
            if (root / OPTIMIZER_FILE).is_file():
                opt_tensors, _ = _read_tensors(root / OPTIMIZER_FILE, map_location)
            ckpt.optimizer_state = unflatten_optimizer(ts["optimizer"], opt_tensors)
    return ckpt


def restore_model_state(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str | Path = "checkpoint"
) -> None:
    """``model.load_state_dict(state)`` with an error naming every missing, unexpected or
    mis-shaped tensor."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: model {tuple(own[k].shape)}, checkpoint {tuple(state[k].shape)}"
        for k in sorted(set(own) & set(state))
        if own[k].shape != state[k].shape
    ]

    def first(items: list[str], limit: int = 10) -> str:
        more = f", and {len(items) - limit} more" if len(items) > limit else ""
        return "[" + ", ".join(map(repr, items[:limit])) + more + "]"

    problems = []
    if missing:
        problems.append(f"missing keys {first(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {first(unexpected)}")
    if shapes:
        problems.append(
            "shape mismatch "
            + "; ".join(shapes[:10])
            + (f"; and {len(shapes) - 10} more" if len(shapes) > 10 else "")
        )
    if problems:
        raise CheckpointError(
            f"architecture mismatch between {type(model).__name__} and {source}: "
            + ", ".join(problems)
        )
    model.load_state_dict(dict(state), strict=True)


def _build_vocab(vocab_dict: dict, class_path: str | None, where: Path) -> Any:
    module_name, _, qualname = (class_path or DEFAULT_VOCAB_CLASS).partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise CheckpointError(
            f"{where}: vocabulary class {class_path!r} not found ({exc})"
        ) from exc
    if not callable(getattr(obj, "from_dict", None)):
        raise CheckpointError(f"{where}: vocabulary class {class_path!r} has no from_dict")
    return obj.from_dict(vocab_dict)


def load_model(
    path: str | Path, *, device: str | torch.device = "cpu", verify: bool = True
) -> tuple[torch.nn.Module, Any, dict[str, Any]]:
    """Rebuild the model saved at ``path``; returns ``(model in eval mode, vocab or None,
    config.json as a dict)``. The one loader behind ``evaluate``, ``generate``, ``inspect``."""
    from rnnlab.training.registry import UnknownModelType, build_model

    ckpt = load_checkpoint(path, map_location="cpu", verify=verify)
    cfg = ckpt.config
    config_file = ckpt.path / CONFIG_FILE
    try:
        model = build_model(cfg["model_type"], cfg["model_config"], cfg.get("model_module"))
    except UnknownModelType as exc:
        raise CheckpointError(f"{config_file}: {exc}") from exc
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{config_file}: cannot build the model ({exc})") from exc
    vocab = None
    if ckpt.vocab is not None:
        vocab = _build_vocab(ckpt.vocab, cfg.get("vocab_class"), ckpt.path / VOCAB_FILE)
        vocab_len = len(vocab) if hasattr(vocab, "__len__") else None
        _check_vocab_size(
            vocab_len, _vocab_size_of_model(cfg["model_config"], model), str(ckpt.path / VOCAB_FILE)
        )
    restore_model_state(model, ckpt.model_state, ckpt.path / MODEL_FILE)
    model.to(device)
    model.eval()
    return model, vocab, cfg
