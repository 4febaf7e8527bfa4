"""Shared fixtures. Real-data tests read the public datasets from ``../shared/data``
(beside the repository), or from ``$RNNLAB_SHARED_DATA``; they are never copied here.

Without a CUDA device, Triton's interpreter is switched on before anything imports triton,
so that the ``triton``-marked tests run the kernels on CPU tensors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("RNNLAB_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder holding ptb/, wikitext-2/, sst2/, ud-ewt/, translation/."""
    path = _shared_data_dir()
    if not (path / "MANIFEST.tsv").is_file():
        pytest.skip(f"real datasets not found at {path} (set RNNLAB_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


@pytest.fixture
def one_thread():
    """torch on one CPU thread for the test (restored afterwards): small models run faster
    and the other core stays free. Use with ``pytestmark = pytest.mark.usefixtures(...)``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
