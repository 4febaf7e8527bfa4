"""Tiny models and data implementing the trainer's contract, for the training tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from rnnlab.training import StepOutput, register_model, register_vocabulary, summarize_loss


@dataclass(frozen=True)
class RegressorConfig:
    in_dim: int = 4
    hidden: int = 16
    dropout: float = 0.0


@register_model
class ToyRegressor(nn.Module):
    """Stateless: x (B, in_dim) -> y (B,), mean squared error."""

    model_type: ClassVar[str] = "toy_regressor"
    config_class: ClassVar[type] = RegressorConfig

    def __init__(self, config: RegressorConfig) -> None:
        super().__init__()
        self.config = config
        self.net = nn.Sequential(
            nn.Linear(config.in_dim, config.hidden),
            nn.Tanh(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 1),
        )

    def initial_state(self, batch_size, device):
        return None

    def detach_state(self, state):
        return state

    def step(self, batch, state):
        x, y = batch
        pred = self.net(x).squeeze(-1)  # (B,)
        loss = torch.mean((pred - y) ** 2)
        abs_err = (pred - y).abs().sum().item()
        return StepOutput(loss, x.shape[0], None, {"abs_err": abs_err})

    def summarize(self, totals):
        return {"loss": totals["loss"], "mae": totals["abs_err"] / totals["count"]}


@dataclass(frozen=True)
class LMConfig:
    vocab_size: int = 12
    hidden: int = 8
    tie: bool = False

    def vocab_sizes(self):
        return {"tokens": self.vocab_size}


@register_model
class ToyLM(nn.Module):
    """Stateful: tokens (B, T) -> next tokens (B, T); carries h (1, B, H) across batches."""

    model_type: ClassVar[str] = "toy_lm"
    config_class: ClassVar[type] = LMConfig

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.hidden)
        self.rnn = nn.RNN(config.hidden, config.hidden, batch_first=True)
        self.decoder = nn.Linear(config.hidden, config.vocab_size)
        if config.tie:
            self.decoder.weight = self.embedding.weight
        self.calls = {"initial_state": 0, "detach_state": 0}

    def initial_state(self, batch_size, device):
        self.calls["initial_state"] += 1
        if batch_size is None:  # data without a declared batch size: start from zeros in step
            return None
        return torch.zeros(1, batch_size, self.config.hidden, device=device)

    def detach_state(self, state):
        self.calls["detach_state"] += 1
        return state.detach() if state is not None else None

    def step(self, batch, state):
        x, y = batch  # (B, T) each
        out, h = self.rnn(self.embedding(x), state)  # (B, T, H), (1, B, H)
        logits = self.decoder(out)  # (B, T, V)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        return StepOutput(loss, y.numel(), h, None, time_steps=x.shape[1])

    def summarize(self, totals):
        return summarize_loss(totals)


@register_vocabulary
class ToyVocab:
    """Minimal vocabulary: to_dict / from_dict / len."""

    def __init__(self, tokens):
        self.tokens = list(tokens)

    def __len__(self):
        return len(self.tokens)

    def to_dict(self):
        return {"tokens": self.tokens}

    @classmethod
    def from_dict(cls, d):
        return cls(d["tokens"])


class ShuffledBatches:
    """Regression data re-shuffled every epoch, from its own generator seeded by (seed, epoch)
    (the data owns its order: the trainer calls ``set_epoch``)."""

    def __init__(self, n=64, batch_size=8, in_dim=4, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, in_dim, generator=g)
        self.y = (self.x @ torch.linspace(-1, 1, in_dim)).sin()
        self.batch_size = batch_size
        self.seed, self.epoch = seed, 1

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.x) // self.batch_size

    def __iter__(self):
        g = torch.Generator().manual_seed(1000 * self.seed + self.epoch)
        order = torch.randperm(len(self.x), generator=g)
        for i in range(len(self)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.x[idx], self.y[idx]


class Batches(list):
    """A list of batches that declares its batch size (passed to model.initial_state)."""

    def __init__(self, items, batch_size):
        super().__init__(items)
        self.batch_size = batch_size


def lm_batches(n_batches=6, batch_size=4, bptt=5, vocab_size=12, seed=0):
    """A periodic token stream laid out as (B, T) windows: easy to learn."""
    g = torch.Generator().manual_seed(seed)
    stream = torch.arange(batch_size * (n_batches * bptt + 1)) % 5 + torch.randint(
        0, 2, (1,), generator=g
    )
    stream = stream % vocab_size
    cols = stream.view(batch_size, -1)  # (B, N)
    windows = [
        (cols[:, i * bptt : (i + 1) * bptt], cols[:, i * bptt + 1 : (i + 1) * bptt + 1])
        for i in range(n_batches)
    ]
    return Batches(windows, batch_size)
