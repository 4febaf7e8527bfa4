"""One recurrent step with parameters: ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Drop-in equivalents of ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell``: the same
constructor arguments, parameter names (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``), initialisation (uniform in +-1/sqrt(H)), gate order and return
values, so ``load_state_dict`` works in both directions. The arithmetic is in
``rnnlab.nn.functional``; the cells own the parameters and check their arguments.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnlab.nn import functional as RF
from rnnlab.nn._checks import (
    check_finite,
    check_input_features,
    check_size,
    check_state,
    zeros_state,
)

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]


class _CellBase(nn.Module):
    """Parameters and checks common to the three cells; ``gates`` is G (1, 4 or 3)."""

    gates: int = 1
    _torch_class: type[nn.Module] = nn.RNNCell

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__()
        input_size = check_size("input_size", input_size)
        hidden_size = check_size("hidden_size", hidden_size)
        kw = {"device": device, "dtype": dtype}
        G = self.gates
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(G * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * hidden_size, **kw))
            self.bias_hh = nn.Parameter(torch.empty(G * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn's initialisation: every parameter uniform in (-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _prepare(self, input: Tensor, hx: tuple[Tensor | None, ...]) -> tuple[Tensor, ...]:
        """Check input (B, D) or (D,) and states; return input and states batched."""
        layouts = {2: "(B, {D})", 1: "({D},) (unbatched)"}
        check_input_features(input, self.input_size, layouts, self.weight_ih)
        batched = input.dim() == 2
        B = input.shape[0] if batched else None
        x = input if batched else input.unsqueeze(0)  # (B, D)
        states = []
        for name, h in zip(("hx", "cx"), hx):
            shape = (B, self.hidden_size) if batched else (self.hidden_size,)
            if h is None:
                h = zeros_state(shape, self.weight_ih)
            check_state(name, h, shape, self.weight_ih)
            states.append(h if batched else h.unsqueeze(0))  # (B, H)
        return (x, *states)

    @classmethod
    def from_torch(cls, module: nn.Module, **kwargs):
        """Build this cell with the configuration and a copy of the weights of ``module``."""
        p = module.weight_ih
        if isinstance(module, nn.RNNCell):
            kwargs = {"nonlinearity": module.nonlinearity, **kwargs}
        size = (module.input_size, module.hidden_size, module.bias)
        new = cls(*size, device=p.device, dtype=p.dtype, **kwargs)
        new.load_state_dict(module.state_dict())
        return new

    def to_torch(self) -> nn.Module:
        """The equivalent torch.nn cell with a copy of these weights."""
        kw = {"device": self.weight_ih.device, "dtype": self.weight_ih.dtype}
        extra = {"nonlinearity": self.nonlinearity} if self.gates == 1 else {}
        module = self._torch_class(self.input_size, self.hidden_size, self.bias, **extra, **kw)
        module.load_state_dict(self.state_dict())
        return module

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"


class RNNCell(_CellBase):
    """Elman cell, torch.nn.RNNCell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).

    forward(input (B, D) or (D,), hx (B, H) or None) -> h' (B, H).
    """

    gates = 1
    _torch_class = nn.RNNCell

    def __init__(
        self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h = self._prepare(input, (hx,))
        h = RF.rnn_step(
            x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity
        )
        return h if input.dim() == 2 else h.squeeze(0)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity!r}"


class LSTMCell(_CellBase):
    """LSTM cell, torch.nn.LSTMCell (gate order i, f, g, o).

    ``forget_bias``: if given, the forget-gate slice of ``bias_ih`` is set to it and
    that of ``bias_hh`` to 0, so the forget gate starts at sigmoid(forget_bias).

    forward(input (B, D), hx=(h (B, H), c (B, H)) or None) -> (h', c').
    """

    gates = 4
    _torch_class = nn.LSTMCell

    def __init__(
        self,
        input_size,
        hidden_size,
        bias=True,
        forget_bias: float | None = None,
        device=None,
        dtype=None,
    ) -> None:
        if forget_bias is not None:
            forget_bias = check_finite("forget_bias", forget_bias)
        self.forget_bias = forget_bias
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.forget_bias is not None and self.bias:
            set_forget_bias(self.bias_ih, self.bias_hh, self.forget_bias)

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        hx = (None, None) if hx is None else hx
        if len(hx) != 2:
            raise ValueError(f"expected hx to be a pair (h, c), got {len(hx)} tensors")
        x, h, c = self._prepare(input, tuple(hx))
        h, c = RF.lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if input.dim() == 2 else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """GRU cell, torch.nn.GRUCell (gate order r, z, n).

    ``variant="original"`` computes Cho et al.'s candidate, tanh(W_in x + W_hn (r * h)),
    instead of torch's tanh(W_in x + r * (W_hn h + b_hn)); same parameters.

    forward(input (B, D), hx (B, H) or None) -> h' (B, H).
    """

    gates = 3
    _torch_class = nn.GRUCell

    def __init__(
        self, input_size, hidden_size, bias=True, variant: str = "torch", device=None, dtype=None
    ) -> None:
        if variant not in ("torch", "original"):
            raise ValueError(f"variant must be 'torch' or 'original', got {variant!r}")
        self.variant = variant
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h = self._prepare(input, (hx,))
        h = RF.gru_step(
            x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.variant
        )
        return h if input.dim() == 2 else h.squeeze(0)

    def to_torch(self) -> nn.Module:
        if self.variant != "torch":
            raise ValueError("torch.nn.GRUCell computes only variant='torch'")
        return super().to_torch()


@torch.no_grad()
def set_forget_bias(bias_ih: Tensor, bias_hh: Tensor, value: float) -> None:
    """Set the forget-gate slice (i, f, g, o order) of bias_ih to ``value`` and of
    bias_hh to 0, so that their sum, the forget gate's bias, is ``value``."""
    H = bias_ih.shape[0] // 4
    bias_ih[H : 2 * H].fill_(value)
    bias_hh[H : 2 * H].zero_()
