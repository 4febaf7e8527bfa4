"""The sentence encoder shared by the classifier and the tagger: embedding -> recurrent stack.

    ids (B, T) ─ word dropout ─ embed ─▶ (B, T, E) [+ extra word features (B, T, E')]
              ─ dropout ─ RNN/LSTM/GRU x L (lengths) ─▶ outputs (B, T, D*H), h_n (L*D, B, H)

Every option of the recurrent core is available: cell, layers, direction, forget bias,
weight drop (DropConnect on W_hh, Merity et al. 2018), backend, and two dropout kinds:
``"standard"`` (a fresh mask per element) or ``"locked"`` (one mask per sentence reused at
every step; Gal & Ghahramani 2016); with locked dropout between layers the stack is built
layer by layer. ``word_dropout`` replaces a training token by ``<UNK>`` (or by the id the
caller gives as ``fallback``, e.g. the word's unknown-word signature) with that probability,
so the ``<UNK>`` rows learn to stand for rare and unseen words.

Lengths are passed to the core, so padded positions never change any real output: a
sentence encodes the same alone and inside a padded batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.nn.dropout import LockedDropout
from rnnlab.nn.recurrent import recurrent_layer

UNK_INDEX = 1  # rnnlab.text.vocab.Vocabulary.unk_index


def config_errors(
    cfg, *, at_least_0: tuple = (), at_least_1: tuple = (), probabilities: tuple = ()
) -> list[str]:
    """The problems with a model config's sizes, probabilities and ``dropout_kind`` (shared
    by ``ClassifierConfig`` and ``TaggerConfig``); empty when all is well."""
    errors = [f"{n} must be >= 0, got {getattr(cfg, n)}" for n in at_least_0 if getattr(cfg, n) < 0]
    errors += [
        f"{n} must be >= 1, got {getattr(cfg, n)}" for n in at_least_1 if getattr(cfg, n) < 1
    ]
    errors += [
        f"{n} must be in [0, 1), got {getattr(cfg, n)}"
        for n in probabilities
        if not 0.0 <= getattr(cfg, n) < 1.0
    ]
    if cfg.dropout_kind not in ("standard", "locked"):
        errors.append(f"dropout_kind must be 'standard' or 'locked', got {cfg.dropout_kind!r}")
    return errors


def _dropout(p: float, kind: str) -> nn.Module:
    if p == 0.0:
        return nn.Identity()
    return LockedDropout(p, batch_first=True) if kind == "locked" else nn.Dropout(p)


class SentenceEncoder(nn.Module):
    """Embedding and recurrent stack over padded batch-first sentences.

    Arguments:
        vocab_size: V; embed_dim: E; extra_dim: size of extra per-word features
            concatenated to the embedding (e.g. character features), 0 for none.
        cell, hidden_size, num_layers, bidirectional, forget_bias, weight_drop, backend:
            the recurrent stack (``rnnlab.nn.recurrent.recurrent_layer``).
        dropout_input: on the (concatenated) word vectors; dropout_hidden: between layers;
        dropout_kind: "standard" or "locked"; word_dropout: token -> <UNK> probability.
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        cell: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = True,
        extra_dim: int = 0,
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        dropout_kind: str = "standard",
        word_dropout: float = 0.0,
        forget_bias: float | None = None,
        weight_drop: float = 0.0,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        self.cell, self.num_layers = cell, num_layers
        self.directions = 2 if bidirectional else 1
        self.word_dropout = word_dropout
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        with torch.no_grad():
            nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
            self.embedding.weight[0].zero_()
        self.drop_input = _dropout(dropout_input, dropout_kind)
        options = dict(
            bidirectional=bidirectional, batch_first=True, weight_drop=weight_drop,
            backend=backend, **({"forget_bias": forget_bias} if cell == "lstm" else {}),
        )  # fmt: skip
        input_size = embed_dim + extra_dim
        self.layerwise = dropout_kind == "locked" and dropout_hidden > 0 and num_layers > 1
        if self.layerwise:
            sizes = [input_size] + [self.directions * hidden_size] * (num_layers - 1)
            self.layers = nn.ModuleList(
                recurrent_layer(cell, size, hidden_size, **options) for size in sizes
            )
            self.drop_hidden = LockedDropout(dropout_hidden, batch_first=True)
        else:
            between = dropout_hidden if num_layers > 1 else 0.0
            self.rnn = recurrent_layer(
                cell, input_size, hidden_size, num_layers=num_layers, dropout=between, **options
            )
        self.output_size = self.directions * hidden_size

    def recurrent_layers(self) -> list[nn.Module]:
        """The rnnlab recurrent modules, bottom to top."""
        return list(self.layers) if self.layerwise else [self.rnn]

    def forward(
        self, ids: Tensor, lengths: Tensor, extra: Tensor | None = None,
        fallback: Tensor | None = None, full_state: bool = False,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """Encode a padded batch.

        Args:
            ids: (B, T) int64 word ids (0 = padding); lengths: (B,) each in 1..T.
            extra: (B, T, E') extra word features, or None.
            fallback: (B, T) the id each word takes under word dropout (None: <UNK>).
            full_state: return the LSTM's (h_n, c_n) instead of h_n alone (seq2seq bridges).
        Returns:
            outputs (B, T, D*H), zero at padded steps; h_n (L*D, B, H), the final states
            (of the top layer only when the stack is built layer by layer).
        """
        if ids.dim() != 2 or ids.dtype != torch.long:
            raise ValueError(
                f"expected int64 word ids of shape (B, T), got {ids.dtype} {tuple(ids.shape)}"
            )
        if self.training and self.word_dropout > 0:
            drop = torch.rand(ids.shape, device=ids.device) < self.word_dropout  # (B, T)
            if fallback is None:
                ids = ids.masked_fill(drop & (ids != 0), UNK_INDEX)  # (B, T)
            else:
                ids = torch.where(drop & (ids != 0), fallback, ids)  # (B, T)
        x = self.embedding(ids)  # (B, T, E)
        if extra is not None:
            x = torch.cat([x, extra], dim=-1)  # (B, T, E + E')
        x = self.drop_input(x)  # (B, T, E + E')
        lengths = lengths.cpu()
        if not self.layerwise:
            x, state = self.rnn(x, lengths=lengths)  # (B, T, D*H)
            return x, state[0] if self.cell == "lstm" and not full_state else state
        for k, layer in enumerate(self.layers):
            if k > 0:
                x = self.drop_hidden(x)  # (B, T, D*H), one mask per sentence
            x, state = layer(x, lengths=lengths)  # (B, T, D*H)
        return x, state[0] if self.cell == "lstm" and not full_state else state  # top layer
