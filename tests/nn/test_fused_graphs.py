"""Whole-layer CUDA-graph capture (rnnlab.nn.fused.graphs): signatures, the bounded cache and
the fallback reasons run on CPU; the replay itself only on a CUDA device."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab.nn import GRU, LSTM
from rnnlab.nn.fused import graphs
from rnnlab.nn.fused.graphs import GraphedRecurrent, bucket_length, capture_blocker, graph_key


def test_bucket_length():
    assert [bucket_length(T, (16, 32, 64)) for T in (1, 16, 17, 64, 65)] == [16, 16, 32, 64, 65]


def test_capture_blockers_name_the_reason():
    layer = LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    assert "CUDA tensors" in capture_blocker(layer, x, None)
    packed = pack_padded_sequence(x, torch.tensor([5, 3]))
    assert "PackedSequence" in capture_blocker(layer, packed, None)


def test_graph_key_separates_what_changes_the_work():
    layer = GRU(3, 4)
    x = torch.randn(5, 2, 3)
    base = graph_key(layer, x, None)
    assert graph_key(layer, torch.randn(5, 2, 3), None) == base  # values do not matter
    assert graph_key(layer, torch.randn(6, 2, 3), None) != base  # T
    assert graph_key(layer, x.double(), None) != base  # dtype
    assert graph_key(layer, x.requires_grad_(), None) != base  # gradient wanted
    assert graph_key(layer, x, torch.zeros(1, 2, 4)) != graph_key(layer, x, None)  # given hx
    with torch.no_grad():
        assert graph_key(layer, x, None)[2] is False
    assert graph_key(layer.eval(), x, None)[1] is False


def test_on_cpu_the_layer_runs_uncaptured_and_says_why():
    layer = LSTM(3, 4, backend="scratch")
    graphed = GraphedRecurrent(layer)
    x = torch.randn(5, 2, 3)
    out, (h, c) = graphed(x)
    expected, (h_e, c_e) = layer(x)
    torch.testing.assert_close(out, expected)
    assert not graphed.captured and graphed.last_backend == "scratch"
    assert graphed.backend_reason == "requested backend='scratch'; not captured: " + (
        "CUDA graphs need CUDA tensors"
    )
    with pytest.raises(ValueError, match="max_graphs >= 1"):
        GraphedRecurrent(layer, max_graphs=0)


def test_cache_is_bounded_and_least_recently_used_goes_first(monkeypatch):
    """The cache logic with the capture replaced by a stand-in (no GPU needed)."""
    captures = []

    def fake_capture(self, input, hx):
        captures.append(tuple(input.shape))
        return (lambda x, *s: (x * 2, x[-1, :, :1])), "fused", "requested backend='fused'"

    monkeypatch.setattr(graphs, "capture_blocker", lambda *a: None)
    monkeypatch.setattr(GraphedRecurrent, "_capture", fake_capture)
    graphed = GraphedRecurrent(GRU(3, 4), max_graphs=2)
    for T in (5, 6, 5, 7, 6):  # 5, 6 captured; 5 reused; 7 evicts 6; 6 is captured again
        out, _ = graphed(torch.ones(T, 2, 3))
        assert graphed.captured and out.shape == (T, 2, 3)
    assert captures == [(5, 2, 3), (6, 2, 3), (7, 2, 3), (6, 2, 3)]
    assert [key[4][0][0] for key in graphed.cached_signatures] == [(7, 2, 3), (6, 2, 3)]
    assert graphed.backend_reason == "requested backend='fused'; replayed a CUDA graph"


def test_a_failed_capture_falls_back_and_is_not_retried(monkeypatch):
    attempts = []

    def failing_capture(self, input, hx):
        attempts.append(1)
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")

    monkeypatch.setattr(graphs, "capture_blocker", lambda *a: None)
    monkeypatch.setattr(GraphedRecurrent, "_capture", failing_capture)
    graphed = GraphedRecurrent(GRU(3, 4, backend="scratch"))
    for _ in range(2):
        graphed(torch.randn(5, 2, 3))
        assert not graphed.captured
        assert graphed.backend_reason.endswith(
            "not captured: capture failed (operation not permitted when stream is capturing)"
        )
    assert len(attempts) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("backend", ["scratch", "fused"])
def test_replayed_graph_equals_the_layer_on_cuda(backend):
    if backend == "fused":
        pytest.importorskip("triton")
    torch.manual_seed(0)
    layer = LSTM(16, 32, num_layers=2, backend=backend).cuda()
    graphed = GraphedRecurrent(layer)
    for _ in range(3):  # capture, then replays with new values
        x = torch.randn(7, 4, 16, device="cuda", requires_grad=True)
        out, (h, c) = graphed(x)
        grads = torch.autograd.grad(out.sum() + h.sum(), [x, *layer.parameters()])
        expected, (h_e, _) = layer(x)
        expected_grads = torch.autograd.grad(expected.sum() + h_e.sum(), [x, *layer.parameters()])
        assert graphed.captured
        torch.testing.assert_close(out, expected)
        for g, e in zip(grads, expected_grads):
            torch.testing.assert_close(g, e)
    with torch.no_grad():
        x = torch.randn(7, 4, 16, device="cuda")
        torch.testing.assert_close(graphed(x)[0], layer(x)[0])
