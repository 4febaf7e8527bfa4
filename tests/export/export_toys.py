"""A classifier-shaped model for the export tests: embedding -> recurrent -> linear on
the final state (the shape of a sentence classifier), registered like any rnnlab model."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.export import ExportSpec
from rnnlab.nn import LayerNormLSTM, WordEmbedding
from rnnlab.nn.recurrent import recurrent_layer
from rnnlab.training import StepOutput, register_model


@dataclass(frozen=True)
class ToyClassifierConfig:
    vocab_size: int = 30
    embed_dim: int = 6
    hidden_size: int = 7
    num_classes: int = 3
    cell: str = "lstm"
    num_layers: int = 1
    bidirectional: bool = False
    variant: str = "torch"  # GRU only
    layer_norm: bool = False  # LSTM only: a LayerNormLSTM (scratch-only)
    with_lengths: bool = False  # forward(tokens, lengths): padded batches
    word_embedding: bool = False  # rnnlab.nn.WordEmbedding instead of nn.Embedding


@register_model
class ToyClassifier(nn.Module):
    """tokens (B, T) -> logits (B, C) from the top layer's final state (both directions)."""

    model_type: ClassVar[str] = "export_toy_classifier"
    config_class: ClassVar[type] = ToyClassifierConfig

    def __init__(self, config: ToyClassifierConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = (
            WordEmbedding(c.vocab_size, c.embed_dim)
            if c.word_embedding
            else nn.Embedding(c.vocab_size, c.embed_dim)
        )
        if c.layer_norm:
            self.rnn = LayerNormLSTM(c.embed_dim, c.hidden_size, c.num_layers, batch_first=True)
        else:
            extra = {"variant": c.variant} if c.cell == "gru" else {}
            self.rnn = recurrent_layer(
                c.cell, c.embed_dim, c.hidden_size, num_layers=c.num_layers,
                bidirectional=c.bidirectional, batch_first=True, **extra,
            )  # fmt: skip
        D = 2 if c.bidirectional else 1
        self.head = nn.Linear(D * c.hidden_size, c.num_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        _, state = self.rnn(self.embedding(tokens), lengths=lengths)  # (B, T, E) in
        h_n = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
        final = torch.cat([h_n[-2], h_n[-1]], 1) if self.config.bidirectional else h_n[-1]
        return self.head(final)  # (B, C)

    def export_spec(self) -> ExportSpec:
        return ExportSpec(
            self.embedding, [self.rnn], self.head, "final", batch_first=True,
            lengths=self.config.with_lengths,
        )  # fmt: skip

    def initial_state(self, batch_size, device):
        return None

    def detach_state(self, state):
        return state

    def step(self, batch, state):
        tokens, labels = batch
        loss = F.cross_entropy(self(tokens), labels)
        return StepOutput(loss, float(labels.numel()), None, None)

    def summarize(self, totals):
        return {"loss": totals["loss"]}


def import_file(path):
    """Import a generated ``model.py`` under a fresh module name."""
    name = f"exported_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
