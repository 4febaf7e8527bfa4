"""Weights to and from Keras's recurrent layers (``SimpleRNN``, ``LSTM``, ``GRU``,
``Bidirectional``), so a model from a Keras tutorial loads into rnnlab and back.

Keras keeps, per layer, ``get_weights() == [kernel, recurrent_kernel, bias]``:

    kernel            (D, G*H)   x_t @ kernel           (inputs on the left: the transpose
    recurrent_kernel  (H, G*H)   h_{t-1} @ rec_kernel    of torch's (G*H, D) weight_ih)
    bias              (G*H,)     one bias; GRU with reset_after=True: (2, G*H), the input
                                 bias and the recurrent bias

Gate order: LSTM (i, f, c, o), the same as torch's (i, f, g, o) with c = g. GRU (z, r, h),
torch's is (r, z, n). Keras's GRU blends ``h_t = z * h_{t-1} + (1 - z) * h~``, the same z
as torch's. With ``reset_after=True`` (Keras's default since 2.3, and cuDNN's) the reset
gate multiplies the recurrent projection, as in torch; with ``reset_after=False`` it
multiplies the state before the product (Cho et al. 2014), rnnlab's
``GRU(variant="original")``. A ``Bidirectional`` wrapper's ``get_weights()`` is the forward
layer's three arrays, then the backward layer's; its outputs are concatenated forward
first, the backward ones aligned in time, as torch's. Keras is batch-major: layers built
here default to ``batch_first=True``. With ``use_bias=False`` a layer has two arrays.

    layer = from_keras([keras_lstm.get_weights()], "lstm")       # rnnlab.nn.LSTM
    keras_lstm.set_weights(to_keras(layer)[0])

Only the default activations convert (tanh, and sigmoid for the gates; Keras 1's
``hard_sigmoid`` gives other numbers). Keras adds both biases of a torch layer into one.
Reference: the Keras source, ``keras/src/layers/rnn/{simple_rnn,lstm,gru}.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rnnlab.nn.convert._layout import (
    TORCH_ORDER,
    Unit,
    as_tensor,
    build_layer,
    cell_of,
    check_cell,
    nonlinearity_of,
    read_layer,
    reorder,
    to_numpy,
)

__all__ = ["from_keras", "to_keras"]

KERAS_ORDER = {"lstm": "ifgo", "gru": "zrn", "rnn": "h"}


def _unit_from_keras(cell, arrays, reset_after, where, dtype) -> Unit:
    if len(arrays) not in (2, 3):
        raise ValueError(
            f"{where}: expected [kernel, recurrent_kernel, bias] (or two arrays with "
            f"use_bias=False), got {len(arrays)} arrays"
        )
    src, dst = KERAS_ORDER[cell], TORCH_ORDER[cell]
    kernel = as_tensor(arrays[0], f"{where} kernel", 2, dtype)
    recurrent = as_tensor(arrays[1], f"{where} recurrent_kernel", 2, dtype)
    w_ih, w_hh = reorder(kernel.t(), src, dst), reorder(recurrent.t(), src, dst)
    if len(arrays) == 2:
        return Unit(w_ih, w_hh, None, None)
    two_biases = cell == "gru" and reset_after  # Keras's GRU(reset_after=True): (2, 3H)
    name = f"{where} bias" + (f" (GRU with reset_after={reset_after})" if cell == "gru" else "")
    bias = as_tensor(arrays[2], name, 2 if two_biases else 1, dtype)
    if bias.dim() == 2:
        if bias.shape[0] != 2:
            raise ValueError(
                f"{where}: expected a reset_after bias of shape (2, 3H), got {tuple(bias.shape)}"
            )
        return Unit(w_ih, w_hh, reorder(bias[0], src, dst), reorder(bias[1], src, dst))
    b_ih = reorder(bias, src, dst)
    return Unit(w_ih, w_hh, b_ih, torch.zeros_like(b_ih))


def from_keras(
    weights: Sequence[Sequence],
    cell: str,
    *,
    bidirectional: bool = False,
    reset_after: bool | None = None,
    nonlinearity: str = "tanh",
    batch_first: bool = True,
    dtype: torch.dtype = torch.float32,
    backend: str = "auto",
):
    """Build an rnnlab layer from stacked Keras layers' ``get_weights()``.

    Args:
        weights: one entry per stacked layer, bottom first: its ``get_weights()`` list
            (``[kernel, recurrent_kernel, bias]``; six arrays for a ``Bidirectional``).
            All layers must have the same number of units (else convert them one by one).
        cell: "lstm", "gru" or "rnn" (``SimpleRNN``).
        bidirectional: the layers are ``Bidirectional`` wrappers (merge_mode="concat").
        reset_after: GRU only; None reads it from the bias shape ((2, 3H) means True),
            and means True (Keras's default) for a GRU without bias.
        nonlinearity: ``SimpleRNN``'s activation, "tanh" or "relu".
        batch_first, dtype, backend: of the new layer.
    Returns:
        ``rnnlab.nn.LSTM`` / ``GRU`` (``variant="original"`` when reset_after is False) /
        ``RNN`` with ``num_layers = len(weights)``.
    """
    check_cell(cell)
    D = 2 if bidirectional else 1
    if cell == "gru" and reset_after is None:
        first = list(weights[0]) if weights else []
        bias = first[2] if len(first) == 3 * D else None  # the forward layer's
        reset_after = bias is None or np.asarray(bias).ndim == 2
    units = []
    for k, arrays in enumerate(weights):
        arrays = list(arrays)
        if len(arrays) % D or len(arrays) // D not in (2, 3):
            what = "six arrays (forward, then backward)" if D == 2 else "three arrays"
            raise ValueError(
                f"layer {k}: expected {what} from get_weights(), got {len(arrays)} arrays"
            )
        n = len(arrays) // D
        units.append(
            [
                _unit_from_keras(
                    cell,
                    arrays[d * n : (d + 1) * n],
                    reset_after,
                    f"layer {k}" + (" (backward)" if d else ""),
                    dtype,
                )  # fmt: skip
                for d in range(D)
            ]
        )
    variant = "torch" if cell != "gru" or reset_after else "original"
    return build_layer(
        cell, units, variant=variant, nonlinearity=nonlinearity, batch_first=batch_first,
        backend=backend,
    )  # fmt: skip


def to_keras(layer) -> list[list[np.ndarray]]:
    """The Keras ``get_weights()`` lists of an rnnlab (or torch.nn) layer, one per layer.

    Build the Keras side as ``LSTM(H, return_sequences=True)``, ``GRU(H, reset_after=...)``
    (True for rnnlab's ``variant="torch"``, False for ``"original"``) or ``SimpleRNN(H,
    activation=...)``, wrapped in ``Bidirectional`` if the layer is, then ``set_weights``.
    torch's two biases are added into Keras's one (except GRU with reset_after, which has
    both).
    """
    cell = cell_of(layer)
    variant = getattr(layer, "variant", "torch")
    src, dst = TORCH_ORDER[cell], KERAS_ORDER[cell]
    out = []
    for row in read_layer(layer):
        arrays = []
        for u in row:
            arrays += [to_numpy(reorder(u.w_ih, src, dst).t()),
                       to_numpy(reorder(u.w_hh, src, dst).t())]  # fmt: skip
            if u.b_ih is None:
                continue
            if cell == "gru" and variant == "torch":
                bias = torch.stack([reorder(u.b_ih, src, dst), reorder(u.b_hh, src, dst)])
            else:
                # (for the original GRU too: rnnlab adds b_hn outside the reset product)
                bias = reorder(u.b_ih + u.b_hh, src, dst)
            arrays.append(to_numpy(bias))
        out.append(arrays)
    if cell == "rnn" and nonlinearity_of(layer) not in ("tanh", "relu"):
        raise ValueError(f"unsupported nonlinearity {nonlinearity_of(layer)!r}")
    return out
