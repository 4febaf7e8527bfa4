"""Fetching and checking the pinned dataset files (see ``rnnlab.text.datasets``).

``download_file`` streams a URL into a temporary file beside the destination while
hashing it, and renames it into place only if the SHA-256 matches; a failed or
interrupted download never leaves a partial file under the real name.
``verify_dataset`` re-hashes the files already present.
"""

from __future__ import annotations

import hashlib  # noqa: F401  (the download loop hashes while it writes)
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import NamedTuple

from rnnlab.files import sha256_file
from rnnlab.text.datasets import DataFile, data_root, get_dataset

CHUNK = 1 << 20


class ChecksumError(ValueError):
    """Downloaded or stored bytes do not have the pinned SHA-256."""


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (``rnnlab.files.sha256_file``)."""
    return sha256_file(Path(path))


def download_file(
    entry: DataFile, dest: str | os.PathLike, url: str | None = None, timeout: float = 60.0
) -> Path:
    """Download ``entry`` (from ``url``, default ``entry.url``) to ``dest``, SHA-256 checked."""
    dest = Path(dest)
    url = entry.url if url is None else url
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != entry.sha256:
            raise ChecksumError(
                f"{url}: expected SHA-256 {entry.sha256}, got {digest.hexdigest()}; "
                f"nothing was written to {dest}"
            )
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


class FileStatus(NamedTuple):
    """The state of one pinned file: ``ok``, ``missing``, ``wrong size`` or ``wrong sha256``."""

    key: str
    entry: DataFile
    path: Path
    status: str


def verify_dataset(name: str, data_dir: str | os.PathLike | None = None) -> list[FileStatus]:
    """Check every file of dataset ``name``: present, right size, right SHA-256."""
    dataset, root = get_dataset(name), data_root(data_dir)
    report = []
    for key, entry in dataset.files.items():
        path = entry.path(root)
        if not path.is_file():
            status = "missing"
        elif path.stat().st_size != entry.size:
            status = "wrong size"
        elif file_sha256(path) != entry.sha256:
            status = "wrong sha256"
        else:
            status = "ok"
        report.append(FileStatus(key, entry, path, status))
    return report
