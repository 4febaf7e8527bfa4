"""Seq2seq variants on the addition task: basic / reversed / peeky / attention, over seeds.

The seq2seq chapter of "Deep Learning from Scratch 2" (Saito, 2018, ch. 7) trains a
character-level encoder-decoder on "123+45" -> "168" (50,000 pairs, 45,000 train / 5,000
test, LSTM H = 128, E = 16, Adam, batch 128, gradient norm clipped at 5, 25 epochs) and
reports test exact-match accuracy of roughly 10% for the basic model, about 50% with the
source reversed, and close to 100% with reversed + peeky input. Here each condition is a
``rnnlab.models.Seq2Seq`` (unidirectional LSTM encoder and decoder, no dropout, full teacher
forcing) trained with a small plain loop like ``compare_cells.train_cell``:

    condition   variant     reverse_source
    basic       basic       no
    reversed    basic       yes
    peeky       peeky       yes        (reversed + peeky, as the book does)
    attention   attention   yes        (Luong "general" attention over the encoder outputs)

After every epoch the exact-match accuracy (the whole greedy output equals the sum) is
measured on held-out pairs whose source never occurs in training. Differences from the
book: a pair ends with <EOS> instead of being padded to a fixed width, the numbers are drawn
as in ``rnnlab.text.translation_data.toy_pairs`` (1 to 3 digits, then the value), and the
test sources are disjoint from the training ones (the book's random split is not).

``addition_splits`` makes the data, ``train_variant`` is one run, ``seq2seq_variants_experiment``
repeats it over conditions and seeds and compares each condition with basic
(``rnnlab.analysis.stats``). All return data only.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from rnnlab.analysis import stats
from rnnlab.models.decoding import greedy_decode
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.text import translation_data as td

__all__ = [
    "CONDITIONS",
    "DESCRIPTIONS",
    "BOOK",
    "Budget",
    "BUDGETS",
    "addition_splits",
    "train_variant",
    "seq2seq_variants_experiment",
    "finding",
]

# condition -> (Seq2Seq variant, reverse_source)
CONDITIONS: dict[str, tuple[str, bool]] = {
    "basic": ("basic", False),
    "reversed": ("basic", True),
    "peeky": ("peeky", True),
    "attention": ("attention", True),
}
DESCRIPTIONS = {
    "basic": "basic",
    "reversed": "basic, reversed source",
    "peeky": "peeky, reversed source",
    "attention": "Luong general attention, reversed source",
}
# The book's approximate test accuracy after 25 epochs at its full scale (read off its
# accuracy plots; no figure for attention on addition: its attention chapter uses dates).
BOOK = {"basic": "~10%", "reversed": "~50%", "peeky": "~100% (near perfect)", "attention": "-"}


@dataclass(frozen=True)
class Budget:
    """Data and training size of one run (``seed`` is the book's full scale)."""

    train_size: int = 5000
    test_size: int = 500
    epochs: int = 15
    hidden_size: int = 64
    embed_dim: int = 16
    batch_size: int = 64
    lr: float = 0.01
    clip: float = 5.0

    def to_dict(self) -> dict:
        return asdict(self)


BUDGETS = {
    "tiny": Budget(train_size=300, test_size=50, epochs=2, hidden_size=16),
    "default": Budget(),
    "long": Budget(
        train_size=20000, test_size=2000, epochs=20, hidden_size=128, batch_size=128, lr=0.005
    ),
    "seed": Budget(45000, 5000, 25, 128, 16, 128, 0.001, 5.0),  # the book's settings
}


def addition_splits(train_size: int, test_size: int, seed: int = 0) -> tuple[list, list]:
    """(train, test) addition pairs; no test source occurs in train, none twice in test.

    Drawn from ``toy_pairs("addition", ...)`` in order; duplicates of earlier sources are
    skipped (so the small sums, of which there are few, appear at most once).
    """
    seen: set[str] = set()
    train: list[td.Pair] = []
    test: list[td.Pair] = []
    pool_seed = seed
    while len(test) < test_size:
        for pair in td.toy_pairs("addition", 4 * (train_size + test_size), pool_seed):
            if len(train) < train_size:
                train.append(pair)
                seen.add(pair.source)
            elif pair.source not in seen:
                test.append(pair)
                seen.add(pair.source)
                if len(test) == test_size:
                    break
        pool_seed += 1_000_003
    return train, test


def _model(condition: str, budget: Budget, vocabs: dict) -> Seq2Seq:
    variant, reverse = CONDITIONS[condition]
    target = vocabs["target"]
    cfg = Seq2SeqConfig(
        src_vocab_size=len(vocabs["source"]), tgt_vocab_size=len(target),
        bos_index=target.bos_index, eos_index=target.eos_index,
        variant=variant, attention="general", encoder_cell="lstm", decoder_cell="lstm",
        embed_dim=budget.embed_dim, hidden_size=budget.hidden_size, bidirectional=False,
        dropout=0.0, teacher_forcing=1.0, reverse_source=reverse, max_source_length=16,
    )  # fmt: skip
    return Seq2Seq(cfg)


def _exact_match(model: Seq2Seq, test: list[tuple[list[int], list[int]]], batch: int) -> float:
    """Share of test pairs whose greedy output equals the target exactly."""
    correct = 0
    for index, src, lengths in td.source_batches([s for s, _ in test], batch):
        hyp = greedy_decode(model, src, lengths, max_len_a=0.0, max_len_b=6)
        correct += sum(tokens == test[i][1] for i, tokens in zip(index, hyp.tokens))
    return correct / len(test)


def train_variant(condition: str, budget: Budget | None = None, seed: int = 0, data=None) -> dict:
    """Train one condition on addition; exact-match accuracy after every epoch.

    Adam, gradient norm clipped at ``budget.clip``, shuffled length-bucketed batches.
    Seeded: the same arguments give the same numbers (the global RNG state is left alone).

    Args:
        data: optional (train pairs, test pairs) (default ``addition_splits(..., seed=0)``:
            every seed and condition sees the same pairs; the seed varies the model).
    Returns:
        {"condition", "seed", "accuracies": [exact match after epochs 1..E], "losses": [mean
         training loss per epoch], "final_accuracy", "parameters", "cpu_s"}.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; expected one of {tuple(CONDITIONS)}")
    budget = budget or Budget()
    train_pairs, test_pairs = data or addition_splits(budget.train_size, budget.test_size)
    vocabs = td.build_translation_vocabs(train_pairs, "char")
    train, _ = td.encode_pairs(train_pairs, vocabs, 16)
    test, _ = td.encode_pairs(test_pairs, vocabs, 16)
    batches = td.translation_batches(
        train, vocabs["target"], budget.batch_size, shuffle=True, seed=seed
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _model(condition, budget, vocabs)
        opt = torch.optim.Adam(model.parameters(), lr=budget.lr)
        start = time.process_time()
        losses, accuracies = [], []
        for epoch in range(1, budget.epochs + 1):
            batches.set_epoch(epoch)
            model.train()
            total, n = 0.0, 0
            for batch in batches:
                loss = model.step(batch).loss
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), budget.clip)
                opt.step()
                total, n = total + loss.item(), n + 1
            losses.append(total / n)
            accuracies.append(_exact_match(model, test, 500))
    return {
        "condition": condition,
        "seed": seed,
        "accuracies": accuracies,
        "losses": losses,
        "final_accuracy": accuracies[-1],
        "parameters": sum(p.numel() for p in model.parameters()),
        "cpu_s": time.process_time() - start,
    }


def seq2seq_variants_experiment(
    conditions: tuple[str, ...] = tuple(CONDITIONS),
    seeds: tuple[int, ...] = tuple(range(5)),
    budget: Budget | None = None,
    *,
    progress=None,
) -> dict:
    """``train_variant`` for every condition x seed; each condition compared with basic.

    Returns:
        {"config", "runs": [train_variant's dict],
         "summary": [{condition, n_seeds, mean, ci_low, ci_high, values, book}],
         "comparisons": [{sentence, **Comparison}]: condition vs basic, final accuracy}.
    """
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown or len(conditions) < 2 or "basic" not in conditions:
        raise ValueError(
            f"expected at least two conditions from {tuple(CONDITIONS)} including basic, "
            f"got {conditions}"
        )
    budget = budget or Budget()
    data = addition_splits(budget.train_size, budget.test_size)
    runs, finals = [], {}
    for condition in conditions:
        for seed in seeds:
            run = train_variant(condition, budget, seed, data)
            runs.append(run)
            finals.setdefault(condition, []).append(run["final_accuracy"])
            if progress is not None:
                progress(
                    f"{condition} seed={seed}: exact match {run['final_accuracy']:.3f} "
                    f"({run['cpu_s']:.1f} s CPU)"
                )
    summary = []
    for condition in conditions:
        s = stats.summarize(finals[condition]).to_dict()
        summary.append(
            {"condition": condition, "n_seeds": s.pop("n"), **s, "book": BOOK[condition]}
        )
    comparisons = []
    for condition in conditions:
        if condition != "basic":
            c = stats.compare(finals[condition], finals["basic"], condition, "basic")
            comparisons.append({"sentence": c.sentence("final exact match"), **c.to_dict()})
    config = {
        "task": "addition",
        "conditions": {
            c: dict(zip(("variant", "reverse_source"), CONDITIONS[c])) for c in conditions
        },
        "seeds": list(seeds),
        "budget": budget.to_dict(),
        "model": "Seq2Seq, LSTM encoder and decoder (unidirectional), attention 'general'",
        "metric": "exact match of the greedy output on held-out pairs (sources unseen in train)",
    }
    return {"config": config, "runs": runs, "summary": summary, "comparisons": comparisons}


def finding(result: dict) -> str:
    """The ordering by mean final accuracy, whether it is the book's, and each verdict."""
    means = {s["condition"]: s["mean"] for s in result["summary"]}
    order = " > ".join(f"{c} {m:.2f}" for c, m in sorted(means.items(), key=lambda cm: -cm[1]))
    n = result["summary"][0]["n_seeds"]
    epochs = result["config"]["budget"]["epochs"]
    text = f"Held-out exact match after {epochs} epochs, {n} seeds: {order}. "
    book = [c for c in ("peeky", "reversed", "basic") if c in means]
    if len(book) > 1:
        holds = all(means[a] > means[b] for a, b in zip(book, book[1:]))
        text += f"The book's ordering ({' > '.join(book)}) {'holds' if holds else 'does not hold'}"
        text += " here (by the means). "
    text += "; ".join(c["sentence"] for c in result["comparisons"]) + "."
    return text
