"""Which execution path a recurrent layer takes: ``scratch`` (rnnlab's own loop over
``rnnlab.nn.functional``), ``fused`` (the same loop with one Triton kernel per step for the
element-wise math, ``rnnlab.nn.fused``) or ``native`` (torch's fused kernels: oneDNN on CPU,
cuDNN on GPU).

``auto`` picks native only when the computation is mathematically identical to
torch.nn's and native is the faster of the two for that case; otherwise scratch.
Which is faster was measured with ``benchmarks/bench_recurrent.py`` (``rnnlab bench``),
rnnlab against torch.nn in one process, and is recorded in ``_SCRATCH_FASTER``:

* CUDA: cuDNN runs the whole sequence in a few kernels; a Python loop launches
  several kernels per step. Native always.
* CPU, LSTM: oneDNN's fused LSTM primitive (pre-packed weights, one fused kernel
  for the gate math) beats the scratch loop (0.7-1.0x). Native.
* CPU, GRU training: torch's CPU GRU is not fused; autograd records ~10 ops per step.
  The hand BPTT of ``rnnlab.nn.bptt`` is 1.1-1.8x faster. Scratch. (Inference: a tie;
  native.)
* CPU, Elman RNN: the scan is two ops per step (addmm + activation, in place) and its
  backward one product and one multiply: 1.2-1.6x in training, >= 1.0x in inference.
  Scratch.
* CUDA, a configuration only the scratch path computes (GRU variant "original"): the fused
  Triton path when triton is installed (it launches one kernel per step where the plain loop
  launches five to eight), else the plain loop. For configurations cuDNN computes, ``auto``
  picks ``fused`` only where ``_FUSED_FASTER`` records a measurement saying it is faster;
  the table is empty until ``rnnlab bench --device cuda`` has been run on a GPU.
The layer stores the choice and the reason (``layer.last_backend``,
``layer.backend_reason``) and logs it at DEBUG level on the ``rnnlab.nn`` logger.
"""

from __future__ import annotations

BACKENDS = ("auto", "scratch", "native", "fused")

NOT_CHECKED = "the fused path's requirements were not checked"

# (device type, mode, training) -> why the scratch path is the faster one there.
_SCRATCH_FASTER = {
    ("cpu", "GRU", True): "hand-written BPTT beats torch's unfused CPU GRU in training",
    ("cpu", "RNN_TANH", True): "hand-written BPTT beats torch's CPU RNN in training",
    ("cpu", "RNN_RELU", True): "hand-written BPTT beats torch's CPU RNN in training",
    ("cpu", "RNN_TANH", False): "the in-place scan beats torch's CPU RNN at inference",
    ("cpu", "RNN_RELU", False): "the in-place scan beats torch's CPU RNN at inference",
}

# (device type, mode, training) -> why the fused Triton path beats cuDNN there (measured).
_FUSED_FASTER: dict[tuple[str, str, bool], str] = {}


def check_backend_name(requested: str) -> None:
    """Raise ValueError unless ``requested`` is one of ``BACKENDS``."""
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {requested!r}")


def choose_backend(
    requested: str,
    mode: str,
    *,
    device_type: str,
    training: bool,
    scratch_only: str | None = None,
    fused_unavailable: str | None = NOT_CHECKED,
) -> tuple[str, str]:
    """Decide the execution path.

    Args:
        requested: "auto", "scratch" or "native" (the layer's ``backend`` argument).
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        device_type: "cpu" or "cuda" (the input's device type).
        training: whether gradients will be needed (module in training mode and grad enabled).
        scratch_only: None if torch's kernels compute exactly this configuration, else the
            reason they do not (e.g. "GRU variant 'original'", "weight_drop", "recording gates").
        fused_unavailable: None if the fused Triton kernels can run here, else why not
            (``rnnlab.nn.fused.unavailable_reason``).
    Returns:
        (backend, reason): backend is "scratch", "fused" or "native"; reason is one short
        sentence.
    Raises:
        ValueError: ``requested`` is unknown, "native" was requested for a configuration
            torch's kernels cannot compute, or "fused" where the fused kernels cannot run.
    """
    check_backend_name(requested)
    if requested == "fused":
        if fused_unavailable is not None:
            raise ValueError(f"backend='fused' cannot run here: {fused_unavailable}")
        return "fused", "requested backend='fused' (Triton step kernels)"
    fused_ok = fused_unavailable is None and device_type == "cuda"
    if requested == "scratch":
        return "scratch", "requested backend='scratch'"
    if scratch_only is not None:
        if requested == "native":
            raise ValueError(f"backend='native' cannot compute this configuration: {scratch_only}")
        if fused_ok:
            return "fused", f"auto: {scratch_only} has no native kernel; fused Triton kernels"
        return "scratch", f"auto: {scratch_only} has no native kernel"
    if requested == "native":
        return "native", "requested backend='native'"
    fused_faster = _FUSED_FASTER.get((device_type, mode, training))
    if fused_ok and fused_faster is not None:
        return "fused", f"auto: {fused_faster}"
    faster = _SCRATCH_FASTER.get((device_type, mode, training))
    if faster is not None:
        return "scratch", f"auto: {faster}"
    kernel = {"cuda": "cuDNN", "cpu": "oneDNN" if mode == "LSTM" else "ATen"}.get(
        device_type, "torch"
    )
    task = "training" if training else "inference"
    return (
        "native",
        f"auto: {kernel} {mode} kernel is the faster exact path for {task} on {device_type}",
    )
