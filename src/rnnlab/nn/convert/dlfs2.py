"""Weights to and from the NumPy layers of "Deep Learning from Scratch 2" (Koki Saito,
O'Reilly Japan, 2018; code ``common/time_layers.py``): ``TimeRNN``, ``TimeLSTM``,
``TimeGRU`` and ``TimeBiLSTM``, so a model from the book's notebooks loads into rnnlab.

The book keeps ``params = [Wx, Wh, b]`` per layer, inputs on the left of the product:

    Wx  (D, G*H)    A = x @ Wx + h_prev @ Wh + b
    Wh  (H, G*H)
    b   (G*H,)      one bias (the GRU has none: params [Wx, Wh])

Gate order: LSTM (f, g, i, o) (``f = A[:, :H]; g = A[:, H:2H]; i = ...; o = ...``),
torch's is (i, f, g, o). GRU (z, r, h): the reset gate multiplies the state before the
product, ``h^ = tanh(x Wx_h + (r * h_prev) Wh_h)`` (Cho et al. 2014, rnnlab's
``GRU(variant="original")``) and the blend is ``h = (1 - z) h_prev + z h^``, so the book's
z is 1 - torch's: its block changes sign on the way (sigmoid(-a) = 1 - sigmoid(a)).
``TimeBiLSTM(Wx1, Wh1, b1, Wx2, Wh2, b2)`` runs the second LSTM on ``xs[:, ::-1]`` and
concatenates forward first, as torch does. The book's tensors are (N, T, D), batch first.

    layer = from_dlfs2([time_lstm.params], "lstm")                 # rnnlab.nn.LSTM
    Wx, Wh, b = to_dlfs2(layer)[0]
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

__all__ = ["from_dlfs2", "to_dlfs2"]

BOOK_ORDER = {"lstm": "fgio", "gru": "zrn", "rnn": "h"}
NEGATE = {"lstm": "", "gru": "z", "rnn": ""}  # the book's update gate is 1 - torch's
N_ARRAYS = {"lstm": 3, "gru": 2, "rnn": 3}


def from_dlfs2(
    params: Sequence[Sequence],
    cell: str,
    *,
    bidirectional: bool = False,
    batch_first: bool = True,
    dtype: torch.dtype = torch.float32,
    backend: str = "auto",
):
    """Build an rnnlab layer from the book's stacked layers.

    Args:
        params: one entry per stacked layer, bottom first: its ``params`` list,
            ``[Wx, Wh, b]`` (GRU: ``[Wx, Wh]``; ``TimeBiLSTM``: six arrays).
        cell: "lstm", "gru" or "rnn".
        bidirectional: the layers are ``TimeBiLSTM``.
        batch_first, dtype, backend: of the new layer.
    Returns:
        ``rnnlab.nn.LSTM``, ``GRU(variant="original", bias=False)`` or ``RNN`` (tanh).
    """
    check_cell(cell)
    D, n = (2 if bidirectional else 1), N_ARRAYS[cell]
    src, dst, neg = BOOK_ORDER[cell], TORCH_ORDER[cell], NEGATE[cell]
    names = ["Wx", "Wh", "b"][:n]
    units = []
    for k, arrays in enumerate(params):
        arrays = list(arrays)
        if len(arrays) != n * D:
            raise ValueError(
                f"layer {k}: expected {n * D} arrays ({', '.join(names * D)}) for "
                f"{'a bidirectional ' if D == 2 else ''}{cell}, got {len(arrays)}"
            )
        row = []
        for d in range(D):
            where = f"layer {k}" + (" (backward)" if d else "")
            Wx = as_tensor(arrays[d * n], f"{where} Wx", 2, dtype)
            Wh = as_tensor(arrays[d * n + 1], f"{where} Wh", 2, dtype)
            w_ih, w_hh = reorder(Wx.t(), src, dst, neg), reorder(Wh.t(), src, dst, neg)
            b_ih = b_hh = None
            if n == 3:
                b_ih = reorder(as_tensor(arrays[d * n + 2], f"{where} b", 1, dtype), src, dst)
                b_hh = torch.zeros_like(b_ih)
            row.append(Unit(w_ih, w_hh, b_ih, b_hh))
        units.append(row)
    variant = "original" if cell == "gru" else "torch"
    return build_layer(cell, units, variant=variant, batch_first=batch_first, backend=backend)


def to_dlfs2(layer) -> list[list[np.ndarray]]:
    """The book's ``params`` lists of an rnnlab (or torch.nn) layer, one per layer:
    ``[Wx, Wh, b]`` (GRU ``[Wx, Wh]``), forward then backward for a bidirectional layer.

    Raises ValueError where the book has no counterpart: a ReLU RNN, a GRU of torch's
    variant (the book's is Cho's original) or with nonzero biases (the book's has none).
    """
    cell = cell_of(layer)
    if cell == "rnn" and nonlinearity_of(layer) != "tanh":
        raise ValueError("the book's RNN is tanh only, got nonlinearity='relu'")
    if cell == "gru" and getattr(layer, "variant", "torch") != "original":
        raise ValueError(
            "the book's GRU resets the state before the product (Cho et al.): only "
            "rnnlab's GRU(variant='original') converts, got variant='torch'"
        )
    src, dst, neg = TORCH_ORDER[cell], BOOK_ORDER[cell], NEGATE[cell]
    out = []
    for k, row in enumerate(read_layer(layer)):
        arrays = []
        for u in row:
            arrays += [to_numpy(reorder(u.w_ih, src, dst, neg).t()),
                       to_numpy(reorder(u.w_hh, src, dst, neg).t())]  # fmt: skip
            if u.b_ih is None:
                continue
            bias = u.b_ih + u.b_hh
            if cell == "gru":
                if bool(bias.abs().max() > 0):
                    raise ValueError(
                        f"layer {k}: the book's GRU has no bias, got a nonzero one "
                        "(build the rnnlab GRU with bias=False)"
                    )
                continue
            arrays.append(to_numpy(reorder(bias, src, dst)))
        out.append(arrays)
    return out
