"""`rnnlab inspect CKPT --text "..."`: gate heat maps and gradient flow for one input.

Loads the checkpoint with ``training.checkpoint.load_model``, tokenizes the text with the
checkpoint's vocabulary, and writes to --out (default: CKPT/inspect):

* ``gates_<layer>.png``: a heat map per gate (LSTM i, f, g, o and the cell c; GRU r, z, n;
  RNN h) over the tokens, one row per unit (the first --max-units);
* ``gradient_flow.png``: ||dL/dh_t|| (and ||dL/dc_t||) over the tokens, L at the last token;
* ``inspect.json``: tokens, saturation shares per gate, the gradient norms and decay fit.

Thin: the work is ``rnnlab.analysis.inspection.inspect_input``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="gate heat maps and gradient flow of a checkpoint on one input text",
        description="Record the gates of every recurrent layer over the tokens of --text and "
        "the gradient of the loss at the last token with respect to each step's state.",
    )
    p.add_argument("checkpoint", help="checkpoint directory (e.g. runs/NAME/checkpoints/best)")
    p.add_argument("--text", required=True, help="the input text")
    p.add_argument("--out", default=None, help="output folder (default CHECKPOINT/inspect)")
    p.add_argument("--max-units", type=int, default=64, help="units shown per heat map")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.analysis.inspection import inspect_input
    from rnnlab.plotting.analysis import plot_gate_heatmap, plot_state_gradients
    from rnnlab.training.checkpoint import CheckpointError, load_model

    try:
        model, vocab, _ = load_model(args.checkpoint, device=args.device)
    except (CheckpointError, FileNotFoundError) as exc:
        raise SystemExit(f"rnnlab inspect: {exc}") from exc
    if vocab is None:
        raise SystemExit(f"rnnlab inspect: {args.checkpoint} has no vocabulary to encode --text")
    tokens = vocab.tokenizer(args.text)
    if not tokens:
        raise SystemExit("rnnlab inspect: --text has no tokens")
    ids = vocab.encode(tokens)
    result = inspect_input(model, ids)
    out = Path(args.out) if args.out else Path(args.checkpoint) / "inspect"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for layer in result["layers"]:
        for k, record in enumerate(layer["records"]):
            stem = f"gates_{layer['name'].replace('.', '_') or 'rnn'}_{k}.png"
            written.append(plot_gate_heatmap(record, tokens, out / stem, max_units=args.max_units))
    written.append(plot_state_gradients(result["gradients"], tokens, out / "gradient_flow.png"))
    summary = {
        "checkpoint": str(args.checkpoint),
        "tokens": tokens,
        "unknown_tokens": [t for t, i in zip(tokens, ids) if i == vocab.unk_index],
        "layers": [
            {"name": la["name"], "mode": la["mode"], "saturation": la["saturation"]}
            for la in result["layers"]
        ],
        "gradients": result["gradients"],
        "decay": result["decay"],
        "loss": result["loss"],
    }
    (out / "inspect.json").write_text(json.dumps(summary, indent=1))
    g = result["gradients"]["h"]
    print(
        f"{len(tokens)} tokens: ||dL/dh_t|| goes from {g[0]:.2e} at the first token to "
        f"{g[-1]:.2e} at the last (x{result['decay']['rate']:.3f} per step); wrote "
        f"{len(written)} PNGs and inspect.json to {out}"
    )
    return 0
