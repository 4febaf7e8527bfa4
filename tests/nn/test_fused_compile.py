"""Every Triton kernel of rnnlab.nn.fused compiles for the GPU (to a cubin for sm_90, the
H100 / H200, and sm_80, the A100) on a machine without one: the interpreter runs the math
(test_fused_scan.py), this catches what only the GPU compiler sees (the persistent kernel's
grid barrier, tl.dot shapes, cache modifiers, bf16 stores).

The compiler cannot see kernels defined while ``TRITON_INTERPRET=1`` (conftest.py sets it
on CPU machines), so the compilation runs in a child process with the interpreter off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rnnlab.nn.fused import NO_TRITON, triton_installed

pytestmark = [
    pytest.mark.triton,
    pytest.mark.skipif(not triton_installed(), reason=NO_TRITON),
]

_CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from rnnlab.nn.fused import kernels as K, persistent_kernels as PK

    SCALARS = {"H": "i32", "T": "i32", "B": "i32", "barrier": "*i32"}
    STATE = {"h_prev", "c_prev", "h_out", "c_out", "gates", "tanh_c", "carry", "dc", "rzn",
             "hn", "rz", "n_out", "n_all", "new", "h_ex", "c0", "c_T", "mask"}
    STEP = dict(HAS_BIAS=True, HAS_MASK=True, WRITE_MM=True, BLOCK=256)
    BACK = dict(HAS_REC=True, HAS_MASK=True, BLOCK=256)
    STEP_KERNELS = {
        "lstm_forward_kernel": STEP, "lstm_backward_kernel": BACK,
        "gru_forward_kernel": STEP, "gru_backward_kernel": BACK,
        "gru_original_forward_a_kernel": dict(HAS_BIAS=True, BLOCK=256),
        "gru_original_forward_b_kernel": STEP, "gru_original_backward_b_kernel": BACK,
        "gru_original_backward_a_kernel": dict(BLOCK=256),
        "rnn_forward_kernel": dict(STEP, ACT=0), "rnn_backward_kernel": dict(BACK, ACT=1),
    }
    PERSISTENT = dict(HAS_MASK=True, NUM_PROGRAMS=40, BLOCK_B=32, BLOCK_H=16, BLOCK_K=512,
                      PRECISION="tf32")

    def signature(fn, constexprs, dtype):
        sig = {}
        for name in fn.arg_names:
            if name in constexprs:
                sig[name] = "constexpr"
            else:
                sig[name] = SCALARS.get(name, "*fp32" if name in STATE else "*" + dtype)
        return sig

    def compile_one(fn, constexprs, dtype, arch):
        source = ASTSource(fn, signature(fn, constexprs, dtype), constexprs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Triton's notice about its FP-fusion default
            ptx = triton.compile(source, target=GPUTarget("cuda", arch, 32)).asm["ptx"]
        return {"target": ".target sm_%d" % arch in ptx, "atom": "atom" in ptx,
                "mma": "mma" in ptx}

    def flags_off(constexprs):
        return {k: (False if isinstance(v, bool) else v) for k, v in constexprs.items()}

    dtypes, archs = sys.argv[1].split(","), [int(a) for a in sys.argv[2].split(",")]
    report = {}
    for dtype in dtypes:
        for name, constexprs in STEP_KERNELS.items():
            report[f"{name}/{dtype}/90"] = compile_one(getattr(K, name), constexprs, dtype, 90)
            off = flags_off(constexprs)
            report[f"{name}/{dtype}/90/off"] = compile_one(getattr(K, name), off, dtype, 90)
    for arch in archs:
        for fn in (PK.lstm_persistent_kernel, PK.gru_persistent_kernel):
            report[f"{fn.__name__}/bf16/{arch}"] = compile_one(fn, PERSISTENT, "bf16", arch)
    print(json.dumps(report))
    """
)


def _compile_report(dtypes: str, archs: str) -> dict:
    env = {**os.environ, "TRITON_INTERPRET": "0"}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, dtypes, archs],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check(report: dict) -> None:
    for name, result in report.items():
        assert result["target"], name
        if "persistent" in name:
            assert result["atom"], f"{name}: the grid barrier's atomics are missing"
            assert result["mma"], f"{name}: tl.dot did not become tensor-core instructions"


def test_kernels_compile_for_sm90():
    report = _compile_report("fp32", "90")
    assert len(report) == 22  # 10 step kernels with their flags on and off, 2 persistent
    _check(report)


@pytest.mark.slow
def test_kernels_compile_in_bf16_and_fp16_and_for_sm80():
    report = _compile_report("bf16,fp16", "80,90")
    assert len(report) == 44
    _check(report)
