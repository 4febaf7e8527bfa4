"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, "Layer Normalization", eq. 20-22).

Each step normalises the input and recurrent contributions to the gates separately,
and the cell before the output nonlinearity (``functional.layer_norm_lstm_step``):

    gates = LN_ih(x_t W_ih^T) + LN_hh(h_{t-1} W_hh^T) + b      (i, f, g, o)
    c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
    h_t = sigmoid(o) * tanh(LN_c(c_t))

torch has no fused kernel for it, so it always runs rnnlab's own loop (scratch).
Unidirectional; ``num_layers``, ``batch_first``, ``dropout`` between layers and
``lengths`` behave as in ``rnnlab.nn.LSTM``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.nn import functional as RF
from rnnlab.nn._checks import (
    check_finite,
    check_input_features,
    check_probability,
    check_size,
    check_state,
    check_time_steps,
    zeros_state,
)
from rnnlab.nn.lengths import check_lengths, length_mask

__all__ = ["LayerNormLSTM"]


class LayerNormLSTM(nn.Module):
    """Stacked layer-normalised LSTM.

    Parameters per layer k: ``weight_ih_lk`` (4H, D_k), ``weight_hh_lk`` (4H, H),
    ``bias_lk`` (4H,) (one bias: LN's own biases make a second redundant), and the
    gain/bias pairs ``ln_ih_weight_lk``/``ln_ih_bias_lk`` (4H,), ``ln_hh_*`` (4H,),
    ``ln_c_*`` (H,). Weights uniform in +-1/sqrt(H); gains 1, LN biases 0; the
    forget-gate slice of ``bias_lk`` is ``forget_bias``, the rest 0.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        batch_first: bool = False,
        dropout: float = 0.0,
        *,
        forget_bias: float = 1.0,
        eps: float = 1e-5,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        input_size = check_size("input_size", input_size)
        hidden_size = check_size("hidden_size", hidden_size)
        num_layers = check_size("num_layers", num_layers)
        dropout = check_probability("dropout", dropout)
        forget_bias = check_finite("forget_bias", forget_bias)
        if check_finite("eps", eps) <= 0:
            raise ValueError(f"expected eps > 0 (layer normalisation divides by it), got {eps!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.dropout, self.forget_bias, self.eps = (
            batch_first,
            dropout,
            forget_bias,
            float(eps),
        )
        self.last_backend = "scratch"
        self.backend_reason = "layer normalisation has no native kernel"
        kw = {"device": device, "dtype": dtype}
        H4 = 4 * hidden_size
        for k in range(num_layers):
            D_k = input_size if k == 0 else hidden_size
            shapes = {
                "weight_ih": (H4, D_k),
                "weight_hh": (H4, hidden_size),
                "bias": (H4,),
                "ln_ih_weight": (H4,),
                "ln_ih_bias": (H4,),
                "ln_hh_weight": (H4,),
                "ln_hh_bias": (H4,),
                "ln_c_weight": (hidden_size,),
                "ln_c_bias": (hidden_size,),
            }
            for name, shape in shapes.items():
                self.register_parameter(f"{name}_l{k}", nn.Parameter(torch.empty(shape, **kw)))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        H = self.hidden_size
        for name, p in self.named_parameters():
            if name.startswith("weight_"):
                p.uniform_(-bound, bound)
            elif "_weight_" in name:
                p.fill_(1.0)  # LN gains
            else:
                p.zero_()
            if name.startswith("bias_"):
                p[H : 2 * H] = self.forget_bias

    _NAMES = ("weight_ih", "weight_hh", "bias", "ln_ih_weight", "ln_ih_bias", "ln_hh_weight",
              "ln_hh_bias", "ln_c_weight", "ln_c_bias")  # fmt: skip

    def _layer_params(self, k: int):
        """Layer k's arguments for ``functional.layer_norm_lstm_step`` after (x_t, h, c)."""
        w_ih, w_hh, bias, *ln = (getattr(self, f"{name}_l{k}") for name in self._NAMES)
        return w_ih, w_hh, bias, (ln[0], ln[1]), (ln[2], ln[3]), (ln[4], ln[5])

    def forward(
        self,
        input: Tensor,
        hx: tuple[Tensor, Tensor] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Run the layers.

        Args:
            input: (B, T, D) if batch_first else (T, B, D).
            hx: (h_0, c_0), each (L, B, H), or None for zeros.
            lengths: (B,) real steps per sequence in 1..T, or None.
        Returns:
            (output, (h_n, c_n)): output (B, T, H) or (T, B, H), zero at padded steps;
            h_n, c_n (L, B, H), the states at each sequence's last real step.
        """
        ref = self.weight_ih_l0
        layout = "(B, T, {D}) with batch_first=True" if self.batch_first else "(T, B, {D})"
        check_input_features(input, self.input_size, {3: layout}, ref)
        x = input.transpose(0, 1) if self.batch_first else input  # (T, B, D)
        T, B = x.shape[0], x.shape[1]
        check_time_steps(T, input.shape)
        lengths = check_lengths(lengths, B, T)
        mask = None if lengths is None else length_mask(lengths, T, x.device).unsqueeze(2)
        shape = (self.num_layers, B, self.hidden_size)
        if hx is None:
            hx = (zeros_state(shape, ref), zeros_state(shape, ref))
        check_state("hx[0] (h_0)", hx[0], shape, ref)
        check_state("hx[1] (c_0)", hx[1], shape, ref)

        h_n, c_n = [], []
        for k in range(self.num_layers):
            params = self._layer_params(k)
            h, c = hx[0][k], hx[1][k]  # (B, H)
            outs = []
            for t in range(T):
                h_new, c_new = RF.layer_norm_lstm_step(x[t], h, c, *params, eps=self.eps)
                if mask is not None:  # carry the state through padding; output zero there
                    h, c = torch.where(mask[t], h_new, h), torch.where(mask[t], c_new, c)
                    h_new = h_new * mask[t]
                else:
                    h, c = h_new, c_new
                outs.append(h_new)
            x = torch.stack(outs)  # (T, B, H)
            h_n.append(h)
            c_n.append(c)
            if self.dropout > 0 and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        out = x.transpose(0, 1) if self.batch_first else x
        return out, (torch.stack(h_n), torch.stack(c_n))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
