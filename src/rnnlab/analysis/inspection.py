"""Look inside a trained model on one input: gates per token and gradient flow.

``inspect_input(model, ids)`` runs the model once on a token sequence, captures what each
recurrent layer received (a forward pre-hook: its input and initial state), replays every
layer with ``record_gates`` and measures ||dL/dh_t|| on the top layer, where L is the loss
of the model's own most likely prediction at the last token, read through its output layer
(``decoder`` or ``head``) when it has one, else a fixed random projection of h_T.

Any model works whose recurrent layers use torch's parameter layout; the model is called
as ``model(ids)`` with ids (T, 1) for time-major models (``LanguageModel``) and (1, T)
otherwise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.analysis.gates import record_gates, saturation
from rnnlab.analysis.gradient_flow import decay_rate, state_gradient_norms
from rnnlab.analysis.unroll import layer_spec

__all__ = ["recurrent_layers", "capture_layer_inputs", "inspect_input"]


def recurrent_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every torch-layout recurrent layer in the model, in module order."""
    return [
        (name, m)
        for name, m in model.named_modules()
        if hasattr(m, "weight_hh_l0") and hasattr(m, "hidden_size")
    ]


def capture_layer_inputs(model: nn.Module, layers: list[nn.Module], run) -> list[tuple]:
    """Call ``run()`` and return, per layer, the (input, hx) its forward received."""
    captured: dict[int, tuple] = {}

    def hook(index):
        def pre(module, args, kwargs):
            x = args[0]
            hx = args[1] if len(args) > 1 else kwargs.get("hx")
            captured.setdefault(index, (x, hx))

        return pre

    handles = [m.register_forward_pre_hook(hook(i), with_kwargs=True) for i, m in enumerate(layers)]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    missing = [i for i in range(len(layers)) if i not in captured]
    if missing:
        raise RuntimeError(f"the model's forward did not call recurrent layer(s) {missing}")
    return [captured[i] for i in range(len(layers))]


def _output_layer(model: nn.Module, width: int) -> nn.Module | None:
    for name in ("decoder", "head", "classifier", "output"):
        m = getattr(model, name, None)
        if isinstance(m, nn.Linear) and m.in_features == width:
            return m
    return None


def inspect_input(model: nn.Module, ids: list[int], time_major: bool | None = None) -> dict:
    """Gates of every recurrent layer and the gradient flow on one token sequence.

    Args:
        model: a model in eval mode with torch-layout recurrent layers.
        ids: the token ids (length T).
        time_major: how the model takes tokens; None guesses from ``model.model_type``
            ("language_model" is time-major).
    Returns:
        {"layers": [{"name", "mode", "records": [record per (layer, direction)] (tensors
         (T, 1, H)), "saturation": [...]}], "gradients": {"h": [T], "c": [T] (LSTM)},
         "decay": fit of the h norms, "loss": description of L}.
    """
    if not ids:
        raise ValueError("expected at least one token id, got none")
    layers = recurrent_layers(model)
    if not layers:
        raise TypeError(f"{type(model).__name__} has no torch-layout recurrent layer")
    if time_major is None:
        time_major = getattr(model, "model_type", "") == "language_model"
    tokens = torch.tensor(ids, dtype=torch.long)
    tokens = tokens[:, None] if time_major else tokens[None, :]  # (T, 1) or (1, T)
    device = next(model.parameters()).device
    with torch.no_grad():
        inputs = capture_layer_inputs(
            model, [m for _, m in layers], lambda: model(tokens.to(device))
        )
    out = []
    for (name, layer), (x, hx) in zip(layers, inputs):
        records = record_gates(layer, x, hx)
        out.append(
            {
                "name": name,
                "mode": layer_spec(layer).mode,
                "records": records,
                "saturation": [saturation(r) for r in records],
            }
        )
    (name, top), (x, hx) = layers[-1], inputs[-1]
    head = _output_layer(model, out[-1]["records"][-1]["h"].shape[-1])
    loss_fn, what = None, "w . h_T for a fixed random unit vector w"
    if head is not None:

        def loss_fn(h_T: Tensor) -> Tensor:  # the loss of the model's own top prediction
            logits = head(h_T)  # (B, V)
            return F.cross_entropy(logits, logits.argmax(dim=1).detach(), reduction="none")

        what = "cross-entropy of the model's most likely next output at the last token"
    with torch.enable_grad():
        grads = state_gradient_norms(top, x.detach(), _detach(hx), loss_fn=loss_fn)
    return {
        "layers": out,
        "gradients": {k: v.tolist() for k, v in grads.items()},
        "decay": decay_rate(grads["h"]),
        "loss": what,
    }


def _detach(hx):
    if hx is None:
        return None
    if isinstance(hx, (tuple, list)):
        return type(hx)(h.detach() for h in hx)
    return hx.detach()
