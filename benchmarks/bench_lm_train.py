"""Language-model training speed: rnnlab (LanguageModel + Trainer) vs a plain torch.nn loop.

    python benchmarks/bench_lm_train.py [--data-dir ../shared/data] [--steps 100] [--rounds 3]

Both sides train the same configuration (default: PTB small, 2 x 200 LSTM, batch 20, bptt 20,
SGD lr 1 on the loss summed over time, clip 5) on the same token stream, in the same process,
alternating rounds so that a busy machine slows both alike. rnnlab's number is the Trainer's
own tokens/s (the batch loop only); the plain loop is the pytorch/examples word-LM loop
around ``torch.nn.LSTM``. Writes ``benchmarks/results/bench_lm_train.json``; target >= 1.0x.
Uses the first ``--tokens`` tokens of PTB when ``--data-dir`` has it, else the embedded HMM
corpus.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from rnnlab.models import LanguageModel, LMConfig
from rnnlab.models.lm_training import LMDataConfig, build_lm_vocab, load_lm_corpus
from rnnlab.text.lm_batching import LMBatches, encode_stream
from rnnlab.training import TrainConfig, Trainer

RESULTS = Path(__file__).resolve().parent / "results" / "bench_lm_train.json"


def rnnlab_tokens_per_s(stream, V, args) -> tuple[float, str]:
    torch.manual_seed(0)
    cfg = LMConfig(
        vocab_size=V,
        embed_dim=args.hidden,
        hidden_size=args.hidden,
        num_layers=args.layers,
        init_range=0.1,
    )
    model = LanguageModel(cfg)
    train = TrainConfig(
        optimizer="sgd",
        lr=1.0,
        loss_reduction="sum_over_time",
        clip_norm=5.0,
        epochs=10_000,
        max_steps=args.steps,
        progress=False,
        seed=0,
    )
    result = Trainer(model, train).fit(LMBatches(stream, args.batch_size, args.bptt))
    return float(result["tokens_per_s"]), str(model.rnn.last_backend)


class PlainLM(nn.Module):
    """pytorch/examples' RNNModel without dropout."""

    def __init__(self, V: int, H: int, L: int) -> None:
        super().__init__()
        self.encoder = nn.Embedding(V, H)
        self.rnn = nn.LSTM(H, H, L)
        self.decoder = nn.Linear(H, V)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def forward(self, x, hidden):
        out, hidden = self.rnn(self.encoder(x), hidden)  # (T, B, H)
        return self.decoder(out), hidden  # (T, B, V)


def torch_tokens_per_s(stream, V, args) -> float:
    torch.manual_seed(0)
    model = PlainLM(V, args.hidden, args.layers)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    crit = nn.CrossEntropyLoss()
    B = args.batch_size
    hidden = (torch.zeros(args.layers, B, args.hidden), torch.zeros(args.layers, B, args.hidden))
    tokens, steps = 0, 0
    start = time.perf_counter()
    while steps < args.steps:
        for x, y in LMBatches(stream, B, args.bptt):
            hidden = tuple(h.detach() for h in hidden)
            logits, hidden = model(x, hidden)
            loss = crit(logits.view(-1, V), y.reshape(-1)) * x.shape[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            tokens += y.numel()
            steps += 1
            if steps >= args.steps:
                break
    return tokens / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", help="folder holding ptb/ (else the embedded HMM corpus)")
    p.add_argument("--tokens", type=int, default=100_000, help="training tokens to use")
    p.add_argument("--steps", type=int, default=100, help="optimizer steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--bptt", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    name = "ptb" if args.data_dir and (Path(args.data_dir) / "ptb").is_dir() else "hmm"
    data = LMDataConfig(
        dataset=name,
        max_train_tokens=args.tokens,
        max_eval_tokens=1000,
        hmm_train_tokens=args.tokens,
        hmm_eval_tokens=1000,
    )
    corpus = load_lm_corpus(data, args.data_dir)
    vocab = build_lm_vocab(corpus.splits["train"], data)
    stream = encode_stream(corpus.splits["train"], vocab)
    V = len(vocab)

    ours, theirs, backend = [], [], ""
    for r in range(args.rounds):
        theirs.append(torch_tokens_per_s(stream, V, args))
        rate, backend = rnnlab_tokens_per_s(stream, V, args)
        ours.append(rate)
        print(f"round {r + 1}: rnnlab {ours[-1]:.0f} tokens/s, torch.nn {theirs[-1]:.0f} tokens/s")
    ratio = statistics.median(o / t for o, t in zip(ours, theirs))
    result = {
        "benchmark": "lm_train",
        "dataset": name,
        "vocab_size": V,
        "config": {
            k: getattr(args, k)
            for k in ("hidden", "layers", "batch_size", "bptt", "steps", "rounds", "threads")
        },
        "rnnlab_backend": backend,
        "rnnlab_tokens_per_s": ours,
        "torch_tokens_per_s": theirs,
        "speedup_median": ratio,
        "target": 1.0,
        "torch_version": torch.__version__,
        "machine": platform.machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"rnnlab / torch.nn = {ratio:.3f}x (median of {args.rounds} rounds) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
