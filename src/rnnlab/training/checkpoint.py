"""Saving checkpoints: safetensors for tensors, JSON for everything else, never pickle.

The layout is drawn in :mod:`rnnlab.training.checkpoint_format`; loading is in
:mod:`rnnlab.training.checkpoint_load`.

Writes are atomic at two levels. Each file is written under a temporary name and renamed
(``storage.write_atomic``). The whole checkpoint is written into a hidden sibling
directory, then swapped in::

    checkpoints/.last.tmp-3f2a/   written completely, manifest.json last
    checkpoints/last   -> checkpoints/.last.old-3f2a      (rename 1)
    checkpoints/.last.tmp-3f2a -> checkpoints/last        (rename 2)
    delete .last.old-3f2a and any stale .last.tmp-* / .last.old-* left by a killed process

So ``last`` is always a complete checkpoint, even under ``kill -9`` during a save: a kill
before rename 1 leaves the old ``last``; a kill between the renames leaves no ``last`` but
a complete ``.last.old-*`` and ``.last.tmp-*``, which :func:`recover_checkpoint` puts back
(the newer complete one wins).

    save_checkpoint("runs/x/checkpoints/best", model, task="lm",
                    vocabs={"tokens": vocab}, run_config=cfg, metrics={"valid_ppl": 120.3})
    loaded = load_model("runs/x/checkpoints/best")     # .model, .vocabs, .config
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from rnnlab.training.checkpoint_format import (
    CARRY_FILE,
    CONFIG_FILE,
    EXTRA_DIR,
    FORMAT,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MODEL_FILE,
    OPTIMIZER_FILE,
    TRAINER_STATE_FILE,
    VERSION,
    CheckpointError,
    check_vocab_name,
    vocab_file,
)
from rnnlab.training.registry import vocabulary_name
from rnnlab.training.storage import (
    dedupe_tensors,
    flatten_optimizer,
    flatten_tree,
    sha256_bytes,
    sha256_file,
    to_plain,
    write_atomic,
    write_json,
    write_tensors,
)


def expected_vocab_sizes(model_config: Any) -> dict[str, int] | None:
    """The sizes per vocabulary name that a model config declares (``vocab_sizes()``)."""
    method = getattr(model_config, "vocab_sizes", None)
    if not callable(method):
        return None
    return {str(k): int(v) for k, v in method().items()}


def check_vocabs(expected: Mapping[str, int] | None, vocabs: Mapping[str, Any], where: str):
    """Every vocabulary the model expects is present with the size it expects (a checkpoint
    with no vocabulary at all holds weights only, and is not checked)."""
    if not vocabs:
        return
    if expected is None:
        if vocabs:
            raise CheckpointError(
                f"{where}: the model config declares no vocab_sizes(), so the vocabularies "
                f"{sorted(vocabs)} cannot be checked against it"
            )
        return
    problems = []
    for name, size in expected.items():
        if name not in vocabs:
            problems.append(f"{name!r} is missing (the model expects {size} entries)")
        elif len(vocabs[name]) != size:
            problems.append(
                f"{name!r} has {len(vocabs[name])} entries but the model expects {size}"
            )
    if problems:
        raise CheckpointError(f"vocabulary mismatch in {where}: " + "; ".join(problems))


def vocab_fingerprint(vocab_dict: Mapping[str, Any]) -> str:
    """SHA-256 of a vocabulary's canonical JSON (its ids and tokens, its tokenizer)."""
    return sha256_bytes(json.dumps(vocab_dict, sort_keys=True, ensure_ascii=False).encode())


# --------------------------------------------------------------------------- save
def save_checkpoint(
    directory: str | Path,
    model: torch.nn.Module,
    *,
    task: str | None = None,
    vocabs: Mapping[str, Any] | None = None,
    run_config: Any = None,
    run_info: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    trainer_state: Mapping[str, Any] | None = None,
    carry: Any = None,
    extra_files: Mapping[str, str | Path] | None = None,
    epoch: int | None = None,
    global_step: int | None = None,
    vocab: Any = None,
) -> Path:
    """Write a checkpoint directory atomically (replacing any previous one at ``directory``).

    Args:
        directory: the checkpoint directory, e.g. ``runs/x/checkpoints/last``.
        model: a registered model with a ``config`` dataclass and ``model_type``.
        task: the task that trained it ("lm", "classify", ...); ``rnnlab evaluate`` uses it.
        vocabs: name -> vocabulary (``to_dict()``, a registered class); checked against
            ``model.config.vocab_sizes()``.
        run_config: the run's resolved config (a dataclass or dict), stored as JSON.
        run_info: facts about the run that are not config (absolute data directory, ...).
        metrics: flat metrics to store with the checkpoint.
        optimizer, scheduler, trainer_state, carry: what resuming needs (all optional);
            ``trainer_state`` is JSON data whose ``global_step`` and ``epoch`` are copied into
            config.json; ``carry`` is the model's carried state (a nest of tensors).
        extra_files: name -> path of artefacts to store under ``extra/`` (hashed too).
        epoch, global_step: recorded in config.json (default: from ``trainer_state``).
        vocab: shorthand for ``vocabs={"tokens": vocab}`` (a language model's vocabulary).
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
    vocabs = dict(vocabs or {})
    if vocab is not None:
        vocabs.setdefault("tokens", vocab)
    for name in vocabs:
        check_vocab_name(name)
    check_vocabs(expected_vocab_sizes(model_config), vocabs, f"the {type(model).__name__}")
    vocab_dicts, vocab_meta = {}, {}
    for name, vocab in vocabs.items():
        try:
            cls_name = vocabulary_name(vocab)
        except TypeError as exc:
            raise CheckpointError(f"vocabulary {name!r}: {exc}") from exc
        vocab_dicts[name] = vocab.to_dict()
        vocab_meta[name] = {
            "class": cls_name,
            "size": len(vocab),
            "sha256": vocab_fingerprint(vocab_dicts[name]),
        }
    extras = {str(k): Path(v) for k, v in (extra_files or {}).items()}
    for name, src in extras.items():
        if not name or "/" in name or name.startswith(".") or not src.is_file():
            raise CheckpointError(f"extra file {name!r} -> {src}: need a plain name and a file")
    tstate = to_plain(dict(trainer_state)) if trainer_state is not None else None
    config = {
        "format": FORMAT,
        "version": VERSION,
        "task": task,
        "model_type": model_type,
        "model_config": to_plain(model_config),
        "vocabs": vocab_meta,
        "run_config": to_plain(run_config) if run_config is not None else None,
        "run": to_plain(dict(run_info or {})),
        "metrics": to_plain(dict(metrics or {})),
        "global_step": global_step
        if global_step is not None
        else (tstate or {}).get("global_step"),
        "epoch": epoch if epoch is not None else (tstate or {}).get("epoch"),
        "extra_files": sorted(extras),
    }
    tensors, aliases = dedupe_tensors(model.state_dict())

    final.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    tmp = final.parent / f".{final.name}.tmp-{token}"
    old = final.parent / f".{final.name}.old-{token}"
    tmp.mkdir()
    try:
        write_tensors(tmp / MODEL_FILE, tensors, {"aliases": json.dumps(aliases)})
        write_json(tmp / CONFIG_FILE, config)
        for name, data in vocab_dicts.items():
            write_json(tmp / vocab_file(name), data, indent=1)
        for name, src in extras.items():
            (tmp / EXTRA_DIR).mkdir(exist_ok=True)
            write_atomic(tmp / EXTRA_DIR / name, lambda p, s=src: shutil.copyfile(s, p))
        if any(x is not None for x in (optimizer, scheduler, tstate)):
            opt_structure = None
            if optimizer is not None:
                opt_tensors, opt_structure = flatten_optimizer(optimizer)
                if opt_tensors:  # plain SGD keeps no state
                    write_tensors(tmp / OPTIMIZER_FILE, opt_tensors, None)
            carry_tensors, carry_structure = flatten_tree(carry, "carry")
            if carry_tensors:
                write_tensors(tmp / CARRY_FILE, carry_tensors, None)
            write_json(
                tmp / TRAINER_STATE_FILE,
                {
                    "trainer": tstate,
                    "scheduler": to_plain(scheduler.state_dict()) if scheduler else None,
                    "optimizer": opt_structure,
                    "carry": carry_structure,
                },
                indent=None,  # long RNG states: one line
            )
        names = sorted(p.name for p in tmp.iterdir() if p.is_file())
        names += [f"{EXTRA_DIR}/{n}" for n in sorted(extras)]
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": VERSION,
            "files": {
                n: {"sha256": sha256_file(tmp / n), "size": (tmp / n).stat().st_size} for n in names
            },
        }
        write_json(tmp / MANIFEST_FILE, manifest)
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not final.exists():
            os.replace(old, final)
        raise
    remove_stale(final)
    return final


# --------------------------------------------------------------------------- swap leftovers
def _leftovers(final: Path) -> list[Path]:
    if not final.parent.is_dir():
        return []
    return sorted(
        p
        for p in final.parent.iterdir()
        if p.is_dir() and p.name.startswith((f".{final.name}.tmp-", f".{final.name}.old-"))
    )


def remove_stale(final: str | Path) -> list[Path]:
    """Delete the ``.NAME.tmp-*`` / ``.NAME.old-*`` folders a killed save left beside
    ``final`` (only while ``final`` itself is complete); returns what was removed."""
    final = Path(final)
    if not (final / MANIFEST_FILE).is_file():
        return []
    removed = _leftovers(final)
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def _complete_step(path: Path) -> int | None:
    """The global step of a complete (verified) checkpoint folder, else None."""
    from rnnlab.training.checkpoint_load import verify_checkpoint

    try:
        verify_checkpoint(path)
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except (CheckpointError, OSError, ValueError):
        return None
    step = config.get("global_step", config.get("step"))
    return int(step) if isinstance(step, int) else -1


def recover_checkpoint(final: str | Path) -> str | None:
    """If a save was killed between its two renames (no ``final``, but complete copies
    beside it), move the newest complete copy into place. Returns a message saying what
    was done, or None when nothing needed doing."""
    final = Path(final)
    if final.exists():
        return None
    candidates = [(s, p) for p in _leftovers(final) if (s := _complete_step(p)) is not None]
    if not candidates:
        return None
    step, best = max(candidates, key=lambda c: c[0])
    os.replace(best, final)
    remove_stale(final)
    return (
        f"recovered {final} from {best.name} (a save was interrupted between its renames; "
        f"that copy is complete, step {step})"
    )


_LOADERS = ("load_model", "load_checkpoint", "verify_checkpoint", "restore_model_state")


def __getattr__(name: str) -> Any:  # loading lives in checkpoint_load; still importable here
    if name in _LOADERS:
        from rnnlab.training import checkpoint_load

        return getattr(checkpoint_load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
