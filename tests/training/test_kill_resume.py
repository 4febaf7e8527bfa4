"""kill -9 at random moments, then resume: the finished run's weights are bit-identical to
an uninterrupted run, for an LSTM language model (carried state, dropout, Adam) and a
classifier of another shape (shuffled data, SGD momentum). Real subprocesses, real SIGKILL;
the harness is ``benchmarks/kill_resume.py`` (which runs many more trials)."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "kill_resume.py"


def _harness():
    spec = importlib.util.spec_from_file_location("kill_resume", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lm", "toy"])
def test_kill_9_at_random_moments_then_resume_is_bit_identical(kind, tmp_path):
    harness = _harness()
    duration = harness.reference(kind, tmp_path / "reference")
    ref = harness.final_weights(tmp_path / "reference")
    rng = random.Random(1)
    results = [harness.trial(kind, tmp_path / f"trial-{i}", ref, duration, rng) for i in range(2)]
    assert sum(r["kills"] for r in results) >= 2
    assert all(r["bit_identical"] for r in results), results
