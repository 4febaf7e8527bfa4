"""Gate instruments: record gate activations and states per step, and measure saturation.

``record_gates(layer, x)`` replays any torch-layout recurrent layer (rnnlab's or
torch.nn's; see ``rnnlab.analysis.unroll``) on a batch and returns, for every
(layer, direction), the per-step tensors stacked over time:

    LSTM: i, f, g, o (gates), c (cell), h (output)      each (T, B, H)   (h: (T, B, P))
    GRU:  r, z, n (torch.nn's gates: h = (1 - z) * n + z * h_prev), h
    RNN:  h

``saturation(record)`` is the share of gate values near their limits, the classic
diagnosis of units that have stopped learning: for sigmoid gates (i, f, o, r, z) the
share below 0.1 and above 0.9; for the tanh candidates (g, n) the share below -0.9 and
above 0.9.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.analysis.unroll import GATE_NAMES, layer_spec, unroll

__all__ = [
    "record_gates",
    "record_lstm",
    "record_gru",
    "record_rnn",
    "saturation",
]

TANH_GATES = ("g", "n")


@torch.no_grad()
def record_gates(layer: torch.nn.Module, x: Tensor, hx=None) -> list[dict[str, Tensor]]:
    """Gate activations and states of every step, for each (layer, direction).

    Args:
        layer: rnnlab.nn or torch.nn RNN / LSTM / GRU.
        x: (T, B, D), or (B, T, D) if the layer is batch_first.
        hx: initial state as the layer takes it, or None for zeros.
    Returns:
        records[k] for k = layer * D + direction (the order of h_n): a dict mapping each of
        the mode's names (module docstring) to a (T, B, H) tensor, time-major, in the
        input's time order (also for the reverse direction).
    """
    steps = unroll(layer, x, hx)
    return [
        {name: torch.stack([s[name] for s in record]) for name in record[0]} for record in steps
    ]


def _record_family(layer, x, hx, family: str) -> list[dict[str, Tensor]]:
    found = layer_spec(layer).family
    if found != family:
        raise TypeError(f"expected an {family} layer, got {found} ({type(layer).__name__})")
    return record_gates(layer, x, hx)


def record_lstm(layer: torch.nn.Module, x: Tensor, hx=None) -> list[dict[str, Tensor]]:
    """``record_gates`` for an LSTM: per (layer, direction) i, f, g, o, c, h, each (T, B, H)."""
    return _record_family(layer, x, hx, "LSTM")


def record_gru(layer: torch.nn.Module, x: Tensor, hx=None) -> list[dict[str, Tensor]]:
    """``record_gates`` for a GRU: per (layer, direction) r, z, n, h, each (T, B, H)."""
    return _record_family(layer, x, hx, "GRU")


def record_rnn(layer: torch.nn.Module, x: Tensor, hx=None) -> list[dict[str, Tensor]]:
    """``record_gates`` for an Elman RNN: per (layer, direction) h, (T, B, H)."""
    return _record_family(layer, x, hx, "RNN")


def saturation(
    record: dict[str, Tensor], low: float = 0.1, high: float = 0.9
) -> dict[str, dict[str, float]]:
    """Share of saturated gate values in one (layer, direction) record.

    Args:
        record: one entry of ``record_gates``'s result.
        low, high: thresholds for sigmoid gates; tanh candidates use -high and high.
    Returns:
        {gate: {"low": share, "high": share, "saturated": low + high, "mean": mean value}}
        for each gate present (i, f, g, o or r, z, n); states (c, h) are left out.
    """
    out = {}
    for name in (*GATE_NAMES["LSTM"], *GATE_NAMES["GRU"]):
        if name not in record:
            continue
        v = record[name].detach().float()
        lo_thr = -high if name in TANH_GATES else low
        lo, hi = (v < lo_thr).float().mean().item(), (v > high).float().mean().item()
        out[name] = {"low": lo, "high": hi, "saturated": lo + hi, "mean": v.mean().item()}
    return out
