"""``export_model``: an rnnlab model to a plain torch.nn module, TorchScript or ONNX.

All three go through the plain torch.nn model of ``rnnlab.export.torch_source`` (torch's
own layers, i.e. rnnlab's native path), never through the scratch loop: tracing that loop
would unroll it to the traced length, and its autograd Functions do not trace.

    to="torch"        OUT/ a directory: model.py (torch.nn only), model.safetensors,
                      export.json (inputs, outputs, source), vocab.json (if given)
    to="torchscript"  OUT  a file: torch.jit.script of that module (torch.jit.load(OUT))
    to="onnx"         OUT  a file: ONNX graph, dynamic batch and sequence axes
                      (onnxruntime.InferenceSession(OUT)); beside it OUT.json

Inputs and outputs (``readout="sequence"``, e.g. the language model; tokens (T, B)):
``tokens, h0[, c0] -> logits (T, B, V), h_n[, c_n]`` (c only for LSTM; the torch and
TorchScript modules default the states to zeros). ``readout="final"`` (a classifier):
``tokens[, lengths (B,)] -> logits (B, C)``.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from rnnlab import __version__
from rnnlab.export.spec import ExportError, describe_model
from rnnlab.export.torch_source import build_plain_module, write_plain_model

__all__ = ["FORMATS", "export_model", "example_inputs", "io_names"]

FORMATS = ("torch", "torchscript", "onnx")
EXPORT_FILE = "export.json"
ONNX_OPSET = 17


def io_names(cfg: dict) -> tuple[list[str], list[str]]:
    """Input and output names of the exported graph for the plain config ``cfg``."""
    if cfg["readout"] == "final":
        return (["tokens", "lengths"] if cfg.get("lengths") else ["tokens"]), ["logits"]
    if cfg["rnn"]["cell"] == "LSTM":
        return ["tokens", "h0", "c0"], ["logits", "h_n", "c_n"]
    return ["tokens", "h0"], ["logits", "h_n"]


def example_inputs(cfg: dict, batch: int = 2, time: int = 3) -> tuple[torch.Tensor, ...]:
    """Inputs of the right shapes: random tokens (T, B) (or (B, T) if batch_first) int64;
    then for "sequence" zero states h0 (L*D, B, P) [, c0 (L*D, B, H)], for "final" with
    lengths the lengths (B,)."""
    rnn = cfg["rnn"]
    shape = (batch, time) if cfg["batch_first"] else (time, batch)
    tokens = torch.randint(0, cfg["embedding"]["num_embeddings"], shape)
    if cfg["readout"] == "final":
        if cfg.get("lengths"):  # distinct lengths, longest first: time, time - 1, ...
            return tokens, torch.arange(time, time - batch, -1).clamp(min=1)
        return (tokens,)
    LD = rnn["num_layers"] * (2 if rnn["bidirectional"] else 1)
    h0 = torch.zeros(LD, batch, rnn.get("proj_size") or rnn["hidden_size"])
    if rnn["cell"] == "LSTM":
        return tokens, h0, torch.zeros(LD, batch, rnn["hidden_size"])
    return tokens, h0


def _dynamic_axes(cfg: dict) -> dict[str, dict[int, str]]:
    time_batch = {0: "batch", 1: "time"} if cfg["batch_first"] else {0: "time", 1: "batch"}
    inputs, outputs = io_names(cfg)
    axes = {"tokens": time_batch}
    if cfg["readout"] == "final":
        axes["logits"] = {0: "batch"}
        if cfg.get("lengths"):
            axes["lengths"] = {0: "batch"}
        return axes
    axes["logits"] = time_batch
    for name in inputs[1:] + outputs[1:]:
        axes[name] = {1: "batch"}
    return axes


def _description(cfg: dict, to: str, source: str | None) -> dict[str, Any]:
    inputs, outputs = io_names(cfg)
    return {
        "format": f"rnnlab-export-{to}",
        "rnnlab_version": __version__,
        "source": source,
        "inputs": inputs,
        "outputs": outputs,
        "dynamic_axes": {
            k: {str(a): n for a, n in v.items()} for k, v in _dynamic_axes(cfg).items()
        },
        "model": cfg,
    }


def export_model(
    model: torch.nn.Module,
    *,
    to: str,
    out: str | Path,
    vocab: Any = None,
    source: str | None = None,
    opset: int = ONNX_OPSET,
) -> Path:
    """Export ``model`` (an rnnlab model; see ``rnnlab.export.spec``) as ``to`` into ``out``.

    Args:
        model: the model (its weights are read; the model is not changed).
        to: "torch", "torchscript" or "onnx" (module docstring).
        out: the directory ("torch") or file to write.
        vocab: a vocabulary with ``to_dict()``, written as JSON beside the export.
        source: where the model came from (e.g. the checkpoint path), recorded.
        opset: ONNX opset version.
    Returns:
        ``out`` as a Path.
    Raises:
        ExportError: unknown format, or a part of the model torch.nn cannot hold.
    """
    if to not in FORMATS:
        raise ExportError(f"to must be one of {FORMATS}, got {to!r}")
    spec = describe_model(model)
    out = Path(out)
    title = f"{type(model).__name__} exported by rnnlab {__version__}" + (
        f" from {source}" if source else ""
    )
    if to == "torch":
        if out.exists() and not out.is_dir():
            raise ExportError(f"expected --out to be a directory for to='torch', got file {out}")
        cfg = write_plain_model(spec, out, title=title)
        _write_json(out / EXPORT_FILE, _description(cfg, to, source))
        if vocab is not None:
            _write_json(out / "vocab.json", vocab.to_dict())
        return out
    if out.is_dir():
        raise ExportError(f"expected --out to be a file for to={to!r}, got directory {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rnnlab-export-"))
    try:
        cfg = write_plain_model(spec, work, title=title)
        net = build_plain_module(work)
        if to == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit's notice
                torch.jit.save(torch.jit.script(net), str(out))
        else:
            _export_onnx(net, cfg, out, opset)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _write_json(out.with_name(out.name + ".json"), _description(cfg, to, source))
    if vocab is not None:
        _write_json(out.with_name(out.name + ".vocab.json"), vocab.to_dict())
    return out


def _export_onnx(net: torch.nn.Module, cfg: dict, out: Path, opset: int) -> None:
    """torch's TorchScript-based ONNX exporter: it maps nn.LSTM / GRU / RNN onto ONNX's
    LSTM / GRU / RNN operators with a symbolic time axis. (The dynamo exporter, torch's
    default since 2.9, bakes the traced sequence length into the graph's reshapes.)"""
    if cfg["rnn"].get("proj_size"):
        raise ExportError(
            "ONNX has no LSTM with a projection (proj_size); use torch or torchscript"
        )
    if importlib.util.find_spec("onnx") is None:
        raise ExportError("to='onnx' needs the onnx package: pip install onnx (and onnxruntime)")
    inputs, outputs = io_names(cfg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation, trace notices
            torch.onnx.export(
                net,
                example_inputs(cfg),
                str(out),
                input_names=inputs,
                output_names=outputs,
                dynamic_axes=_dynamic_axes(cfg),
                opset_version=opset,
                dynamo=False,
            )
    except (ImportError, RuntimeError, TypeError) as exc:  # e.g. an opset it cannot write
        raise ExportError(f"torch.onnx.export failed for opset {opset}: {exc}") from exc


def _write_json(path: Path, data: Any) -> None:
    from rnnlab.files import write_json

    write_json(path, data)
