"""Greedy and beam search: beam 1 is greedy exactly; beam search never returns a score below
greedy's; a batch decodes the same as each sentence alone; length limits hold."""

from __future__ import annotations

import random

import pytest
import torch

from rnnlab.models.decoding import beam_search, greedy_decode, max_lengths
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.text.padding import pad_ids


def random_model(seed: int, **changes) -> Seq2Seq:
    """A small untrained model with peaked output distributions (so that beam and greedy
    disagree now and then)."""
    torch.manual_seed(seed)
    cfg = Seq2SeqConfig(src_vocab_size=9, tgt_vocab_size=8, embed_dim=6, hidden_size=6,
                        dropout=0.0, backend="scratch").replace(**changes)  # fmt: skip
    model = Seq2Seq(cfg).eval()
    with torch.no_grad():
        model.out.weight.mul_(3.0)
    return model


def random_sources(seed: int, n: int, longest: int = 6):
    rng = random.Random(seed)
    ids = [[rng.randrange(2, 9) for _ in range(rng.randint(1, longest))] for _ in range(n)]
    return ids, *pad_ids(ids)  # ids, src (B, Ts), lengths (B,)


VARIANTS = [{"variant": "attention", "attention": "general"},
            {"variant": "attention", "attention": "bahdanau", "encoder_cell": "lstm"},
            {"variant": "peeky", "decoder_cell": "lstm"}, {"variant": "basic"}]  # fmt: skip


@pytest.mark.parametrize("changes", VARIANTS)
@pytest.mark.parametrize("length_penalty", ["none", "average", "gnmt"])
def test_beam_of_one_is_greedy_exactly(changes, length_penalty):
    model = random_model(0, **changes)
    _, src, lengths = random_sources(1, 12)
    greedy = greedy_decode(model, src, lengths, max_len_a=1.0, max_len_b=3)
    beam = beam_search(model, src, lengths, beam=1, include_greedy=False, max_len_a=1.0,
                       max_len_b=3, length_penalty=length_penalty)  # fmt: skip
    assert beam.tokens == greedy.tokens
    assert beam.scores == pytest.approx(greedy.scores, abs=1e-5)


@pytest.mark.parametrize("changes", VARIANTS)
def test_beam_score_is_never_below_greedy_and_often_above(changes):
    better = 0
    for seed in range(6):
        model = random_model(seed, **changes)
        _, src, lengths = random_sources(100 + seed, 16)
        greedy = greedy_decode(model, src, lengths, max_len_b=4)
        beam = beam_search(model, src, lengths, beam=4, length_penalty="none", max_len_b=4)
        for g, b in zip(greedy.scores, beam.scores):
            assert b >= g - 1e-5
            better += b > g + 1e-4
    assert better > 0, "beam search never found a better translation than greedy: untested"


def test_model_scores_are_the_summed_log_probabilities_of_the_tokens():
    model = random_model(3)
    _, src, lengths = random_sources(3, 5)
    hyps = beam_search(model, src, lengths, beam=3, length_penalty="none", max_len_b=4)
    eos = model.config.eos_index
    limits = max_lengths(lengths, 1.5, 4)
    for b, (tokens, score) in enumerate(zip(hyps.tokens, hyps.scores)):
        target = tokens + ([eos] if len(tokens) < limits[b] else [])  # cut at the limit: no <EOS>
        tgt_in = torch.tensor([[model.config.bos_index] + target[:-1]])
        with torch.no_grad():
            logits, _ = model(src[b : b + 1, : lengths[b]], lengths[b : b + 1], tgt_in,
                              torch.tensor([len(target)]))  # fmt: skip
        logp = torch.log_softmax(logits[0], -1).gather(1, torch.tensor(target)[:, None]).sum()
        assert score == pytest.approx(float(logp), abs=1e-4)


@pytest.mark.parametrize("changes", VARIANTS[:3])
def test_a_batch_decodes_like_each_sentence_alone(changes):
    model = random_model(7, **changes)
    ids, src, lengths = random_sources(7, 9)
    greedy = greedy_decode(model, src, lengths, return_attention=True)
    beam = beam_search(model, src, lengths, beam=3, length_penalty="gnmt")
    for b, one in enumerate(ids):
        alone_src, alone_len = torch.tensor([one]), torch.tensor([len(one)])
        g = greedy_decode(model, alone_src, alone_len, return_attention=True)
        k = beam_search(model, alone_src, alone_len, beam=3, length_penalty="gnmt")
        assert g.tokens[0] == greedy.tokens[b] and k.tokens[0] == beam.tokens[b]
        assert g.scores[0] == pytest.approx(greedy.scores[b], abs=1e-5)
        assert k.scores[0] == pytest.approx(beam.scores[b], abs=1e-5)
        if greedy.attention is not None:
            torch.testing.assert_close(g.attention[0], greedy.attention[b], atol=1e-6, rtol=0)


def test_lengths_respect_the_limit_and_attention_rows_match_the_tokens():
    model = random_model(11)
    with torch.no_grad():
        model.out.bias[model.config.eos_index] -= 50.0  # never stops on its own
    _, src, lengths = random_sources(11, 6)
    limits = max_lengths(lengths, 0.5, 2)
    greedy = greedy_decode(model, src, lengths, max_len_a=0.5, max_len_b=2, return_attention=True)
    beam = beam_search(model, src, lengths, beam=3, max_len_a=0.5, max_len_b=2)
    for b, limit in enumerate(limits):
        assert len(greedy.tokens[b]) == limit and len(beam.tokens[b]) == limit
        assert greedy.attention[b].shape == (limit, int(lengths[b]))
    with pytest.raises(ValueError, match="max_len_a and max_len_b must be >= 0"):
        max_lengths(lengths, -1.0, 2)


def test_bad_beam_arguments_are_named():
    model = random_model(0)
    _, src, lengths = random_sources(0, 2)
    with pytest.raises(ValueError, match="beam must be an int >= 1, got 0"):
        beam_search(model, src, lengths, beam=0)
    with pytest.raises(ValueError, match="length_penalty must be one of"):
        beam_search(model, src, lengths, length_penalty="long")
