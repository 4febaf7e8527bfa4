"""`rnnlab predict CKPT "text" ...`: labels from a saved classifier, tags from a tagger.

    rnnlab predict runs/sst2-bilstm/checkpoints/best "a gripping, funny film"
    positive 0.9995  a gripping, funny film
    rnnlab predict runs/ud-ewt-char/checkpoints/best "The dog barked ."
    The/DET dog/NOUN barked/VERB ./PUNCT
    rnnlab predict CKPT --file reviews.txt > predictions.jsonl     # one JSON object a line
    cat reviews.txt | rnnlab predict CKPT                          # standard input, JSONL

The checkpoint says which task it is; a tagger splits its input on whitespace (give it
tokenized text), a classifier uses the tokenizer saved with its vocabulary.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="label sentences (classifier) or tag words (tagger) with a saved model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint directory (e.g. runs/NAME/checkpoints/best)")
    p.add_argument("texts", nargs="*", help="sentences (default: --file or standard input)")
    p.add_argument("--file", help="one sentence a line ('-' for standard input); JSONL out")
    p.add_argument("--jsonl", action="store_true", help="JSONL out for sentences given inline")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run, late_positionals="texts")


def _read_lines(args: argparse.Namespace) -> list[str]:
    if args.file in (None, "-"):
        return [line.rstrip("\n") for line in sys.stdin]
    with open(args.file, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def predict(path: str, texts: list[str], device: str = "cpu") -> tuple[str, list[dict]]:
    """(task, one result dict per text) for a classify or tag checkpoint."""
    from rnnlab.models.classify_task import predict_texts
    from rnnlab.models.tag_task import predict_sentences
    from rnnlab.training import load_model

    loaded = load_model(path, device=device)
    if loaded.task == "classify":
        return "classify", predict_texts(loaded.model, loaded.vocabs, texts)
    if loaded.task == "tag":
        data = (loaded.config.get("run_config") or {}).get("data") or {}
        lowercase = bool(data.get("lowercase", True))
        signatures = bool(data.get("unk_signatures", False))
        return "tag", predict_sentences(
            loaded.model, loaded.vocabs, texts, lowercase=lowercase, signatures=signatures
        )
    raise ValueError(
        f"{path}: predict needs a classify or tag checkpoint, this one is task {loaded.task!r}"
        + (" (use `rnnlab generate`)" if loaded.task == "lm" else "")
    )


def run(args: argparse.Namespace) -> int:
    from rnnlab.training import CheckpointError

    jsonl = args.jsonl or not args.texts
    try:
        if args.texts and args.file:
            raise ValueError("give sentences inline or --file, not both")
        texts = args.texts or _read_lines(args)
        if not texts:
            raise ValueError("no input: give sentences, --file PATH, or lines on standard input")
        task, results = predict(args.checkpoint, texts, args.device)
    except (CheckpointError, FileNotFoundError, ValueError, UnicodeDecodeError) as exc:
        print(f"rnnlab predict: {exc}", file=sys.stderr)
        return 2
    for r in results:
        if jsonl:
            print(json.dumps(r, ensure_ascii=False))
        elif task == "classify":
            print(f"{r['label']} {r['probability']:.4f}  {r['text']}")
        else:
            print(" ".join(f"{w}/{t}" for w, t in zip(r["words"], r["tags"])))
    return 0
