"""Translating with a trained ``Seq2Seq``: raw text in, detokenised text (and scores) out.

    texts --encode_source (empty / too long: ValueError naming the line)--> source ids
        --decode_sources (batched by length, greedy or beam)--> target ids + log p
        --detokenize--> text         --corpus_scores (sacreBLEU)--> BLEU, chrF

``rnnlab translate`` calls :func:`translate_sentences`, ``rnnlab evaluate`` (through the
translate task) :func:`evaluate_translation`. A score is the summed log-probability of the
translation given the source, ``<EOS>`` included (``length_penalty`` only ranks beam
candidates; it does not change the reported score).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

from rnnlab.models.decoding import Hypotheses, beam_search, greedy_decode
from rnnlab.models.seq2seq import Seq2Seq
from rnnlab.text import translation_data as td

__all__ = [
    "Translation", "decode_sources", "translate_ids", "detokenize", "translate_texts",
    "translate_sentences", "evaluate_translation", "Translator", "load_translator",
    "as_translator",
    "AttentionMap", "attention_map",
]  # fmt: skip


class Translator(NamedTuple):
    """A translation checkpoint, loaded: the model (eval mode), its ``source`` / ``target``
    vocabularies and the run config it was trained with (``run.decode``: the saved decoding)."""

    model: Seq2Seq
    vocabs: dict
    run: Any  # TranslateRunConfig
    path: Any  # Path of the checkpoint


def load_translator(path, device: str = "cpu") -> Translator:
    """Load a ``translate`` checkpoint; ValueError naming the task of any other checkpoint."""
    from rnnlab.training.checkpoint_load import load_model
    from rnnlab.training.evaluation import resolve_device

    return as_translator(load_model(path, device=str(resolve_device(device))))


def as_translator(loaded) -> Translator:
    """A loaded checkpoint (``LoadedModel``) as a :class:`Translator`; ValueError naming the
    task of any other checkpoint."""
    from rnnlab.models.translate_task import TranslateRunConfig
    from rnnlab.training.checkpoint_format import CheckpointError
    from rnnlab.training.config import ConfigError, from_dict

    if loaded.task != "translate" or not isinstance(loaded.model, Seq2Seq):
        raise ValueError(
            f"{loaded.path}: expected a translation checkpoint (task 'translate'), this one is "
            f"task {loaded.task!r}"
        )
    try:
        run = from_dict(TranslateRunConfig, loaded.config.get("run_config") or {})
    except ConfigError as exc:
        raise CheckpointError(f"{loaded.path}/config.json: run_config: {exc}") from exc
    return Translator(loaded.model.eval(), loaded.vocabs, run, loaded.path)


class Translation(NamedTuple):
    """One translated sentence."""

    source: str
    translation: str
    score: float  # log p(translation | source), <EOS> included


@torch.no_grad()
def decode_sources(
    model: Seq2Seq, sources: list[list[int]], *, beam: int = 1, batch_size: int = 128,
    length_penalty: str = "gnmt", alpha: float = 0.6, max_len_a: float = 1.5,
    max_len_b: int = 10,
) -> Hypotheses:  # fmt: skip
    """Target ids and scores for each source id list, in input order (batched by length;
    ``beam = 1`` is greedy)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = next(model.parameters()).device
    tokens: list[list[int]] = [[] for _ in sources]
    scores = [0.0] * len(sources)
    for index, src, lengths in td.source_batches(sources, batch_size):
        src = src.to(device)
        if beam == 1:
            hyps = greedy_decode(model, src, lengths, max_len_a=max_len_a, max_len_b=max_len_b)
        else:
            hyps = beam_search(model, src, lengths, beam=beam, length_penalty=length_penalty,
                               alpha=alpha, max_len_a=max_len_a, max_len_b=max_len_b)  # fmt: skip
        for i, ids, score in zip(index, hyps.tokens, hyps.scores):
            tokens[i], scores[i] = ids, score
    return Hypotheses(tokens, scores)


def translate_ids(model: Seq2Seq, sources: list[list[int]], **options: Any) -> list[list[int]]:
    """Target ids for each source id list, in input order (options: of decode_sources)."""
    return decode_sources(model, sources, **options).tokens


def detokenize(ids: list[int], target) -> str:
    """Target ids -> text a reader sees (subwords / characters joined, specials dropped)."""
    return target.decode(ids, join=True, skip_special=True)


def translate_sentences(
    model: Seq2Seq, vocabs: dict, texts: Sequence[str], *,
    names: Sequence[str] | None = None, **options: Any,
) -> list[Translation]:  # fmt: skip
    """Translate raw source texts (options: of :func:`decode_sources`).

    ``names`` say where each text came from ("in.txt:3"; default "line N"): an empty text, or
    one longer than the model's ``max_source_length``, is a ValueError naming it.
    """
    if names is not None and len(names) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(names)} names")
    names = names if names is not None else [f"line {i + 1}" for i in range(len(texts))]
    limit = model.config.max_source_length
    ids = [td.encode_source(t, vocabs["source"], n, limit) for t, n in zip(texts, names)]
    hyps = decode_sources(model, ids, **options)
    return [
        Translation(text, detokenize(t, vocabs["target"]), score)
        for text, t, score in zip(texts, hyps.tokens, hyps.scores)
    ]


def translate_texts(
    model: Seq2Seq, vocabs: dict, texts: Sequence[str], *, beam: int = 1, **options: Any
) -> list[str]:
    """Translate raw source texts; an empty or too long text is a ValueError naming its line."""
    return [t.translation for t in translate_sentences(model, vocabs, texts, beam=beam, **options)]


def evaluate_translation(
    model: Seq2Seq, pairs: Sequence[td.Pair], vocabs: dict, decode: Any,
    *, beams: Sequence[int] = (1,), batch_size: int = 128,
) -> tuple[dict[str, Any], dict[int, list[str]]]:  # fmt: skip
    """BLEU, chrF and exact match of the translations of ``pairs`` for each beam size.

    ``decode``: a ``DecodeConfig`` (length_penalty, alpha, max_len_a, max_len_b). Returns flat
    metrics (``bleu`` / ``chrf`` / ``exact_match`` for greedy, ``beam<K>_bleu`` ... for beam
    K, and the sacreBLEU signatures) and the hypotheses per beam size.
    """
    from rnnlab.training.bleu import corpus_scores

    limit = model.config.max_source_length
    sources = [td.encode_source(p.source, vocabs["source"], p.origin, limit) for p in pairs]
    refs = [p.target for p in pairs]
    metrics: dict[str, Any] = {}
    outputs: dict[int, list[str]] = {}
    for beam in beams:
        ids = translate_ids(
            model, sources, beam=beam, batch_size=batch_size, length_penalty=decode.length_penalty,
            alpha=decode.alpha, max_len_a=decode.max_len_a, max_len_b=decode.max_len_b,
        )  # fmt: skip
        hyps = [detokenize(t, vocabs["target"]) for t in ids]
        scores = corpus_scores(hyps, refs)
        prefix = "" if beam == 1 else f"beam{beam}_"
        metrics[f"{prefix}bleu"], metrics[f"{prefix}chrf"] = scores["bleu"], scores["chrf"]
        metrics[f"{prefix}exact_match"] = sum(h == r for h, r in zip(hyps, refs)) / len(refs)
        metrics["bleu_signature"] = scores["bleu_signature"]
        metrics["chrf_signature"] = scores["chrf_signature"]
        outputs[beam] = hyps
    return metrics, outputs


class AttentionMap(NamedTuple):
    """Greedy translation of one sentence with its attention, for ``rnnlab inspect``."""

    source_tokens: list[str]  # Ts pieces as the reader reads them (reversal undone)
    target_tokens: list[str]  # T pieces decoded, "<EOS>" last when the model emitted it
    weights: torch.Tensor  # (T, Ts): row t is where the decoder looked emitting token t
    translation: str
    score: float  # log p(translation | source), <EOS> included


def attention_map(
    model: Seq2Seq, vocabs: dict, text: str, *, max_len_a: float = 1.5, max_len_b: int = 10
) -> AttentionMap:
    """Greedy-translate ``text`` and keep the attention weights (an attention model only).

    With ``reverse_source`` the encoder read the sentence backwards; the columns are put back
    in reading order, so column s is always the s-th source piece of ``text``.
    """
    cfg = model.config
    if cfg.variant != "attention":
        raise ValueError(
            f"this seq2seq model (variant {cfg.variant!r}) has no attention to draw; "
            "inspect needs variant 'attention'"
        )
    source, target = vocabs["source"], vocabs["target"]
    ids = td.encode_source(text, source, "--text", cfg.max_source_length)
    device = next(model.parameters()).device
    src = torch.tensor([ids], device=device)  # (1, Ts)
    lengths = torch.tensor([len(ids)])  # (1,)
    hyps = greedy_decode(model, src, lengths, max_len_a=max_len_a, max_len_b=max_len_b,
                         return_attention=True)  # fmt: skip
    tokens, weights = hyps.tokens[0], hyps.attention[0]  # (T, Ts)
    if cfg.reverse_source:
        weights = weights.flip(1)  # (T, Ts) back in reading order
    pieces = target.decode(tokens)
    if weights.shape[0] > len(tokens):  # the step that emitted <EOS>
        pieces = [*pieces, target.decode([target.eos_index])[0]]
    return AttentionMap(
        source.decode(ids), pieces, weights, detokenize(tokens, target), hyps.scores[0]
    )
