"""Gradient clipping and checks, as the trainer applies them after ``backward``.

Order (documented in ``TrainConfig``): measure the global L2 norm of all gradients, clamp
each element to ``[-clip_value, clip_value]``, then rescale so the global norm is at most
``clip_norm`` (Pascanu et al. 2013, "On the difficulty of training recurrent neural
networks": ``g <- g * clip_norm / ||g||`` when ``||g|| > clip_norm``).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def total_grad_norm(params: Iterable[torch.Tensor]) -> float:
    """Global L2 norm of the gradients of ``params`` (those with a ``.grad``)."""
    grads = [p.grad.detach() for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    )


def clip_gradients(
    params: Iterable[torch.Tensor],
    clip_value: float | None = None,
    clip_norm: float | None = None,
    measure: bool = True,
) -> tuple[float | None, bool]:
    """Clip gradients in place by value, then by global norm.

    Returns:
        (norm, clipped): the global norm before any clipping (None if neither ``measure``
        nor ``clip_norm`` asked for it) and whether ``clip_norm`` rescaled the gradients.
    """
    params = [p for p in params if p.grad is not None]
    if clip_norm is not None and clip_value is None:  # one pass: torch returns the norm
        norm = float(torch.nn.utils.clip_grad_norm_(params, clip_norm))
        return norm, norm > clip_norm
    norm = total_grad_norm(params) if measure or clip_norm is not None else None
    if clip_value is not None:
        torch.nn.utils.clip_grad_value_(params, clip_value)
    clipped = False
    if clip_norm is not None:
        clipped = float(torch.nn.utils.clip_grad_norm_(params, clip_norm)) > clip_norm
    return norm, clipped


def nonfinite_gradients(model: torch.nn.Module) -> list[str]:
    """Names of the parameters whose gradient holds a NaN or an inf."""
    return [
        name
        for name, p in model.named_parameters()
        if p.grad is not None and not bool(torch.isfinite(p.grad).all())
    ]
