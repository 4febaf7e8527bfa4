"""Which execution path a recurrent layer takes: ``scratch`` (rnnlab's own loop over
``rnnlab.nn.functional``) or ``native`` (torch's fused kernels: oneDNN on CPU, cuDNN on GPU).

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
The layer stores the choice and the reason (``layer.last_backend``,
``layer.backend_reason``) and logs it at DEBUG level on the ``rnnlab.nn`` logger.
"""

from __future__ import annotations

BACKENDS = ("auto", "scratch", "native")

# (device type, mode, training) -> why the scratch path is the faster one there.
_SCRATCH_FASTER = {
    ("cpu", "GRU", True): "hand-written BPTT beats torch's unfused CPU GRU in training",
    ("cpu", "RNN_TANH", True): "hand-written BPTT beats torch's CPU RNN in training",
    ("cpu", "RNN_RELU", True): "hand-written BPTT beats torch's CPU RNN in training",
    ("cpu", "RNN_TANH", False): "the in-place scan beats torch's CPU RNN at inference",
    ("cpu", "RNN_RELU", False): "the in-place scan beats torch's CPU RNN at inference",
}


def choose_backend(
    requested: str,
    mode: str,
    *,
    device_type: str,
    training: bool,
    scratch_only: str | None = None,
) -> tuple[str, str]:
    """Decide the execution path.

    Args:
        requested: "auto", "scratch" or "native" (the layer's ``backend`` argument).
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        device_type: "cpu" or "cuda" (the input's device type).
        training: whether gradients will be needed (module in training mode and grad enabled).
        scratch_only: None if torch's kernels compute exactly this configuration, else the
            reason they do not (e.g. "GRU variant 'original'", "weight_drop", "recording gates").
    Returns:
        (backend, reason): backend is "scratch" or "native"; reason is one short sentence.
    Raises:
        ValueError: ``requested`` is unknown, or "native" was requested for a
            configuration torch's kernels cannot compute.
    """
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {requested!r}")
    if requested == "scratch":
        return "scratch", "requested backend='scratch'"
    if scratch_only is not None:
        if requested == "native":
            raise ValueError(f"backend='native' cannot compute this configuration: {scratch_only}")
        return "scratch", f"auto: {scratch_only} has no native kernel"
    if requested == "native":
        return "native", "requested backend='native'"
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
