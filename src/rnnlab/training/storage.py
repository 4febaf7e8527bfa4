"""Safe on-disk storage: atomic writes, SHA-256, and tensors that safetensors accepts.

Atomic files and hashes are :mod:`rnnlab.files` (re-exported here); on top of them:

* ``dedupe_tensors``: state dicts without shared storage (tied weights stored once).
* ``flatten_optimizer`` / ``unflatten_optimizer``: optimizer state as tensors + JSON.
* ``flatten_tree`` / ``unflatten_tree``: any nest of tuples, lists and dicts of tensors
  (a model's carried recurrent state) as tensors + a JSON structure.

Nothing here pickles: tensors go through ``safetensors.torch.save_file``, the rest is JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from rnnlab.files import json_ready, sha256_bytes, sha256_file, write_atomic, write_json

__all__ = [
    "dedupe_tensors",
    "flatten_optimizer",
    "flatten_tree",
    "json_ready",
    "sha256_bytes",
    "sha256_file",
    "to_plain",
    "unflatten_optimizer",
    "unflatten_tree",
    "write_atomic",
    "write_json",
    "write_tensors",
]


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


def flatten_tree(tree: Any, prefix: str = "t") -> tuple[dict[str, torch.Tensor], Any]:
    """Split a nest of tensors (None, Tensor, tuple, list, dict) into tensors + structure.

    >>> tensors, structure = flatten_tree((torch.zeros(2), None))
    >>> structure
    {'tuple': [{'tensor': 't.0'}, None]}
    """
    tensors: dict[str, torch.Tensor] = {}

    def walk(node: Any, key: str) -> Any:
        if node is None:
            return None
        if isinstance(node, torch.Tensor):
            tensors[key] = node.detach().to("cpu").contiguous().clone()
            return {"tensor": key}
        if isinstance(node, (tuple, list)):
            kind = "tuple" if isinstance(node, tuple) else "list"
            return {kind: [walk(v, f"{key}.{i}") for i, v in enumerate(node)]}
        if isinstance(node, Mapping):
            return {"dict": {str(k): walk(v, f"{key}.{k}") for k, v in node.items()}}
        raise TypeError(f"cannot store a {type(node).__name__} in a tensor tree")

    return tensors, walk(tree, prefix)


def unflatten_tree(structure: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of ``flatten_tree``; KeyError / ValueError name what does not fit."""
    if structure is None:
        return None
    if not isinstance(structure, dict) or len(structure) != 1:
        raise ValueError(f"not a tensor-tree node: {structure!r}"[:200])
    ((kind, value),) = structure.items()
    if kind == "tensor":
        if value not in tensors:
            raise KeyError(f"tensor {value!r} is missing")
        return tensors[value]
    if kind in ("tuple", "list") and isinstance(value, list):
        items = [unflatten_tree(v, tensors) for v in value]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(value, dict):
        return {k: unflatten_tree(v, tensors) for k, v in value.items()}
    raise ValueError(f"not a tensor-tree node: {structure!r}"[:200])
