"""bf16 autocast on CPU (``rnnlab.nn.autocast``): both execution paths, every cell.

The promise: under ``torch.autocast("cpu", dtype=torch.bfloat16)`` the layers run on the
scratch and the native path, return outputs and states in bf16, stay within ATOL of the
fp32 result, and the fp32 parameters get gradients within GRAD_RTOL of the fp32 ones.
bf16 keeps 8 bits of mantissa (relative step 2^-8 = 0.004); the tolerances below leave
about 4x headroom over the errors measured for these sizes (T = 12, H = 16, 2 layers).
"""

from __future__ import annotations

import pytest
import torch

import rnnlab.nn as rnn
from rnnlab.models import LanguageModel, LMConfig
from rnnlab.nn.recurrent import recurrent_layer

ATOL = 2e-2  # max |bf16 output - fp32 output|; gates and states lie in (-1, 1)
GRAD_RTOL = 5e-2  # ||grad_bf16 - grad_fp32|| / ||grad_fp32|| per parameter

CASES = [
    ("lstm", {}, "scratch"),
    ("lstm", {}, "native"),
    ("gru", {}, "scratch"),
    ("gru", {}, "native"),
    ("gru", {"variant": "original"}, "scratch"),
    ("rnn", {}, "scratch"),
    ("rnn", {}, "native"),
    ("lstm", {"proj_size": 5}, "scratch"),
]


def bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def _states(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("cell,extra,backend", CASES)
def test_layer_under_bf16_autocast_is_close_to_fp32(cell, extra, backend):
    torch.manual_seed(0)
    layer = recurrent_layer(cell, 6, 16, num_layers=2, bidirectional=True, backend=backend, **extra)
    x = torch.randn(12, 3, 6)
    lengths = torch.tensor([12, 7, 3])

    out32, st32 = layer(x, lengths=lengths)
    (out32.sum() + sum(s.sum() for s in _states(st32))).backward()
    grads32 = {n: p.grad.clone() for n, p in layer.named_parameters()}
    layer.zero_grad()

    with bf16():
        out16, st16 = layer(x, lengths=lengths)
        loss = out16.float().sum() + sum(s.float().sum() for s in _states(st16))
    loss.backward()

    assert layer.last_backend == backend
    assert out16.dtype == torch.bfloat16
    assert all(s.dtype == torch.bfloat16 for s in _states(st16))
    assert (out16.float() - out32).abs().max() <= ATOL
    for s16, s32 in zip(_states(st16), _states(st32)):
        assert (s16.float() - s32).abs().max() <= ATOL
    assert (out16[3:, 2] == 0).all()  # padding stays exactly zero
    for name, p in layer.named_parameters():
        assert p.dtype == torch.float32 and p.grad.dtype == torch.float32
        err = (p.grad - grads32[name]).norm() / grads32[name].norm()
        assert err <= GRAD_RTOL, (name, float(err))


@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_bf16_state_can_be_carried_into_the_next_call(backend):
    torch.manual_seed(0)
    layer = rnn.LSTM(4, 8, backend=backend)
    x = torch.randn(10, 2, 4)
    ref, _ = layer(x)
    with bf16():
        first, state = layer(x[:5])  # state in bf16
        second, _ = layer(x[5:], state)
    assert second.dtype == torch.bfloat16
    assert (torch.cat([first, second]).float() - ref).abs().max() <= ATOL


def test_without_autocast_a_foreign_dtype_is_still_an_error():
    layer = rnn.GRU(4, 8)
    with pytest.raises(TypeError, match="expected input of dtype torch.float32"):
        layer(torch.randn(3, 2, 4, dtype=torch.bfloat16))


@pytest.mark.parametrize("dropout_kind", ["standard", "locked"])
def test_language_model_under_bf16_autocast(dropout_kind):
    torch.manual_seed(0)
    # "locked" with dropout builds single-layer layers fed by the bf16 output of the one below
    cfg = LMConfig(
        vocab_size=30, embed_dim=12, hidden_size=12, num_layers=2, dropout=0.3,
        dropout_kind=dropout_kind,
    )  # fmt: skip
    model = LanguageModel(cfg).eval()
    tokens = torch.randint(0, 30, (9, 4))
    ref, _ = model(tokens)
    with bf16():
        logits, state = model(tokens)
        logits2, _ = model(tokens, state)  # the bf16 state is accepted back
    assert logits.dtype == logits2.dtype == torch.bfloat16
    assert (logits.float() - ref).abs().max() <= ATOL
    model.train()
    with bf16():
        out = model.step((tokens, torch.randint(0, 30, (9, 4))), None)
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("cls", [rnn.RNNCell, rnn.LSTMCell, rnn.GRUCell])
def test_cells_under_bf16_autocast(cls):
    torch.manual_seed(0)
    cell = cls(5, 7)
    x = torch.randn(3, 5)
    ref = cell(x)
    with bf16():
        out = cell(x)
    for a, b in zip(_states(out), _states(ref)):
        assert (a.float() - b).abs().max() <= ATOL


def test_layer_norm_lstm_under_bf16_autocast():
    torch.manual_seed(0)
    layer = rnn.LayerNormLSTM(5, 8, num_layers=2)
    x = torch.randn(6, 2, 5)
    ref, _ = layer(x)
    with bf16():
        out, (h, c) = layer(x)
    assert (out.float() - ref).abs().max() <= ATOL


@pytest.mark.parametrize("cls", [rnn.SimpleRNN, rnn.BiRNN, rnn.SimpleLSTM, rnn.SimpleGRU])
def test_teaching_modules_under_bf16_autocast(cls):
    torch.manual_seed(0)
    module = cls(5, 7)
    x = torch.randn(3, 6, 5)  # (B, T, D)
    ref = module(x)[0]
    with bf16():
        out = module(x)[0]
    assert (out.float() - ref).abs().max() <= ATOL
