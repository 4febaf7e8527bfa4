"""Which execution path a recurrent layer takes: ``scratch`` (rnnlab's own loop over
``rnnlab.nn.functional``) or ``native`` (torch's fused kernels: oneDNN on CPU, cuDNN on GPU).

``auto`` picks native only when the computation is mathematically identical to
torch.nn's and native is the faster of the two for that case; otherwise scratch.
The layer stores the choice and the reason (``layer.last_backend``,
``layer.backend_reason``) and logs it at DEBUG level on the ``rnnlab.nn`` logger.
"""

from __future__ import annotations

BACKENDS = ("auto", "scratch", "native")


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
    return "native", f"auto: native {mode} kernel on {device_type} computes the same function"
