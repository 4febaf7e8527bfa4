"""Seeds, deterministic mode, and random-number-generator states as JSON (for resuming).

seed_everything(0)                   # python, numpy, torch (CPU and CUDA)
with deterministic_mode(True): ...   # torch.use_deterministic_algorithms, restored after
state = get_rng_state()              # JSON-ready dict; set_rng_state(state) restores it
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic_mode(enabled: bool = True) -> Iterator[None]:
    """Run the block with ``torch.use_deterministic_algorithms(enabled)`` (and cuDNN's
    deterministic flags); the previous settings are restored on exit."""
    prev_alg = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    prev_env = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_alg, warn_only=prev_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev_cudnn
        if prev_env is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)


def get_rng_state() -> dict[str, Any]:
    """Every global generator's state as JSON data (byte tensors become lists of ints)."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [list(s) if isinstance(s, tuple) else s for s in random.getstate()],
        "numpy": [np_state[0], np_state[1].tolist(), *[_py(x) for x in np_state[2:]]],
        "torch": _hex(torch.get_rng_state()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [_hex(s) for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generators saved by :func:`get_rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(_unhex(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_unhex(s) for s in state["cuda"]])


def _hex(t: torch.Tensor) -> str:
    """A uint8 state tensor as a hex string (compact in JSON)."""
    return t.numpy().tobytes().hex()


def _unhex(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray.fromhex(s), dtype=torch.uint8).clone()


def _py(x: Any) -> Any:
    return x.item() if hasattr(x, "item") else x
