"""What an exportable model is: embedding -> recurrent stack -> linear, in eval mode.

    tokens ─ Embedding ─▶ RNN / LSTM / GRU (one or more rnnlab layers) ─▶ Linear
             readout "sequence": the head on every step  -> logits (T, B, V), and the states
             readout "final":    the head on the top layer's final state(s) -> logits (B, C)

A model describes itself with ``export_spec() -> ExportSpec`` (the protocol any model can
implement); the language model is described here (``_language_model_spec``). At
inference every dropout of rnnlab's models is the identity, and DropConnect
(``weight_drop``) acts only in training, so the exported network computes exactly what
``model.eval()`` computes. What torch.nn has no layer for is refused (``ExportError``):
Cho's original GRU (``variant="original"``), the layer-normalised LSTM, any other module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from torch import nn

from rnnlab.nn.embedding import WordEmbedding
from rnnlab.nn.recurrent import GRU, LSTM, RNN

__all__ = [
    "ExportError",
    "ExportSpec",
    "describe_model",
    "merged_recurrent_config",
    "merged_recurrent_state",
]

READOUTS = ("sequence", "final")


class ExportError(ValueError):
    """The model cannot be exported (the message says which part and why)."""


@dataclass(frozen=True)
class ExportSpec:
    """The parts of an exportable model (see the module docstring).

    Attributes:
        embedding: ``nn.Embedding`` (without ``max_norm``) or ``rnnlab.nn.WordEmbedding``,
            weight (V, E): a plain lookup (``padding_idx`` only shapes gradients).
        recurrent: rnnlab ``RNN`` / ``LSTM`` / ``GRU`` layers, bottom first, of one cell
            type and size; exported as one multi-layer torch.nn layer.
        head: ``nn.Linear`` (D*P -> V or C), or for readout "final" an ``nn.Sequential`` of
            ``nn.Linear``, ``nn.ReLU``, ``nn.Tanh`` and ``nn.Dropout`` (an MLP).
        readout: "sequence" (logits per step, states in and out) or "final" (logits from
            the top layer's final state, both directions concatenated).
        batch_first: tokens are (B, T) rather than (T, B).
        lengths: "final" only: the model also takes ``lengths`` (B,), each sequence's real
            steps in 1..T, and reads each one's state at its own last real step (the
            export packs the batch, as ``torch.nn.utils.rnn.pack_padded_sequence``).
        pooling: "final" readout with lengths: what the head reads, concatenated in this
            order: "last" (the final states), "mean" and "max" (over the real steps of the
            top layer's outputs), as ``rnnlab.nn.pooling.pool``.
    """

    embedding: nn.Module
    recurrent: Sequence[nn.Module]
    head: nn.Module
    readout: Literal["sequence", "final"] = "sequence"
    batch_first: bool = False
    lengths: bool = False
    pooling: tuple[str, ...] = ("last",)


def _language_model_spec(model) -> ExportSpec:
    return ExportSpec(
        embedding=model.embedding,
        recurrent=tuple(model.recurrent_layers()),
        head=model.decoder,
        readout="sequence",
        batch_first=False,
    )


_BUILT_IN = {"language_model": _language_model_spec}


def describe_model(model: nn.Module) -> ExportSpec:
    """The model's ``ExportSpec``, checked: ``model.export_spec()`` if it has one, else the
    built-in description of its ``model_type``. Raises ExportError otherwise."""
    if callable(getattr(model, "export_spec", None)):
        spec = model.export_spec()
    elif getattr(model, "model_type", None) in _BUILT_IN:
        spec = _BUILT_IN[model.model_type](model)
    else:
        raise ExportError(
            f"{type(model).__name__} cannot be exported: it has no export_spec() method and "
            f"no built-in description (known model types: {', '.join(sorted(_BUILT_IN))}); "
            "an exportable model is embedding -> recurrent layers -> linear "
            "(rnnlab.export.ExportSpec)"
        )
    if not isinstance(spec, ExportSpec):
        raise ExportError(f"export_spec() must return an ExportSpec, got {type(spec).__name__}")
    _check(spec)
    return spec


def _refusal(layer: nn.Module) -> str | None:
    """Why torch.nn cannot hold this layer (None: it can)."""
    if not isinstance(layer, (RNN, LSTM, GRU)):
        name = type(layer).__name__
        if name == "LayerNormLSTM":
            return "LayerNormLSTM is scratch-only: torch.nn has no layer-normalised LSTM"
        return f"{name} is not an rnnlab RNN, LSTM or GRU layer"
    if getattr(layer, "variant", "torch") != "torch":
        return (
            "GRU(variant='original') (Cho et al.'s reset before the product) is scratch-only: "
            "torch.nn.GRU computes only variant='torch'"
        )
    return None


def _check(spec: ExportSpec) -> None:
    if not isinstance(spec.embedding, (nn.Embedding, WordEmbedding)):
        raise ExportError(
            "expected the embedding to be an nn.Embedding or rnnlab WordEmbedding, got "
            f"{type(spec.embedding).__name__}"
        )
    if getattr(spec.embedding, "max_norm", None) is not None:
        raise ExportError("cannot export an nn.Embedding with max_norm (it renormalises rows)")
    head_layers = list(spec.head) if isinstance(spec.head, nn.Sequential) else [spec.head]
    allowed = (nn.Linear, nn.ReLU, nn.Tanh, nn.Dropout)
    if not all(isinstance(m, allowed) for m in head_layers) or not any(
        isinstance(m, nn.Linear) for m in head_layers
    ):
        raise ExportError(
            "expected the head to be an nn.Linear or an nn.Sequential of Linear, ReLU, Tanh "
            f"and Dropout, got {spec.head!r}"[:300]
        )
    if isinstance(spec.head, nn.Sequential) and spec.readout != "final":
        raise ExportError("an MLP head is supported with readout='final' only")
    bad = [p for p in spec.pooling if p not in ("last", "mean", "max")]
    if bad or not spec.pooling:
        raise ExportError(f"pooling must be made of last, mean and max, got {spec.pooling}")
    if spec.pooling != ("last",) and not (spec.readout == "final" and spec.lengths):
        raise ExportError("mean / max pooling needs readout='final' with lengths")
    if spec.readout not in READOUTS:
        raise ExportError(f"readout must be one of {READOUTS}, got {spec.readout!r}")
    if spec.lengths and spec.readout != "final":
        raise ExportError("lengths are supported with readout='final' only, got 'sequence'")
    if not spec.recurrent:
        raise ExportError("expected at least one recurrent layer, got none")
    for k, layer in enumerate(spec.recurrent):
        why = _refusal(layer)
        if why is not None:
            raise ExportError(f"cannot export recurrent layer {k}: {why}")
    cfg = merged_recurrent_config(spec.recurrent)
    E = spec.embedding.weight.shape[1]
    if cfg["input_size"] != E:
        raise ExportError(
            f"the first recurrent layer expects {cfg['input_size']} features, the embedding "
            f"gives {E}"
        )
    out = (2 if cfg["bidirectional"] else 1) * (cfg.get("proj_size") or cfg["hidden_size"])
    out *= len(spec.pooling)  # the poolings are concatenated
    first = next(m for m in head_layers if isinstance(m, nn.Linear))
    if first.in_features != out:
        raise ExportError(
            f"the head expects {first.in_features} features, the recurrent stack and pooling "
            f"{'+'.join(spec.pooling)} give {out}"
        )


def merged_recurrent_config(layers: Sequence[nn.Module]) -> dict:
    """torch.nn constructor arguments of one layer equal to ``layers`` stacked (in eval
    mode), plus ``"cell"`` ("LSTM", "GRU" or "RNN"). Raises ExportError if they differ."""
    first = layers[0]
    cell = type(first).__name__
    same = ("hidden_size", "bias", "bidirectional", "proj_size", "nonlinearity")
    for k, layer in enumerate(layers[1:], start=1):
        differs = [a for a in same if getattr(layer, a, None) != getattr(first, a, None)]
        if type(layer) is not type(first) or differs:
            raise ExportError(
                f"recurrent layer {k} differs from layer 0 "
                f"({type(layer).__name__} vs {cell}; {', '.join(differs) or 'type'}): "
                "the stack must be one cell type and size"
            )
    D = 2 if first.bidirectional else 1
    P = getattr(first, "proj_size", 0) or first.hidden_size
    for k, layer in enumerate(layers[1:], start=1):
        if layer.input_size != D * P:
            raise ExportError(
                f"recurrent layer {k} expects {layer.input_size} features, "
                f"layer {k - 1} gives {D * P}"
            )
    cfg = {
        "cell": cell,
        "input_size": first.input_size,
        "hidden_size": first.hidden_size,
        "num_layers": sum(layer.num_layers for layer in layers),
        "bias": first.bias,
        "bidirectional": first.bidirectional,
    }
    if cell == "LSTM":
        cfg["proj_size"] = first.proj_size
    if cell == "RNN":
        cfg["nonlinearity"] = first.nonlinearity
    return cfg


def merged_recurrent_state(layers: Sequence[nn.Module]) -> dict:
    """The stacked layers' parameters under one multi-layer layer's names (``_l{k}``)."""
    state, offset = {}, 0
    for layer in layers:
        for name, p in layer.named_parameters():
            base, _, rest = name.partition("_l")  # "weight_ih", "0_reverse"
            index, _, reverse = rest.partition("_")
            new = f"{base}_l{offset + int(index)}" + (f"_{reverse}" if reverse else "")
            state[new] = p.detach().clone()
        offset += layer.num_layers
    return state
