"""Language modelling runs: the run config, data preparation, training and evaluation.

The command line (``rnnlab train lm``, ``rnnlab evaluate``, ``rnnlab quickstart``) is a thin
layer over these functions::

    cfg = load_config(LMRunConfig, "ptb-small.toml", ["train.epochs=2"])
    result = train_lm(cfg, out_dir="runs/ptb-small", data_dir="../shared/data")
    result["test_ppl"], result["valid_ppl"], result["wall_s"]

A run config has three sections: ``[data]`` (``LMDataConfig``: which corpus, word or
character tokens, batch size, BPTT length), ``[model]`` (``LMConfig``) and ``[train]``
(``rnnlab.training.TrainConfig``). Datasets: ``hmm`` (the embedded corpus of
``rnnlab.text.hmm``, with its exact optimum), ``ptb``, ``wikitext2`` and ``text:PATH``
(any UTF-8 text file: lines are sentences; split 90/5/5 into train/valid/test).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab.models.language_model import LanguageModel, LMConfig
from rnnlab.training.config import ConfigError, TrainConfig, from_dict, to_dict

__all__ = [
    "LMDataConfig",
    "LMRunConfig",
    "LMCorpus",
    "load_lm_corpus",
    "build_lm_vocab",
    "make_batches",
    "train_lm",
    "evaluate_lm",
    "config_path",
]

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class LMDataConfig:
    """The ``[data]`` section of a language-modelling run.

    Attributes:
        dataset: "hmm" (embedded), "ptb", "wikitext2" or "text:PATH".
        char: character-level tokens instead of words.
        batch_size: B, parallel columns of the training stream.
        eval_batch_size: columns of the validation and test streams.
        bptt: T, the truncated-BPTT window.
        random_bptt: randomise the training window lengths (AWD-LSTM).
        min_freq: words seen fewer times in train map to ``<UNK>``.
        max_vocab: keep only this many most frequent tokens (None = all).
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


@dataclass(frozen=True)
class LMRunConfig:
    """A language-modelling run: ``[data]``, ``[model]``, ``[train]`` (see the module doc)."""

    data: LMDataConfig = field(default_factory=LMDataConfig)
    model: LMConfig = field(default_factory=LMConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def config_path(name: str) -> Path:
    """A named config shipped with rnnlab (``ptb-small``) or a path to a TOML file."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return path
    shipped = Path(__file__).resolve().parents[1] / "configs" / f"{name}.toml"
    if not shipped.is_file():
        names = sorted(p.stem for p in shipped.parent.glob("*.toml"))
        raise ConfigError(f"unknown config {name!r}; shipped configs: {', '.join(names)}")
    return shipped


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


def load_lm_corpus(cfg: LMDataConfig, data_dir: str | Path | None = None) -> LMCorpus:
    """Read (or generate) the train/valid/test token streams named by ``cfg.dataset``.

    Raises:
        ValueError: the corpus (or a split) is empty.
        FileNotFoundError: a ``text:PATH`` file is missing.
    """
    info: dict[str, float] = {}
    if cfg.dataset == "hmm":
        from rnnlab.text.hmm import hmm_corpus

        corpus = hmm_corpus(
            cfg.hmm_seed, cfg.hmm_train_tokens, cfg.hmm_eval_tokens, cfg.hmm_eval_tokens
        )
        if cfg.char:
            raise ConfigError("the embedded hmm corpus is word-level; drop --char")
        splits = {"train": corpus.train, "valid": corpus.valid, "test": corpus.test}
        info["optimal_ppl"] = corpus.optimal_perplexity("test")
        info["optimal_valid_ppl"] = corpus.optimal_perplexity("valid")
    elif cfg.dataset.startswith("text:"):
        path = Path(cfg.dataset[5:]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"text corpus not found: {path}")
        text = path.read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise ValueError(f"{path}: the corpus is empty (no non-blank lines)")
        splits = {
            k: _lines_to_tokens(v, cfg.char) for k, v in _split_lines(lines, str(path)).items()
        }
    elif cfg.char:
        from rnnlab.text.datasets import resolve_dataset

        paths = resolve_dataset(cfg.dataset, data_dir)
        splits = {}
        for split in SPLITS:
            lines = Path(paths[split]).read_text(encoding="utf-8").splitlines()
            splits[split] = _lines_to_tokens([ln.strip() for ln in lines if ln.strip()], True)
    else:
        from rnnlab.text.datasets import lm_splits

        splits = lm_splits(cfg.dataset, data_dir)
    if cfg.max_train_tokens is not None:
        splits["train"] = splits["train"][: cfg.max_train_tokens]
    if cfg.max_eval_tokens is not None:
        for split in ("valid", "test"):
            splits[split] = splits[split][: cfg.max_eval_tokens]
    for split in SPLITS:
        if not splits.get(split):
            raise ValueError(f"dataset {cfg.dataset!r}: the {split} split is empty")
    return LMCorpus(splits, info)


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


def make_batches(tokens: list[str], vocab, batch_size: int, bptt: int, random_bptt: bool = False):
    """``LMBatches`` over the encoded stream (see ``rnnlab.text.lm_batching``)."""
    from rnnlab.text.lm_batching import LMBatches, encode_stream

    return LMBatches(encode_stream(tokens, vocab), batch_size, bptt, random_bptt=random_bptt)


# --------------------------------------------------------------------------- runs
def _check_out_dir(out: Path, resume: bool) -> None:
    ckpts = out / "checkpoints"
    if resume:
        if not (ckpts / "last").exists():
            raise FileNotFoundError(f"--resume: no checkpoint to resume at {ckpts / 'last'}")
    elif ckpts.exists() and any(ckpts.iterdir()):
        raise FileExistsError(
            f"{out} already holds a run (checkpoints in {ckpts}); use --resume to continue it "
            "or choose another --out (nothing was overwritten)"
        )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def train_lm(
    cfg: LMRunConfig,
    out_dir: str | Path | None,
    *,
    data_dir: str | Path | None = None,
    resume: bool = False,
    corpus: LMCorpus | None = None,
    callbacks=(),
    log=print,
) -> dict[str, Any]:
    """Train a language model as ``cfg`` says; evaluate the best weights on valid and test.

    Args:
        cfg: the run config.
        out_dir: run directory (metrics.jsonl, config.json, checkpoints/best|last); None
            keeps nothing on disk.
        data_dir: where named datasets live (see ``rnnlab.text.datasets``).
        resume: continue from ``out_dir/checkpoints/last``.
        corpus: use these streams instead of loading ``cfg.data.dataset``.
        log: where progress lines go.
    Returns:
        The trainer's flat result plus ``valid_ppl``, ``test_ppl``, ``test_loss``, the
        corpus info (``optimal_ppl`` for hmm), ``vocab_size``, ``num_params``, and the
        ``model``, ``vocab`` and ``corpus`` objects (keys starting with an underscore).
    Raises:
        FileExistsError: ``out_dir`` already holds a run and ``resume`` is false.
    """
    import torch

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        _check_out_dir(out, resume)
    threads = torch.get_num_threads()
    if cfg.train.num_threads is not None:
        torch.set_num_threads(cfg.train.num_threads)
    try:
        return _train_lm(cfg, out, data_dir, resume, corpus, callbacks, log)
    finally:
        torch.set_num_threads(threads)


def _train_lm(cfg, out, data_dir, resume, corpus, callbacks, log) -> dict[str, Any]:
    import torch

    from rnnlab.training.checkpoint import load_checkpoint, restore_model_state
    from rnnlab.training.seeding import seed_everything
    from rnnlab.training.trainer import Trainer

    t0 = time.perf_counter()
    corpus = corpus or load_lm_corpus(cfg.data, data_dir)
    vocab = build_lm_vocab(corpus.splits["train"], cfg.data)
    d = cfg.data
    train = make_batches(corpus.splits["train"], vocab, d.batch_size, d.bptt, d.random_bptt)
    valid = make_batches(corpus.splits["valid"], vocab, d.eval_batch_size, d.bptt)
    test = make_batches(corpus.splits["test"], vocab, d.eval_batch_size, d.bptt)
    model_cfg = cfg.model.replace(vocab_size=len(vocab))
    cfg = LMRunConfig(cfg.data, model_cfg, cfg.train)
    seed_everything(cfg.train.seed)
    model = LanguageModel(model_cfg)
    num_params = sum(p.numel() for p in model.parameters())
    log(
        f"data {d.dataset}{' (char)' if d.char else ''}: {len(corpus.splits['train']):,} train "
        f"tokens, vocabulary {len(vocab):,}; model {model_cfg.cell} {model_cfg.num_layers}x"
        f"{model_cfg.hidden_size}, {num_params:,} parameters"
    )
    if out is not None and not resume:  # a resumed run keeps the config it started with
        _write_json(out / "config.json", to_dict(cfg))
    trainer = Trainer(
        model, cfg.train, run_dir=out, vocab=vocab, run_config=to_dict(cfg), callbacks=callbacks
    )
    resume_from = out / "checkpoints" / "last" if resume and out is not None else None
    result = trainer.fit(train, valid, resume_from=resume_from)
    if result.get("checkpoint_best"):
        best = load_checkpoint(result["checkpoint_best"], map_location=trainer.device)
        restore_model_state(trainer.model, best.model_state, best.path)
    with torch.no_grad():
        valid_m = trainer.evaluate(valid)
        test_m = trainer.evaluate(test)
    result.update(
        valid_ppl=valid_m["ppl"],
        valid_loss=valid_m["loss"],
        test_ppl=test_m["ppl"],
        test_loss=test_m["loss"],
        vocab_size=len(vocab),
        num_params=num_params,
        total_wall_s=time.perf_counter() - t0,
        **corpus.info,
    )
    result["_model"], result["_vocab"], result["_corpus"] = trainer.model, vocab, corpus
    return result


def run_config_of(saved: dict[str, Any]) -> LMRunConfig:
    """The ``LMRunConfig`` stored in a checkpoint's ``config.json`` (``run_config``)."""
    run = saved.get("run_config")
    if not isinstance(run, dict) or "data" not in run:
        raise ValueError("the checkpoint has no language-model run config (run_config.data)")
    return from_dict(LMRunConfig, run)


def evaluate_lm(
    checkpoint: str | Path,
    split: str = "test",
    *,
    data_dir: str | Path | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
) -> dict[str, float]:
    """Perplexity of a saved language model on a split of the data it was trained on.

    The corpus and tokenization come from the checkpoint's run config; tokens are encoded
    with the checkpoint's vocabulary (unknown ones map to ``<UNK>``).

    Returns:
        ``{"<split>_ppl", "<split>_loss", "tokens"}``.
    """
    from rnnlab.training.checkpoint import load_model
    from rnnlab.training.evaluation import evaluate

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    model, vocab, saved = load_model(checkpoint, device=device)
    if not isinstance(model, LanguageModel):
        raise ValueError(f"{checkpoint} holds a {saved.get('model_type')!r}, not a language model")
    if vocab is None:
        raise ValueError(f"{checkpoint} has no vocabulary (vocab.json)")
    run = run_config_of(saved)
    corpus = load_lm_corpus(run.data, data_dir)
    batches = make_batches(
        corpus.splits[split], vocab, batch_size or run.data.eval_batch_size, run.data.bptt
    )
    metrics = evaluate(model, batches, device=device)
    out = {
        f"{split}_ppl": metrics["ppl"],
        f"{split}_loss": metrics["loss"],
        "tokens": metrics["count"],
    }
    if split == "test" and "optimal_ppl" in corpus.info:
        out["optimal_ppl"] = corpus.info["optimal_ppl"]
    if not math.isfinite(out[f"{split}_ppl"]):
        raise FloatingPointError(f"{split} perplexity is not finite")
    return out
