"""The sequence-tagging task: run config, data preparation, evaluation, prediction.

    CoNLL-U / ud-ewt --load_tagging--> sentences --vocabs--> BucketedBatches(TagBatch)
        --Trainer--> SequenceTagger --evaluate_tagger--> token accuracy, accuracy on
        out-of-vocabulary words, per-tag P/R/F1; --predict_sentences--> word/TAG pairs

A word is out of vocabulary (OOV) when its lowercased form is not in the ``words``
vocabulary built from the training split (it is looked up as ``<UNK>``, or as its
unknown-word signature with ``data.unk_signatures``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnnlab.models.tagger import SequenceTagger, TaggerConfig
from rnnlab.text import tagging_data as td
from rnnlab.training.classification_metrics import (
    classification_scores,
    confusion_matrix,
    flat_scores,
    format_scores,
)
from rnnlab.training.config import TrainConfig
from rnnlab.training.runs import Prepared, Task, register_task


@dataclass(frozen=True)
class TagDataConfig:
    """The ``[data]`` section of a tagging run.

    Attributes:
        dataset: "ud-ewt" or "conllu:PATH" (a file, or a folder with *train* / *dev* files).
        column: "upos" or "xpos".
        lowercase: look words up lowercased (characters keep their case).
        batch_size: B for training; eval_batch_size: for validation and test.
        min_freq: words seen fewer times in train map to <UNK> (or their signature).
        unk_signatures: unknown words map to spelling signatures (``<UNK-Cap-s>``,
            ``<UNK-num>``; ``text/word_shapes.py``), saved in the words vocabulary; word
            dropout then replaces a word by its signature.
        max_train: use only the first N training sentences (smoke runs; None = all).
    """

    dataset: str = "ud-ewt"
    column: str = "upos"
    lowercase: bool = True
    batch_size: int = 32
    eval_batch_size: int = 256
    min_freq: int = 1
    unk_signatures: bool = False
    max_train: int | None = None


@dataclass(frozen=True)
class TagRunConfig:
    """A tagging run: ``task = "tag"``, ``[data]``, ``[model]``, ``[train]``."""

    task: str = "tag"
    data: TagDataConfig = field(default_factory=TagDataConfig)
    model: TaggerConfig = field(default_factory=TaggerConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            optimizer="adam", lr=2e-3, epochs=5, monitor="accuracy", monitor_mode="max"
        )
    )


def prepare_tagging(cfg: TagRunConfig, *, data_dir=None, vocabs=None, splits=None) -> Prepared:
    """Load the splits, build (or reuse) the vocabularies and batches; fill the model
    config's ``vocab_size`` / ``num_chars`` / ``num_tags`` from the vocabularies."""
    d = cfg.data
    wanted = None
    if splits is not None:
        wanted = sorted(set(splits) | ({"train"} if vocabs is None else set()))
    sentences = td.load_tagging(d.dataset, data_dir, wanted, column=d.column)
    if "train" in sentences and d.max_train is not None:
        sentences["train"] = sentences["train"][: d.max_train]
    if vocabs is None:
        universal = d.dataset == "ud-ewt" and d.column == "upos"
        vocabs = td.build_tagging_vocabs(
            sentences["train"], lowercase=d.lowercase, min_freq=d.min_freq,
            tag_set=td.UPOS_TAGS if universal else (), signatures=d.unk_signatures,
        )  # fmt: skip
    data, info = {}, {}
    for split, rows in sentences.items():
        if splits is not None and split not in splits:
            continue
        train = split == "train"
        encoded = td.encode_tagging(
            rows, vocabs, lowercase=d.lowercase, signatures=d.unk_signatures
        )
        batches = td.tagging_batches(
            encoded, d.batch_size if train else d.eval_batch_size, shuffle=train,
            seed=cfg.train.seed,
        )  # fmt: skip
        data[split] = batches
        info[f"{split}_sentences"] = float(batches.num_examples)
        info[f"{split}_padding_fraction"] = batches.padding_fraction
        unk = sum(i == f for x in encoded for i, f in zip(x.ids, x.fallback))
        info[f"{split}_oov_rate"] = unk / max(1, sum(len(x.ids) for x in encoded))
    model = cfg.model.replace(
        vocab_size=len(vocabs["words"]), num_chars=len(vocabs["chars"]),
        num_tags=len(vocabs["tags"]),
    )  # fmt: skip
    fingerprint = None
    if "train" in data:
        digest = hashlib.sha256()
        for x in data["train"].examples:
            digest.update(f"{x.ids}{x.tags}{x.chars};".encode())
        fingerprint = digest.hexdigest()
    return Prepared(dataclasses.replace(cfg, model=model), vocabs, data, info, fingerprint)


@torch.no_grad()
def tag_predictions(model: SequenceTagger, data) -> tuple[torch.Tensor, ...]:
    """Over every real token of ``data``: true tags, predicted tags, and whether the word
    was out of vocabulary (its id is its fallback: ``<UNK>`` or its signature); three (N,)
    tensors."""
    device = next(model.parameters()).device
    truth, guess, oov = [], [], []
    for batch in data:
        b = [t.to(device) for t in batch]
        tags, _ = model.predict(b[0], batch.lengths, b[3], b[4], b[6])  # (B, T)
        real = batch.tags >= 0  # (B, T)
        truth.append(batch.tags[real])
        guess.append(tags.cpu()[real])
        oov.append((batch.ids == batch.fallback)[real])  # <UNK> or a signature
    return torch.cat(truth), torch.cat(guess), torch.cat(oov)


def evaluate_tagger(
    model: SequenceTagger, data, vocabs: dict, *, prefix: str = "", out_dir=None, split="eval"
) -> tuple[dict[str, float], str]:
    """Flat metrics (accuracy, oov_accuracy, macro_f1, per-tag P/R/F1) and a text report;
    with ``out_dir`` also writes ``confusion_<split>.png``."""
    names = vocabs["tags"].labels
    truth, guess, oov = tag_predictions(model, data)
    confusion = confusion_matrix(truth, guess, len(names))
    scores = classification_scores(confusion, names)
    metrics = flat_scores(scores, prefix)
    hits = truth == guess
    metrics[f"{prefix}oov_accuracy"] = float(hits[oov].float().mean()) if oov.any() else 0.0
    metrics[f"{prefix}oov_tokens"] = float(oov.sum())
    if out_dir is not None:
        from rnnlab.plotting.confusion import plot_confusion

        plot_confusion(confusion, names, Path(out_dir) / f"confusion_{split}.png", title=split)
    report = format_scores(scores, confusion)
    report += f"\nOOV accuracy {metrics[f'{prefix}oov_accuracy']:.4f} ({int(oov.sum())} tokens)"
    return metrics, report


@torch.no_grad()
def predict_sentences(
    model: SequenceTagger, vocabs: dict, sentences: list[str], *, lowercase: bool = True,
    signatures: bool = False,
) -> list[dict]:  # fmt: skip
    """``[{"text", "words", "tags", "probabilities"}]``: each text split on whitespace.

    ``lowercase`` and ``signatures`` must be the run's (``data.lowercase``,
    ``data.unk_signatures``). An empty text is a ValueError naming its position (``line N``).
    """
    encoded = [
        td.encode_words(text.split(), vocabs, lowercase=lowercase, signatures=signatures,
                        source=f"line {i + 1}")
        for i, text in enumerate(sentences)
    ]  # fmt: skip
    out = []
    for start in range(0, len(encoded), 128):
        batch = td.collate_tags(encoded[start : start + 128])
        tags, probs = model.predict(
            batch.ids, batch.lengths, batch.chars, batch.char_lengths, batch.shapes
        )
        for k, text in enumerate(sentences[start : start + 128]):
            n = int(batch.lengths[k])
            ids = tags[k, :n].tolist()
            out.append({
                "text": text, "words": text.split(),
                "tags": [vocabs["tags"].decode(t) for t in ids],
                "probabilities": [probs[k, t, j].item() for t, j in enumerate(ids)],
            })  # fmt: skip
    return out


@register_task
class TagTask(Task):
    """Sequence tagging (many-to-many): token accuracy, OOV accuracy, per-tag P/R/F1."""

    name = "tag"
    config_class = TagRunConfig
    unit = "tokens"
    help = "train a sequence tagger (UD English EWT or any CoNLL-U)"
    flags = {
        "dataset": "data.dataset", "column": "data.column", "batch_size": "data.batch_size",
        "cell": "model.cell", "layers": "model.num_layers", "hidden": "model.hidden_size",
        "embed": "model.embed_dim", "chars": "model.char_features", "crf": "model.crf",
        "dropout": "model.dropout",
    }  # fmt: skip
    derived_keys = ("model.vocab_size", "model.num_chars", "model.num_tags")

    def add_arguments(self, p) -> None:
        p.add_argument("--dataset", help="ud-ewt or conllu:PATH (a .conllu file or a folder)")
        p.add_argument("--column", choices=["upos", "xpos"], help="which tags (default upos)")
        p.add_argument("--chars", action=argparse.BooleanOptionalAction, default=None,
                       help="character BiLSTM word features (--no-chars: words only)")  # fmt: skip
        p.add_argument("--crf", action=argparse.BooleanOptionalAction, default=None,
                       help="a linear-chain CRF output layer")  # fmt: skip
        p.add_argument("--cell", choices=["lstm", "gru", "rnn", "rnn_relu"])
        p.add_argument("--layers", type=int, help="number of recurrent layers")
        p.add_argument("--hidden", type=int, help="hidden units per direction")
        p.add_argument("--embed", type=int, help="word embedding size")
        p.add_argument("--dropout", type=float)
        p.add_argument("--batch-size", type=int)

    def default_config(self, overrides: Sequence[str]) -> str:
        return "ud-ewt-char"

    def finalize_config(self, cfg: TagRunConfig) -> TagRunConfig:
        """A ``conllu:PATH`` becomes absolute, so the run can be evaluated from anywhere."""
        if cfg.data.dataset.startswith("conllu:"):
            path = Path(cfg.data.dataset[7:]).expanduser().resolve()
            return dataclasses.replace(
                cfg, data=dataclasses.replace(cfg.data, dataset=f"conllu:{path}")
            )
        return cfg

    def prepare(self, cfg, *, data_dir, vocabs=None, splits=("train", "valid", "test")):
        return prepare_tagging(cfg, data_dir=data_dir, vocabs=vocabs, splits=splits)

    def build_model(self, cfg: TagRunConfig, prepared: Prepared | None = None) -> SequenceTagger:
        return SequenceTagger(cfg.model)

    def describe(self, prepared: Prepared, model) -> str:
        i, m = prepared.info, prepared.cfg.model
        params = sum(p.numel() for p in model.parameters())
        return (f"data {prepared.cfg.data.dataset} ({prepared.cfg.data.column}): "
                f"{i.get('train_sentences', 0):,.0f} train sentences, {m.vocab_size:,} words, "
                f"{m.num_chars} characters, {m.num_tags} tags, padding "
                f"{i.get('train_padding_fraction', 0):.1%}, unknown-word signatures "
                f"{'on' if prepared.cfg.data.unk_signatures else 'off'}; model {m.cell} "
                f"{m.num_layers}x{m.hidden_size}, char features "
                f"{'on' if m.char_features else 'off'}, casing classes "
                f"{m.shape_dim or 'off'}, "
                f"CRF {'on' if m.crf else 'off'}, {params:,} parameters")  # fmt: skip

    def evaluate(self, model, data, prepared, *, out_dir=None) -> dict[str, Any]:
        from rnnlab.training.evaluation import evaluate

        loss = evaluate(model, data)["loss"]
        split = next((k for k, v in prepared.data.items() if v is data), "eval")
        metrics, _ = evaluate_tagger(model, data, prepared.vocabs, out_dir=out_dir, split=split)
        return {"loss": loss, **metrics}

    def text_data(self, cfg, vocabs, path: Path):
        d = cfg.data
        encoded = td.encode_tagging(
            td.read_tagged(path, d.column), vocabs, lowercase=d.lowercase,
            signatures=d.unk_signatures,
        )  # fmt: skip
        return td.tagging_batches(encoded, d.eval_batch_size)

    def summary_line(self, split: str, metrics: dict[str, Any]) -> str:
        from rnnlab.training.classification_metrics import scores_from_flat

        scores, _ = scores_from_flat(metrics, f"{split}_")
        return (f"{split}:\n" + format_scores(scores) + f"\nOOV accuracy "
                f"{metrics[f'{split}_oov_accuracy']:.4f} "
                f"({metrics[f'{split}_oov_tokens']:.0f} tokens)")  # fmt: skip
