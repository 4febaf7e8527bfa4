"""`rnnlab inspect CKPT --text "..."`: gate heat maps and gradient flow for one input; for
a translation checkpoint, the attention matrix of the sentence's greedy translation.

    rnnlab inspect runs/ptb-small/checkpoints/best --text "the company said" \
        --out runs/inspect/ptb-small --metrics-out inspect_metrics.json

Loads the checkpoint with ``training.load_model``, tokenizes the text with the checkpoint's
vocabulary (words it does not know become ``<UNK>``, with a warning that names them), and
writes to --out (default runs/inspect/RUN, RUN the checkpoint's run folder; never into the
checkpoint itself):

* ``gates_<layer>_<cell>_l<k>[_reverse].png``: a heat map per gate (LSTM i, f, g, o and the
  cell c on its own symmetric scale; GRU r, z, n; RNN h) over the tokens, one row per unit
  (the first --max-units), titled with the model, layer, direction and units shown;
* ``gradient_flow.png``: ||dL/dh_t|| (and ||dL/dc_t||) over the tokens, L at the last token;
* ``inspect.json``: tokens, unknown tokens, saturation shares per gate, the gradient norms
  and their decay fit; ``report.html``, ``command.txt``.

A translation checkpoint (task ``translate``, an attention model) gets instead:

* ``attention.png``: the attention weights of the greedy translation of --text, source pieces
  along x (in reading order, also with ``reverse_source``), target pieces along y, titled
  with the variant and the attention kind;
* ``inspect.json``: source and target pieces, the translation, its log-probability, the
  weights, and how peaked they are; ``report.html``, ``command.txt``.

Thin: the work is ``rnnlab.analysis.inspection.inspect_input`` (recurrent gates) and
``rnnlab.models.translation.attention_map`` (seq2seq).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rnnlab.files import write_json


def _units(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 unit per heat map, got {text}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="gate heat maps and gradient flow of a checkpoint on one input text",
        description="Record the gates of every recurrent layer over the tokens of --text and "
        "the gradient of the loss at the last token with respect to each step's state.",
    )
    p.add_argument("checkpoint", help="checkpoint directory (e.g. runs/NAME/checkpoints/best)")
    p.add_argument("--text", required=True, help="the input text")
    p.add_argument("--out", default=None, help="output folder (default runs/inspect/RUN)")
    p.add_argument("--max-units", type=_units, default=64, help="units shown per heat map (>= 1)")
    p.add_argument("--metrics-out", default=None, help="also write flat JSON metrics here")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run)


def default_out(checkpoint: str | Path) -> Path:
    """runs/inspect/RUN for RUN/checkpoints/NAME (else the checkpoint folder's own name)."""
    path = Path(checkpoint).resolve()
    run = path.parent.parent.name if path.parent.name == "checkpoints" else path.name
    return Path("runs") / "inspect" / (run or "checkpoint")


def _stem(layer_name: str, cell: str, k: int, num_directions: int) -> str:
    layer, direction = divmod(k, num_directions)
    name = layer_name.replace(".", "_") or "model"
    return f"gates_{name}_{cell.lower()}_l{layer}" + ("_reverse" if direction else "")


def sentence(tokens: list[str], norms: list[float], decay: dict) -> str:
    """What the gradient norms say, in the direction they were measured (back from the loss)."""
    n = len(tokens)
    text = (
        f"{n} tokens: ||dL/dh_t|| is {norms[-1]:.2e} at the last token (where the loss is) "
        f"and {norms[0]:.2e} at the first, {n - 1} steps earlier"
    )
    rate = decay["rate"]
    if rate == rate:  # fitted (not NaN)
        way = "shrinks" if rate < 1 else "grows"
        text += f"; going back in time it {way} by a fitted x{rate:.3f} per step"
    return text


def write_inspection(model, vocab, tokens: list[str], out: Path, max_units: int = 64) -> dict:
    """Gate heat maps, gradient_flow.png and inspect.json for ``tokens`` into ``out``.

    Usable at the end of any training run whose model has recurrent layers (e.g.
    ``write_inspection(model, vocab, tokens, run_dir / "inspect")``; the run's report.html
    then shows the figures). Returns the inspect.json summary (with "finding" and "written").
    """
    from rnnlab.analysis.inspection import inspect_input
    from rnnlab.analysis.unroll import layer_spec
    from rnnlab.plotting.analysis import plot_gate_heatmap, plot_state_gradients

    ids = vocab.encode(tokens)
    result = inspect_input(model.eval(), ids)
    out.mkdir(parents=True, exist_ok=True)
    written, model_name = [], type(model).__name__
    modules = dict(model.named_modules())
    for layer in result["layers"]:
        spec = layer_spec(modules[layer["name"]])
        for k, record in enumerate(layer["records"]):
            H = record["h"].shape[-1]
            shown = min(max_units, H)
            level, direction = divmod(k, spec.num_directions)
            title = (
                f"{model_name}: layer '{layer['name']}' ({spec.family}) {level}"
                f"{' reverse' if direction else ''}, units 0-{shown - 1} of {H}"
            )
            stem = _stem(layer["name"], spec.family, k, spec.num_directions)
            png = out / f"{stem}.png"
            written.append(plot_gate_heatmap(record, tokens, png, max_units=max_units, title=title))
    written.append(plot_state_gradients(result["gradients"], tokens, out / "gradient_flow.png"))
    summary = {
        "tokens": tokens,
        "unknown_tokens": [t for t in tokens if t not in vocab],
        "layers": [
            {"name": la["name"], "mode": la["mode"], "saturation": la["saturation"]}
            for la in result["layers"]
        ],
        "gradients": result["gradients"],
        "decay": result["decay"],
        "loss": result["loss"],
        "finding": sentence(tokens, result["gradients"]["h"], result["decay"]),
    }
    write_json(out / "inspect.json", summary, indent=1)
    return {**summary, "written": [str(p) for p in written]}


def run(args: argparse.Namespace) -> int:
    from rnnlab.reporting import write_report
    from rnnlab.training import load_model
    from rnnlab.training.checkpoint import CheckpointError

    try:
        loaded = load_model(args.checkpoint, device=args.device)
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"rnnlab inspect: {exc}") from None
    if loaded.task == "translate":
        return run_translation(args, loaded)
    model, vocab, _ = loaded
    if vocab is None:
        raise SystemExit(f"rnnlab inspect: {args.checkpoint} has no vocabulary to encode --text")
    tokens = vocab.tokenizer(args.text)
    if not tokens:
        raise SystemExit("rnnlab inspect: --text has no tokens")
    unknown = [t for t in dict.fromkeys(tokens) if t not in vocab]
    if unknown:
        shown = ", ".join(repr(t) for t in unknown)
        print(f"warning: not in the vocabulary, read as <UNK>: {shown}", file=sys.stderr)
    out = Path(args.out) if args.out else default_out(args.checkpoint)
    summary = write_inspection(model, vocab, tokens, out, args.max_units)
    command = ["rnnlab", "inspect", str(args.checkpoint), "--text", args.text, "--out", str(out)]
    command += ["--max-units", str(args.max_units), "--device", args.device]
    (out / "command.txt").write_text(shlex.join(command) + "\n")
    if args.metrics_out:
        g = summary["gradients"]["h"]
        flat = {
            "tokens": len(tokens),
            "unknown_tokens": len(summary["unknown_tokens"]),
            "dL_dh_first": g[0],
            "dL_dh_last": g[-1],
            "decay_per_step_back": summary["decay"]["rate"],
        }
        for la in summary["layers"]:
            for k, sat in enumerate(la["saturation"]):
                for gate, shares in sat.items():
                    for side, share in shares.items():
                        flat[f"saturation_{la['name'] or 'model'}_{k}_{gate}_{side}"] = share
        write_json(args.metrics_out, flat, indent=1)
    write_report(out)
    print(
        f"{summary['finding']}; wrote {len(summary['written'])} PNGs, inspect.json and "
        f"report.html to {out}"
    )
    return 0


def attention_summary(amap) -> dict:
    """inspect.json of a translation: pieces, the translation, its score, the weights (T, Ts)
    and how peaked they are (mean over target steps of the largest weight; mean entropy)."""
    import torch

    w = amap.weights.float()  # (T, Ts)
    entropy = -(w * torch.log(w.clamp_min(1e-12))).sum(-1)  # (T,)
    return {
        "source_tokens": amap.source_tokens,
        "target_tokens": amap.target_tokens,
        "translation": amap.translation,
        "log_prob": amap.score,
        "weights": [[round(float(v), 6) for v in row] for row in w.tolist()],
        "attention_max_mean": float(w.max(-1).values.mean()),
        "attention_entropy_mean": float(entropy.mean()),
    }


def run_translation(args: argparse.Namespace, loaded) -> int:
    """``rnnlab inspect`` for a translation checkpoint: attention.png and inspect.json."""
    from rnnlab.models.translation import as_translator, attention_map
    from rnnlab.plotting.attention import plot_attention
    from rnnlab.reporting import write_report

    try:
        translator = as_translator(loaded)
        decode = translator.run.decode
        amap = attention_map(translator.model, translator.vocabs, args.text,
                             max_len_a=decode.max_len_a, max_len_b=decode.max_len_b)  # fmt: skip
    except ValueError as exc:
        raise SystemExit(f"rnnlab inspect: {exc}") from None
    m = translator.model.config
    out = Path(args.out) if args.out else default_out(args.checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    reverse = ", source read reversed" if m.reverse_source else ""
    title = (
        f"Seq2Seq {m.variant}: {m.attention} attention{reverse}\n"
        f"{m.encoder_cell.upper()} encoder{' (bidirectional)' if m.bidirectional else ''}, "
        f"{m.decoder_cell.upper()} decoder"
    )
    png = plot_attention(amap.weights, amap.source_tokens, amap.target_tokens,
                         out / "attention.png", title=title)  # fmt: skip
    summary = attention_summary(amap)
    summary["finding"] = (
        f"{args.text!r} -> {amap.translation!r} (log p {amap.score:.3f}, greedy); the largest "
        f"attention weight per target piece is {summary['attention_max_mean']:.2f} on average"
    )
    write_json(out / "inspect.json", summary, indent=1)
    command = ["rnnlab", "inspect", str(args.checkpoint), "--text", args.text, "--out", str(out)]
    (out / "command.txt").write_text(shlex.join(command + ["--device", args.device]) + "\n")
    if args.metrics_out:
        flat = {
            "source_tokens": len(amap.source_tokens),
            "target_tokens": len(amap.target_tokens),
            "log_prob": amap.score,
            "attention_max_mean": summary["attention_max_mean"],
            "attention_entropy_mean": summary["attention_entropy_mean"],
        }
        write_json(args.metrics_out, flat, indent=1)
    write_report(out)
    print(amap.translation)
    print(f"{summary['finding']}; wrote {png.name}, inspect.json and report.html to {out}")
    return 0
