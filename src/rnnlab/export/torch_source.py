"""The plain torch.nn model an export writes: a short generated ``model.py`` that imports
only torch (and safetensors to read its weights), never rnnlab.

    describe_model(model) ─▶ ExportSpec ─▶ plain_config() ─▶ render_source() ─▶ model.py
                                        └─▶ plain_state_dict() ───────────▶ model.safetensors

The generated class ``ExportedModel`` holds ``embedding`` (nn.Embedding), ``rnn`` (one
multi-layer nn.RNN / LSTM / GRU) and ``head`` (nn.Linear); its ``forward`` is written out
for the one cell type and readout of the model, so it has no branches on types and
``torch.jit.script`` compiles it. ``build_plain_module`` imports the written file and
loads the weights; TorchScript and ONNX exports go through it, so all three formats run
the same code.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from pprint import pformat

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from rnnlab.export.spec import ExportSpec, merged_recurrent_config, merged_recurrent_state

__all__ = ["plain_config", "plain_state_dict", "render_source", "build_plain_module"]

SOURCE_FILE = "model.py"
WEIGHTS_FILE = "model.safetensors"


def plain_config(spec: ExportSpec) -> dict:
    """The JSON description of the plain model (everything the source is rendered from)."""
    rnn = merged_recurrent_config(spec.recurrent)
    rnn["batch_first"] = spec.batch_first
    return {
        "readout": spec.readout,
        "batch_first": spec.batch_first,
        "lengths": spec.lengths,
        "embedding": {
            "num_embeddings": spec.embedding.weight.shape[0],
            "embedding_dim": spec.embedding.weight.shape[1],
        },
        "rnn": rnn,
        "pooling": list(spec.pooling),
        "head": _head_config(spec.head),
    }


def _head_config(head: nn.Module) -> dict:
    """A Linear head as before; an MLP as its layers (Dropout kept as Identity, so the
    parameter names keep their indices)."""

    def linear(m: nn.Linear) -> dict:
        return {"in_features": m.in_features, "out_features": m.out_features,
                "bias": m.bias is not None}  # fmt: skip

    if isinstance(head, nn.Linear):
        return linear(head)
    layers = []
    for m in head:
        if isinstance(m, nn.Linear):
            layers.append({"kind": "linear", **linear(m)})
        else:
            layers.append({"kind": {nn.ReLU: "relu", nn.Tanh: "tanh"}.get(type(m), "identity")})
    last = [x for x in layers if x["kind"] == "linear"][-1]
    return {"layers": layers, "out_features": last["out_features"]}


def _head_source(head: dict) -> str:
    if "layers" not in head:
        return f"nn.Linear({head['in_features']}, {head['out_features']}, bias={head['bias']})"
    parts = []
    for x in head["layers"]:
        if x["kind"] == "linear":
            parts.append(f"nn.Linear({x['in_features']}, {x['out_features']}, bias={x['bias']})")
        else:
            parts.append({"relu": "nn.ReLU()", "tanh": "nn.Tanh()"}.get(x["kind"], "nn.Identity()"))
    return "nn.Sequential(\n            " + ",\n            ".join(parts) + ",\n        )"


def plain_state_dict(spec: ExportSpec) -> dict[str, torch.Tensor]:
    """The plain model's weights: fp32, contiguous, no shared storage (a tied decoder
    becomes a copy), keyed as ``ExportedModel.state_dict()``."""
    state = {"embedding.weight": spec.embedding.weight}
    state.update({f"rnn.{k}": v for k, v in merged_recurrent_state(spec.recurrent).items()})
    state.update({f"head.{k}": v for k, v in spec.head.state_dict().items()})
    return {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in state.items()}


def _layout(cfg: dict) -> dict[str, str]:
    """Shape strings for the docstrings: tokens, logits and states."""
    rnn = cfg["rnn"]
    D = 2 if rnn["bidirectional"] else 1
    tokens = "(B, T)" if cfg["batch_first"] else "(T, B)"
    P = rnn.get("proj_size") or rnn["hidden_size"]
    LD = rnn["num_layers"] * D
    seq_logits = f"(B, T, {cfg['head']['out_features']})" if cfg["batch_first"] else (
        f"(T, B, {cfg['head']['out_features']})")  # fmt: skip
    return {
        "tokens": tokens,
        "logits": seq_logits
        if cfg["readout"] == "sequence"
        else f"(B, {cfg['head']['out_features']})",
        "h": f"({LD}, B, {P})",
        "c": f"({LD}, B, {rnn['hidden_size']})",
        "LD": str(LD),
        "P": str(P),
        "H": str(rnn["hidden_size"]),
        "batch_dim": "0" if cfg["batch_first"] else "1",
        "D": str(D),
    }


def _rnn_args(rnn: dict) -> str:
    keys = ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "bidirectional"]
    keys += [k for k in ("proj_size", "nonlinearity") if k in rnn]
    return ",\n            ".join(f"{k}={rnn[k]!r}" for k in keys) + ","


def _forward(cfg: dict, s: dict) -> str:
    lstm = cfg["rnn"]["cell"] == "LSTM"
    zeros = "torch.zeros({LD}, B, {n}, dtype=x.dtype, device=x.device)"
    if cfg["readout"] == "final":
        last = "torch.cat([h_n[-2], h_n[-1]], dim=1)" if s["D"] == "2" else "h_n[-1]"
        state = "(h_n, _)" if lstm else "h_n"
        if cfg.get("lengths"):
            # The final states are read off the padded output, not h_n: torch.onnx fails on
            # h_n of a packed single-layer RNN. Forward direction: its output at each
            # sequence's last real step; backward direction: its output at step 0.
            P = s["P"]
            both = f"torch.cat([forward, y[:, 0, {P}:]], dim=1)" if s["D"] == "2" else "forward"
            pieces = {
                "last": "final",
                "mean": "(y * mask).sum(dim=1) / lengths.to(y.device, y.dtype).view(-1, 1)",
                "max": 'y.masked_fill(~mask, float("-inf")).amax(dim=1)',
            }
            pooled = ", ".join(pieces[p] for p in cfg.get("pooling", ["last"]))
            if len(cfg.get("pooling", ["last"])) > 1:
                pooled = f"torch.cat([{pooled}], dim=1)"
            steps = "torch.arange(y.shape[1], device=y.device).view(1, -1, 1)"
            mask_line = f"mask = {steps} < lengths.to(y.device).view(-1, 1, 1)  # (B, T', 1)"
            return f'''
    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """tokens {s["tokens"]} int64, lengths (B,) int64 in 1..T -> logits {s["logits"]}
        from each sequence's state at its own last real step."""
        x = self.embedding(tokens)  # {s["tokens"][:-1]}, E)
        packed = pack_padded_sequence(
            x, lengths.cpu(), batch_first={cfg["batch_first"]}, enforce_sorted=False
        )
        y, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True)  # (B, T', D*P)
        last = (lengths - 1).to(y.device).view(-1, 1, 1).expand(-1, 1, {P})  # (B, 1, P)
        forward = y[:, :, :{P}].gather(1, last).squeeze(1)  # (B, P)
        final = {both}  # (B, D*P), top layer
        {mask_line}
        pooled = {pooled}  # (B, k*D*P): {" + ".join(cfg.get("pooling", ["last"]))}
        return self.head(pooled)
'''
        return f'''
    def forward(self, tokens: Tensor) -> Tensor:
        """tokens {s["tokens"]} int64 -> logits {s["logits"]} from the final state."""
        x = self.embedding(tokens)  # {s["tokens"][:-1]}, E)
        _, {state} = self.rnn(x)  # h_n {s["h"]}
        final = {last}  # (B, D*P), top layer
        return self.head(final)
'''
    if lstm:
        return f'''
    def forward(
        self, tokens: Tensor, h0: Optional[Tensor] = None, c0: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """tokens {s["tokens"]} int64, states h0 {s["h"]}, c0 {s["c"]} (zeros if None)
        -> (logits {s["logits"]}, h_n {s["h"]}, c_n {s["c"]})."""
        x = self.embedding(tokens)  # {s["tokens"][:-1]}, E)
        B = tokens.shape[{s["batch_dim"]}]
        if h0 is None:
            h0 = {zeros.format(LD=s["LD"], n=s["P"])}
        if c0 is None:
            c0 = {zeros.format(LD=s["LD"], n=s["H"])}
        y, (h_n, c_n) = self.rnn(x, (h0, c0))  # {s["tokens"][:-1]}, D*P)
        return self.head(y), h_n, c_n
'''
    return f'''
    def forward(self, tokens: Tensor, h0: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """tokens {s["tokens"]} int64, state h0 {s["h"]} (zeros if None)
        -> (logits {s["logits"]}, h_n {s["h"]})."""
        x = self.embedding(tokens)  # {s["tokens"][:-1]}, E)
        B = tokens.shape[{s["batch_dim"]}]
        if h0 is None:
            h0 = {zeros.format(LD=s["LD"], n=s["H"])}
        y, h_n = self.rnn(x, h0)  # {s["tokens"][:-1]}, D*P)
        return self.head(y), h_n
'''


def render_source(cfg: dict, *, title: str) -> str:
    """The text of ``model.py`` for the plain config ``cfg`` (see ``plain_config``)."""
    s = _layout(cfg)
    rnn, emb, head = cfg["rnn"], cfg["embedding"], cfg["head"]
    outputs = "logits" if cfg["readout"] == "final" else (
        "logits, h_n, c_n" if rnn["cell"] == "LSTM" else "logits, h_n")  # fmt: skip
    return f'''"""{title}.

Plain torch.nn, generated by rnnlab: needs only torch (and safetensors for the weights).

    tokens {s["tokens"]} ─ Embedding({emb["num_embeddings"]}, {emb["embedding_dim"]}) ─ \
{rnn["cell"]} x {rnn["num_layers"]} ─ Linear ─▶ logits {s["logits"]}

Usage (from this directory, or with it on sys.path):

    import model
    net = model.load()                 # reads model.safetensors beside this file
    {outputs} = net(tokens)
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CONFIG = {pformat(cfg, width=92, sort_dicts=False)}


class ExportedModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding({emb["num_embeddings"]}, {emb["embedding_dim"]})
        self.rnn = nn.{rnn["cell"]}(
            {_rnn_args(rnn)}
        )
        self.head = {_head_source(head)}
{_forward(cfg, s)}

def load(directory: Optional[str] = None) -> ExportedModel:
    """The model with its weights from ``directory`` (default: this file's), in eval mode."""
    from safetensors.torch import load_file

    directory = directory or os.path.dirname(os.path.abspath(__file__))
    net = ExportedModel()
    net.load_state_dict(load_file(os.path.join(directory, "{WEIGHTS_FILE}")))
    return net.eval()
'''


def write_plain_model(spec: ExportSpec, directory: Path, *, title: str) -> dict:
    """Write ``model.py`` and ``model.safetensors`` into ``directory``; returns the config."""
    cfg = plain_config(spec)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SOURCE_FILE).write_text(render_source(cfg, title=title), encoding="utf-8")
    save_file(plain_state_dict(spec), str(directory / WEIGHTS_FILE))
    return cfg


def build_plain_module(directory: Path) -> nn.Module:
    """Import ``directory/model.py`` (under a fresh module name) and return its model with
    the weights of ``directory/model.safetensors``, in eval mode."""
    name = f"rnnlab_exported_{uuid.uuid4().hex[:12]}"
    spec = importlib.util.spec_from_file_location(name, directory / SOURCE_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # TorchScript resolves the class's globals through it
    spec.loader.exec_module(module)
    net = module.ExportedModel()
    net.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    return net.eval()
