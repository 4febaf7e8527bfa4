"""The embedded default corpus: English-like sentences from a small hidden Markov model.

rnnlab's quickstart needs a corpus that ships with the package and whose best possible
perplexity is known exactly. Both follow from generating the text with a hidden Markov
model (HMM) that we write down here:

* hidden states are syntactic roles (determiner, adjective, noun, verb, preposition,
  adverb, conjunction, end of sentence), split by grammatical number and by position in
  the sentence (subject, prepositional phrase, object), 29 states in all;
* each state emits from its own readable word list with Zipfian weights; lists are shared
  between states (``the`` is singular or plural, an adjective may sit in any noun phrase,
  a noun may be subject or object), so a word does not reveal its state;
* verbs agree in number with the subject, across any number of adjectives and nested
  prepositional phrases ("the old dog near the tall trees *runs*"): structure that a
  bigram model cannot see;
* every sentence ends with ``<eos>``, after which the model restarts, as in the PTB files.

Because the generator is known, the Bayes-optimal prediction of each token given the whole
prefix, ``p(w_t | w_1 .. w_{t-1})``, is computed exactly by the forward algorithm
(Rabiner, 1989), in float64 with per-step normalisation (the scaled forward recursion:
the log of each step's normaliser is exactly log p(w_t | w_<t)). No model can beat the
resulting perplexity on average; a well-trained LSTM should come close to it.

The corpus is generated deterministically from a seed with numpy's PCG64 generator:
no download and no data file.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "EOS",
    "HiddenMarkovModel",
    "HMMCorpus",
    "default_hmm",
    "hmm_corpus",
    "hmm_split",
    "ngram_perplexity",
]

EOS = "<eos>"

# ---------------------------------------------------------------------------
# Word lists (most frequent first: weights are Zipfian in list order).
# ---------------------------------------------------------------------------

_DET_SG = "the a this that every one each another".split()
_DET_PL = "the some these those many two three all few several".split()
_DET_ANY = "the his her my our their your this some a".split()
_ADJ = (
    "big small old young red green happy sad tall short quiet loud bright dark warm cold "
    "little new strange gentle brave clever lazy busy tired hungry wild calm proud kind "
    "silver golden heavy light quick slow soft hard sweet bitter rich poor clean dirty "
    "lucky lonely angry funny famous hidden empty round narrow broad"
).split()
_NOUN_SG = (
    "dog cat man woman child bird farmer teacher king queen doctor student fox horse "
    "girl boy baker sailor friend robot wolf rabbit painter driver singer pilot owl mouse "
    "captain neighbour"
).split()
_THING_SG = (
    "ball book apple letter song story box cake map key stone lamp coat hat gift door "
    "window boat train picture"
).split()
_PLACE_SG = (
    "house river garden forest city road hill bridge market school village table field "
    "lake tower station castle kitchen park mountain"
).split()
_NAMES = (
    "anna tom maria john lucy peter emma david sara paul nina oscar clara felix hugo iris leo mona"
).split()
_PRON_SG = "he she it".split()
_PRON_PL = "they we you".split()
_PREP = "near behind under above beside with without inside across beyond".split()
_PREP_V = "in at on to from into over through around after before".split()
_VERB_BASE = (
    "see like find know want take love help watch visit follow carry paint call meet "
    "remember build open push hold bring read draw hear seek"
).split()
_VERB_INTR = "sleep run sing laugh wait dance swim smile rest shine".split()
_ADV = (
    "quickly slowly often never always today again together alone loudly quietly "
    "happily sometimes early late"
).split()
_CONJ = "and but while because so".split()


def _plural(noun: str) -> str:
    if noun == "man":
        return "men"
    if noun == "woman":
        return "women"
    if noun == "child":
        return "children"
    if noun == "mouse":
        return "mice"
    if noun in ("wolf", "knife"):
        return noun[:-1] + "ves"
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "x", "sh", "ch")) or verb in ("go", "do"):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HiddenMarkovModel:
    """A discrete HMM: ``initial`` (S,), ``transition`` (S, S) rows = from-state,
    ``emission`` (S, V) rows = state; all rows sum to 1 (float64)."""

    states: tuple[str, ...]
    words: tuple[str, ...]
    initial: np.ndarray
    transition: np.ndarray
    emission: np.ndarray

    def __post_init__(self) -> None:
        S, V = len(self.states), len(self.words)
        for name, arr, shape in (
            ("initial", self.initial, (S,)),
            ("transition", self.transition, (S, S)),
            ("emission", self.emission, (S, V)),
        ):
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
            if not np.allclose(arr.sum(axis=-1), 1.0):
                raise ValueError(f"rows of {name} must sum to 1")

    @property
    def word_index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def sample_ids(self, num_tokens: int, rng: np.random.Generator) -> list[int]:
        """Sample a stream of at least ``num_tokens`` word ids, ending after an ``<eos>``
        if the model has one (so that a stream holds whole sentences)."""
        S = len(self.states)
        init_cdf = np.cumsum(self.initial).tolist()
        trans_cdf = [np.cumsum(row).tolist() for row in self.transition]
        emit_cdf = [np.cumsum(row).tolist() for row in self.emission]
        eos = self.word_index.get(EOS)
        out: list[int] = []
        state = min(bisect.bisect(init_cdf, rng.random()), S - 1)
        while True:
            u_emit, u_next = rng.random(2)
            cdf = emit_cdf[state]
            word = min(bisect.bisect(cdf, u_emit * cdf[-1]), len(cdf) - 1)
            out.append(word)
            if len(out) >= num_tokens and (eos is None or word == eos):
                return out
            cdf = trans_cdf[state]
            state = min(bisect.bisect(cdf, u_next * cdf[-1]), S - 1)

    def predictive_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        """Forward algorithm: log p(w_t | w_1 .. w_{t-1}) for every t, in float64.

        Args:
            ids: (N,) word ids, the stream starting from the initial distribution.
        Returns:
            (N,) natural-log predictive probabilities; their sum is log p(w_1 .. w_N).
        """
        ids = np.asarray(ids, dtype=np.int64)
        emission_t = np.ascontiguousarray(self.emission.T)  # (V, S)
        belief = self.initial.copy()  # p(s_t | w_<t), (S,)
        out = np.empty(len(ids), dtype=np.float64)
        for t, w in enumerate(ids):
            joint = belief * emission_t[w]  # p(s_t, w_t | w_<t), (S,)
            p = joint.sum()
            if p <= 0.0:
                raise ValueError(f"token {t} (id {w}) is impossible under this HMM")
            out[t] = math.log(p)
            belief = (joint / p) @ self.transition  # p(s_{t+1} | w_<=t)
        return out

    def perplexity(self, ids: Sequence[int]) -> float:
        """Exact optimal per-token perplexity of a stream: exp(-mean log p(w_t | w_<t))."""
        return float(math.exp(-self.predictive_log_probs(ids).mean()))


def _zipf(n: int, exponent: float = 1.0) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return w / w.sum()


# state -> (word list, {next state: probability}); "START" stands for the sentence start.
_START = {"DET_SG": 0.3, "DET_PL": 0.25, "NAME": 0.15, "PRON_SG": 0.15, "PRON_PL": 0.15}


def _grammar() -> dict[str, tuple[list[str], dict[str, float]]]:
    nouns_sg = _NOUN_SG
    nouns_pl = [_plural(n) for n in _NOUN_SG]
    objects = _NOUN_SG + _THING_SG + [_plural(n) for n in _THING_SG] + nouns_pl[:10]
    places = _PLACE_SG + [_plural(n) for n in _PLACE_SG[:10]]
    verbs_pl = _VERB_BASE + _VERB_INTR
    verbs_sg = [_third_person(v) for v in verbs_pl]
    g: dict[str, tuple[list[str], dict[str, float]]] = {
        # subject noun phrase, singular / plural
        "DET_SG": (_DET_SG, {"ADJ_SG": 0.4, "NOUN_SG": 0.6}),
        "ADJ_SG": (_ADJ, {"ADJ_SG": 0.3, "NOUN_SG": 0.7}),
        "NOUN_SG": (nouns_sg, {"VERB_SG": 0.65, "PREP_S": 0.35}),
        "NAME": (_NAMES, {"VERB_SG": 0.8, "PREP_S": 0.2}),
        "PRON_SG": (_PRON_SG, {"VERB_SG": 1.0}),
        "DET_PL": (_DET_PL, {"ADJ_PL": 0.4, "NOUN_PL": 0.6}),
        "ADJ_PL": (_ADJ, {"ADJ_PL": 0.3, "NOUN_PL": 0.7}),
        "NOUN_PL": (nouns_pl, {"VERB_PL": 0.65, "PREP_P": 0.35}),
        "PRON_PL": (_PRON_PL, {"VERB_PL": 1.0}),
        # prepositional phrase inside the subject: remembers the subject's number
        "PREP_S": (_PREP, {"DETO_S": 1.0}),
        "DETO_S": (_DET_ANY, {"ADJO_S": 0.3, "NOUNO_S": 0.7}),
        "ADJO_S": (_ADJ, {"ADJO_S": 0.2, "NOUNO_S": 0.8}),
        "NOUNO_S": (places, {"VERB_SG": 0.85, "PREP_S": 0.15}),
        "PREP_P": (_PREP, {"DETO_P": 1.0}),
        "DETO_P": (_DET_ANY, {"ADJO_P": 0.3, "NOUNO_P": 0.7}),
        "ADJO_P": (_ADJ, {"ADJO_P": 0.2, "NOUNO_P": 0.8}),
        "NOUNO_P": (places, {"VERB_PL": 0.85, "PREP_P": 0.15}),
        # verb phrase
        "VERB_SG": (verbs_sg, {"DET_OBJ": 0.45, "ADV": 0.2, "PREP_V": 0.15, "EOS": 0.2}),
        "VERB_PL": (verbs_pl, {"DET_OBJ": 0.45, "ADV": 0.2, "PREP_V": 0.15, "EOS": 0.2}),
        "DET_OBJ": (_DET_ANY, {"ADJ_OBJ": 0.35, "NOUN_OBJ": 0.65}),
        "ADJ_OBJ": (_ADJ, {"ADJ_OBJ": 0.2, "NOUN_OBJ": 0.8}),
        "NOUN_OBJ": (objects, {"EOS": 0.5, "PREP_V": 0.2, "CONJ": 0.15, "ADV": 0.15}),
        "ADV": (_ADV, {"EOS": 0.6, "PREP_V": 0.2, "CONJ": 0.2}),
        "PREP_V": (_PREP_V, {"DETO_V": 1.0}),
        "DETO_V": (_DET_ANY, {"ADJO_V": 0.3, "NOUNO_V": 0.7}),
        "ADJO_V": (_ADJ, {"ADJO_V": 0.2, "NOUNO_V": 0.8}),
        "NOUNO_V": (places, {"EOS": 0.65, "CONJ": 0.2, "PREP_V": 0.15}),
        "CONJ": (_CONJ, dict(_START)),
        "EOS": ([EOS], dict(_START)),
    }
    return g


@lru_cache(maxsize=1)
def default_hmm() -> HiddenMarkovModel:
    """The quickstart's HMM: 29 states, 342 English-like words plus ``<eos>``."""
    g = _grammar()
    states = tuple(g)
    words: list[str] = []
    for wordlist, _ in g.values():
        for w in wordlist:
            if w not in words:
                words.append(w)
    index = {w: i for i, w in enumerate(words)}
    s_index = {s: i for i, s in enumerate(states)}
    S, V = len(states), len(words)
    transition = np.zeros((S, S))
    emission = np.zeros((S, V))
    for s, (wordlist, nxt) in g.items():
        for w, p in zip(wordlist, _zipf(len(wordlist))):
            emission[s_index[s], index[w]] += p
        for t, p in nxt.items():
            transition[s_index[s], s_index[t]] = p
    initial = np.zeros(S)
    for t, p in _START.items():
        initial[s_index[t]] = p
    return HiddenMarkovModel(states, tuple(words), initial, transition, emission)


@dataclass(frozen=True)
class HMMCorpus:
    """Train / valid / test token streams sampled from ``hmm``, and the exact optimum."""

    hmm: HiddenMarkovModel
    train: list[str]
    valid: list[str]
    test: list[str]
    seed: int

    def optimal_perplexity(self, split: str = "test") -> float:
        """Bayes-optimal per-token perplexity of a split (forward algorithm, exact)."""
        tokens = getattr(self, split)
        index = self.hmm.word_index
        return self.hmm.perplexity([index[w] for w in tokens])


def hmm_split(
    seed: int, split: str, num_tokens: int, hmm: HiddenMarkovModel | None = None
) -> list[str]:
    """One split of the embedded corpus, sampled on its own stream: the generator of split
    ``split`` is seeded from ``(seed, split)``, so the test stream can be made without the
    training stream (``rnnlab evaluate`` samples only what it evaluates)."""
    if split not in SPLIT_STREAMS:
        raise ValueError(f"split must be one of {list(SPLIT_STREAMS)}, got {split!r}")
    if num_tokens < 1:
        raise ValueError(f"each split needs at least 1 token, got {num_tokens}")
    hmm = hmm or default_hmm()
    stream = np.random.SeedSequence([seed, SPLIT_STREAMS[split]])
    rng = np.random.Generator(np.random.PCG64(stream))
    return [hmm.words[i] for i in hmm.sample_ids(num_tokens, rng)]


SPLIT_STREAMS = {"train": 0, "valid": 1, "test": 2}


def hmm_corpus(
    seed: int = 0,
    train_tokens: int = 400_000,
    valid_tokens: int = 40_000,
    test_tokens: int = 40_000,
    hmm: HiddenMarkovModel | None = None,
) -> HMMCorpus:
    """Generate the embedded corpus deterministically from ``seed``.

    Each split is a stream of whole sentences (each ending in ``<eos>``) with at least
    the requested number of tokens; the splits are sampled independently
    (:func:`hmm_split`), each starting from the initial distribution.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 (numpy's generators), got {seed!r}")
    sizes = {"train": train_tokens, "valid": valid_tokens, "test": test_tokens}
    for name, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise ValueError(f"{name}_tokens must be an integer, got {type(n).__name__} {n!r}")
    hmm = hmm or default_hmm()
    splits = {name: hmm_split(seed, name, n, hmm) for name, n in sizes.items()}
    return HMMCorpus(hmm, splits["train"], splits["valid"], splits["test"], seed)


def ngram_perplexity(
    train: Sequence[str], test: Sequence[str], order: int, k: float = 0.1
) -> float:
    """Perplexity of an add-k smoothed unigram (order 1) or bigram (order 2) model.

    Estimated on ``train``, over the vocabulary of ``train`` plus one unknown type; the
    bigram's first test token is scored by the unigram model.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    if not train or not test:
        raise ValueError("n-gram baselines need non-empty train and test streams")
    unigrams = Counter(train)
    V = len(unigrams) + 1
    n = len(train)

    def p_uni(w: str) -> float:
        return (unigrams.get(w, 0) + k) / (n + k * V)

    if order == 1:
        logp = sum(math.log(p_uni(w)) for w in test)
        return math.exp(-logp / len(test))
    bigrams = Counter(zip(train[:-1], train[1:]))
    logp = math.log(p_uni(test[0]))
    for prev, w in zip(test[:-1], test[1:]):
        logp += math.log((bigrams.get((prev, w), 0) + k) / (unigrams.get(prev, 0) + k * V))
    return math.exp(-logp / len(test))
