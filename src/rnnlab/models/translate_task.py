"""The translation task: run config, data preparation, decoding-based evaluation.

    multi30k / parallel:SRC,TGT / reverse / addition --load_pairs--> pairs
        --subword or word vocabularies (train side)--> BucketedBatches(TranslateBatch)
        --Trainer (valid BLEU each epoch)--> Seq2Seq --translate_ids--> greedy / beam
        --detokenise--> sacreBLEU BLEU + chrF (with signatures), exact match

``rnnlab train translate`` runs it through the shared run plumbing; the decoding itself
(``translate_sentences``, ``evaluate_translation``) is in ``rnnlab.models.translation``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab.models.decoding import LENGTH_PENALTIES
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.models.translation import (  # noqa: F401  (re-exported: the task's decoding)
    detokenize,
    evaluate_translation,
    translate_ids,
    translate_sentences,
    translate_texts,
)
from rnnlab.text import translation_data as td
from rnnlab.training.config import TrainConfig
from rnnlab.training.tasks import Prepared, Task, register_task


@dataclass(frozen=True)
class TranslateDataConfig:
    """The ``[data]`` section of a translation run.

    Attributes:
        dataset: "multi30k", "parallel:SRC_PATH,TGT_PATH", "reverse" or "addition".
        source, target: languages of multi30k ("de", "en"; either direction).
        valid, test: for parallel data, more "SRC,TGT" file pairs ("" = hold out 5% / none).
        tokenizer: "sentencepiece" (subwords trained on the training side), "word" or "char".
        vocab_size: subword pieces per side (sentencepiece), or the cap on words (0 = none).
        min_freq: words seen fewer times in train map to <UNK> (word / char).
        batch_size: pairs per training batch; eval_batch_size: for validation and decoding.
        max_train: use only the first N training pairs (None = all).
        toy_size: training pairs of a toy task (valid and test get a tenth each).
    """

    dataset: str = "multi30k"
    source: str = "de"
    target: str = "en"
    valid: str = ""
    test: str = ""
    tokenizer: str = "sentencepiece"
    vocab_size: int = 8000
    min_freq: int = 1
    batch_size: int = 64
    eval_batch_size: int = 128
    max_train: int | None = None
    toy_size: int = 10000

    def __post_init__(self) -> None:
        if self.tokenizer not in td.TOKENIZERS:
            raise ValueError(
                f"data.tokenizer must be one of {td.TOKENIZERS}, got {self.tokenizer!r}"
            )


@dataclass(frozen=True)
class DecodeConfig:
    """The ``[decode]`` section: how translations are produced.

    Attributes:
        beam: beam size for evaluation and ``rnnlab translate`` (1 = greedy).
        length_penalty: "none", "average" or "gnmt"; alpha: the GNMT exponent.
        max_len_a, max_len_b: a translation has at most ``a * source_length + b`` tokens.
        valid_bleu: decode the validation set greedily after every epoch and report its BLEU
            and chrF (so ``train.monitor = "bleu"`` can select the best checkpoint).
    """

    beam: int = 5
    length_penalty: str = "gnmt"
    alpha: float = 0.6
    max_len_a: float = 1.5
    max_len_b: int = 10
    valid_bleu: bool = True

    def __post_init__(self) -> None:
        if self.beam < 1:
            raise ValueError(f"decode.beam must be >= 1, got {self.beam}")
        if self.length_penalty not in LENGTH_PENALTIES:
            raise ValueError(
                f"decode.length_penalty must be one of {LENGTH_PENALTIES}, got "
                f"{self.length_penalty!r}"
            )


@dataclass(frozen=True)
class TranslateRunConfig:
    """A translation run: ``task = "translate"``, [data], [model], [train], [decode]."""

    task: str = "translate"
    data: TranslateDataConfig = field(default_factory=TranslateDataConfig)
    model: Seq2SeqConfig = field(default_factory=Seq2SeqConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            optimizer="adam",
            lr=1e-3,
            epochs=10,
            clip_norm=1.0,
            monitor="bleu",
            monitor_mode="max",
        )  # fmt: skip
    )
    decode: DecodeConfig = field(default_factory=DecodeConfig)


# --------------------------------------------------------------------------- preparation
def prepare_translation(
    cfg: TranslateRunConfig, *, data_dir=None, vocabs=None, splits=("train", "valid", "test")
) -> Prepared:
    """Read the pairs, build (or reuse) the vocabularies and the batches; fill the model
    config's vocabulary sizes and <BOS>/<EOS> ids."""
    d = cfg.data
    wanted = list(splits) if vocabs is not None else sorted(set(splits) | {"train"})
    toy = (d.toy_size, max(1, d.toy_size // 10), max(1, d.toy_size // 10))
    pairs = td.load_pairs(
        d.dataset, data_dir, wanted, source=d.source, target=d.target, valid=d.valid,
        test=d.test, toy_sizes=toy, seed=cfg.train.seed,
    )  # fmt: skip
    if "train" in pairs and d.max_train is not None:
        pairs["train"] = pairs["train"][: d.max_train]
    if vocabs is None:
        threads = cfg.train.num_threads or 1
        vocabs = td.build_translation_vocabs(
            pairs["train"], d.tokenizer, vocab_size=d.vocab_size, min_freq=d.min_freq,
            num_threads=threads,
        )  # fmt: skip
    limit = cfg.model.max_source_length
    data, info, fingerprint = {}, {}, None
    for split, rows in pairs.items():
        if split not in splits:
            continue
        train = split == "train"
        encoded, kept = td.encode_kept(rows, vocabs, limit, drop_long=train)
        batches = td.translation_batches(
            encoded, vocabs["target"], d.batch_size if train else d.eval_batch_size,
            shuffle=train, seed=cfg.train.seed,
        )  # fmt: skip
        batches.pairs = kept  # the raw text, for BLEU against the untouched references
        data[split] = batches
        info[f"{split}_pairs"] = float(len(encoded))
        info[f"{split}_padding_fraction"] = batches.padding_fraction
        if train:
            info["train_dropped_long"] = float(len(rows) - len(kept))
            fingerprint = td.pairs_fingerprint(encoded)
        for side in ("source", "target"):
            unk = vocabs[side].unk_index
            index = 0 if side == "source" else 1
            tokens = sum(len(e[index]) for e in encoded)
            unks = sum(e[index].count(unk) for e in encoded)
            info[f"{split}_{side}_unk_rate"] = unks / max(1, tokens)
    model = cfg.model.replace(
        src_vocab_size=len(vocabs["source"]), tgt_vocab_size=len(vocabs["target"]),
        bos_index=vocabs["target"].bos_index, eos_index=vocabs["target"].eos_index,
    )  # fmt: skip
    return Prepared(dataclasses.replace(cfg, model=model), vocabs, data, info, fingerprint)


# --------------------------------------------------------------------------- the task
@register_task
class TranslateTask(Task):
    """Translation (many-to-many, unaligned) with an encoder-decoder: BLEU, chrF."""

    name = "translate"
    config_class = TranslateRunConfig
    unit = "tokens"
    help = "train an encoder-decoder translator (Multi30k, any parallel text, toy tasks)"
    flags = {
        "dataset": "data.dataset", "src": "data.source", "tgt": "data.target",
        "tokenizer": "data.tokenizer", "vocab_size": "data.vocab_size",
        "batch_size": "data.batch_size", "variant": "model.variant",
        "attention": "model.attention", "hidden": "model.hidden_size", "embed": "model.embed_dim",
        "dropout": "model.dropout", "reverse_source": "model.reverse_source",
        "teacher_forcing": "model.teacher_forcing", "beam": "decode.beam",
    }  # fmt: skip
    derived_keys = (
        "model.src_vocab_size", "model.tgt_vocab_size", "model.bos_index", "model.eos_index",
    )  # fmt: skip

    def add_arguments(self, p) -> None:
        p.add_argument("--dataset", help="multi30k, parallel:SRC,TGT, reverse or addition")
        p.add_argument("--src", help="source language of multi30k (de or en)")
        p.add_argument("--tgt", help="target language of multi30k (en or de)")
        p.add_argument("--tokenizer", choices=list(td.TOKENIZERS))
        p.add_argument("--vocab-size", type=int, help="subword pieces per side")
        p.add_argument("--variant", choices=["basic", "peeky", "attention"])
        p.add_argument("--attention", choices=["bahdanau", "dot", "general"])
        p.add_argument("--hidden", type=int, help="encoder units per direction")
        p.add_argument("--embed", type=int, help="embedding size")
        p.add_argument("--dropout", type=float)
        p.add_argument("--reverse-source", action="store_const", const=True, default=None)
        p.add_argument("--teacher-forcing", type=float, help="probability of the true input")
        p.add_argument("--beam", type=int, help="beam size for the final evaluation")
        p.add_argument("--batch-size", type=int)

    def default_config(self, overrides: Sequence[str]) -> str:
        """seq2seq-toy for the toy tasks (characters, a small model), else multi30k-attn."""
        values = dict(o.split("=", 1) for o in overrides if "=" in o)
        return "seq2seq-toy" if values.get("data.dataset") in td.TOY_TASKS else "multi30k-attn"

    def finalize_config(self, cfg: TranslateRunConfig) -> TranslateRunConfig:
        """File paths of parallel data become absolute; a monitor that only the validation
        decoding reports is refused without it (before training, not after the first epoch)."""
        decoded = ("bleu", "chrf", "exact_match")
        if cfg.train.monitor in decoded and not cfg.decode.valid_bleu:
            raise ValueError(
                f"train.monitor={cfg.train.monitor!r} is reported by the validation decoding, "
                "which decode.valid_bleu = false switches off; monitor loss or ppl "
                "(train.monitor_mode = 'min') or keep decode.valid_bleu = true"
            )
        d = cfg.data
        changes = {}
        if d.dataset.startswith("parallel:"):
            changes["dataset"] = "parallel:" + _absolute_pair(d.dataset[len("parallel:") :])
        for key in ("valid", "test"):
            if getattr(d, key):
                changes[key] = _absolute_pair(getattr(d, key))
        return dataclasses.replace(cfg, data=dataclasses.replace(d, **changes))

    def prepare(self, cfg, *, data_dir, vocabs=None, splits=("train", "valid", "test")):
        return prepare_translation(cfg, data_dir=data_dir, vocabs=vocabs, splits=splits)

    def build_model(self, cfg: TranslateRunConfig, prepared: Prepared | None = None) -> Seq2Seq:
        return Seq2Seq(cfg.model)

    def describe(self, prepared: Prepared, model) -> str:
        i, m, d = prepared.info, prepared.cfg.model, prepared.cfg.data
        params = sum(p.numel() for p in model.parameters()) if model is not None else 0
        att = f" ({m.attention})" if m.variant == "attention" else ""
        pair = f" {d.source}->{d.target}" if d.dataset == "multi30k" else ""
        return (
            f"data {d.dataset}{pair}: {i.get('train_pairs', 0):,.0f} train pairs, "
            f"{d.tokenizer} vocabularies {m.src_vocab_size:,} / {m.tgt_vocab_size:,}, padding "
            f"{i.get('train_padding_fraction', 0):.1%}; model {m.variant}{att}, encoder "
            f"{m.encoder_cell} {m.encoder_layers}x{m.hidden_size}{' bi' if m.bidirectional else ''}"
            f", decoder {m.decoder_cell} {m.decoder_layers}x{m.decoder_size}, {params:,} parameters"
        )

    def validation_hook(self, prepared: Prepared) -> Callable | None:
        """Greedy BLEU / chrF / exact match on the validation pairs after every epoch."""
        cfg = prepared.cfg
        if not cfg.decode.valid_bleu:
            return None

        def hook(model, data) -> dict[str, float]:
            pairs = getattr(data, "pairs", None)
            if pairs is None:
                return {}
            metrics, _ = evaluate_translation(
                model, pairs, prepared.vocabs, cfg.decode, batch_size=cfg.data.eval_batch_size
            )
            return {k: v for k, v in metrics.items() if isinstance(v, float)}

        return hook

    def evaluate(self, model, data, prepared, *, out_dir=None) -> dict[str, Any]:
        """Loss and perplexity (teacher forced), then greedy and beam BLEU / chrF."""
        from rnnlab.training.evaluation import evaluate

        metrics = evaluate(model, data)
        metrics.pop("units_per_s", None)
        pairs = getattr(data, "pairs", None)
        if pairs:
            beams = sorted({1, prepared.cfg.decode.beam})
            scores, outputs = evaluate_translation(
                model, pairs, prepared.vocabs, prepared.cfg.decode, beams=beams,
                batch_size=prepared.cfg.data.eval_batch_size,
            )  # fmt: skip
            metrics.update(scores)
            if out_dir is not None:
                split = next((k for k, v in prepared.data.items() if v is data), "eval")
                _write_translations(Path(out_dir), split, pairs, outputs)
        return metrics

    def text_data(self, cfg, vocabs, path: Path):
        raise ValueError(
            "translation evaluates file pairs: use --src FILE --ref FILE (rnnlab evaluate)"
        )

    def pair_data(self, cfg: TranslateRunConfig, vocabs, source: Path, reference: Path):
        """Batches (with ``.pairs``) of any line-aligned source / reference files (plain or
        .gz) for ``rnnlab evaluate --src --ref``; a pair over the model's limit is an error
        naming its file and line."""
        pairs = td.read_pairs(source, reference)
        encoded, _ = td.encode_pairs(pairs, vocabs, cfg.model.max_source_length)
        batches = td.translation_batches(encoded, vocabs["target"], cfg.data.eval_batch_size)
        batches.pairs = pairs
        return batches

    def summary_line(self, split: str, metrics: dict[str, Any]) -> str:
        """Loss and perplexity, then BLEU / chrF / exact match for greedy and each beam size,
        with the sacreBLEU signatures. Keys may carry the ``<split>_`` prefix."""
        prefix = f"{split}_" if any(k.startswith(f"{split}_") for k in metrics) else ""
        m = {k[len(prefix) :]: v for k, v in metrics.items() if k.startswith(prefix)}
        lines = [f"{split}: " + ", ".join(f"{k} {m[k]:.4g}" for k in ("loss", "ppl") if k in m)]
        beams = sorted(int(k[4:-5]) for k in m if k.startswith("beam") and k.endswith("_bleu"))
        for beam in ([1] if "bleu" in m else []) + beams:
            key = "" if beam == 1 else f"beam{beam}_"
            name = "greedy" if beam == 1 else f"beam {beam}"
            lines.append(
                f"  {name:<8} BLEU {m[key + 'bleu']:6.2f}  chrF {m[key + 'chrf']:6.2f}  "
                f"exact match {m.get(key + 'exact_match', float('nan')):.1%}"
            )
        if "bleu_signature" in m:
            lines.append(f"  sacreBLEU BLEU signature {m['bleu_signature']}")
            lines.append(f"  sacreBLEU chrF signature {m['chrf_signature']}")
        return "\n".join(lines)


def _absolute_pair(spec: str) -> str:
    parts = [p.strip() for p in spec.split(",")]
    return ",".join(str(Path(p).expanduser().resolve()) for p in parts)


def _write_translations(out: Path, split: str, pairs, outputs: dict[int, list[str]]) -> None:
    """``translations_<split>_beam<K>.txt``: one hypothesis per line, in the pairs' order."""
    from rnnlab.files import write_text_atomic

    for beam, hyps in outputs.items():
        text = "".join(h + "\n" for h in hyps)
        write_text_atomic(out / f"translations_{split}_beam{beam}.txt", text)
