"""Loading checkpoints: verify every file read, build only registered classes.

Loading never runs code from the file: the model class and each vocabulary class are
looked up by name in :mod:`rnnlab.training.registry` (nothing is imported), tensors come
from safetensors, everything else from JSON. Every file the loader reads must be listed
in ``manifest.json`` and match its size and SHA-256; errors name the file and the problem.

    loaded = load_model("runs/x/checkpoints/best")     # for evaluate / generate / inspect
    loaded.model, loaded.vocabs["tokens"], loaded.config["task"]
    ckpt = load_checkpoint("runs/x/checkpoints/last", resume=True)   # + trainer state
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from rnnlab.training.checkpoint import _leftovers, check_vocabs, vocab_fingerprint
from rnnlab.training.checkpoint_format import (
    CARRY_FILE,
    CONFIG_FILE,
    EXTRA_DIR,
    FORMAT,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MODEL_FILE,
    OPTIMIZER_FILE,
    READABLE_VERSIONS,
    TRAINER_STATE_FILE,
    V1_VOCAB_FILE,
    V1_VOCAB_NAME,
    Checkpoint,
    CheckpointError,
    CheckpointNotFound,
    LoadedModel,
    check_vocab_name,
    vocab_file,
)
from rnnlab.training.registry import (
    UnknownModelType,
    build_model,
    config_class_of,
    get_model_class,
    get_vocabulary_class,
)
from rnnlab.training.storage import sha256_file, unflatten_optimizer, unflatten_tree

_MAX_JSON_BYTES = 512 << 20  # no config, vocabulary or trainer state is anywhere near this


def _resolve_dir(path: str | Path) -> Path:
    path = Path(path)
    if path.is_file():  # e.g. .../best/model.safetensors
        path = path.parent
    if path.is_dir():
        return path
    leftovers = _leftovers(path)
    if leftovers:
        raise CheckpointNotFound(
            f"checkpoint directory not found: {path}; a save was interrupted while swapping "
            f"directories and left {', '.join(p.name for p in leftovers)} beside it "
            f"(`rnnlab train ... --resume` recovers the newest complete one; or rename it to "
            f"{path.name})"
        )
    raise CheckpointNotFound(f"checkpoint directory not found: {path}")


def _read_json(file: Path) -> Any:
    try:
        size = file.stat().st_size
        if size > _MAX_JSON_BYTES:
            raise CheckpointError(f"{file} is {size} bytes, too large for a checkpoint file")
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{file} is not readable JSON ({exc})") from exc


def _manifest(root: Path) -> dict[str, dict[str, Any]]:
    file = root / MANIFEST_FILE
    if not file.is_file():
        raise CheckpointError(
            f"{file} is missing: {root} is not a complete rnnlab checkpoint "
            "(an interrupted save, or not a checkpoint directory)"
        )
    manifest = _read_json(file)
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise CheckpointError(f"{file} is not an rnnlab checkpoint manifest")
    version = manifest.get("version", 1)  # format 1 wrote no version
    if version not in READABLE_VERSIONS:
        raise CheckpointError(f"{file}: manifest version {version!r} is not supported")
    entries = manifest.get("files")
    if not isinstance(entries, dict) or not all(
        isinstance(e, dict) and isinstance(e.get("sha256"), str) and isinstance(e.get("size"), int)
        for e in entries.values()
    ):
        raise CheckpointError(
            f'{file} is corrupted: expected {{"files": {{name: {{"sha256", "size"}}}}}}'
        )
    return _Entries(entries, version)


class _Entries(dict):
    """The manifest's file entries, and the format version it declares."""

    def __init__(self, entries: dict, version: int) -> None:
        super().__init__(entries)
        self.version = version


def verify_checkpoint(path: str | Path, files: list[str] | None = None) -> dict[str, Any]:
    """Check files against manifest.json (``files``: these, each of which must be listed;
    None: every listed file). Returns the manifest's entries. Errors name the file."""
    root = _resolve_dir(path)
    entries = _manifest(root)
    names = list(entries) if files is None else files
    for name in names:
        file = root / name
        if name not in entries:
            raise CheckpointError(
                f"{file} is not listed in {root / MANIFEST_FILE}: the manifest must list every "
                "file the loader reads (an edited or foreign manifest)"
            )
        entry = entries[name]
        if ".." in Path(name).parts or Path(name).is_absolute() or not file.is_file():
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
    return entries


def _read_tensors(file: Path, map_location: str | torch.device) -> tuple[dict, dict]:
    try:
        tensors = load_file(str(file), device=str(map_location))
        with safe_open(str(file), framework="pt") as fh:
            metadata = fh.metadata() or {}
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointError(f"{file} is not a readable safetensors file ({exc})") from exc
    return tensors, metadata


def _check_config(root: Path, config: Any) -> dict[str, Any]:
    file = root / CONFIG_FILE
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{file} is not an rnnlab checkpoint config")
    if config.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{file}: checkpoint format version {config.get('version')!r} is not supported "
            f"(this rnnlab reads versions {', '.join(map(str, READABLE_VERSIONS))})"
        )
    if config["version"] == 1:  # one vocab.json, no task: always a language model
        config = dict(config)
        config.pop("model_module", None)  # named a module to import; never used
        config["task"] = "lm"
        config["vocabs"] = {}
        if (root / V1_VOCAB_FILE).is_file():
            class_path = config.pop("vocab_class", None) or "rnnlab.text.vocab:Vocabulary"
            config["vocabs"] = {V1_VOCAB_NAME: {"class": class_path.rpartition(":")[2]}}
        config["global_step"] = config.get("step")
    for key, kind in (("model_type", str), ("model_config", dict), ("vocabs", dict)):
        if not isinstance(config.get(key), kind):
            raise CheckpointError(f"{file}: {key!r} is missing or not a {kind.__name__}")
    for name, meta in config["vocabs"].items():
        check_vocab_name(name)
        if not isinstance(meta, dict) or not isinstance(meta.get("class"), str):
            raise CheckpointError(f"{file}: vocabs[{name!r}] needs a 'class'")
    extras = config.get("extra_files") or []
    if not isinstance(extras, list) or not all(
        isinstance(n, str) and n and "/" not in n and not n.startswith(".") for n in extras
    ):
        raise CheckpointError(f"{file}: 'extra_files' must be a list of plain file names")
    return config


def _vocab_files(config: dict[str, Any]) -> dict[str, str]:
    if config["version"] == 1:
        return {name: V1_VOCAB_FILE for name in config["vocabs"]}
    return {name: vocab_file(name) for name in config["vocabs"]}


def load_checkpoint(
    path: str | Path,
    *,
    map_location: str | torch.device = "cpu",
    verify: bool = True,
    resume: bool = False,
    weights: bool = True,
) -> Checkpoint:
    """Read a checkpoint directory; with ``resume`` also the trainer, optimizer and carried
    state (which evaluation does not need, so a damaged optimizer file does not stop it);
    ``weights=False`` reads only config.json and the vocabularies (``model_state`` empty)."""
    root = _resolve_dir(path)
    entries = _manifest(root) if verify else {}
    config_file = root / CONFIG_FILE
    if verify:
        verify_checkpoint(root, [CONFIG_FILE])
    config = _check_config(root, _read_json(config_file) if config_file.is_file() else None)
    if verify and entries.version != config["version"]:
        raise CheckpointError(
            f"{root / MANIFEST_FILE} declares format {entries.version} but {config_file} "
            f"format {config['version']}: the files do not belong together"
        )
    needed = [MODEL_FILE] if weights else []
    needed += list(_vocab_files(config).values())
    needed += [f"{EXTRA_DIR}/{n}" for n in config.get("extra_files") or []]
    if resume:
        if config["version"] == 1:
            raise CheckpointError(
                f"{root} was written by rnnlab's checkpoint format 1; it can be evaluated, "
                "sampled and inspected, but not resumed (start a new run)"
            )
        if TRAINER_STATE_FILE not in entries and verify:
            raise CheckpointError(
                f"{root} has no trainer state ({TRAINER_STATE_FILE}); it cannot be resumed "
                "(resume from checkpoints/last)"
            )
        needed += [n for n in (TRAINER_STATE_FILE, OPTIMIZER_FILE, CARRY_FILE) if n in entries]
    if verify:
        verify_checkpoint(root, needed)
    model_state, metadata = _read_tensors(root / MODEL_FILE, map_location) if weights else ({}, {})
    try:
        aliases = json.loads(metadata.get("aliases", "{}"))
        for alias, stored in aliases.items():
            model_state[alias] = model_state[stored]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{root / MODEL_FILE}: malformed alias metadata ({exc})") from exc
    ckpt = Checkpoint(path=root, config=config, model_state=model_state)
    for name, file in _vocab_files(config).items():
        ckpt.vocabs[name] = _read_json(root / file)
    ckpt.extra_files = {n: root / EXTRA_DIR / n for n in config.get("extra_files") or []}
    if resume:
        _read_resume_state(ckpt, entries, map_location)
    return ckpt


def _read_resume_state(ckpt: Checkpoint, entries: Mapping, map_location: Any) -> None:
    root = ckpt.path
    file = root / TRAINER_STATE_FILE
    ts = _read_json(file)
    if not isinstance(ts, dict) or not isinstance(ts.get("trainer"), dict):
        raise CheckpointError(f'{file}: expected {{"trainer": {{...}}, ...}}')
    ckpt.trainer_state = ts["trainer"]
    ckpt.scheduler_state = ts.get("scheduler")
    try:
        if ts.get("optimizer") is not None:
            opt_tensors = {}
            if OPTIMIZER_FILE in entries or (root / OPTIMIZER_FILE).is_file():
                opt_tensors, _ = _read_tensors(root / OPTIMIZER_FILE, map_location)
            ckpt.optimizer_state = unflatten_optimizer(ts["optimizer"], opt_tensors)
        carry_tensors = {}
        if CARRY_FILE in entries or (root / CARRY_FILE).is_file():
            carry_tensors, _ = _read_tensors(root / CARRY_FILE, map_location)
        ckpt.carry = unflatten_tree(ts.get("carry"), carry_tensors)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise CheckpointError(
            f"{file}: the optimizer or carried state does not fit ({exc})"
        ) from exc


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
    dtypes = [
        f"{k}: model {own[k].dtype}, checkpoint {state[k].dtype}"
        for k in sorted(set(own) & set(state))
        if own[k].dtype.is_floating_point != state[k].dtype.is_floating_point
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
        problems.append("shape mismatch " + "; ".join(shapes[:10]))
    if dtypes:
        problems.append("dtype mismatch " + "; ".join(dtypes[:10]))
    if problems:
        raise CheckpointError(
            f"architecture mismatch between {type(model).__name__} and {source}: "
            + ", ".join(problems)
        )
    model.load_state_dict(dict(state), strict=True)


def check_finite_weights(state: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """CheckpointError naming the tensors that hold NaN or inf."""
    bad = []
    for name, t in state.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad.append(f"{name} ({int((~torch.isfinite(t)).sum())} of {t.numel()} values)")
    if bad:
        raise CheckpointError(
            f"{source}: the weights are not finite in {', '.join(bad[:5])}"
            + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            + " (a diverged run was saved; use an earlier checkpoint)"
        )


def build_vocabs(ckpt: Checkpoint) -> dict[str, Any]:
    """The checkpoint's vocabularies as objects, each checked against config.json."""
    vocabs = {}
    files = _vocab_files(ckpt.config)
    for name, meta in ckpt.config["vocabs"].items():
        where = ckpt.path / files[name]
        try:
            cls = get_vocabulary_class(meta["class"])
            vocab = cls.from_dict(ckpt.vocabs[name])
        except UnknownModelType as exc:
            raise CheckpointError(f"{ckpt.path / CONFIG_FILE}: {exc}") from exc
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CheckpointError(f"{where}: not a valid vocabulary ({exc})") from exc
        if "size" in meta and meta["size"] != len(vocab):
            raise CheckpointError(
                f"{where} has {len(vocab)} entries but {CONFIG_FILE} records {meta['size']}"
            )
        if "sha256" in meta and meta["sha256"] != vocab_fingerprint(ckpt.vocabs[name]):
            raise CheckpointError(
                f"{where} does not match the vocabulary {CONFIG_FILE} records (its "
                "fingerprint differs): the vocabulary was edited or swapped"
            )
        vocabs[name] = vocab
    return vocabs


def model_from_checkpoint(ckpt: Checkpoint) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Build the registered model and the vocabularies of a loaded checkpoint, restore the
    weights (checked finite) and check every vocabulary size the model config declares."""
    from rnnlab.training.checkpoint import expected_vocab_sizes
    from rnnlab.training.config import ConfigError, from_dict

    cfg = ckpt.config
    config_file = ckpt.path / CONFIG_FILE
    try:
        cls = get_model_class(cfg["model_type"])
        model_config = from_dict(config_class_of(cls), cfg["model_config"])
    except (UnknownModelType, ConfigError) as exc:
        raise CheckpointError(f"{config_file}: {exc}") from exc
    vocabs = build_vocabs(ckpt)
    expected = expected_vocab_sizes(model_config)
    if expected is not None and cfg["version"] == 1:
        expected = {k: v for k, v in expected.items() if k == V1_VOCAB_NAME}
    check_vocabs(expected, vocabs, str(ckpt.path))
    try:
        model = build_model(cfg["model_type"], cfg["model_config"])
    except (TypeError, ValueError, KeyError, RuntimeError, MemoryError) as exc:
        raise CheckpointError(f"{config_file}: cannot build the model ({exc})") from exc
    check_finite_weights(ckpt.model_state, ckpt.path / MODEL_FILE)
    restore_model_state(model, ckpt.model_state, ckpt.path / MODEL_FILE)
    return model, vocabs


def load_model(
    path: str | Path, *, device: str | torch.device = "cpu", verify: bool = True
) -> LoadedModel:
    """Rebuild the model saved at ``path`` (eval mode, on ``device``) with its vocabularies.
    The one loader behind ``evaluate``, ``generate``, ``inspect``, ``predict``, ``export``."""
    ckpt = load_checkpoint(path, map_location="cpu", verify=verify)
    model, vocabs = model_from_checkpoint(ckpt)
    model.to(device)
    model.eval()
    return LoadedModel(model, vocabs, ckpt.config, ckpt.path, ckpt.extra_files)
