"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU`` over time, depth, direction and lengths.

Drop-in equivalents of torch.nn's layers: the same constructor arguments, parameter
names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0``), initialisation,
state shapes (L*D, B, H) and return values, so that ``load_state_dict`` works both
ways and the results equal torch.nn's (tests/nn/test_recurrent_parity.py).

Two execution paths compute the same function (``backend=``):

* ``scratch``: for each (layer, direction) the input projection ``x W_ih^T + b_ih``
  for all T steps is one matrix product; the recurrence runs in ``rnnlab.nn.scan``
  over the functions of ``rnnlab.nn.functional``. The reverse direction turns each
  sequence around within its own length; lengths become a (T, B) mask.
* ``native``: torch's fused kernels (``torch._VF.lstm`` etc., oneDNN / cuDNN), called
  with the flat weight list in torch's order as ``torch.nn.RNNBase.forward`` does.
* ``fused``: the scratch path with one Triton kernel per step for the element-wise math
  (``rnnlab.nn.fused``; needs triton and a CUDA device, or ``TRITON_INTERPRET=1``).

``auto`` (the default) lets ``rnnlab.nn.backend.choose_backend`` decide; after each
forward ``layer.last_backend`` and ``layer.backend_reason`` say what ran and why.

Extras beyond torch.nn: ``forget_bias`` (LSTM), ``variant="original"`` (GRU, scratch
only) and ``weight_drop`` (DropConnect on W_hh, Wan et al. 2013, as in AWD-LSTM,
Merity et al. 2018; a fresh mask per forward in training, on both backends).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnlab.nn import scan
from rnnlab.nn._checks import (
    check_finite,
    check_input_features,
    check_probability,
    check_size,
    check_state,
    check_time_steps,
    zeros_state,
)
from rnnlab.nn.backend import check_backend_name, choose_backend
from rnnlab.nn.cells import set_forget_bias
from rnnlab.nn.fused import unavailable_reason
from rnnlab.nn.lengths import check_lengths, packed_to_padded, padded_to_packed
from rnnlab.nn.paths import run_native, run_scratch

__all__ = ["RNN", "LSTM", "GRU", "CELL_TYPES", "recurrent_layer"]

logger = logging.getLogger("rnnlab.nn")

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _fused_scans():
    """``rnnlab.nn.fused.scan``, imported (with triton) only when a fused scan runs."""
    from rnnlab.nn.fused import scan as fused_scan

    return fused_scan


class _RecurrentBase(nn.Module):
    """Parameters, checks and the choice of execution path; subclasses fix the mode.

    Args (as torch.nn.RNN / LSTM / GRU):
        input_size: D, features per step.  hidden_size: H.  num_layers: L.
        bias: whether the b_ih and b_hh parameters exist.
        batch_first: input and output (B, T, *) instead of (T, B, *); states unaffected.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: D = 2 directions, outputs concatenated (forward first).
        proj_size: P < H, LSTM only: h_t = (o * tanh(c_t)) W_hr^T.
    rnnlab's extras (keyword-only):
        weight_drop: DropConnect probability on every W_hh, in training.
        backend: "auto", "scratch", "native" or "fused" (module docstring).
        device, dtype: of the parameters.
    """

    _torch_class: type[nn.RNNBase]

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        weight_drop: float = 0.0,
        backend: str = "auto",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        input_size = check_size("input_size", input_size)
        hidden_size = check_size("hidden_size", hidden_size)
        num_layers = check_size("num_layers", num_layers)
        proj_size = check_size("proj_size", proj_size, minimum=0)
        dropout = check_probability("dropout", dropout)
        weight_drop = check_probability("weight_drop", weight_drop)
        for name, flag in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(flag, bool):
                raise TypeError(f"expected {name} to be True or False, got {flag!r}")
        if not isinstance(bidirectional, bool):
            raise TypeError(f"expected bidirectional to be True or False, got {bidirectional!r}")
        if (proj_size and mode != "LSTM") or proj_size >= hidden_size:
            raise ValueError(
                f"expected 0 <= proj_size < hidden_size ({hidden_size}), and proj_size only "
                f"for LSTM, got proj_size={proj_size} for {mode}"
            )
        check_backend_name(backend)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = dropout, bidirectional, proj_size
        self.weight_drop, self.backend = weight_drop, backend
        self.last_backend: str | None = None
        self.backend_reason: str | None = None

        kw = {"device": device, "dtype": dtype}
        G, H, P = _GATES[mode], hidden_size, proj_size or hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            for direction in range(D):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {
                    "weight_ih": (G * H, input_size if layer == 0 else D * P),
                    "weight_hh": (G * H, P),
                }
                if bias:
                    shapes.update(bias_ih=(G * H,), bias_hh=(G * H,))
                if proj_size:
                    shapes["weight_hr"] = (P, H)
                for base, shape in shapes.items():
                    self.register_parameter(base + sfx, nn.Parameter(torch.empty(shape, **kw)))
                    self._flat_weights_names.append(base + sfx)
        self.reset_parameters()
        self.flatten_parameters()

    # -- parameters ---------------------------------------------------------------

    def reset_parameters(self) -> None:
        """torch.nn's initialisation: every parameter uniform in (-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _flat_weights(self) -> list[Tensor]:
        """All parameters in torch's order: per layer, per direction (w_ih, w_hh, b_ih,
        b_hh, w_hr), those that exist."""
        return [self._parameters[name] for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """Parameters grouped per (layer, direction), as torch.nn.RNNBase.all_weights."""
        k = len(self._flat_weights_names) // (self.num_layers * self.num_directions)
        flat = self._flat_weights
        return [flat[i : i + k] for i in range(0, len(flat), k)]

    def flatten_parameters(self) -> None:
        """On CUDA with cuDNN, make the parameters views into one buffer, as torch.nn does,
        so that the native kernel does not copy them at every call; elsewhere a no-op."""
        flat = self._flat_weights
        first = flat[0]
        if any(
            w.dtype != first.dtype or not w.is_cuda or not torch.backends.cudnn.is_acceptable(w)
            for w in flat
        ) or len({w.data_ptr() for w in flat}) != len(flat):
            return
        from torch.backends.cudnn import rnn as cudnn_rnn

        with torch.cuda.device_of(first), torch.no_grad():
            if torch._use_cudnn_rnn_flatten_weight():
                num_weights = (4 if self.bias else 2) + (1 if self.proj_size else 0)
                torch._cudnn_rnn_flatten_weight(
                    flat,
                    num_weights,
                    self.input_size,
                    cudnn_rnn.get_cudnn_mode(self.mode),
                    self.hidden_size,
                    self.proj_size,
                    self.num_layers,
                    self.batch_first,
                    self.bidirectional,
                )

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)  # .to(), .cuda(), .double(), ...
        self.flatten_parameters()
        return result

    def _forward_weights(self) -> list[list[Tensor]]:
        """Per (layer, direction): [w_ih, w_hh, b_ih, b_hh, w_hr] (None where absent),
        W_hh under a fresh DropConnect mask when training with weight_drop > 0."""
        drop = self.weight_drop > 0 and self.training
        groups = []
        for ws in self.all_weights:
            w_ih, w_hh, rest = ws[0], ws[1], ws[2:]
            b_ih, b_hh = (rest[0], rest[1]) if self.bias else (None, None)
            w_hr = rest[-1] if self.proj_size else None
            if drop:
                w_hh = F.dropout(w_hh, self.weight_drop, training=True)
            groups.append([w_ih, w_hh, b_ih, b_hh, w_hr])
        return groups

    # -- forward ------------------------------------------------------------------

    def _state_shapes(self, B: int) -> list[tuple[int, ...]]:
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        if self.mode == "LSTM":
            return [(LD, B, self.proj_size or H), (LD, B, H)]
        return [(LD, B, H)]

    def _scratch_only(self) -> str | None:
        """Why torch's kernels cannot compute this configuration (None: they can)."""
        return None

    def forward(self, input, hx=None, lengths: Tensor | Sequence[int] | None = None):
        """Run the layer.

        Args:
            input: (B, T, D) if batch_first else (T, B, D); (T, D) unbatched; or a
                PackedSequence (then ``lengths`` must be None).
            hx: initial state(s) (L*D, B, H) (LSTM: a pair (h (L*D, B, P), c (L*D, B, H))),
                or None for zeros. Unbatched input takes (L*D, H).
            lengths: (B,) number of real steps per sequence, each in 1..T, or None.
        Returns:
            (output, h_n) (LSTM: (output, (h_n, c_n))): output (B, T, D*P) if batch_first
            else (T, B, D*P), zero at padded steps (a PackedSequence if input was one);
            h_n (L*D, B, P), the state at each sequence's last real step.
        """
        ref = self.weight_ih_l0
        packed = isinstance(input, PackedSequence)
        unbatched = False
        if packed:
            if lengths is not None:
                raise ValueError("expected lengths=None with a PackedSequence input, got both")
            check_input_features(input.data, self.input_size, {2: "(N, {D})"}, ref)
            x, lengths = packed_to_padded(input)  # (T, B, D), (B,)
        else:
            batched = "(B, T, {D}) with batch_first=True" if self.batch_first else "(T, B, {D})"
            layouts = {3: batched, 2: "(T, {D}) (unbatched)"}
            check_input_features(input, self.input_size, layouts, ref)
            unbatched = input.dim() == 2
            if unbatched:
                x = input.unsqueeze(1)  # (T, 1, D)
            else:
                x = input.transpose(0, 1) if self.batch_first else input  # (T, B, D)
        T, B = x.shape[0], x.shape[1]
        check_time_steps(T, input.data.shape if packed else input.shape)
        lengths = check_lengths(lengths, B, T)
        if B == 0:
            lengths = None  # no sequences: nothing to mask (torch cannot pack an empty batch)
        states = self._check_states(hx, B, unbatched, ref)

        # "training" for the backend choice: a gradient will be computed through this call.
        training = torch.is_grad_enabled() and (
            x.requires_grad
            or any(s.requires_grad for s in states)
            or any(p.requires_grad for p in self.parameters())
        )
        backend, reason = choose_backend(
            self.backend,
            self.mode,
            device_type=x.device.type,
            training=training,
            scratch_only=self._scratch_only(),
            fused_unavailable=unavailable_reason(x.device.type, x.dtype, self.proj_size),
        )
        self.last_backend, self.backend_reason = backend, reason
        logger.debug("%s: backend=%s (%s)", type(self).__name__, backend, reason)

        weights = self._forward_weights()
        run = run_native if backend == "native" else run_scratch
        out, finals = run(self, x, states, lengths, weights)  # (T, B, D*P), [(L*D, B, H)...]

        if packed:
            out = padded_to_packed(out, lengths)
        elif unbatched:
            out, finals = out.squeeze(1), [s.squeeze(1) for s in finals]
        elif self.batch_first:
            out = out.transpose(0, 1)  # (B, T, D*P)
        return out, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _check_states(self, hx, B: int, unbatched: bool, ref: Tensor) -> list[Tensor]:
        """Validate hx; return the states batched, [(L*D, B, H)] or [h, c] for LSTM."""
        shapes = self._state_shapes(B)
        if hx is None:
            return [zeros_state(s, ref) for s in shapes]
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                got = type(hx).__name__ + (
                    f" of {len(hx)}" if isinstance(hx, (tuple, list)) else ""
                )
                raise ValueError(f"expected hx to be a pair (h_0, c_0) for LSTM, got {got}")
            names = ["hx[0] (h_0)", "hx[1] (c_0)"]
        else:
            hx, names = [hx], ["hx"]
        out = []
        for name, h, shape in zip(names, hx, shapes):
            if unbatched:
                check_state(name, h, (shape[0], shape[2]), ref)
                h = h.unsqueeze(1)  # (L*D, 1, H)
            else:
                check_state(name, h, shape, ref)
            out.append(h)
        return out

    def _scan(self, xw, state, w_hh, b_hh, w_hr, mask):
        raise NotImplementedError

    # -- conversion ---------------------------------------------------------------

    def _torch_kwargs(self) -> dict:
        return dict(
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bias=self.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )

    @classmethod
    def from_torch(cls, module: nn.RNNBase, **kwargs):
        """Build this layer with the configuration and a copy of the weights of the
        torch.nn layer ``module``; ``kwargs`` add rnnlab's extras (e.g. ``backend``)."""
        p = module.weight_ih_l0
        config = dict(
            input_size=module.input_size,
            hidden_size=module.hidden_size,
            num_layers=module.num_layers,
            bias=module.bias,
            batch_first=module.batch_first,
            dropout=module.dropout,
            bidirectional=module.bidirectional,
        )
        if isinstance(module, nn.LSTM):
            config["proj_size"] = module.proj_size
        if isinstance(module, nn.RNN):
            config["nonlinearity"] = module.nonlinearity
        new = cls(**config, **kwargs, device=p.device, dtype=p.dtype)
        new.load_state_dict(module.state_dict())
        return new

    def to_torch(self) -> nn.RNNBase:
        """The equivalent torch.nn layer with a copy of these weights (``weight_drop``
        has no torch.nn counterpart and is dropped; it only acts in training)."""
        p = self.weight_ih_l0
        module = self._torch_class(**self._torch_kwargs(), device=p.device, dtype=p.dtype)
        module.load_state_dict(self.state_dict())
        return module

    _REPR_DEFAULTS = {
        "num_layers": 1,
        "nonlinearity": "tanh",
        "bias": True,
        "batch_first": False,
        "dropout": 0.0,
        "bidirectional": False,
        "proj_size": 0,
        "forget_bias": None,
        "variant": "torch",
        "weight_drop": 0.0,
        "backend": "auto",
    }

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in self._REPR_DEFAULTS.items():
            value = getattr(self, name, default)
            s += "" if value == default else f", {name}={value!r}"
        return s


class RNN(_RecurrentBase):
    """Elman RNN layer, torch.nn.RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    ``nonlinearity`` "tanh" or "relu". See ``_RecurrentBase.forward`` for shapes.
    """

    _torch_class = nn.RNN

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        weight_drop=0.0,
        backend="auto",
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        config = (input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        kw = dict(weight_drop=weight_drop, backend=backend, device=device, dtype=dtype)
        super().__init__("RNN_" + nonlinearity.upper(), *config, **kw)

    def _scan(self, xw, state, w_hh, b_hh, w_hr, mask):
        if self.last_backend == "fused":
            return _fused_scans().rnn_scan_fused(xw, state[0], w_hh, b_hh, self.nonlinearity, mask)
        return scan.rnn_scan(xw, state[0], w_hh, b_hh, self.nonlinearity, mask)

    def _torch_kwargs(self) -> dict:
        return {**super()._torch_kwargs(), "nonlinearity": self.nonlinearity}


class LSTM(_RecurrentBase):
    """LSTM layer, torch.nn.LSTM (gate order i, f, g, o; optional projection ``proj_size``).

    ``forget_bias``: if given, each layer's forget-gate slice of ``bias_ih`` is set to it
    and that of ``bias_hh`` to 0 (their sum is the forget gate's bias; Gers et al. 2000,
    Jozefowicz et al. 2015 recommend 1). Returns ``(output, (h_n, c_n))``.
    """

    _torch_class = nn.LSTM

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        *,
        forget_bias: float | None = None,
        weight_drop=0.0,
        backend="auto",
        device=None,
        dtype=None,
    ) -> None:
        if forget_bias is not None:
            forget_bias = check_finite("forget_bias", forget_bias)
        self.forget_bias = forget_bias
        config = (input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        kw = dict(weight_drop=weight_drop, backend=backend, device=device, dtype=dtype)
        super().__init__("LSTM", *config, proj_size, **kw)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.forget_bias is not None and self.bias:
            for group in self.all_weights:
                set_forget_bias(group[2], group[3], self.forget_bias)

    def _scan(self, xw, state, w_hh, b_hh, w_hr, mask):
        if self.last_backend == "fused":
            return _fused_scans().lstm_scan_fused(xw, state[0], state[1], w_hh, b_hh, mask)
        return scan.lstm_scan(xw, state[0], state[1], w_hh, b_hh, w_hr, mask)

    def _torch_kwargs(self) -> dict:
        return {**super()._torch_kwargs(), "proj_size": self.proj_size}


class GRU(_RecurrentBase):
    """GRU layer, torch.nn.GRU (gate order r, z, n).

    ``variant="original"`` uses Cho et al.'s candidate tanh(W_in x + W_hn (r * h)) instead
    of torch's tanh(W_in x + r * (W_hn h + b_hn)); torch has no kernel for it, so it
    always runs on the scratch path.
    """

    _torch_class = nn.GRU

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        variant: str = "torch",
        weight_drop=0.0,
        backend="auto",
        device=None,
        dtype=None,
    ) -> None:
        if variant not in ("torch", "original"):
            raise ValueError(f"variant must be 'torch' or 'original', got {variant!r}")
        self.variant = variant
        config = (input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        kw = dict(weight_drop=weight_drop, backend=backend, device=device, dtype=dtype)
        super().__init__("GRU", *config, **kw)
        if variant != "torch" and backend == "native":
            raise ValueError("backend='native' cannot compute GRU variant 'original'")

    def _scratch_only(self) -> str | None:
        return None if self.variant == "torch" else "GRU variant 'original'"

    def _scan(self, xw, state, w_hh, b_hh, w_hr, mask):
        if self.last_backend == "fused":
            return _fused_scans().gru_scan_fused(xw, state[0], w_hh, b_hh, self.variant, mask)
        return scan.gru_scan(xw, state[0], w_hh, b_hh, self.variant, mask)

    def to_torch(self) -> nn.RNNBase:
        if self.variant != "torch":
            raise ValueError("torch.nn.GRU computes only variant='torch'")
        return super().to_torch()


CELL_TYPES = ("rnn", "rnn_relu", "lstm", "gru")


def recurrent_layer(cell: str, input_size: int, hidden_size: int, **kwargs) -> _RecurrentBase:
    """Build a layer by cell name: "rnn" (tanh), "rnn_relu", "lstm" or "gru".

    Keyword arguments go to the constructor (``num_layers``, ``batch_first``,
    ``forget_bias`` for LSTM, ...). Models and experiments that take the cell type
    from a config call this instead of branching on the name themselves.
    """
    if cell == "lstm":
        return LSTM(input_size, hidden_size, **kwargs)
    if cell == "gru":
        return GRU(input_size, hidden_size, **kwargs)
    if cell == "rnn_relu":
        return RNN(input_size, hidden_size, nonlinearity="relu", **kwargs)
    if cell == "rnn":
        return RNN(input_size, hidden_size, **kwargs)
    raise ValueError(f"cell must be one of {CELL_TYPES}, got {cell!r}")
