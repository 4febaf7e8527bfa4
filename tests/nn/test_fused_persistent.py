"""The persistent LSTM / GRU inference kernels (rnnlab.nn.fused.persistent): the launch plan
on CPU, and the math in the one-program form under Triton's interpreter."""

from __future__ import annotations

import pytest
import torch

from rnnlab.nn import GRU, LSTM, scan
from rnnlab.nn.fused import NO_TRITON, triton_installed
from rnnlab.nn.fused.persistent import ON_CHIP_BUDGET, Plan, plan

T, B, H = 4, 3, 19
# On CUDA the plan splits H = 19 over two programs, so the grid barrier runs; on CPU the
# interpreter runs the one-program form.
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOL = dict(rtol=1e-5, atol=1e-5)


def test_plan_splits_hidden_units_over_the_sms():
    # H100 / H200: 132 SMs. B20 H650 LSTM in bf16: 41 programs of 16 units, 128 KiB each.
    assert plan(20, 650, 4, torch.bfloat16, 132) == Plan(41, 16, 32, 1024)
    assert plan(64, 256, 3, torch.float32, 132) == Plan(16, 16, 64, 256)
    assert plan(5, 19, 4, torch.float32, None) == Plan(1, 32, 16, 32)  # the interpreter


def test_plan_says_why_there_is_none():
    assert "batch 128 > 64" in plan(128, 256, 4, torch.float32, 132)
    reason = plan(20, 1024, 4, torch.float32, 132)  # 4 x 16 x 1024 fp32 = 256 KiB
    assert f"exceeds the on-chip budget of {ON_CHIP_BUDGET // 1024} KiB" in reason
    assert "256 KiB" in reason


def _mask():
    return (torch.arange(T).unsqueeze(1) < torch.tensor([4, 1, 3])).to(DEVICE)  # (T, B)


@pytest.mark.triton
@pytest.mark.skipif(not triton_installed(), reason=NO_TRITON)
@pytest.mark.parametrize("masked", [False, True])
def test_persistent_lstm_and_gru_equal_the_reference_scans(masked):
    from rnnlab.nn.fused.persistent import gru_persistent_forward, lstm_persistent_forward

    gen = torch.Generator().manual_seed(2)
    xw, h0, c0 = (torch.randn(*s, generator=gen) for s in ((T, B, 4 * H), (B, H), (B, H)))
    w, b = torch.randn(4 * H, H, generator=gen) * 0.3, torch.randn(4 * H, generator=gen)
    xw, h0, c0, w, b = (t.to(DEVICE) for t in (xw, h0, c0, w, b))
    mask = _mask() if masked else None
    expected = scan.lstm_scan_reference(xw, h0, c0, w, b, mask=mask)
    for e, g in zip(expected, lstm_persistent_forward(xw, h0, c0, w, b, mask)):
        torch.testing.assert_close(g, e, **TOL)
    xw, w, b = xw[..., : 3 * H], w[: 3 * H], b[: 3 * H]
    expected = scan.gru_scan_reference(xw, h0, w, b, mask=mask)
    for e, g in zip(expected, gru_persistent_forward(xw, h0, w, b, mask)):
        torch.testing.assert_close(g, e, **TOL)


@pytest.mark.triton
@pytest.mark.skipif(not triton_installed(), reason=NO_TRITON)
@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_run_persistent_equals_the_layer(cls):
    from rnnlab.nn.fused.persistent import run_persistent

    layer = cls(5, H, num_layers=2, bidirectional=True, device=DEVICE).eval()
    x = torch.randn(T, B, 5, device=DEVICE)
    expected_out, expected_state = layer(x)
    out, state = run_persistent(layer, x)
    torch.testing.assert_close(out, expected_out, **TOL)
    if cls is GRU:
        expected_state, state = (expected_state,), (state,)
    for e, g in zip(expected_state, state):
        torch.testing.assert_close(g, e, **TOL)
    with pytest.raises(ValueError, match="variant='torch'"):
        run_persistent(GRU(5, H, variant="original", device=DEVICE).eval(), x)
    with pytest.raises(ValueError, match=r"inference: call layer.eval\(\) first"):
        run_persistent(layer.train(), x)
