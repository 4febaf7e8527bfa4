"""Activation regularisation (AR) and temporal activation regularisation (TAR).

Merity, McCann & Socher (2017), "Revisiting Activation Regularization for Language RNNs",
as used by AWD-LSTM (Merity, Keskar & Socher 2018):

    AR  = alpha * mean(m * h_t)^2                 the top layer's output after dropout m
    TAR = beta  * mean((h_t - h_{t-1})^2)         the top layer's output before dropout

Both are added to the training objective only. The language model reports the penalty as
a summed statistic (``PENALTY_SUM``) so that ``summarize`` can take it out again: reported
losses and perplexities stay the pure cross-entropy.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["activation_penalty", "PENALTY_SUM"]

PENALTY_SUM = "penalty_sum"


def activation_penalty(raw: Tensor, dropped: Tensor, alpha: float, beta: float) -> Tensor:
    """alpha * AR + beta * TAR, a scalar.

    Args:
        raw: (T, B, P) the top recurrent layer's output.
        dropped: (T, B, P) the same after the output dropout.
        alpha, beta: the AR and TAR weights (0 switches a term off).
    """
    penalty = raw.new_zeros(())
    if alpha > 0:
        penalty = penalty + alpha * dropped.pow(2).mean()
    if beta > 0 and raw.shape[0] > 1:
        penalty = penalty + beta * (raw[1:] - raw[:-1]).pow(2).mean()  # (T-1, B, P)
    return penalty
