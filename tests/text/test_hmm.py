"""The embedded HMM corpus: the forward algorithm is exact, generation is deterministic."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from rnnlab.text.hmm import (
    EOS,
    HiddenMarkovModel,
    default_hmm,
    hmm_corpus,
    ngram_perplexity,
)


def _tiny_hmm() -> HiddenMarkovModel:
    return HiddenMarkovModel(
        states=("A", "B", "C"),
        words=("x", "y", "z"),
        initial=np.array([0.6, 0.3, 0.1]),
        transition=np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4]]),
        emission=np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]]),
    )


def _brute_force_log_prob(hmm: HiddenMarkovModel, ids: list[int]) -> float:
    """log p(w_1..w_N) summing over every hidden path (S ** N terms)."""
    S = len(hmm.states)
    total = 0.0
    for path in itertools.product(range(S), repeat=len(ids)):
        p = hmm.initial[path[0]] * hmm.emission[path[0], ids[0]]
        for t in range(1, len(ids)):
            p *= hmm.transition[path[t - 1], path[t]] * hmm.emission[path[t], ids[t]]
        total += p
    return math.log(total)


@pytest.mark.parametrize("ids", [[0], [2, 1], [0, 1, 2, 1, 0, 0], [1, 1, 1, 2, 2, 0, 1]])
def test_forward_algorithm_equals_brute_force_enumeration(ids):
    hmm = _tiny_hmm()
    logp = hmm.predictive_log_probs(ids)  # (N,) log p(w_t | w_<t)
    for n in range(1, len(ids) + 1):  # every prefix: sum of predictive terms = joint log prob
        assert logp[:n].sum() == pytest.approx(_brute_force_log_prob(hmm, ids[:n]), abs=1e-12)
    assert hmm.perplexity(ids) == pytest.approx(math.exp(-logp.mean()))


def test_predictive_distribution_sums_to_one():
    hmm = _tiny_hmm()
    prefix = [0, 2, 1]
    base = hmm.predictive_log_probs(prefix).sum()
    probs = [math.exp(hmm.predictive_log_probs(prefix + [w])[-1]) for w in range(3)]
    assert sum(probs) == pytest.approx(1.0, abs=1e-12)
    assert math.isfinite(base)


def test_impossible_tokens_are_named():
    hmm = HiddenMarkovModel(
        ("A",), ("x", "y"), np.array([1.0]), np.array([[1.0]]), np.array([[1.0, 0.0]])
    )
    with pytest.raises(ValueError, match="token 1"):
        hmm.predictive_log_probs([0, 1])


def test_default_hmm_is_a_readable_few_hundred_word_model():
    hmm = default_hmm()
    assert 20 <= len(hmm.states) <= 30
    assert 200 <= len(hmm.words) <= 600
    assert EOS in hmm.words and "dog" in hmm.words and "runs" in hmm.words
    np.testing.assert_allclose(hmm.transition.sum(1), 1.0)
    np.testing.assert_allclose(hmm.emission.sum(1), 1.0)


def test_generation_is_deterministic_by_seed_and_splits_hold_whole_sentences():
    a = hmm_corpus(seed=3, train_tokens=3000, valid_tokens=500, test_tokens=500)
    b = hmm_corpus(seed=3, train_tokens=3000, valid_tokens=500, test_tokens=500)
    c = hmm_corpus(seed=4, train_tokens=3000, valid_tokens=500, test_tokens=500)
    assert a.train == b.train and a.test == b.test
    assert a.train != c.train
    for split in (a.train, a.valid, a.test):
        assert split[-1] == EOS
    assert len(a.train) >= 3000 and len(a.test) >= 500
    assert a.optimal_perplexity() == b.optimal_perplexity()


def test_hidden_states_give_structure_beyond_bigrams():
    corpus = hmm_corpus(seed=0, train_tokens=60_000, valid_tokens=5000, test_tokens=5000)
    optimum = corpus.optimal_perplexity("test")
    bigram = ngram_perplexity(corpus.train, corpus.test, order=2)
    unigram = ngram_perplexity(corpus.train, corpus.test, order=1)
    assert optimum < 0.8 * bigram < 0.8 * unigram
    # verbs agree with the subject across a prepositional phrase: "the dog near the trees runs"
    text = " ".join(corpus.train)
    assert " near " in text and " runs " in text


def test_ngram_perplexity_of_a_uniform_stream():
    train = list("abcd" * 100)
    assert ngram_perplexity(train, list("abcd"), order=1, k=1e-9) == pytest.approx(4.0, rel=1e-6)
    assert ngram_perplexity(train, list("abcdabcd"), order=2, k=1e-9) < 1.3
    with pytest.raises(ValueError, match="order"):
        ngram_perplexity(train, train, order=3)
