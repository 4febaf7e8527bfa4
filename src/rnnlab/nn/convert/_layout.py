"""What the weight converters share: gate reordering and building / reading a layer.

Every foreign layout is, per layer and direction, an input matrix, a recurrent matrix
and biases with the gates stacked in some order. A *unit* here is one (layer,
direction) in torch.nn's layout: ``Unit(w_ih (G*H, D_in), w_hh (G*H, H), b_ih (G*H,),
b_hh (G*H,))``, gate order LSTM (i, f, g, o), GRU (r, z, n); biases None without bias.

Gate letters: LSTM i input, f forget, g candidate (Keras calls it c), o output; GRU r
reset, z update (torch's: z = 1 keeps the old state), n candidate (Keras: h).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from rnnlab.nn.recurrent import GRU, LSTM, RNN

TORCH_ORDER = {"lstm": "ifgo", "gru": "rzn", "rnn": "h"}
_GATES = {"lstm": 4, "gru": 3, "rnn": 1}


class Unit(NamedTuple):
    """One (layer, direction) in torch.nn's layout (see the module docstring)."""

    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None


def check_cell(cell: str) -> str:
    if cell not in _GATES:
        raise ValueError(f"cell must be one of {tuple(_GATES)}, got {cell!r}")
    return cell


def as_tensor(array, name: str, ndim: int, dtype: torch.dtype) -> Tensor:
    """A float tensor copy of ``array`` (NumPy, list or tensor) of rank ``ndim``."""
    t = torch.as_tensor(np.asarray(array), dtype=dtype).clone()
    if t.dim() != ndim:
        raise ValueError(f"expected {name} with {ndim} dimensions, got shape {tuple(t.shape)}")
    return t


def reorder(w: Tensor, source: str, target: str, negate: str = "") -> Tensor:
    """Permute the gate blocks of ``w`` (G*H, ...) or (G*H,), stacked along dim 0, from
    order ``source`` to ``target`` (same shape back); the blocks named in ``negate`` change
    sign (``sigmoid(-a) = 1 - sigmoid(a)`` turns a textbook update gate into torch's and back).

        >>> reorder(torch.tensor([1, 2, 3, 4]), "fgio", "ifgo").tolist()
        [3, 1, 2, 4]
    """
    if w.shape[0] % len(source):
        raise ValueError(
            f"expected a first dimension divisible by {len(source)} gates "
            f"({source}), got shape {tuple(w.shape)}"
        )
    blocks = dict(zip(source, w.chunk(len(source), dim=0)))
    return torch.cat([-blocks[g] if g in negate else blocks[g] for g in target], dim=0)


def build_layer(
    cell: str,
    units: Sequence[Sequence[Unit]],
    *,
    variant: str = "torch",
    nonlinearity: str = "tanh",
    batch_first: bool = True,
    backend: str = "auto",
) -> RNN | LSTM | GRU:
    """An rnnlab layer holding ``units[layer][direction]`` (all layers of one size H).

    Raises ValueError naming the layer whose shapes do not fit.
    """
    if not units or len({len(u) for u in units}) != 1 or len(units[0]) not in (1, 2):
        raise ValueError(
            "expected one or two directions in every layer, got "
            f"{[len(u) for u in units]} per layer"
        )
    first = units[0][0]
    G, D, L = _GATES[cell], len(units[0]), len(units)
    H, input_size = first.w_hh.shape[1], first.w_ih.shape[1]
    has_bias = first.b_ih is not None
    for k, layer_units in enumerate(units):
        for d, u in enumerate(layer_units):
            where = f"layer {k}" + (" (backward)" if d else "")
            d_in = input_size if k == 0 else D * H
            expected = {"input": (G * H, d_in), "recurrent": (G * H, H)}
            got = {"input": tuple(u.w_ih.shape), "recurrent": tuple(u.w_hh.shape)}
            for name in expected:
                if got[name] != expected[name]:
                    raise ValueError(
                        f"{where}: expected {name} weights for {G} gate(s) x {H} units from "
                        f"{d_in} inputs, i.e. {expected[name]} in torch layout, got {got[name]} "
                        "(layers of different sizes: convert them one layer at a time)"
                    )
            if (u.b_ih is not None) != has_bias:
                raise ValueError(f"{where}: expected every layer with or without bias alike")
    kw = dict(num_layers=L, bias=has_bias, batch_first=batch_first, bidirectional=D == 2)
    kw["backend"] = backend
    ref = first.w_ih
    if cell == "lstm":
        layer = LSTM(input_size, H, **kw, dtype=ref.dtype)
    elif cell == "gru":
        layer = GRU(input_size, H, **kw, variant=variant, dtype=ref.dtype)
    else:
        layer = RNN(input_size, H, nonlinearity=nonlinearity, **kw, dtype=ref.dtype)
    state = {}
    for k, layer_units in enumerate(units):
        for d, u in enumerate(layer_units):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            state["weight_ih" + sfx], state["weight_hh" + sfx] = u.w_ih, u.w_hh
            if has_bias:
                state["bias_ih" + sfx], state["bias_hh" + sfx] = u.b_ih, u.b_hh
    layer.load_state_dict(state)
    return layer


def read_layer(layer) -> list[list[Unit]]:
    """``units[layer][direction]`` of an rnnlab (or torch.nn) RNN / LSTM / GRU, detached
    copies. A projected LSTM (``proj_size``) has no counterpart in these layouts."""
    if getattr(layer, "proj_size", 0):
        raise ValueError("an LSTM with proj_size has no counterpart in this layout")
    D = 2 if layer.bidirectional else 1
    units = []
    for k in range(layer.num_layers):
        row = []
        for d in range(D):
            sfx = f"_l{k}" + ("_reverse" if d else "")

            def get(name, sfx=sfx):
                p = getattr(layer, name + sfx, None)
                return None if p is None else p.detach().clone()

            row.append(Unit(get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")))
        units.append(row)
    return units


def cell_of(layer) -> str:
    """ "lstm", "gru" or "rnn" for an rnnlab or torch.nn recurrent layer."""
    mode = getattr(layer, "mode", "")
    for cell, prefix in (("lstm", "LSTM"), ("gru", "GRU"), ("rnn", "RNN")):
        if mode.startswith(prefix):
            return cell
    raise TypeError(f"expected an RNN, LSTM or GRU layer, got {type(layer).__name__}")


def nonlinearity_of(layer) -> str:
    return getattr(layer, "nonlinearity", "tanh")


def to_numpy(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().numpy().copy()
