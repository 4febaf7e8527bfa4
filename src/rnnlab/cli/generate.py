"""`rnnlab generate CKPT --prompt "..."`: sample text from a saved language model.

    rnnlab generate runs/quickstart/checkpoints/best --prompt "the old dog" \
        --temperature 0.8 --top-k 40 --top-p 0.9 --max-tokens 100 --seed 1

``<PAD>`` is never sampled and ``<UNK>`` only with ``--allow-unk``; prompt words the
vocabulary does not know are mapped to ``<UNK>`` with a warning.
"""

from __future__ import annotations

import argparse
import sys
import warnings


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate",
        help="sample text from a saved language model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint directory (e.g. runs/NAME/checkpoints/best)")
    p.add_argument("--prompt", default="", help="text to continue (default: start of a sentence)")
    p.add_argument("--temperature", type=float, default=1.0, help=">= 0, 0 = greedy (default 1.0)")
    p.add_argument("--top-k", type=int, help="sample among the k >= 1 most likely tokens")
    p.add_argument("--top-p", type=float, help="sample within the nucleus of mass p in (0, 1]")
    p.add_argument("--max-tokens", type=int, default=100, help="tokens to sample, >= 1")
    p.add_argument("--allow-unk", action="store_true", help="may sample <UNK>")
    p.add_argument("--seed", type=int, help="random seed (reproducible samples)")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.models.language_model import LanguageModel
    from rnnlab.models.sampling import check_sampling_args, detokenize, generate
    from rnnlab.training.checkpoint import CheckpointError, load_model

    try:
        # the arguments first: a typo must not wait for the checkpoint to load
        check_sampling_args(args.temperature, args.top_k, args.top_p, args.max_tokens, args.seed)
        model, vocab, saved = load_model(args.checkpoint, device=args.device)
        if not isinstance(model, LanguageModel) or vocab is None:
            raise ValueError(f"{args.checkpoint} is not a language model with a vocabulary")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tokens = generate(
                model,
                vocab,
                args.prompt,
                max_tokens=args.max_tokens,
                temperature=args.temperature,
                top_k=args.top_k,
                top_p=args.top_p,
                allow_unk=args.allow_unk,
                seed=args.seed,
            )
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"rnnlab generate: {exc}", file=sys.stderr)
        return 2
    prompt_tokens = vocab.tokenizer(args.prompt) if args.prompt else []
    print(detokenize(vocab, [*prompt_tokens, *tokens]))
    return 0
