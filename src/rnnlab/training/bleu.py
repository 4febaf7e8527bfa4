"""Corpus BLEU and chrF with sacreBLEU (Post 2018), with the signature that makes them
comparable with published numbers.

    scores = corpus_scores(hypotheses, references)
    scores["bleu"], scores["bleu_signature"]   # 35.1, 'nrefs:1|case:mixed|eff:no|tok:13a|...'

Both take detokenised text (what a user reads); sacreBLEU tokenizes internally (13a).
``sacrebleu`` is an optional dependency (``pip install rnnlab[translate]``).
"""

from __future__ import annotations

from collections.abc import Sequence


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """``{"bleu", "chrf", "bleu_signature", "chrf_signature"}`` of one reference per line."""
    try:
        from sacrebleu.metrics import BLEU, CHRF
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "BLEU and chrF need the 'sacrebleu' package: pip install sacrebleu "
            "(or pip install rnnlab[translate])"
        ) from None
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references; they must pair up"
        )
    if not references:
        raise ValueError("no sentences to score")
    bleu, chrf = BLEU(), CHRF()
    b = bleu.corpus_score(list(hypotheses), [list(references)])
    c = chrf.corpus_score(list(hypotheses), [list(references)])
    return {
        "bleu": float(b.score),
        "chrf": float(c.score),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }
