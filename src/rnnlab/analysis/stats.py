"""Statistics for verdicts over seeds: bootstrap intervals, a permutation test, effect sizes.

An experiment that trains a model once per seed gets one number per seed and condition.
These functions turn two such lists into a verdict that the numbers, not the author, decide:

* ``bootstrap_ci``: percentile bootstrap interval of the mean (Efron & Tibshirani 1993, ch. 13);
* ``permutation_test``: two-sided p-value of the difference of means under exchangeability
  (Fisher's randomisation test; Good, *Permutation Tests*, 2005). Exact over every split of
  the pooled values when there are at most ``EXACT_LIMIT`` splits (10 vs 10 seeds: 184,756),
  else Monte Carlo with the (count + 1) / (resamples + 1) estimate, which is never 0;
* ``cliffs_delta``: P(a > b) - P(a < b) over all pairs (Cliff 1993), in [-1, 1]; unlike
  Cohen's d it stays finite when every seed of a condition gives the same value;
* ``compare``: all of the above for two conditions, and the one-word verdict
  "higher" / "lower" / "no detectable difference at this budget" decided by p < alpha.

Values are plain Python floats in, plain floats out (JSON-ready). numpy only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "EXACT_LIMIT",
    "HIGHER",
    "LOWER",
    "NO_DIFFERENCE",
    "TEST_NAME",
    "Summary",
    "Comparison",
    "summarize",
    "bootstrap_ci",
    "permutation_test",
    "cliffs_delta",
    "compare",
]

EXACT_LIMIT = 200_000
TEST_NAME = "two-sided permutation test on the difference of means"
HIGHER, LOWER, NO_DIFFERENCE = "higher", "lower", "no detectable difference at this budget"


def _array(values, name: str = "values") -> np.ndarray:
    v = np.asarray(list(values), dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"expected a non-empty list of numbers for {name}, got {v.size} values")
    if not np.isfinite(v).all():
        raise ValueError(f"expected finite numbers for {name}, got {v.tolist()}")
    return v


def bootstrap_ci(
    values, level: float = 0.95, n_resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean: resample the values with replacement
    ``n_resamples`` times and take the (1 - level) / 2 and (1 + level) / 2 quantiles of the
    resampled means (lower / higher order statistics, so the ends are attainable means).

    Seeded: the same values give the same interval. One value gives (value, value).
    """
    v = _array(values)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_resamples, v.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return (
        float(np.quantile(means, alpha, method="lower")),
        float(np.quantile(means, 1 - alpha, method="higher")),
    )


def permutation_test(a, b, n_resamples: int = 20_000, seed: int = 0) -> float:
    """Two-sided p-value of mean(a) - mean(b) = 0 by relabelling the pooled values.

    p = share of relabellings whose |difference of means| is at least the observed one
    (with a 1e-12 relative tolerance for float ties). Exact when C(n_a + n_b, n_a) <=
    ``EXACT_LIMIT``; otherwise ``n_resamples`` random relabellings, p = (count + 1) /
    (n_resamples + 1).
    """
    a, b = _array(a, "a"), _array(b, "b")
    pooled = np.concatenate([a, b])
    n, total = a.size, pooled.size
    observed = abs(a.mean() - b.mean())
    tol = 1e-12 * max(1.0, observed)
    sum_all = pooled.sum()
    if math.comb(total, n) <= EXACT_LIMIT:
        idx = np.array(list(itertools.combinations(range(total), n)), dtype=np.int64)
        sum_a = pooled[idx].sum(axis=1)
        diffs = np.abs(sum_a / n - (sum_all - sum_a) / (total - n))
        return float((diffs >= observed - tol).mean())
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(pooled, (n_resamples, 1)), axis=1)
    sum_a = perms[:, :n].sum(axis=1)
    diffs = np.abs(sum_a / n - (sum_all - sum_a) / (total - n))
    return float(((diffs >= observed - tol).sum() + 1) / (n_resamples + 1))


def cliffs_delta(a, b) -> float:
    """Cliff's delta: (#{a_i > b_j} - #{a_i < b_j}) / (n_a n_b), in [-1, 1]."""
    a, b = _array(a, "a"), _array(b, "b")
    diff = a[:, None] - b[None, :]
    return float((np.sign(diff)).mean())


@dataclass(frozen=True)
class Summary:
    """One condition over seeds: n, mean, 95% bootstrap interval and the per-seed values."""

    n: int
    mean: float
    ci_low: float
    ci_high: float
    values: tuple[float, ...]

    def text(self, digits: int = 2) -> str:
        """'0.93 [0.88, 0.97]'."""
        return f"{self.mean:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"

    def to_dict(self) -> dict:
        return {**asdict(self), "values": list(self.values)}


def summarize(values, level: float = 0.95, seed: int = 0) -> Summary:
    """Mean, bootstrap interval (``bootstrap_ci``) and the values of one condition."""
    v = _array(values)
    lo, hi = bootstrap_ci(v, level=level, seed=seed)
    return Summary(int(v.size), float(v.mean()), lo, hi, tuple(float(x) for x in v))


@dataclass(frozen=True)
class Comparison:
    """Condition a against condition b over seeds, and the verdict the numbers give."""

    name_a: str
    name_b: str
    a: Summary
    b: Summary
    difference: float  # mean(a) - mean(b)
    cliffs_delta: float
    p_value: float
    alpha: float
    verdict: str  # "higher" | "lower" | "no detectable difference at this budget"
    test: str = TEST_NAME

    @property
    def n_seeds(self) -> int:
        return min(self.a.n, self.b.n)

    def sentence(self, what: str = "", digits: int = 2) -> str:
        """'LSTM 0.95 [0.90, 0.99] is higher than RNN 0.21 [0.19, 0.23] (difference +0.74,
        Cliff's delta +1.00, permutation p = 1.1e-05, 10 vs 10 seeds)'."""
        head = f"{what}: " if what else ""
        if self.verdict == NO_DIFFERENCE:
            rel = "shows no detectable difference at this budget from"
        else:
            rel = f"is {self.verdict} than"
        return (
            f"{head}{self.name_a} {self.a.text(digits)} {rel} {self.name_b} "
            f"{self.b.text(digits)} (difference {self.difference:+.{digits}f}, Cliff's delta "
            f"{self.cliffs_delta:+.2f}, permutation p = {self.p_value:.2g}, "
            f"{self.a.n} vs {self.b.n} seeds)"
        )

    def to_dict(self) -> dict:
        return {
            "name_a": self.name_a,
            "name_b": self.name_b,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "difference": self.difference,
            "cliffs_delta": self.cliffs_delta,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "verdict": self.verdict,
            "test": self.test,
            "n_seeds": self.n_seeds,
        }


def compare(a, b, name_a: str = "a", name_b: str = "b", alpha: float = 0.05) -> Comparison:
    """Summaries of a and b, their difference of means, Cliff's delta, the permutation
    p-value, and the verdict: "higher" / "lower" (a vs b) when p < alpha, else
    "no detectable difference at this budget"."""
    sa, sb = summarize(a), summarize(b)
    p = permutation_test(sa.values, sb.values)
    diff = sa.mean - sb.mean
    if p < alpha and diff != 0:
        verdict = HIGHER if diff > 0 else LOWER
    else:
        verdict = NO_DIFFERENCE
    return Comparison(
        name_a, name_b, sa, sb, diff, cliffs_delta(sa.values, sb.values), p, alpha, verdict
    )
