"""`rnnlab quickstart`: train an LSTM language model on the embedded corpus, no download.

The corpus is sampled from a small hidden Markov model (``rnnlab.text.hmm``), so the best
possible perplexity of its test stream is known exactly. The command prints unigram and
bigram baselines, the model's test perplexity and the optimum, shows a few sampled
sentences, and saves the curves (PNG), the checkpoint and the metrics (JSON).

    rnnlab quickstart [--out runs/quickstart] [--metrics-out PATH] [--epochs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "quickstart",
        help="train an LSTM LM on the embedded HMM corpus and compare with the exact optimum",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", help="run directory (default: runs/quickstart, or a fresh one)")
    p.add_argument("--metrics-out", help="write the final metrics as flat JSON here")
    p.add_argument("--epochs", type=int, help="training epochs (default: the config's, 3)")
    p.add_argument("--seed", type=int, help="training seed")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: the config's, 1)")
    p.add_argument("--samples", type=int, default=5, help="sentences to sample (default 5)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of the quickstart config, e.g. data.hmm_train_tokens=50000",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _fresh_dir(base: Path) -> Path:
    if not (base / "checkpoints").exists():
        return base
    for i in range(2, 10_000):
        cand = base.with_name(f"{base.name}-{i}")
        if not (cand / "checkpoints").exists():
            return cand
    raise FileExistsError(f"no free run directory beside {base}")


def run(args: argparse.Namespace) -> int:
    from rnnlab.cli.train import flag_overrides
    from rnnlab.models.lm_training import LMTask, lm_config, load_lm_corpus, train_lm
    from rnnlab.models.sampling import generate
    from rnnlab.text.hmm import ngram_perplexity
    from rnnlab.training import TrainingInterrupted
    from rnnlab.training.config import ConfigError
    from rnnlab.training.runs import finish_run, flat_metrics, write_metrics

    t0 = time.perf_counter()
    flags = {"epochs": "train.epochs", "seed": "train.seed", "threads": "train.num_threads"}
    try:
        cfg = lm_config("quickstart", flag_overrides(args, flags) + args.overrides)
    except ConfigError as exc:
        print(f"rnnlab quickstart: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else _fresh_dir(Path("runs") / "quickstart")

    corpus = load_lm_corpus(cfg.data)
    train, test = corpus.splits["train"], corpus.splits["test"]
    unigram = ngram_perplexity(train, test, order=1)
    bigram = ngram_perplexity(train, test, order=2)
    optimum = corpus.info["optimal_ppl"]
    print(f"embedded HMM corpus: {len(train):,} train / {len(test):,} test tokens")
    print(f"  unigram baseline (add-0.1)   test ppl {unigram:8.2f}")
    print(f"  bigram baseline  (add-0.1)   test ppl {bigram:8.2f}")
    print(f"  exact optimum (forward alg.) test ppl {optimum:8.2f}")
    try:
        prepared = LMTask().prepare_corpus(cfg, corpus)
        result = train_lm(cfg, out, prepared=prepared)
    except TrainingInterrupted as exc:
        print(f"rnnlab quickstart: {exc}", file=sys.stderr)
        if exc.checkpoint is not None:
            print(f"resume with: rnnlab train lm --out {out} --resume", file=sys.stderr)
        return 130 if exc.signal_name == "SIGINT" else 143
    except (FileExistsError, ValueError) as exc:
        print(f"rnnlab quickstart: {exc}", file=sys.stderr)
        return 2
    model, vocab = result["_model"], result["_vocab"]
    ratio = result["test_ppl"] / optimum
    m = cfg.model
    print(
        f"  LSTM {m.num_layers}x{m.hidden_size} ({result['epochs']} epochs)    "
        f"test ppl {result['test_ppl']:8.2f}  = optimum x {ratio:.3f} "
        f"({'within' if ratio <= 1.05 else 'NOT within'} 5%)"
    )
    print("samples (temperature 1.0):")
    for i in range(args.samples):
        words = generate(
            model,
            vocab,
            "",
            max_tokens=40,
            temperature=1.0,
            stop_at="<eos>",
            seed=cfg.train.seed + i,
        )
        print("  " + " ".join(w for w in words if w != "<eos>"))
    result.update(
        unigram_ppl=unigram,
        bigram_ppl=bigram,
        optimal_ppl=optimum,
        ratio_to_optimum=ratio,
        run_dir=str(out),
        wall_s=time.perf_counter() - t0,
    )
    finish_run(out, result)  # final_metrics.json, curves.png with the quickstart's numbers
    metrics = flat_metrics(result)
    write_metrics(args.metrics_out, metrics)
    print(
        f"saved: {out}/checkpoints/best, {out}/curves.png, {out}/final_metrics.json "
        f"({metrics['wall_s']:.0f} s)"
    )
    print(f'next: rnnlab generate {out}/checkpoints/best --prompt "the old dog"')
    return 0
