"""`rnnlab export CKPT --to torch | torchscript | onnx --out PATH`: a trained model for
deployment, through torch's own layers (rnnlab's native path).

    rnnlab export runs/ptb-small/checkpoints/best --to torch --out export/ptb
    rnnlab export runs/ptb-small/checkpoints/best --to onnx --out export/ptb.onnx

``torch`` writes a directory (model.py using only torch.nn, model.safetensors,
export.json, vocab.json); ``torchscript`` and ``onnx`` write one file (plus PATH.json
and PATH.vocab.json). Scratch-only layers (Cho's original GRU, the layer-normalised
LSTM) are refused with the reason. See ``rnnlab.export``.
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("torch", "torchscript", "onnx")  # rnnlab.export.FORMATS, without importing torch


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a saved model as plain torch.nn, TorchScript or ONNX",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint directory (e.g. runs/NAME/checkpoints/best)")
    p.add_argument("--to", required=True, choices=FORMATS, help="the format")
    p.add_argument("--out", required=True, help="directory (torch) or file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.export import ExportError, export_model, io_names
    from rnnlab.export.spec import describe_model
    from rnnlab.export.torch_source import plain_config
    from rnnlab.training import load_model
    from rnnlab.training.checkpoint import CheckpointError

    try:
        model, vocab, _ = load_model(args.checkpoint)
        out = export_model(
            model, to=args.to, out=args.out, vocab=vocab, source=str(args.checkpoint),
            opset=args.opset,
        )  # fmt: skip
    except (CheckpointError, ExportError, FileNotFoundError, ValueError) as exc:
        print(f"rnnlab export: {exc}", file=sys.stderr)
        return 2
    inputs, outputs = io_names(plain_config(describe_model(model)))
    print(f"wrote {out} ({args.to}): {', '.join(inputs)} -> {', '.join(outputs)}")
    return 0
