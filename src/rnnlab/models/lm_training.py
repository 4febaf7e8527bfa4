"""The language-modelling task: its run config, its data, and its place in the run plumbing.

What is shared by every task (run directory, exact resume, best-checkpoint reload,
evaluation of the named splits, final metrics) is in :mod:`rnnlab.training.runs`; this
module adds only what is the language model's own::

    cfg = load_run_config(LMTask(), "ptb-small", ["train.epochs=2"])
    result = train_lm(cfg, out_dir="runs/ptb-small", data_dir="../shared/data")
    result["test_ppl"], result["valid_ppl"], result["wall_s"]

A run config has a ``task = "lm"`` key and three sections: ``[data]`` (``LMDataConfig``:
which corpus, word or character tokens, batch size, BPTT length), ``[model]``
(``LMConfig``) and ``[train]`` (``rnnlab.training.TrainConfig``). Datasets: ``hmm`` (the
embedded corpus of ``rnnlab.text.hmm``, with its exact optimum), ``ptb``, ``wikitext2`` and
``text:PATH`` (any UTF-8 text file: lines are sentences; split 90/5/5 into
train/valid/test). The vocabulary is named ``tokens`` in checkpoints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab.models.language_model import LanguageModel, LMConfig
from rnnlab.training.config import ConfigError, TrainConfig
from rnnlab.training.runs import Prepared, Task, load_run_config, register_task, train_run

__all__ = [
    "LMDataConfig",
    "LMRunConfig",
    "LMCorpus",
    "LMTask",
    "load_lm_corpus",
    "build_lm_vocab",
    "make_batches",
    "train_lm",
    "evaluate_lm",
]

SPLITS = ("train", "valid", "test")
VOCAB = "tokens"


@dataclass(frozen=True)
class LMDataConfig:
    """The ``[data]`` section of a language-modelling run.

    Attributes:
        dataset: "hmm" (embedded), "ptb", "wikitext2" or "text:PATH".
        char: character-level tokens instead of words.
        batch_size: B, parallel columns of the training stream.
        eval_batch_size: columns of the validation and test streams.
        bptt: T, the truncated-BPTT window.
        random_bptt: randomise the training window lengths (AWD-LSTM), from a generator the
            data owns (seeded with ``train.seed`` and the epoch).
        min_freq: words seen fewer times in train map to ``<UNK>``.
        max_vocab: keep only this many most frequent tokens (None = all; >= 1).
        max_train_tokens: use only the first N training tokens (smoke runs; None = all).
        max_eval_tokens: use only the first N validation and test tokens (None = all).
        hmm_seed, hmm_train_tokens, hmm_eval_tokens: the embedded corpus's seed and sizes.
    """

    dataset: str = "hmm"
    char: bool = False
    batch_size: int = 20
    eval_batch_size: int = 10
    bptt: int = 35
    random_bptt: bool = False
    min_freq: int = 1
    max_vocab: int | None = None
    max_train_tokens: int | None = None
    max_eval_tokens: int | None = None
    hmm_seed: int = 0
    hmm_train_tokens: int = 400_000
    hmm_eval_tokens: int = 40_000

    def __post_init__(self) -> None:
        ok_name = self.dataset in ("hmm", "ptb", "wikitext2") or (
            self.dataset.startswith("text:") and len(self.dataset) > 5
        )
        if not ok_name:
            raise ConfigError(
                f"data.dataset must be hmm, ptb, wikitext2 or text:PATH, got {self.dataset!r}"
            )
        for name in ("batch_size", "eval_batch_size", "bptt", "min_freq"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_vocab", "max_train_tokens", "max_eval_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"data.{name} must be >= 1 or none, got {value}")
        for name in ("hmm_train_tokens", "hmm_eval_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class LMRunConfig:
    """A language-modelling run: ``task = "lm"``, ``[data]``, ``[model]``, ``[train]``."""

    task: str = "lm"
    data: LMDataConfig = field(default_factory=LMDataConfig)
    model: LMConfig = field(default_factory=LMConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.task != "lm":
            raise ConfigError(f"this is a config for task {self.task!r}, not 'lm'")


# --------------------------------------------------------------------------- data
@dataclass
class LMCorpus:
    """Token streams by split, and what is known about them (e.g. the HMM optimum)."""

    splits: dict[str, list[str]]
    info: dict[str, float] = field(default_factory=dict)


def _split_lines(lines: list[str], where: str) -> dict[str, list[str]]:
    if len(lines) < 3:
        raise ValueError(
            f"{where}: need at least 3 non-empty lines (train/valid/test), got {len(lines)}"
        )
    n_eval = max(1, len(lines) // 20)
    return {
        "train": lines[: len(lines) - 2 * n_eval],
        "valid": lines[len(lines) - 2 * n_eval : len(lines) - n_eval],
        "test": lines[len(lines) - n_eval :],
    }


def _lines_to_tokens(lines: list[str], char: bool) -> list[str]:
    if char:
        return [ch for line in lines for ch in line + "\n"]
    return [tok for line in lines for tok in (*line.split(), "<eos>")]


def read_text_lines(path: Path) -> list[str]:
    """The non-blank lines of a UTF-8 text file; errors name the file (and the byte)."""
    if not path.is_file():
        raise FileNotFoundError(f"text file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); convert it first"
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path}: the text is empty (no non-blank lines)")
    return lines


def load_lm_corpus(
    cfg: LMDataConfig, data_dir: str | Path | None = None, splits: Sequence[str] = SPLITS
) -> LMCorpus:
    """Read (or generate) the token streams of ``splits`` named by ``cfg.dataset``.

    Raises:
        ValueError: the corpus (or a split) is empty, or a file is not UTF-8.
        FileNotFoundError: a ``text:PATH`` file is missing.
    """
    info: dict[str, float] = {}
    if cfg.dataset == "hmm":
        from rnnlab.text.hmm import default_hmm, hmm_split

        if cfg.char:
            raise ConfigError("the embedded hmm corpus is word-level; drop --char")
        hmm = default_hmm()
        sizes = {"train": cfg.hmm_train_tokens}
        sizes.update(valid=cfg.hmm_eval_tokens, test=cfg.hmm_eval_tokens)
        streams = {s: hmm_split(cfg.hmm_seed, s, sizes[s], hmm) for s in splits}
        index = hmm.word_index
        for s in ("valid", "test"):
            if s in streams:
                key = "optimal_ppl" if s == "test" else "optimal_valid_ppl"
                info[key] = hmm.perplexity([index[w] for w in streams[s]])
    elif cfg.dataset.startswith("text:"):
        path = Path(cfg.dataset[5:]).expanduser()
        lines = read_text_lines(path)
        parts = _split_lines(lines, str(path))
        streams = {k: _lines_to_tokens(parts[k], cfg.char) for k in splits}
    elif cfg.char:
        from rnnlab.text.datasets import resolve_dataset

        paths = resolve_dataset(cfg.dataset, data_dir)
        streams = {}
        for split in splits:
            lines = [ln.strip() for ln in read_text_lines(Path(paths[split]))]
            streams[split] = _lines_to_tokens(lines, True)
    else:
        from rnnlab.text.datasets import lm_splits

        every = lm_splits(cfg.dataset, data_dir)
        streams = {s: every[s] for s in splits}
    if "train" in streams and cfg.max_train_tokens is not None:
        streams["train"] = streams["train"][: cfg.max_train_tokens]
    if cfg.max_eval_tokens is not None:
        for split in ("valid", "test"):
            if split in streams:
                streams[split] = streams[split][: cfg.max_eval_tokens]
    for split in splits:
        if not streams.get(split):
            raise ValueError(f"dataset {cfg.dataset!r}: the {split} split is empty")
    return LMCorpus(streams, info)


def build_lm_vocab(train_tokens: list[str], cfg: LMDataConfig):
    """The vocabulary of the training stream (``<PAD>`` = 0, ``<UNK>`` = 1, then by frequency)."""
    from rnnlab.text.tokenize import CharTokenizer, WordTokenizer
    from rnnlab.text.vocab import Vocabulary

    if not train_tokens:
        raise ValueError("cannot build a vocabulary from an empty training stream")
    tokenizer = CharTokenizer() if cfg.char else WordTokenizer.whitespace()
    return Vocabulary.from_counts(
        Counter(train_tokens), cfg.min_freq, cfg.max_vocab, tokenizer=tokenizer
    )


def make_batches(
    tokens: list[str], vocab, batch_size: int, bptt: int, random_bptt: bool = False, seed: int = 0
):
    """``LMBatches`` over the encoded stream (see ``rnnlab.text.lm_batching``)."""
    from rnnlab.text.lm_batching import LMBatches, encode_stream

    stream = encode_stream(tokens, vocab)
    return LMBatches(stream, batch_size, bptt, random_bptt=random_bptt, seed=seed)


def _fingerprint(batches) -> str:
    return hashlib.sha256(batches.data.numpy().tobytes()).hexdigest()


# --------------------------------------------------------------------------- the task
_LM_FLAGS = {  # argparse dest -> config key
    "dataset": "data.dataset",
    "char": "data.char",
    "cell": "model.cell",
    "layers": "model.num_layers",
    "hidden": "model.hidden_size",
    "embed": "model.embed_dim",
    "dropout": "model.dropout",
    "tie": "model.tie_weights",
    "batch_size": "data.batch_size",
    "bptt": "data.bptt",
}


@register_task
class LMTask(Task):
    """Word- or character-level language modelling (perplexity)."""

    name = "lm"
    config_class = LMRunConfig
    unit = "tokens"
    help = "train a language model (word or character level)"
    flags = _LM_FLAGS
    derived_keys = ("model.vocab_size",)

    def add_arguments(self, p) -> None:
        p.add_argument("--dataset", help="hmm (embedded), ptb, wikitext2 or text:PATH")
        p.add_argument("--char", action="store_true", default=None, help="character-level model")
        p.add_argument("--cell", choices=["lstm", "gru", "rnn", "rnn_relu"])
        p.add_argument("--layers", type=int, help="number of recurrent layers")
        p.add_argument("--hidden", type=int, help="hidden units per layer")
        p.add_argument("--embed", type=int, help="embedding size (default: the config's)")
        p.add_argument("--dropout", type=float)
        p.add_argument("--tie", action="store_true", default=None, help="tie embedding and decoder")
        p.add_argument("--batch-size", type=int)
        p.add_argument("--bptt", type=int)

    def default_config(self, overrides: Sequence[str]) -> str:
        """A recipe that works for the dataset the flags name: the quickstart for the
        embedded corpus, char-small for characters, ptb-small (Zaremba) otherwise."""
        values = dict(o.split("=", 1) for o in overrides if "=" in o)
        if values.get("data.char", "false").lower() in ("true", "yes", "1", "on"):
            return "char-small"
        return "quickstart" if values.get("data.dataset", "hmm") == "hmm" else "ptb-small"

    def finalize_config(self, cfg: LMRunConfig) -> LMRunConfig:
        """``text:PATH`` becomes an absolute path, so the run can be evaluated from anywhere."""
        if cfg.data.dataset.startswith("text:"):
            path = Path(cfg.data.dataset[5:]).expanduser().resolve()
            data = dataclasses.replace(cfg.data, dataset=f"text:{path}")
            return dataclasses.replace(cfg, data=data)
        return cfg

    def prepare(self, cfg, *, data_dir, vocabs=None, splits=SPLITS) -> Prepared:
        splits = tuple(splits)
        needed = splits if vocabs is not None else tuple(dict.fromkeys(("train", *splits)))
        corpus = load_lm_corpus(cfg.data, data_dir, needed)
        return self.prepare_corpus(cfg, corpus, vocabs=vocabs, splits=splits)

    def prepare_corpus(self, cfg, corpus: LMCorpus, *, vocabs=None, splits=SPLITS) -> Prepared:
        """``prepare`` for token streams already in memory (the quickstart reuses its own)."""
        if vocabs is not None:
            vocab = vocabs[VOCAB]
        else:
            vocab = build_lm_vocab(corpus.splits["train"], cfg.data)
        d = cfg.data
        data = {}
        for split in splits:
            if split == "train":
                data[split] = make_batches(
                    corpus.splits[split], vocab, d.batch_size, d.bptt, d.random_bptt, cfg.train.seed
                )
            else:
                data[split] = _eval_batches(corpus.splits[split], vocab, d.eval_batch_size, d.bptt)
        model = cfg.model.replace(vocab_size=len(vocab))
        info = dict(corpus.info, vocab_size=len(vocab))
        if "train" in corpus.splits:
            info["train_tokens"] = len(corpus.splits["train"])
        fingerprint = _fingerprint(data["train"]) if "train" in data else None
        return Prepared(
            dataclasses.replace(cfg, model=model), {VOCAB: vocab}, data, info, fingerprint
        )

    def build_model(self, cfg: LMRunConfig, prepared: Prepared | None = None) -> LanguageModel:
        return LanguageModel(cfg.model)

    def describe(self, prepared: Prepared, model) -> str:
        cfg, d = prepared.cfg, prepared.cfg.data
        m = cfg.model
        params = sum(p.numel() for p in model.parameters())
        tokens = prepared.info.get("train_tokens", 0)
        return (
            f"data {d.dataset}{' (char)' if d.char else ''}: {tokens:,} train tokens, "
            f"vocabulary {m.vocab_size:,}; model {m.cell} {m.num_layers}x{m.hidden_size}, "
            f"{params:,} parameters"
        )

    def evaluate(self, model, data, prepared, *, out_dir=None) -> dict[str, Any]:
        from rnnlab.training.evaluation import evaluate

        metrics = evaluate(model, data)
        return {"ppl": metrics["ppl"], "loss": metrics["loss"], "tokens": metrics["count"]}

    def text_data(self, cfg, vocabs, path: Path):
        vocab = vocabs[VOCAB]
        tokens = _lines_to_tokens(read_text_lines(path), cfg.data.char)
        if not cfg.data.char:
            unknown = sum(1 for t in tokens if t not in vocab)
            if unknown:
                print(
                    f"warning: {unknown:,} of {len(tokens):,} tokens of {path} are not in the "
                    "vocabulary and count as <UNK>",
                    file=sys.stderr,
                )
        return _eval_batches(tokens, vocab, cfg.data.eval_batch_size, cfg.data.bptt)

    def after_run(self, model, prepared: Prepared, out: Path) -> dict[str, Any]:
        """``samples.txt`` (five samples) and ``inspect/`` (gate heat maps and gradient flow
        on the first 24 tokens of the validation stream), for the run's report."""
        from rnnlab.cli.inspect import write_inspection
        from rnnlab.files import write_atomic
        from rnnlab.models.sampling import generate

        vocab, seed = prepared.vocabs[VOCAB], prepared.cfg.train.seed
        char = prepared.cfg.data.char
        stop = "\n" if char else "<eos>"
        lines = []
        for i in range(5):
            words = generate(model, vocab, "", max_tokens=60, stop_at=stop, seed=seed + i)
            words = [w for w in words if w != stop]
            lines.append(("" if char else " ").join(words))
        text = "".join(line + "\n" for line in lines)
        write_atomic(out / "samples.txt", lambda p: p.write_text(text, encoding="utf-8"))
        ids = prepared.data["valid"].data[:24, 0].tolist()
        tokens = vocab.decode(ids)
        write_inspection(model, vocab, tokens, out / "inspect")
        return {"samples_txt": str(out / "samples.txt")}

    def summary_line(self, split: str, metrics: dict[str, Any]) -> str:
        line = (
            f"{split} ppl {metrics[f'{split}_ppl']:.2f} ({metrics[f'{split}_tokens']:.0f} tokens)"
        )
        if "optimal_ppl" in metrics and split == "test":
            line += f"; exact optimum {metrics['optimal_ppl']:.2f}"
        return line


def _eval_batches(tokens: list[str], vocab, batch_size: int, bptt: int):
    """Evaluation windows; a stream too short for ``batch_size`` columns uses fewer."""
    columns = max(1, min(batch_size, len(tokens) // 2))
    return make_batches(tokens, vocab, columns, bptt)


# --------------------------------------------------------------------------- shortcuts
def train_lm(cfg: LMRunConfig, out_dir: str | Path | None, **kwargs: Any) -> dict[str, Any]:
    """``runs.train_run(LMTask(), cfg, out_dir, **kwargs)``; the result also has
    ``_vocab``."""
    result = train_run(LMTask(), cfg, out_dir, **kwargs)
    result["_vocab"] = result["_prepared"].vocabs[VOCAB]
    return result


def evaluate_lm(checkpoint: str | Path, split: str = "test", **kwargs: Any) -> dict[str, Any]:
    """Perplexity of a saved language model on a split (``runs.evaluate_checkpoint``)."""
    from rnnlab.training.runs import evaluate_checkpoint

    return evaluate_checkpoint(checkpoint, split, **kwargs)


def lm_config(name: str | None = None, overrides: Sequence[str] = ()) -> LMRunConfig:
    """A named LM config (or the default for the overrides' dataset) with overrides."""
    return load_run_config(LMTask(), name, overrides)
