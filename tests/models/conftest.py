"""One torch thread for the model tests: on a busy machine a multi-threaded step can be
ten times slower than a single-threaded one."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
