"""choose_backend: the decision table of ``backend="auto"`` and its errors."""

from __future__ import annotations

import pytest

from rnnlab.nn.backend import choose_backend


@pytest.mark.parametrize(
    ("mode", "device", "training", "expected"),
    [
        ("LSTM", "cpu", True, "native"),
        ("LSTM", "cpu", False, "native"),
        ("GRU", "cpu", True, "scratch"),
        ("GRU", "cpu", False, "native"),
        ("RNN_TANH", "cpu", True, "scratch"),
        ("RNN_RELU", "cpu", False, "scratch"),
        ("LSTM", "cuda", True, "native"),
        ("GRU", "cuda", True, "native"),
        ("RNN_TANH", "cuda", False, "native"),
    ],
)
def test_auto_picks_the_faster_exact_path(mode, device, training, expected):
    backend, reason = choose_backend("auto", mode, device_type=device, training=training)
    assert backend == expected
    assert reason.startswith("auto:")


def test_explicit_requests_and_scratch_only():
    assert choose_backend("scratch", "LSTM", device_type="cpu", training=True)[0] == "scratch"
    assert choose_backend("native", "GRU", device_type="cpu", training=True)[0] == "native"
    backend, reason = choose_backend(
        "auto", "LSTM", device_type="cpu", training=True, scratch_only="weight_drop"
    )
    assert backend == "scratch" and "weight_drop" in reason
    with pytest.raises(ValueError, match="weight_drop"):
        choose_backend(
            "native", "LSTM", device_type="cpu", training=True, scratch_only="weight_drop"
        )
    with pytest.raises(ValueError, match="backend must be one of"):
        choose_backend("fast", "LSTM", device_type="cpu", training=True)
