"""`rnnlab translate CKPT "text" ...`: translate sentences with a saved encoder-decoder.

    rnnlab translate runs/multi30k-attn/checkpoints/best "ein Mann fährt Fahrrad ."
    a man is riding a bike .
    rnnlab translate CKPT --file news.de > news.en          # one sentence a line, in order
    cat news.de | rnnlab translate CKPT --beam 1 --jsonl    # {"source", "translation", "score"}

Decoding follows the checkpoint's ``[decode]`` section (beam size, length penalty, maximum
length) unless --beam, --length-penalty or --alpha say otherwise; ``--beam 1`` is greedy.
The score is log p(translation | source), <EOS> included. An empty line, or a sentence longer
than the model's ``max_source_length``, is an error naming the line.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "translate",
        help="translate sentences with a saved encoder-decoder (greedy or beam search)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint directory (e.g. runs/NAME/checkpoints/best)")
    p.add_argument("texts", nargs="*", help="sentences (default: --file or standard input)")
    p.add_argument("--file", help="one sentence a line ('-' for standard input)")
    p.add_argument("--beam", type=int, help="beam size, 1 = greedy (default: the checkpoint's)")
    p.add_argument(
        "--length-penalty",
        choices=["none", "average", "gnmt"],
        help="how beam search ranks finished candidates (default: the checkpoint's)",
    )
    p.add_argument("--alpha", type=float, help="the GNMT length penalty's exponent")
    p.add_argument("--batch-size", type=int, default=64, help="sentences decoded together")
    p.add_argument(
        "--jsonl", action="store_true", help="one JSON object a line: source, translation, score"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.set_defaults(func=run, late_positionals="texts")  # fmt: skip


def read_inputs(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(texts, where each came from): the arguments, --file, or standard input."""
    if args.texts and args.file:
        raise ValueError("give sentences inline or --file, not both")
    if args.texts:
        return list(args.texts), [f"argument {i + 1}" for i in range(len(args.texts))]
    if args.file in (None, "-"):
        lines, name = [line.rstrip("\r\n") for line in sys.stdin], "<stdin>"
    else:
        with open(args.file, encoding="utf-8") as f:
            lines, name = [line.rstrip("\r\n") for line in f], args.file
    if not lines:
        raise ValueError(f"no input: {name} is empty (give sentences, --file PATH or stdin)")
    return lines, [f"{name}:{i + 1}" for i in range(len(lines))]


def _options(args: argparse.Namespace, decode) -> dict:
    """Decoding keywords: the checkpoint's [decode] section, then the flags."""
    beam = decode.beam if args.beam is None else args.beam
    alpha = decode.alpha if args.alpha is None else args.alpha
    if beam < 1:
        raise ValueError(f"--beam must be >= 1, got {beam}")
    if alpha < 0:
        raise ValueError(f"--alpha must be >= 0, got {alpha}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    return {
        "beam": beam, "length_penalty": args.length_penalty or decode.length_penalty,
        "alpha": alpha, "max_len_a": decode.max_len_a, "max_len_b": decode.max_len_b,
        "batch_size": args.batch_size,
    }  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from rnnlab.models.translation import load_translator, translate_sentences
    from rnnlab.training import CheckpointError

    try:
        texts, names = read_inputs(args)
        translator = load_translator(args.checkpoint, device=args.device)
        options = _options(args, translator.run.decode)
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        results = translate_sentences(
            translator.model, translator.vocabs, texts, names=names, **options
        )
    except (CheckpointError, OSError, ValueError) as exc:  # OSError: a missing or unreadable file
        print(f"rnnlab translate: {exc}", file=sys.stderr)
        return 2
    for r in results:
        if args.jsonl:
            row = {"source": r.source, "translation": r.translation, "score": r.score}
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(r.translation)
    return 0
