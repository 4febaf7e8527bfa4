"""Variable-length batches (issue 3, section 4): padding never influences results."""

from __future__ import annotations

import pytest
import torch

from rnnlab.nn import GRU, LSTM, RNN
from rnnlab.nn.lengths import check_lengths, length_mask, reverse_index, reverse_time

F64 = torch.float64
LAYERS = [
    (RNN, {"nonlinearity": "tanh"}),
    (LSTM, {"proj_size": 2}),
    (GRU, {}),
    (GRU, {"variant": "original"}),
]


def test_mask_and_reverse_index_picture():
    lengths = torch.tensor([3, 1])
    assert length_mask(lengths, 3).T.tolist() == [[True, True, True], [True, False, False]]
    assert reverse_index(lengths, 3).T.tolist() == [[2, 1, 0], [0, 1, 2]]
    x = torch.arange(6.0).reshape(3, 2, 1)  # (T, B, 1)
    idx = reverse_index(lengths, 3)
    assert reverse_time(x, idx)[:, :, 0].T.tolist() == [[4.0, 2.0, 0.0], [1.0, 3.0, 5.0]]
    assert torch.equal(reverse_time(reverse_time(x, idx), idx), x)


def test_check_lengths_accepts_lists_and_tensors():
    assert check_lengths([2, 3], 2, 3).tolist() == [2, 3]
    assert check_lengths(torch.tensor([1, 3], dtype=torch.int32), 2, 3).dtype == torch.int64
    assert check_lengths(None, 2, 3) is None


def layer_for(cls, kw, backend):
    if kw.get("variant") == "original" and backend == "native":
        pytest.skip("the original GRU is scratch-only")
    return cls(3, 4, 2, bidirectional=True, batch_first=True, backend=backend, dtype=F64, **kw)


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("cls,kw", LAYERS)
def test_each_sequence_equals_running_it_alone(cls, kw, backend):
    layer = layer_for(cls, kw, backend)
    lengths = [4, 1, 6, 3]
    x = torch.randn(4, 6, 3, dtype=F64)
    out, state = layer(x, lengths=torch.tensor(lengths))
    for b, n in enumerate(lengths):
        alone_out, alone_state = layer(x[b : b + 1, :n])
        torch.testing.assert_close(out[b : b + 1, :n], alone_out, atol=1e-12, rtol=0)
        assert torch.all(out[b, n:] == 0)
        for s, a in zip(as_tuple(state), as_tuple(alone_state)):
            torch.testing.assert_close(s[:, b : b + 1], a, atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("cls,kw", LAYERS[1:3])
def test_padding_values_never_matter(cls, kw, backend):
    layer = layer_for(cls, kw, backend)
    lengths = torch.tensor([2, 5, 3])
    x = torch.randn(3, 5, 3, dtype=F64, requires_grad=True)
    out, state = layer(x, lengths=lengths)
    pad = ~(torch.arange(5).unsqueeze(0) < lengths.unsqueeze(1))  # (B, T) True at padding
    noisy = x.detach().masked_fill(pad.unsqueeze(2), 1e3)
    out2, state2 = layer(noisy, lengths=lengths)
    torch.testing.assert_close(out2, out, atol=0, rtol=0)
    for a, b in zip(as_tuple(state), as_tuple(state2)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    loss = out.sum() + sum(s.sum() for s in as_tuple(state))
    (grad,) = torch.autograd.grad(loss, x)
    assert torch.all(grad[pad] == 0)


def test_full_lengths_equal_no_lengths():
    layer = LSTM(3, 4, 2, bidirectional=True, backend="scratch", dtype=F64)
    x = torch.randn(5, 2, 3, dtype=F64)
    a, b = layer(x), layer(x, lengths=[5, 5])
    torch.testing.assert_close(a[0], b[0], atol=1e-14, rtol=0)


@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_all_sequences_shorter_than_padding(backend):
    """Output keeps the padded length T even when every sequence is shorter."""
    layer = GRU(3, 4, bidirectional=True, backend=backend, dtype=F64)
    x = torch.randn(6, 2, 3, dtype=F64)
    out, h = layer(x, lengths=[2, 4])
    assert out.shape == (6, 2, 8) and torch.all(out[4:] == 0) and torch.all(out[2:, 0] == 0)
    torch.testing.assert_close(layer(x[:4, 1:])[0], out[:4, 1:], atol=1e-12, rtol=0)
