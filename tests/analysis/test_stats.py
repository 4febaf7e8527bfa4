"""rnnlab.analysis.stats against hand-computed cases and exact small-sample enumerations."""

from __future__ import annotations

import math

import pytest

from rnnlab.analysis import stats


def test_permutation_test_exact_on_a_hand_enumerated_case():
    # a = 1,2,3 vs b = 4,5,6: of the C(6,3) = 20 splits only the observed one and its mirror
    # reach |difference of means| = 3, so p = 2 / 20.
    assert stats.permutation_test([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    # 10 vs 10 seeds fully separated: p = 2 / C(20, 10)
    p = stats.permutation_test([1.0] * 10, [0.2] * 10)
    assert p == pytest.approx(2 / math.comb(20, 10))
    # identical conditions: every split is as extreme, p = 1
    assert stats.permutation_test([0.5, 0.5], [0.5, 0.5]) == 1.0


def test_permutation_test_counts_ties_of_the_statistic():
    # a = 0,1 vs b = 1,2: |diff| = 1. Splits of {0,1,1,2} into pairs (6 of them):
    # {0,1}|{1,2} twice (diff 1), {0,2}|{1,1} (0), {1,1}|{0,2} (0), {1,2}|{0,1} twice (1).
    assert stats.permutation_test([0, 1], [1, 2]) == pytest.approx(4 / 6)


def test_permutation_test_monte_carlo_branch_is_close_to_exact_and_never_zero():
    a, b = list(range(12)), [x + 6 for x in range(12)]  # C(24, 12) > EXACT_LIMIT
    assert math.comb(24, 12) > stats.EXACT_LIMIT
    p = stats.permutation_test(a, b, n_resamples=20_000)
    assert 0 < p < 0.02
    far = stats.permutation_test([0.0] * 12, [1.0] * 12, n_resamples=999)
    assert far == pytest.approx(1 / 1000)  # (0 + 1) / (999 + 1)


def test_bootstrap_ci_against_the_exact_resampling_distribution():
    # For [0, 0, 1] the resampled mean is k / 3, k ~ Binomial(3, 1/3):
    # P(0) = 8/27 = .296, P(1/3) = 12/27, P(2/3) = 6/27, P(1) = 1/27 = .037.
    # 2.5% quantile: 0; 97.5% quantile: 1 (the cdf at 2/3 is .963 < .975).
    assert stats.bootstrap_ci([0, 0, 1]) == (0.0, 1.0)
    # 90%: the 95% quantile is 2/3 (.963 > .95).
    lo, hi = stats.bootstrap_ci([0, 0, 1], level=0.9)
    assert lo == 0.0 and hi == pytest.approx(2 / 3)
    assert stats.bootstrap_ci([0.7]) == (0.7, 0.7)
    assert stats.bootstrap_ci([0.3, 0.3, 0.3]) == pytest.approx((0.3, 0.3))


def test_cliffs_delta_by_hand():
    # pairs of (1,2,3) x (2,4): 1<2 1<4 2=2 2<4 3>2 3<4 -> (1 - 4) / 6
    assert stats.cliffs_delta([1, 2, 3], [2, 4]) == pytest.approx(-0.5)
    assert stats.cliffs_delta([1, 1], [0, 0]) == 1.0


def test_compare_gives_the_verdict_the_numbers_give():
    hi = stats.compare([1.0] * 10, [0.2] * 10, "fb 1", "fb 0")
    assert hi.verdict == "higher" and hi.p_value < 1e-4 and hi.cliffs_delta == 1.0
    assert hi.n_seeds == 10 and hi.difference == pytest.approx(0.8)
    assert "fb 1 1.00 [1.00, 1.00] is higher than fb 0 0.20 [0.20, 0.20]" in hi.sentence()
    lo = stats.compare([0.2] * 10, [1.0] * 10)
    assert lo.verdict == "lower"
    # three seeds cannot reach p < 0.05 with this test: the smallest p is 2 / C(6, 3) = 0.1
    few = stats.compare([1.0, 1.0, 1.0], [0.2, 0.2, 0.2])
    assert few.p_value == pytest.approx(0.1)
    assert few.verdict == "no detectable difference at this budget"
    d = few.to_dict()
    assert d["n_seeds"] == 3 and d["test"] == stats.TEST_NAME and d["a"]["values"] == [1.0] * 3


def test_bad_input_names_what_was_expected():
    with pytest.raises(ValueError, match="non-empty"):
        stats.summarize([])
    with pytest.raises(ValueError, match="finite"):
        stats.compare([float("nan")], [1.0])
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci([1.0], level=95)
