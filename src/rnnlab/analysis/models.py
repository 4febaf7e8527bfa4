"""The small models the experiments train: one recurrent layer and a linear read-out.

``make_layer("rnn" | "lstm" | "gru", ...)`` builds rnnlab's layer (torch.nn's API and
parameter names). ``SequenceModel`` reads a synthetic task (``rnnlab.analysis.tasks``):

    tokens (B, T) ─► Embedding ─┐
                                ├─► (B, T, E) ─► RNN / LSTM / GRU ─► h_T (B, H) ─► Linear ─► (B, C)
    reals (B, T, D) ────────────┘                                            (C = 1: regression)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.analysis.tasks import TaskSpec

__all__ = ["CELLS", "make_layer", "SequenceModel", "set_spectral_radius", "spectral_radius"]

CELLS = ("rnn", "lstm", "gru")


def make_layer(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    forget_bias: float | None = None,
    nonlinearity: str = "tanh",
    batch_first: bool = True,
    **kwargs,
) -> nn.Module:
    """A one-layer ``rnnlab.nn`` RNN / LSTM / GRU (extra kwargs go to its constructor)."""
    from rnnlab.nn.recurrent import recurrent_layer

    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    extra = {"lstm": {"forget_bias": forget_bias}, "rnn": {"nonlinearity": nonlinearity}}
    return recurrent_layer(
        cell, input_size, hidden_size, batch_first=batch_first, **extra.get(cell, {}), **kwargs
    )


def spectral_radius(w: Tensor) -> float:
    """Largest |eigenvalue| of a square matrix."""
    return torch.linalg.eigvals(w.detach().double()).abs().max().item()


@torch.no_grad()
def set_spectral_radius(layer: nn.Module, radius: float) -> float:
    """Rescale an RNN layer's ``weight_hh_l0`` in place so its spectral radius is ``radius``.

    Returns the radius before rescaling.
    """
    w = layer.weight_hh_l0
    before = spectral_radius(w)
    w.mul_(radius / before)
    return before


class SequenceModel(nn.Module):
    """A recurrent classifier / regressor for a ``TaskSpec``, reading out the last state.

    Args:
        task: what the inputs and targets look like.
        cell: "rnn", "lstm" or "gru".
        hidden_size: H.  embedding_dim: E for token inputs.
        layer_kwargs: passed to ``make_layer`` (forget_bias, nonlinearity, backend, ...).
    """

    def __init__(
        self, task: TaskSpec, cell: str, hidden_size: int, embedding_dim: int = 16, **layer_kwargs
    ):
        super().__init__()
        self.task = task
        if task.input_kind == "tokens":
            self.embedding = nn.Embedding(task.input_size, embedding_dim)
            input_size = embedding_dim
        else:
            self.embedding = None
            input_size = task.input_size
        self.rnn = make_layer(cell, input_size, hidden_size, **layer_kwargs)
        self.head = nn.Linear(hidden_size, task.num_classes or 1)

    def features(self, x: Tensor) -> Tensor:
        """What the recurrent layer reads: (B, T) tokens or (B, T, D) reals -> (B, T, E)."""
        return self.embedding(x) if self.embedding is not None else x

    def forward(self, x: Tensor) -> Tensor:
        """x -> logits (B, C), or predictions (B,) for regression."""
        out, _ = self.rnn(self.features(x))  # (B, T, H)
        y = self.head(out[:, -1])  # (B, C)
        return y if self.task.num_classes else y.squeeze(1)

    def loss(self, output: Tensor, y: Tensor) -> Tensor:
        """Cross-entropy for classification, mean squared error for regression."""
        if self.task.num_classes:
            return nn.functional.cross_entropy(output, y)
        return nn.functional.mse_loss(output, y)

    @torch.no_grad()
    def accuracy(self, output: Tensor, y: Tensor, tolerance: float = 0.04) -> float:
        """Share of correct classes; for regression, share within ``tolerance`` of the target."""
        if self.task.num_classes:
            return (output.argmax(dim=1) == y).float().mean().item()
        return ((output - y).abs() < tolerance).float().mean().item()
