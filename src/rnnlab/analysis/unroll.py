"""Re-run any torch-layout recurrent layer step by step, keeping every gate and state.

The analysis instruments must look inside layers whose fast paths (torch's fused
kernels, rnnlab's hand-written BPTT) hide the per-step quantities. So they do not call
the layer: they read its parameters (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
..., ``*_reverse``: torch.nn's names, which rnnlab's layers share) and replay the
recurrence with the pure functions of ``rnnlab.nn.functional``. Tests check that the
replay reproduces the layer's own outputs, so what the instruments show is what runs.

Works on ``torch.nn.RNN/LSTM/GRU`` and ``rnnlab.nn.RNN/LSTM/GRU`` (any depth, either
direction, LSTM projections, the GRU's "original" variant). Variable lengths,
inter-layer dropout and weight drop are not replayed: the replay is the layer in eval
mode on full-length sequences.

    layer ─► layer_spec(layer)                        what kind of recurrence, what sizes
    x (T, B, D) ─► unroll(layer, x) ─► steps[k][t]    k = layer * D + direction (h_n's order),
                                                      t = original time index; each step a
                                                      dict of (B, H) tensors: h, c, i, f, g, o
                                                      (LSTM) or h, r, z, n (GRU) or h (RNN)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.nn import functional as RF

__all__ = ["LayerSpec", "layer_spec", "unroll", "GATE_NAMES"]

MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")

# Per-step quantities each mode records, gates first (torch.nn's order).
GATE_NAMES = {"LSTM": ("i", "f", "g", "o"), "GRU": ("r", "z", "n"), "RNN": ()}


@dataclass(frozen=True)
class LayerSpec:
    """What a recurrent layer computes, read from its attributes."""

    mode: str  # one of MODES
    num_layers: int
    num_directions: int
    hidden_size: int
    proj_size: int  # 0 when the LSTM has no projection
    batch_first: bool
    gru_variant: str  # "torch" or "original"

    @property
    def family(self) -> str:
        """ "LSTM", "GRU" or "RNN"."""
        return "RNN" if self.mode.startswith("RNN") else self.mode


def layer_spec(layer: torch.nn.Module) -> LayerSpec:
    """Read a layer's kind and sizes; fail early if it is not a torch-layout recurrent layer."""
    if not hasattr(layer, "weight_hh_l0"):
        raise TypeError(
            f"expected a recurrent layer with torch.nn parameter names (weight_hh_l0, ...), "
            f"got {type(layer).__name__}"
        )
    mode = getattr(layer, "mode", None)
    if mode not in MODES:
        name = type(layer).__name__.upper()
        if "LSTM" in name:
            mode = "LSTM"
        elif "GRU" in name:
            mode = "GRU"
        elif "RNN" in name:
            mode = "RNN_" + str(getattr(layer, "nonlinearity", "tanh")).upper()
        else:
            raise TypeError(f"cannot tell whether {type(layer).__name__} is an RNN, LSTM or GRU")
    return LayerSpec(
        mode=mode,
        num_layers=int(getattr(layer, "num_layers", 1)),
        num_directions=2 if getattr(layer, "bidirectional", False) else 1,
        hidden_size=int(layer.hidden_size),
        proj_size=int(getattr(layer, "proj_size", 0) or 0),
        batch_first=bool(getattr(layer, "batch_first", False)),
        gru_variant=str(getattr(layer, "variant", "torch")),
    )


def _params(layer: torch.nn.Module, k: int, suffix: str) -> dict[str, Tensor | None]:
    def get(name: str) -> Tensor | None:
        return getattr(layer, f"{name}_l{k}{suffix}", None)

    return {n: get(n) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")}


def _initial_state(spec: LayerSpec, hx, B: int, ref: Tensor) -> tuple[Tensor, Tensor | None]:
    """(h0 (L*D, B, P), c0 (L*D, B, H) or None), zeros where hx is None."""
    LD, H = spec.num_layers * spec.num_directions, spec.hidden_size
    P = spec.proj_size or H
    if spec.family == "LSTM":
        if hx is None:
            return ref.new_zeros(LD, B, P), ref.new_zeros(LD, B, H)
        return hx[0], hx[1]
    return (ref.new_zeros(LD, B, H) if hx is None else hx), None


def _step(spec: LayerSpec, p, xw_t: Tensor, h: Tensor, c: Tensor | None, cut_h: bool) -> dict:
    """One step from the input projection xw_t (B, G*H). Returns the step's tensors (B, H)."""
    h_in = h.detach() if cut_h else h  # cut_h: the state no longer feeds the gates
    if spec.family == "LSTM":
        h_t, c_t, (i, f, g, o) = RF.lstm_pointwise(
            xw_t + F.linear(h_in, p["weight_hh"], p["bias_hh"]), c
        )
        if p["weight_hr"] is not None:
            h_t = F.linear(h_t, p["weight_hr"])  # (B, H) -> (B, P)
        return {"h": h_t, "c": c_t, "i": i, "f": f, "g": g, "o": o}
    if spec.family == "GRU":
        H = spec.hidden_size
        x_r, x_z, x_n = xw_t.chunk(3, dim=1)  # 3 x (B, H)
        w_hh, b_hh = p["weight_hh"], p["bias_hh"]
        if spec.gru_variant == "original":
            b_rz, b_n = (None, None) if b_hh is None else (b_hh[: 2 * H], b_hh[2 * H :])
            h_r, h_z = F.linear(h_in, w_hh[: 2 * H], b_rz).chunk(2, dim=1)
            r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + F.linear(r * h_in, w_hh[2 * H :], b_n))
        else:
            h_r, h_z, h_n = F.linear(h_in, w_hh, b_hh).chunk(3, dim=1)
            r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
        return {"h": (1 - z) * n + z * h, "r": r, "z": z, "n": n}
    nonlinearity = "relu" if spec.mode == "RNN_RELU" else "tanh"
    return {"h": RF.rnn_recurrent_step(xw_t, h_in, p["weight_hh"], p["bias_hh"], nonlinearity)}


def unroll(
    layer: torch.nn.Module,
    x: Tensor,
    hx=None,
    *,
    cut_h_to_gates: bool = False,
    state_hook=None,
) -> list[list[dict[str, Tensor]]]:
    """Replay ``layer`` on ``x`` one step at a time with ``rnnlab.nn.functional``.

    Args:
        layer: a torch-layout recurrent layer (see ``layer_spec``).
        x: (T, B, D), or (B, T, D) if the layer is batch_first.
        hx: the layer's initial state as its forward takes it ((h0, c0) for LSTMs,
            each (L*D, B, ·)), or None for zeros.
        cut_h_to_gates: detach h_{t-1} where it enters the gates (and, for RNNs, the
            recurrence), so that gradients flow only along the LSTM's cell path
            c_t = f_t * c_{t-1} + i_t * g_t (the GRU's z * h_{t-1} path).
        state_hook: optional callable(k, t, step_dict) -> step_dict, called on each step
            before its state is carried on (e.g. to make h_t a leaf that requires grad).
    Returns:
        steps[k][t]: for k = layer * D + direction and t in original time order, a dict of
        (B, H) tensors (see the module docstring). Layer l > 0 reads the concatenated
        outputs of layer l - 1 at the same t, as torch.nn does.
    """
    spec = layer_spec(layer)
    if x.dim() != 3:
        raise ValueError(f"expected input of shape (T, B, D), got {tuple(x.shape)}")
    if spec.batch_first:
        x = x.transpose(0, 1)  # (B, T, D) -> (T, B, D)
    T, B, _ = x.shape
    h0, c0 = _initial_state(spec, hx, B, x)
    steps: list[list[dict[str, Tensor]]] = []
    layer_input = x  # (T, B, D) for layer 0, (T, B, D*P) above
    for layer_idx in range(spec.num_layers):
        outputs = []
        for d in range(spec.num_directions):
            k = layer_idx * spec.num_directions + d
            p = _params(layer, layer_idx, "_reverse" if d == 1 else "")
            xw = F.linear(layer_input, p["weight_ih"], p["bias_ih"])  # (T, B, G*H)
            h, c = h0[k], (None if c0 is None else c0[k])
            record: list[dict[str, Tensor] | None] = [None] * T
            for t in range(T - 1, -1, -1) if d == 1 else range(T):
                step = _step(spec, p, xw[t], h, c, cut_h_to_gates)
                if state_hook is not None:
                    step = state_hook(k, t, step)
                h, c = step["h"], step.get("c")
                record[t] = step
            steps.append(record)  # type: ignore[arg-type]
            outputs.append(torch.stack([s["h"] for s in record]))  # (T, B, P)
        layer_input = torch.cat(outputs, dim=2)  # (T, B, D*P)
    return steps
