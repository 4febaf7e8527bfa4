"""Parity with torch.nn (issue 3, section 5): outputs, final states and gradients with
respect to the input, the initial states and every parameter equal torch.nn's for the
same weights, on both execution paths."""

from __future__ import annotations

import itertools
import logging

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab
from rnnlab.nn import GRU, LSTM, RNN

B, T, D, H, P = 3, 5, 3, 4, 2
LENGTHS = torch.tensor([5, 2, 4])  # unsorted on purpose; one full-length sequence
MODES = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"]


def make_pair(mode, num_layers, bidirectional, batch_first, backend, dtype, **extra):
    """A torch.nn layer and the rnnlab layer built from it (same weights)."""
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    if mode.startswith("rnn"):
        reference = nn.RNN(D, H, nonlinearity=mode[4:], dtype=dtype, **kw)
        ours = RNN.from_torch(reference, backend=backend, **extra)
    elif mode.startswith("lstm"):
        reference = nn.LSTM(D, H, proj_size=P if mode == "lstm_proj" else 0, dtype=dtype, **kw)
        ours = LSTM.from_torch(reference, backend=backend, **extra)
    else:
        reference = nn.GRU(D, H, dtype=dtype, **kw)
        ours = GRU.from_torch(reference, backend=backend, **extra)
    return reference, ours


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def initial_states(mode, num_layers, bidirectional, dtype):
    LD = num_layers * (2 if bidirectional else 1)
    h = torch.randn(LD, B, P if mode == "lstm_proj" else H, dtype=dtype)
    if mode.startswith("lstm"):
        return (h.requires_grad_(), torch.randn(LD, B, H, dtype=dtype).requires_grad_())
    return h.requires_grad_()


def run_torch(module, x, hx, lengths):
    """torch.nn's result for a padded batch, through pack_padded_sequence when lengths."""
    if lengths is None:
        return module(x, hx)
    packed = pack_padded_sequence(x, lengths, module.batch_first, enforce_sorted=False)
    out, state = module(packed, hx)
    out = pad_packed_sequence(out, module.batch_first, total_length=T)[0]
    return out, state


def results_and_grads(module, run, x, hx, lengths, probes):
    """Forward, then backward of a random linear functional of all outputs."""
    out, state = run(module, x, hx, lengths)
    loss = (out * probes[0]).sum() + sum((s * p).sum() for s, p in zip(as_tuple(state), probes[1:]))
    inputs = [x, *([] if hx is None else as_tuple(hx))]
    params = dict(module.named_parameters())
    grads = torch.autograd.grad(loss, inputs + list(params.values()))
    return [out, *as_tuple(state)], grads[: len(inputs)], dict(zip(params, grads[len(inputs) :]))


def run_ours(module, x, hx, lengths):
    return module(x, hx, lengths=lengths)


def assert_parity(mode, num_layers, bidirectional, batch_first, lengths, with_hx, backend, dtype):
    atol = 1e-10 if dtype == torch.float64 else 1e-5
    reference, ours = make_pair(mode, num_layers, bidirectional, batch_first, backend, dtype)
    shape = (B, T, D) if batch_first else (T, B, D)
    x = torch.randn(shape, dtype=dtype, requires_grad=True)
    hx = initial_states(mode, num_layers, bidirectional, dtype) if with_hx else None
    lengths = LENGTHS if lengths else None
    with torch.no_grad():
        out, state = ours(x, hx, lengths=lengths)
    probes = [torch.randn_like(t) for t in [out, *as_tuple(state)]]

    expected = results_and_grads(reference, run_torch, x, hx, lengths, probes)
    got = results_and_grads(ours, run_ours, x, hx, lengths, probes)
    assert ours.last_backend == backend
    for e, g in zip(expected[0] + list(expected[1]), got[0] + list(got[1])):
        assert g.shape == e.shape and g.dtype == e.dtype
        torch.testing.assert_close(g, e, atol=atol, rtol=0)
    assert expected[2].keys() == got[2].keys()
    for name, e in expected[2].items():
        torch.testing.assert_close(got[2][name], e, atol=atol, rtol=0, msg=name)


@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "num_layers,bidirectional,batch_first,lengths,with_hx",
    list(itertools.product([1, 2, 3], [False, True], [False, True], [False, True], [False, True])),
)
def test_parity_float64(mode, num_layers, bidirectional, batch_first, lengths, with_hx, backend):
    assert_parity(
        mode, num_layers, bidirectional, batch_first, lengths, with_hx, backend, torch.float64
    )


@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("mode", MODES)
def test_parity_float32(mode, backend):
    assert_parity(mode, 2, True, True, True, True, backend, torch.float32)


@pytest.mark.parametrize("mode", MODES)
def test_scratch_equals_native_without_torch(mode):
    """The two paths agree with each other when built directly (default init)."""
    _, ours = make_pair(mode, 2, True, False, "scratch", torch.float64)
    native = type(ours).from_torch(ours.to_torch(), backend="native")
    x = torch.randn(T, B, D, dtype=torch.float64)
    a, b = ours(x, lengths=LENGTHS), native(x, lengths=LENGTHS)
    for s, n in zip([a[0], *as_tuple(a[1])], [b[0], *as_tuple(b[1])]):
        torch.testing.assert_close(s, n, atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("mode", ["lstm_proj", "gru"])
def test_unbatched_input(mode, backend):
    reference, ours = make_pair(mode, 2, True, False, backend, torch.float64)
    x = torch.randn(T, D, dtype=torch.float64)
    hx = initial_states(mode, 2, True, torch.float64)
    hx = tuple(h[:, 0] for h in hx) if isinstance(hx, tuple) else hx[:, 0]
    (e_out, e_state), (g_out, g_state) = reference(x, hx), ours(x, hx)
    torch.testing.assert_close(g_out, e_out, atol=1e-12, rtol=0)
    for e, g in zip(as_tuple(e_state), as_tuple(g_state)):
        torch.testing.assert_close(g, e, atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm_proj"])
def test_packed_sequence_in_packed_out(mode, backend):
    reference, ours = make_pair(mode, 2, True, True, backend, torch.float64)
    x = torch.randn(B, T, D, dtype=torch.float64)
    packed = pack_padded_sequence(x, LENGTHS, batch_first=True, enforce_sorted=False)
    hx = initial_states(mode, 2, True, torch.float64)
    (e_out, e_state), (g_out, g_state) = reference(packed, hx), ours(packed, hx)
    assert isinstance(g_out, torch.nn.utils.rnn.PackedSequence)
    assert torch.equal(g_out.batch_sizes, e_out.batch_sizes)
    assert torch.equal(g_out.sorted_indices, e_out.sorted_indices)
    torch.testing.assert_close(g_out.data, e_out.data, atol=1e-12, rtol=0)
    for e, g in zip(as_tuple(e_state), as_tuple(g_state)):
        torch.testing.assert_close(g, e, atol=1e-12, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_state_dict_both_ways(mode):
    reference, ours = make_pair(mode, 2, True, False, "auto", torch.float32)
    assert list(ours.state_dict()) == list(reference.state_dict())
    fresh = type(ours)(**{k: v for k, v in ours._torch_kwargs().items()})
    fresh.load_state_dict(reference.state_dict())
    back = type(reference)(**ours._torch_kwargs())
    back.load_state_dict(fresh.state_dict())
    for (name, p), q in zip(reference.state_dict().items(), back.state_dict().values()):
        assert torch.equal(p, q), name
    assert type(ours.to_torch()) is type(reference)


def test_parameter_names_match_torch():
    ours = LSTM(3, 4, 2, bidirectional=True, proj_size=2)
    assert "weight_hr_l1_reverse" in dict(ours.named_parameters())
    names = [n for n, _ in nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2).named_parameters()]
    assert [n for n, _ in ours.named_parameters()] == names


def test_init_is_uniform_in_bound():
    layer = GRU(3, 16, 2)
    for p in layer.parameters():
        assert p.abs().max() <= 0.25 and p.std() > 0.1


def test_forget_bias_initialisation():
    layer = LSTM(3, 4, 2, bidirectional=True, forget_bias=1.0)
    for name, p in layer.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.equal(p[4:8], torch.ones(4))
        if name.startswith("bias_hh"):
            assert torch.equal(p[4:8], torch.zeros(4))


def test_backend_choice_is_reported_and_logged(caplog):
    layer = LSTM(3, 4)
    with caplog.at_level(logging.DEBUG, logger="rnnlab.nn"):
        layer(torch.randn(T, B, 3))
    assert layer.last_backend in ("scratch", "native") and layer.backend_reason
    assert any(layer.last_backend in r.getMessage() for r in caplog.records)
    gru = GRU(3, 4, variant="original")
    gru(torch.randn(T, B, 3))
    assert gru.last_backend == "scratch" and "original" in gru.backend_reason
    with pytest.raises(ValueError, match="original"):
        GRU(3, 4, variant="original", backend="native")


@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_dropout_only_between_layers_and_in_training(backend):
    x = torch.randn(T, B, 3)
    one = LSTM(3, 4, 1, dropout=0.5, backend=backend)
    torch.testing.assert_close(one(x)[0], one.eval()(x)[0])  # no dropout after the last layer
    two = LSTM(3, 4, 2, dropout=0.5, backend=backend)
    assert not torch.allclose(two(x)[0], two.eval()(x)[0])
    torch.testing.assert_close(two(x)[0], two(x)[0])  # eval: deterministic


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_weight_drop_same_mask_on_both_backends(mode):
    _, scratch = make_pair(mode, 2, True, False, "scratch", torch.float64, weight_drop=0.5)
    native = type(scratch).from_torch(scratch.to_torch(), backend="native", weight_drop=0.5)
    x = torch.randn(T, B, D, dtype=torch.float64)
    torch.manual_seed(1)
    a = scratch(x)[0]
    torch.manual_seed(1)
    b = native(x)[0]
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    assert not torch.allclose(scratch(x)[0], a)  # a fresh mask per forward
    a.sum().backward()
    assert scratch.weight_hh_l1_reverse.grad is not None
    plain = type(scratch).from_torch(scratch.to_torch())
    torch.testing.assert_close(scratch.eval()(x)[0], plain(x)[0])  # eval: no DropConnect


def test_public_names():
    assert rnnlab.LSTM is LSTM and rnnlab.GRU is GRU and rnnlab.RNN is RNN


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("mode", MODES)
def test_parity_cuda(mode, backend, dtype):
    """On the GPU (cuDNN for torch.nn and native); TF32 off so float32 means float32."""
    with torch.device("cuda"), torch.backends.cudnn.flags(allow_tf32=False):
        assert_parity(mode, 2, True, True, True, True, backend, dtype)


def test_dtype_conversion_and_all_weights():
    layer = LSTM(3, 4, 2, proj_size=2).double()
    assert layer(torch.randn(T, B, 3, dtype=torch.float64))[0].dtype == torch.float64
    assert [len(group) for group in layer.all_weights] == [5, 5]
    layer.flatten_parameters()  # a no-op on CPU, as in torch.nn
