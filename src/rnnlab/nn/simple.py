"""Small teaching modules in the textbook form: one weight matrix per gate, a Python
loop over time, states on the left of the product (``h W``, not ``W h``).

``SimpleRNN``, ``BiRNN``, ``SimpleLSTM`` and ``SimpleGRU`` call ``rnn_cell``,
``lstm_cell`` and ``gru_cell`` from ``rnnlab.nn.functional`` and nothing else, so the
equations in that file are all there is to read. Each has ``to_layer()``, which returns
the production layer (``rnnlab.nn.RNN`` / ``LSTM`` / ``GRU``) computing the same
function, its weights rearranged into torch.nn's fused layout:

    SimpleLSTM:  W = [W_i | W_f | W_g | W_o]           (H + D, 4H), torch's gate order
                 weight_hh = W[:H]^T (4H, H),  weight_ih = W[H:]^T (4H, D)
    SimpleGRU:   GRU(variant="original") with W = [W_r | -W_z | W_h], biases [b_r, -b_z, b_h]:
                 torch's z is the textbook 1 - z, and sigmoid(-a) = 1 - sigmoid(a)

Initialisation: weights uniform(-1/sqrt(H), 1/sqrt(H)); biases zero, except the LSTM
forget-gate bias, ``forget_bias`` (Gers et al. 2000; Jozefowicz et al. 2015).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnlab.nn import functional as RF
from rnnlab.nn._checks import check_finite, check_input_features, check_size, check_time_steps

__all__ = ["SimpleRNN", "BiRNN", "SimpleLSTM", "SimpleGRU"]


def _weight(rows: int, cols: int, hidden_size: int) -> nn.Parameter:
    bound = 1.0 / math.sqrt(hidden_size)
    return nn.Parameter(torch.empty(rows, cols).uniform_(-bound, bound))


def _check_sizes(input_size, hidden_size) -> tuple[int, int]:
    return check_size("input_size", input_size), check_size("hidden_size", hidden_size)


def _check_batch(module: nn.Module, x: Tensor, reference: Tensor) -> None:
    check_input_features(x, module.input_size, {3: "(B, T, {D})"}, reference)
    check_time_steps(x.shape[1], x.shape)


class SimpleRNN(nn.Module):
    """Elman RNN, h_t = tanh(h_{t-1} W_hh + x_t W_xh + b_h).

    forward(x (B, T, D), hidden (B, H) or None) -> (outputs (B, T, H), h_T (B, H)).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        input_size, hidden_size = _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.W_xh = _weight(input_size, hidden_size, hidden_size)
        self.W_hh = _weight(hidden_size, hidden_size, hidden_size)
        self.b_h = nn.Parameter(torch.zeros(hidden_size))

    def forward(self, x: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_batch(self, x, self.W_xh)
        h = x.new_zeros(x.shape[0], self.hidden_size) if hidden is None else hidden  # (B, H)
        outputs = []
        for t in range(x.shape[1]):
            h = RF.rnn_cell(x[:, t], h, self.W_hh, self.W_xh, self.b_h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h  # (B, T, H), (B, H)

    def to_layer(self, **kwargs):
        """The equivalent ``rnnlab.nn.RNN`` (batch_first=True); kwargs go to its constructor."""
        from rnnlab.nn.recurrent import RNN

        kwargs = {"dtype": self.W_xh.dtype, "device": self.W_xh.device, **kwargs}
        layer = RNN(self.input_size, self.hidden_size, batch_first=True, **kwargs)
        _copy_rnn_weights(layer, "_l0", self)
        return layer


class BiRNN(nn.Module):
    """Bidirectional Elman RNN: a second SimpleRNN reads the time-reversed input; its
    outputs are reversed back and concatenated with the forward ones.

    forward(x (B, T, D)) -> (outputs (B, T, 2H), (h_forward (B, H), h_backward (B, H))).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        input_size, hidden_size = _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.forward_rnn = SimpleRNN(input_size, hidden_size)
        self.backward_rnn = SimpleRNN(input_size, hidden_size)

    def forward(self, x: Tensor, hidden=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h_f0, h_b0 = (None, None) if hidden is None else hidden
        out_f, h_f = self.forward_rnn(x, h_f0)  # (B, T, H)
        out_b, h_b = self.backward_rnn(x.flip(1), h_b0)  # read right to left
        return torch.cat([out_f, out_b.flip(1)], dim=2), (h_f, h_b)  # (B, T, 2H)

    def to_layer(self, **kwargs):
        """The equivalent ``rnnlab.nn.RNN(bidirectional=True, batch_first=True)``."""
        from rnnlab.nn.recurrent import RNN

        p = self.forward_rnn.W_xh
        kwargs = {"dtype": p.dtype, "device": p.device, **kwargs}
        layer = RNN(
            self.input_size, self.hidden_size, batch_first=True, bidirectional=True, **kwargs
        )
        _copy_rnn_weights(layer, "_l0", self.forward_rnn)
        _copy_rnn_weights(layer, "_l0_reverse", self.backward_rnn)
        return layer


class SimpleLSTM(nn.Module):
    """LSTM in the per-gate form of ``functional.lstm_cell``.

    forward(x (B, T, D), hidden (h, c) each (B, H) or None)
        -> (outputs (B, T, H), (h_T (B, H), c_T (B, H))).
    """

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0) -> None:
        super().__init__()
        input_size, hidden_size = _check_sizes(input_size, hidden_size)
        forget_bias = check_finite("forget_bias", forget_bias)
        self.input_size, self.hidden_size, self.forget_bias = input_size, hidden_size, forget_bias
        HD = hidden_size + input_size
        self.W_f, self.W_i = (
            _weight(HD, hidden_size, hidden_size),
            _weight(HD, hidden_size, hidden_size),
        )
        self.W_g, self.W_o = (
            _weight(HD, hidden_size, hidden_size),
            _weight(HD, hidden_size, hidden_size),
        )
        self.b_f = nn.Parameter(torch.full((hidden_size,), float(forget_bias)))
        self.b_i, self.b_g, self.b_o = (nn.Parameter(torch.zeros(hidden_size)) for _ in range(3))

    def forward(self, x: Tensor, hidden=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        _check_batch(self, x, self.W_f)
        if hidden is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)  # (B, H)
            hidden = (zeros, zeros)
        h, c = hidden
        weights = (self.W_f, self.W_i, self.W_g, self.W_o, self.b_f, self.b_i, self.b_g, self.b_o)
        outputs = []
        for t in range(x.shape[1]):
            h, c = RF.lstm_cell(x[:, t], h, c, *weights)
            outputs.append(h)
        return torch.stack(outputs, dim=1), (h, c)  # (B, T, H)

    @torch.no_grad()
    def to_layer(self, **kwargs):
        """The equivalent ``rnnlab.nn.LSTM`` (batch_first=True), weights in i, f, g, o order."""
        from rnnlab.nn.recurrent import LSTM

        H = self.hidden_size
        kwargs = {"dtype": self.W_f.dtype, "device": self.W_f.device, **kwargs}
        layer = LSTM(self.input_size, H, batch_first=True, **kwargs)
        W = torch.cat([self.W_i, self.W_f, self.W_g, self.W_o], dim=1)  # (H + D, 4H)
        layer.weight_hh_l0.copy_(W[:H].T)  # (4H, H)
        layer.weight_ih_l0.copy_(W[H:].T)  # (4H, D)
        layer.bias_ih_l0.copy_(torch.cat([self.b_i, self.b_f, self.b_g, self.b_o]))
        layer.bias_hh_l0.zero_()
        return layer


class SimpleGRU(nn.Module):
    """GRU in the per-gate form of ``functional.gru_cell`` (Cho et al. 2014).

    forward(x (B, T, D), hidden (B, H) or None) -> (outputs (B, T, H), h_T (B, H)).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        input_size, hidden_size = _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        HD = hidden_size + input_size
        self.W_z, self.W_r = (
            _weight(HD, hidden_size, hidden_size),
            _weight(HD, hidden_size, hidden_size),
        )
        self.W_h = _weight(HD, hidden_size, hidden_size)
        self.b_z, self.b_r, self.b_h = (nn.Parameter(torch.zeros(hidden_size)) for _ in range(3))

    def forward(self, x: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_batch(self, x, self.W_z)
        h = x.new_zeros(x.shape[0], self.hidden_size) if hidden is None else hidden  # (B, H)
        weights = (self.W_z, self.W_r, self.W_h, self.b_z, self.b_r, self.b_h)
        outputs = []
        for t in range(x.shape[1]):
            h = RF.gru_cell(x[:, t], h, *weights)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h  # (B, T, H)

    @torch.no_grad()
    def to_layer(self, **kwargs):
        """The equivalent ``rnnlab.nn.GRU(variant="original", batch_first=True)``: torch's
        z is the textbook 1 - z, so its weights and bias are negated."""
        from rnnlab.nn.recurrent import GRU

        H = self.hidden_size
        kwargs = {"dtype": self.W_z.dtype, "device": self.W_z.device, **kwargs}
        layer = GRU(self.input_size, H, batch_first=True, variant="original", **kwargs)
        W = torch.cat([self.W_r, -self.W_z, self.W_h], dim=1)  # (H + D, 3H), order r, z, n
        layer.weight_hh_l0.copy_(W[:H].T)  # (3H, H)
        layer.weight_ih_l0.copy_(W[H:].T)  # (3H, D)
        layer.bias_ih_l0.copy_(torch.cat([self.b_r, -self.b_z, self.b_h]))
        layer.bias_hh_l0.zero_()
        return layer


@torch.no_grad()
def _copy_rnn_weights(layer: nn.Module, suffix: str, rnn: SimpleRNN) -> None:
    getattr(layer, "weight_ih" + suffix).copy_(rnn.W_xh.T)  # (H, D)
    getattr(layer, "weight_hh" + suffix).copy_(rnn.W_hh.T)  # (H, H)
    getattr(layer, "bias_ih" + suffix).copy_(rnn.b_h)
    getattr(layer, "bias_hh" + suffix).zero_()
