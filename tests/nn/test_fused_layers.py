"""Layers with backend="fused" equal torch.nn (outputs, states, gradients), and the choice
of the fused path is reported. The kernels run under Triton's interpreter on CPU
(conftest.py sets ``TRITON_INTERPRET=1`` without a CUDA device)."""

from __future__ import annotations

import contextlib

import pytest
import torch
from test_recurrent_parity import assert_parity

from rnnlab.nn import GRU, LSTM
from rnnlab.nn.backend import choose_backend
from rnnlab.nn.fused import NO_TRITON, triton_installed, unavailable_reason

needs_triton = pytest.mark.skipif(not triton_installed(), reason=NO_TRITON)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # else the interpreter on CPU


@contextlib.contextmanager
def _on_device():
    """Build and run on DEVICE; on CUDA with TF32 off, so that float32 means float32."""
    if DEVICE == "cpu":
        yield
        return
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.device(DEVICE), torch.backends.cudnn.flags(allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32


@pytest.mark.triton
@needs_triton
@pytest.mark.parametrize(
    "mode,num_layers,bidirectional",
    [("lstm", 2, False), ("gru", 1, True), ("rnn_tanh", 1, True), ("rnn_relu", 1, False)],
)
def test_fused_layer_equals_torch(mode, num_layers, bidirectional):
    """batch_first, unsorted lengths, given initial states (small: the interpreter is slow)."""
    with _on_device():
        assert_parity(mode, num_layers, bidirectional, True, True, True, "fused", torch.float32)


@pytest.mark.triton
@needs_triton
def test_fused_original_gru_equals_scratch():
    """Cho's GRU has no torch.nn counterpart: the fused layer equals the scratch layer."""
    torch.manual_seed(0)
    kw = dict(num_layers=2, bidirectional=True, variant="original", device=DEVICE)
    scratch, fused = GRU(3, 5, **kw, backend="scratch"), GRU(3, 5, **kw, backend="fused")
    fused.load_state_dict(scratch.state_dict())
    x = torch.randn(4, 3, 3, device=DEVICE, requires_grad=True)  # (T, B, D_in)
    lengths = torch.tensor([4, 1, 3])
    results = []
    with _on_device():
        for layer in (scratch, fused):
            out, h = layer(x, lengths=lengths)
            grads = torch.autograd.grad((out.sum() + (h * h).sum()), [x, *layer.parameters()])
            results.append((out, h, grads))
    assert fused.last_backend == "fused"
    (out_s, h_s, g_s), (out_f, h_f, g_f) = results
    torch.testing.assert_close(out_f, out_s, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h_f, h_s, rtol=1e-5, atol=1e-5)
    for e, g in zip(g_s, g_f):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def test_unavailable_reasons_name_what_is_missing(monkeypatch):
    from rnnlab.nn import fused

    monkeypatch.setattr(fused, "triton_installed", lambda: False)
    assert "pip install rnnlab[gpu]" in fused.unavailable_reason("cuda", torch.float32)
    monkeypatch.setattr(fused, "triton_installed", lambda: True)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    assert "CUDA device" in fused.unavailable_reason("cpu", torch.float32)
    assert fused.unavailable_reason("cuda", torch.bfloat16) is None
    assert "float64" in fused.unavailable_reason("cuda", torch.float64)
    assert "proj_size" in fused.unavailable_reason("cuda", torch.float32, proj_size=2)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert fused.unavailable_reason("cpu", torch.float32) is None


def test_choice_of_the_fused_path():
    ok = dict(device_type="cuda", training=True, fused_unavailable=None)
    # cuDNN computes a plain LSTM: auto keeps it until a benchmark proves fused faster.
    assert choose_backend("auto", "LSTM", **ok)[0] == "native"
    backend, reason = choose_backend("auto", "GRU", scratch_only="GRU variant 'original'", **ok)
    assert backend == "fused" and "Triton" in reason
    missing = dict(ok, fused_unavailable="triton is not installed")
    backend, _ = choose_backend("auto", "GRU", scratch_only="GRU variant 'original'", **missing)
    assert backend == "scratch"
    assert choose_backend("scratch", "GRU", **ok)[0] == "scratch"
    assert choose_backend("fused", "LSTM", **ok) == (
        "fused",
        "requested backend='fused' (Triton step kernels)",
    )
    with pytest.raises(ValueError, match="backend='fused' cannot run here: triton is not"):
        choose_backend("fused", "LSTM", **missing)
    # on CPU, auto never picks the fused path (the interpreter is for tests only)
    cpu = dict(ok, device_type="cpu")
    assert choose_backend("auto", "GRU", scratch_only="GRU variant 'original'", **cpu)[0] == (
        "scratch"
    )


def test_fused_layer_error_names_the_missing_piece(monkeypatch):
    from rnnlab.nn import recurrent

    monkeypatch.setattr(recurrent, "unavailable_reason", lambda *a: "triton is not installed")
    layer = LSTM(3, 4, backend="fused")
    with pytest.raises(ValueError, match="backend='fused' cannot run here: triton is not"):
        layer(torch.randn(2, 1, 3))
    assert "proj_size" in unavailable_reason("cuda", torch.float32, proj_size=2) or (
        not triton_installed()
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.skipif(not triton_installed(), reason=NO_TRITON)
@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "gru"])
def test_fused_layer_equals_torch_on_cuda_two_layers_bidirectional(mode):
    with _on_device():
        assert_parity(mode, 2, True, True, True, True, "fused", torch.float32)


@pytest.mark.triton
@needs_triton
def test_awd_shaped_language_model_trains_on_the_fused_path():
    """model.backend = "fused" (as in ``ptb-awd`` with that override): weight drop, a smaller
    top layer, AR / TAR; the loss matches the scratch path's for the same weights and masks."""
    from rnnlab.models.language_model import LanguageModel, LMConfig

    cfg = LMConfig(
        vocab_size=13, embed_dim=4, hidden_size=6, top_hidden_size=4, num_layers=2,
        weight_drop=0.5, tie_weights=True, ar_alpha=2.0, tar_beta=1.0, backend="fused",
    )  # fmt: skip
    fused = LanguageModel(cfg).to(DEVICE)
    scratch = LanguageModel(cfg.replace(backend="scratch")).to(DEVICE)
    scratch.load_state_dict(fused.state_dict())
    tokens = torch.randint(13, (4, 2), device=DEVICE)
    losses = []
    for model in (fused, scratch):
        torch.manual_seed(7)  # the same DropConnect masks
        out = model.step((tokens[:-1], tokens[1:]), None)
        out.loss.backward()
        losses.append(out.loss.detach())
    assert [layer.last_backend for layer in fused.layers] == ["fused"] * 2
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-5, atol=1e-5)
    for (name, p), q in zip(fused.named_parameters(), scratch.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-5, msg=name)
