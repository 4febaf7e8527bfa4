"""The two execution paths of a recurrent layer (``rnnlab.nn.recurrent``).

Both take the same arguments and compute the same function:

* ``run_scratch``: rnnlab's own loop. Per layer and direction, the input projection
  for all T steps is one matrix product, then ``layer._scan`` (``rnnlab.nn.scan``)
  runs the recurrence. The reverse direction reads each sequence backwards within
  its own length (``lengths.reverse_time``); padding is a (T, B) mask.
* ``run_native``: torch's fused kernels (``torch._VF.lstm`` / ``gru`` / ``rnn_tanh`` /
  ``rnn_relu``), called as ``torch.nn.RNNBase.forward`` calls them, with the flat
  weight list in torch's order; with lengths, through a PackedSequence.

Arguments of both:
    layer: the RNN / LSTM / GRU module (its configuration is read from it).
    x: (T, B, D) time-major input.
    states: initial states, [h (L*D, B, H)] or for LSTM [h (L*D, B, P), c (L*D, B, H)].
    lengths: (B,) CPU int64 in 1..T, or None.
    weights: per (layer, direction) [w_ih, w_hh, b_ih, b_hh, w_hr], None where absent.
Returns:
    (output (T, B, D*P), zero at padded steps; final states, shaped like ``states``).

Under ``torch.autocast`` both cast the input and the states to the autocast dtype and
return outputs and states in it (``rnnlab.nn.autocast``).
"""

from __future__ import annotations

import contextlib
import warnings

import torch
import torch.nn.functional as F
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence

from rnnlab.nn.autocast import autocast_dtype
from rnnlab.nn.lengths import (
    length_mask,
    packed_to_padded,
    padded_to_packed,
    reverse_index,
    reverse_time,
)

__all__ = ["run_native", "run_scratch"]

_NATIVE = {"RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu, "LSTM": _VF.lstm, "GRU": _VF.gru}


@contextlib.contextmanager
def _weights_copied_quietly(layer, x: Tensor):
    """With DropConnect on CUDA, W_hh is a fresh tensor at every call, so cuDNN must copy
    the weights into one buffer (as with AWD-LSTM's WeightDrop): silence its warning."""
    if not (x.is_cuda and layer.weight_drop > 0 and layer.training):
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="RNN module weights are not part of single")
        yield


def run_native(layer, x: Tensor, states: list[Tensor], lengths: Tensor | None, weights):
    """torch's fused kernel over all layers and directions at once."""
    dtype = autocast_dtype(x.device.type)
    if dtype is not None:  # torch's kernels cast their weights under autocast themselves
        x, states = x.to(dtype), [s.to(dtype) for s in states]
    flat = [w for group in weights for w in group if w is not None]
    fn = _NATIVE[layer.mode]
    lstm = layer.mode == "LSTM"
    args = (flat, layer.bias, layer.num_layers, layer.dropout, layer.training, layer.bidirectional)
    if lengths is None:
        with _weights_copied_quietly(layer, x):
            result = fn(x, tuple(states) if lstm else states[0], *args, False)
        return result[0], list(result[1:])
    seq = padded_to_packed(x, lengths)
    sort, unsort = seq.sorted_indices, seq.unsorted_indices
    hx = tuple(s.index_select(1, sort) for s in states)  # batch in packing order
    with _weights_copied_quietly(layer, x):
        result = fn(seq.data, seq.batch_sizes, hx if lstm else hx[0], *args)
    out = PackedSequence(result[0], seq.batch_sizes, sort, unsort)
    out = packed_to_padded(out)[0]  # (T', B, D*P), T' = longest length
    if out.shape[0] < x.shape[0]:
        out = F.pad(out, (0, 0, 0, 0, 0, x.shape[0] - out.shape[0]))  # (T, B, D*P)
    return out, [s.index_select(1, unsort) for s in result[1:]]


def run_scratch(layer, x: Tensor, states: list[Tensor], lengths: Tensor | None, weights):
    """Layer by layer, direction by direction: hoisted input projection, then a scan."""
    dtype = autocast_dtype(x.device.type)
    if dtype is None:
        return _run_scratch(layer, x, states, lengths, weights)
    # One dtype throughout: the scans' in-place ops and out= buffers cannot mix dtypes.
    weights = [[None if w is None else w.to(dtype) for w in group] for group in weights]
    with torch.autocast(x.device.type, enabled=False):
        return _run_scratch(layer, x.to(dtype), [s.to(dtype) for s in states], lengths, weights)


def _run_scratch(layer, x: Tensor, states: list[Tensor], lengths: Tensor | None, weights):
    T, D = x.shape[0], layer.num_directions
    mask = None if lengths is None else length_mask(lengths, T, x.device)  # (T, B)
    rev = None if lengths is None else reverse_index(lengths, T, x.device)  # (T, B)
    finals: list[list[Tensor]] = [[] for _ in states]
    layer_input = x  # (T, B, D_in)
    for depth in range(layer.num_layers):
        outs = []
        for direction in range(D):
            k = depth * D + direction
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            xw = F.linear(layer_input, w_ih, b_ih)  # (T, B, G*H)
            if direction:
                xw = reverse_time(xw, rev)
            out, *final = layer._scan(xw, [s[k] for s in states], w_hh, b_hh, w_hr, mask)
            outs.append(reverse_time(out, rev) if direction else out)  # (T, B, P)
            for store, s in zip(finals, final):
                store.append(s)
        layer_input = outs[0] if D == 1 else torch.cat(outs, dim=2)  # (T, B, D*P)
        if layer.dropout > 0 and layer.training and depth < layer.num_layers - 1:
            layer_input = F.dropout(layer_input, layer.dropout, training=True)
    return layer_input, [torch.stack(s) for s in finals]  # each (L*D, B, H)
