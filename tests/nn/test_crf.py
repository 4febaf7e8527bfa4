"""The linear-chain CRF against brute-force enumeration of every tag sequence."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnlab.nn.crf import LinearChainCRF


def _brute_force(crf: LinearChainCRF, emissions: torch.Tensor, length: int):
    """log Z, the best sequence and its score for one sentence (T, C), by enumeration."""
    C = emissions.shape[-1]
    scores = {}
    for tags in itertools.product(range(C), repeat=length):
        s = crf.start[tags[0]] + emissions[0, tags[0]] + crf.end[tags[-1]]
        for t in range(1, length):
            s = s + crf.transitions[tags[t - 1], tags[t]] + emissions[t, tags[t]]
        scores[tags] = s
    stacked = torch.stack(list(scores.values()))
    best = max(scores, key=lambda k: float(scores[k].detach()))
    return torch.logsumexp(stacked, 0), best, scores


@pytest.fixture
def crf():
    torch.manual_seed(3)
    model = LinearChainCRF(3).double()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    return model


def test_forward_algorithm_and_viterbi_equal_enumeration(crf):
    emissions = torch.randn(3, 4, 3, dtype=torch.float64)  # (B, T, C)
    lengths = torch.tensor([4, 2, 1])
    tags = torch.tensor([[0, 2, 1, 1], [2, 2, -1, -1], [1, -1, -1, -1]])
    log_z = crf.log_partition(emissions, lengths)
    best, best_score = crf.decode(emissions, lengths)
    nll = crf.neg_log_likelihood(emissions, tags, lengths)
    for b, n in enumerate(lengths.tolist()):
        expected_z, expected_best, scores = _brute_force(crf, emissions[b, :n], n)
        assert torch.allclose(log_z[b], expected_z, atol=1e-10)
        assert tuple(best[b, :n].tolist()) == expected_best
        assert (best[b, n:] == -1).all()
        assert torch.allclose(best_score[b], scores[expected_best], atol=1e-10)
        gold = tuple(tags[b, :n].tolist())
        assert torch.allclose(nll[b], expected_z - scores[gold], atol=1e-10)


def test_probabilities_over_all_sequences_sum_to_one(crf):
    emissions = torch.randn(1, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([3])
    total = 0.0
    for tags in itertools.product(range(3), repeat=3):
        nll = crf.neg_log_likelihood(emissions, torch.tensor([tags]), lengths)
        total += float(torch.exp(-nll).detach())
    assert abs(total - 1.0) < 1e-10


def test_padding_never_changes_a_sentence(crf):
    alone = torch.randn(1, 2, 3, dtype=torch.float64)
    padded = torch.cat([alone, torch.randn(1, 3, 3, dtype=torch.float64) * 50], dim=1)
    n = torch.tensor([2])
    assert torch.allclose(crf.log_partition(alone, n), crf.log_partition(padded, n), atol=1e-12)
    assert crf.decode(alone, n)[0].tolist()[0] == crf.decode(padded, n)[0].tolist()[0][:2]


def test_gradient_of_log_z_is_the_tag_marginal(crf):
    """d log Z / d emissions[t, c] = p(y_t = c): the marginals sum to 1 at every step."""
    emissions = torch.randn(1, 4, 3, dtype=torch.float64, requires_grad=True)
    crf.log_partition(emissions, torch.tensor([4])).sum().backward()
    assert torch.allclose(emissions.grad.sum(-1), torch.ones(1, 4, dtype=torch.float64))


def test_bad_shapes_are_named():
    crf = LinearChainCRF(4)
    with pytest.raises(ValueError, match=r"\(B, T, C=4\)"):
        crf.log_partition(torch.randn(2, 3, 5), torch.tensor([3, 3]))
    with pytest.raises(ValueError, match="lengths"):
        crf.log_partition(torch.randn(2, 3, 4), torch.tensor([3, 0]))
