"""Safe on-disk storage for checkpoints: atomic writes, SHA-256, and tensors that
safetensors accepts (no shared storage) plus optimizer state split into tensors + JSON.

Nothing here pickles: tensors go through ``safetensors.torch.save_file``, the rest is JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` then fsync and ``os.replace(tmp, path)``."""
    tmp = path.with_name(f".{path.name}.partial")
    write(tmp)
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: Path, data: Any, indent: int | None = 2) -> None:
    """JSON (NaN/inf allowed, as Python's json writes them) written atomically."""
    text = json.dumps(data, indent=indent, allow_nan=True)
    write_atomic(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def write_tensors(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None
) -> None:
    write_atomic(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def to_plain(value: Any) -> Any:
    """Dataclasses -> dicts, tuples -> lists, for JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        from rnnlab.training.config import to_dict

        return to_dict(value)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, str)) for v in value):
            return list(value)
        return [to_plain(v) for v in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return value


def dedupe_tensors(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict]:
    """CPU, contiguous tensors with no shared storage (safetensors refuses sharing).

    Identical views (tied weights) are stored once: returns (tensors, {alias: stored_name}).
    """
    out: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    storages: set[int] = set()
    for name, t in state.items():
        t = t.detach()
        key = (
            t.device,
            t.untyped_storage().data_ptr(),
            t.storage_offset(),
            tuple(t.shape),
            tuple(t.stride()),
            t.dtype,
        )
        if t.numel() > 0 and key in seen:
            aliases[name] = seen[key]
            continue
        ptr = (t.device, t.untyped_storage().data_ptr())
        shared = t.numel() > 0 and ptr in storages
        storages.add(ptr)
        seen[key] = name
        t = t.to("cpu")
        if shared or not t.is_contiguous() or t.untyped_storage().nbytes() != t.nbytes:
            t = t.contiguous().clone()
        out[name] = t
    return out, aliases


def flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split ``optimizer.state_dict()`` into tensors and a JSON structure."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    state: dict[str, dict[str, Any]] = {}
    for idx, entries in sd["state"].items():
        state[str(idx)] = {}
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                name = f"state.{idx}.{key}"
                tensors[name] = value.detach().to("cpu").contiguous().clone()
                state[str(idx)][key] = {"tensor": name}
            else:
                state[str(idx)][key] = to_plain(value)
    return tensors, {"state": state, "param_groups": to_plain(sd["param_groups"])}


def unflatten_optimizer(structure: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for idx, entries in structure["state"].items():
        state[int(idx)] = {
            key: tensors[value["tensor"]]
            if isinstance(value, dict) and "tensor" in value
            else value
            for key, value in entries.items()
        }
    return {"state": state, "param_groups": structure["param_groups"]}
