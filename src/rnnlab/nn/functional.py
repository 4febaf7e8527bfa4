"""The recurrent equations as pure functions: one time step, no parameters owned.

Read this file first. Every layer in rnnlab calls these functions (or a fused,
faster form of exactly the same arithmetic), so what you see here is what runs.

Shapes (one fixed alphabet): B batch, D input features, H hidden units,
P projection size (LSTM with ``proj_size``; otherwise P = H).

Two forms of each cell:

* the *textbook* form, with one weight matrix per gate, written the way the
  equations appear in papers and lecture notes (``rnn_cell``, ``lstm_cell``,
  ``gru_cell``);
* the *fused* form the layers use, with torch.nn's weight layout: all gates'
  input weights stacked in one matrix ``w_ih`` of shape (G*H, D) and all
  recurrent weights in ``w_hh`` of shape (G*H, H), so one step costs two matrix
  products. The gate order is torch.nn's: LSTM (i, f, g, o), GRU (r, z, n).

References: Elman (1990) for the simple RNN; Hochreiter & Schmidhuber (1997) and
Gers, Schmidhuber & Cummins (2000) for the LSTM with forget gate; Cho et al. (2014)
for the GRU; Sak, Senior & Beaufays (2014) for the projected LSTM; Ba, Kiros &
Hinton (2016) for layer normalisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "rnn_cell",
    "lstm_cell",
    "gru_cell",
    "rnn_step",
    "rnn_recurrent_step",
    "lstm_gates",
    "lstm_pointwise",
    "lstm_step",
    "lstm_recurrent_step",
    "gru_gates",
    "gru_step",
    "gru_recurrent_step",
    "layer_norm_lstm_step",
]


def _activation(nonlinearity: str):
    if nonlinearity == "tanh":
        return torch.tanh
    if nonlinearity == "relu":
        return torch.relu
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


# ---------------------------------------------------------------------------
# Textbook forms: one matrix per gate, states on the left of the product.
# ---------------------------------------------------------------------------


def rnn_cell(
    x_t: Tensor,
    h_prev: Tensor,
    W_hh: Tensor,
    W_xh: Tensor,
    b_h: Tensor,
    nonlinearity: str = "tanh",
) -> Tensor:
    """Elman RNN step.

        h_t = tanh(h_{t-1} W_hh + x_t W_xh + b_h)        (or relu instead of tanh)

    Args:
        x_t: (B, D) input at step t.
        h_prev: (B, H) previous hidden state.
        W_hh: (H, H) recurrent weights.  W_xh: (D, H) input weights.  b_h: (H,) bias.
        nonlinearity: "tanh" or "relu".
    Returns:
        h_t: (B, H).
    """
    return _activation(nonlinearity)(h_prev @ W_hh + x_t @ W_xh + b_h)


def lstm_cell(
    x_t: Tensor,
    h_prev: Tensor,
    c_prev: Tensor,
    W_f: Tensor,
    W_i: Tensor,
    W_g: Tensor,
    W_o: Tensor,
    b_f: Tensor,
    b_i: Tensor,
    b_g: Tensor,
    b_o: Tensor,
) -> tuple[Tensor, Tensor]:
    """LSTM step in the classic per-gate form, each gate reading ``[h_{t-1}, x_t]``.

        z_t = [h_{t-1}, x_t]                     (B, H + D)
        f_t = sigmoid(z_t W_f + b_f)             forget gate
        i_t = sigmoid(z_t W_i + b_i)             input gate
        g_t = tanh(z_t W_g + b_g)                candidate cell
        o_t = sigmoid(z_t W_o + b_o)             output gate
        c_t = f_t * c_{t-1} + i_t * g_t          the cell: a gated running sum
        h_t = o_t * tanh(c_t)

    Args:
        x_t: (B, D).  h_prev, c_prev: (B, H).
        W_f, W_i, W_g, W_o: (H + D, H).  b_f, b_i, b_g, b_o: (H,).
    Returns:
        (h_t, c_t): both (B, H). Note that the cell returns *both* states.
    """
    z = torch.cat([h_prev, x_t], dim=1)  # (B, H + D)
    f = torch.sigmoid(z @ W_f + b_f)
    i = torch.sigmoid(z @ W_i + b_i)
    g = torch.tanh(z @ W_g + b_g)
    o = torch.sigmoid(z @ W_o + b_o)
    c_t = f * c_prev + i * g
    h_t = o * torch.tanh(c_t)
    return h_t, c_t


def gru_cell(
    x_t: Tensor,
    h_prev: Tensor,
    W_z: Tensor,
    W_r: Tensor,
    W_h: Tensor,
    b_z: Tensor,
    b_r: Tensor,
    b_h: Tensor,
) -> Tensor:
    """GRU step as in Cho et al. (2014), per-gate weights reading ``[h_{t-1}, x_t]``.

        z_t = sigmoid([h_{t-1}, x_t] W_z + b_z)          update gate
        r_t = sigmoid([h_{t-1}, x_t] W_r + b_r)          reset gate
        h~_t = tanh([r_t * h_{t-1}, x_t] W_h + b_h)      candidate
        h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

    This is the textbook convention in which z = 1 means "take the new candidate".
    torch.nn.GRU names the complementary gate z: its z equals 1 - z_t here
    (see ``gru_step``).

    Args:
        x_t: (B, D).  h_prev: (B, H).  W_z, W_r, W_h: (H + D, H).  b_*: (H,).
    Returns:
        h_t: (B, H).
    """
    hx = torch.cat([h_prev, x_t], dim=1)  # (B, H + D)
    z = torch.sigmoid(hx @ W_z + b_z)
    r = torch.sigmoid(hx @ W_r + b_r)
    h_tilde = torch.tanh(torch.cat([r * h_prev, x_t], dim=1) @ W_h + b_h)
    return (1 - z) * h_prev + z * h_tilde


# ---------------------------------------------------------------------------
# Fused forms, torch.nn layout: w_ih (G*H, D), w_hh (G*H, H), biases (G*H,).
# ``*_recurrent_step`` takes the input projection x_t W_ih^T + b_ih already
# computed (layers compute it for all T steps in one matrix product).
# ---------------------------------------------------------------------------


def rnn_recurrent_step(
    xw_t: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None = None, nonlinearity: str = "tanh"
) -> Tensor:
    """h_t = act(xw_t + h_{t-1} W_hh^T + b_hh), with xw_t = x_t W_ih^T + b_ih: (B, H)."""
    return _activation(nonlinearity)(xw_t + F.linear(h, w_hh, b_hh))


def rnn_step(
    x_t: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """torch.nn.RNNCell: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    Args: x_t (B, D), h (B, H), w_ih (H, D), w_hh (H, H), biases (H,). Returns (B, H).
    """
    return rnn_recurrent_step(F.linear(x_t, w_ih, b_ih), h, w_hh, b_hh, nonlinearity)


def lstm_pointwise(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
    """The element-wise half of an LSTM step, given the gate pre-activations.

    Args:
        gates: (B, 4H) pre-activations in torch.nn's order (i, f, g, o).
        c: (B, H) previous cell state.
    Returns:
        (h_t, c_t, (i, f, g, o)): h_t and c_t (B, H) and the activated gates, each (B, H).
    """
    i, f, g, o = gates.chunk(4, dim=1)  # 4 x (B, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_t = f * c + i * g
    h_t = o * torch.tanh(c_t)
    return h_t, c_t, (i, f, g, o)


def lstm_recurrent_step(
    xw_t: Tensor,
    h: Tensor,
    c: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    w_hr: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step from the precomputed input projection.

    Args:
        xw_t: (B, 4H) = x_t W_ih^T + b_ih.  h: (B, P).  c: (B, H).
        w_hh: (4H, P).  b_hh: (4H,).  w_hr: (P, H) projection, or None (then P = H).
    Returns:
        (h_t (B, P), c_t (B, H)).
    """
    h_t, c_t, _ = lstm_pointwise(xw_t + F.linear(h, w_hh, b_hh), c)
    if w_hr is not None:
        h_t = F.linear(h_t, w_hr)  # (B, H) -> (B, P)
    return h_t, c_t


def lstm_gates(
    x_t: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The four activated LSTM gates (i, f, g, o) at one step, each (B, H).

    The same arithmetic as ``lstm_step``; analysis tools use it to look inside.
    """
    _, _, gates = lstm_pointwise(F.linear(x_t, w_ih, b_ih) + F.linear(h, w_hh, b_hh), c)
    return gates


def lstm_step(
    x_t: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    w_hr: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """torch.nn.LSTMCell (plus torch.nn.LSTM's optional projection).

        i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)            (then h_t W_hr^T if projected)

    Args:
        x_t: (B, D).  h: (B, P).  c: (B, H).  w_ih: (4H, D).  w_hh: (4H, P).
        b_ih, b_hh: (4H,) or None.  w_hr: (P, H) or None.
    Returns:
        (h_t (B, P), c_t (B, H)).
    """
    return lstm_recurrent_step(F.linear(x_t, w_ih, b_ih), h, c, w_hh, b_hh, w_hr)


def gru_recurrent_step(
    xw_t: Tensor,
    h: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    variant: str = "torch",
) -> Tensor:
    """One GRU step from the precomputed input projection xw_t = x_t W_ih^T + b_ih (B, 3H).

    variant="torch" (torch.nn.GRU, cuDNN): the reset gate multiplies the recurrent
    *projection*,  n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
    variant="original" (Cho et al. 2014): the reset gate multiplies the *state*
    before the product,  n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).
    Both then blend  h_t = (1 - z) * n + z * h_{t-1}  (torch's z; textbook z = 1 - z).

    Returns: h_t (B, H).
    """
    x_r, x_z, x_n = xw_t.chunk(3, dim=1)  # 3 x (B, H)
    H = h.shape[1]
    if variant == "torch":
        h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
    elif variant == "original":
        b_rz, b_n = (None, None) if b_hh is None else (b_hh[: 2 * H], b_hh[2 * H :])
        h_r, h_z = F.linear(h, w_hh[: 2 * H], b_rz).chunk(2, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + F.linear(r * h, w_hh[2 * H :], b_n))
    else:
        raise ValueError(f"variant must be 'torch' or 'original', got {variant!r}")
    return (1 - z) * n + z * h


def gru_gates(
    x_t: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The activated GRU gates (r, z, n) at one step (torch variant), each (B, H)."""
    x_r, x_z, x_n = F.linear(x_t, w_ih, b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return r, z, n


def gru_step(
    x_t: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    variant: str = "torch",
) -> Tensor:
    """torch.nn.GRUCell (variant="torch") or Cho et al.'s GRU (variant="original").

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Args: x_t (B, D), h (B, H), w_ih (3H, D), w_hh (3H, H), biases (3H,). Returns (B, H).
    """
    return gru_recurrent_step(F.linear(x_t, w_ih, b_ih), h, w_hh, b_hh, variant)


def layer_norm_lstm_step(
    x_t: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    bias: Tensor,
    ln_ih: tuple[Tensor, Tensor],
    ln_hh: tuple[Tensor, Tensor],
    ln_c: tuple[Tensor, Tensor],
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor]:
    """Layer-normalised LSTM step (Ba, Kiros & Hinton 2016, eq. 20-22).

        gates = LN(x_t W_ih^T) + LN(h_{t-1} W_hh^T) + b          (i, f, g, o)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(LN(c_t))

    Each LN is normalisation over the feature axis with its own (gain, bias) pair.

    Args:
        x_t: (B, D).  h, c: (B, H).  w_ih: (4H, D).  w_hh: (4H, H).  bias: (4H,).
        ln_ih, ln_hh: (gain (4H,), bias (4H,)).  ln_c: (gain (H,), bias (H,)).
    Returns:
        (h_t, c_t): both (B, H).
    """
    G = w_ih.shape[0]
    gx = F.layer_norm(F.linear(x_t, w_ih), (G,), *ln_ih, eps=eps)
    gh = F.layer_norm(F.linear(h, w_hh), (G,), *ln_hh, eps=eps)
    i, f, g, o = (gx + gh + bias).chunk(4, dim=1)
    c_t = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    H = c_t.shape[1]
    h_t = torch.sigmoid(o) * torch.tanh(F.layer_norm(c_t, (H,), *ln_c, eps=eps))
    return h_t, c_t
