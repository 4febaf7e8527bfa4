"""Files rnnlab writes and checks: atomic writes, JSON, SHA-256. The one place for them.

* ``write_atomic(path, write)``: write to a temporary name beside ``path``, fsync, rename;
  a reader never sees a half-written file, and a crash leaves the old file intact.
* ``write_json(path, data)``: JSON, atomically (configs, metrics, vocabularies,
  checkpoints); non-finite floats are written as the ``NaN`` / ``Infinity`` literals that
  Python's json reads back as floats.
* ``sha256_file(path)`` / ``sha256_bytes(data)``: hex SHA-256 (checkpoint manifests,
  dataset verification).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """``write(tmp)`` then fsync and ``os.replace(tmp, path)``; the parent is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def json_ready(value: Any) -> Any:
    """Numpy / torch scalars -> Python numbers, tuples -> lists, keys -> str (for JSON)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (ValueError, RuntimeError):  # a tensor with several elements
            return value
    return value


def write_json(path: str | Path, data: Any, indent: int | None = 2) -> Path:
    """JSON written atomically; NaN / inf stay floats (``NaN`` / ``Infinity`` literals)."""
    text = json.dumps(json_ready(data), indent=indent, allow_nan=True, ensure_ascii=False)
    return write_atomic(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_atomic`)."""
    return write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))
