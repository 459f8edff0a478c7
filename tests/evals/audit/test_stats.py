"""Exact Clopper–Pearson intervals (checked against closed forms and exact binomial tails) and the bootstrap."""

import math

import pytest

from evals.audit import clopper_pearson, paired_bootstrap
from evals.stats import beta_quantile, regularized_beta


def binom_tail_ge(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed term by term in log space."""
    log_terms = (
        math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * math.log(p) + (n - j) * math.log1p(-p)
        for j in range(k, n + 1)
    )
    return math.fsum(math.exp(t) for t in log_terms)


def test_closed_forms() -> None:
    # k = 0 and k = n have closed forms: (alpha/2) ** (1/n).
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-12))
    assert clopper_pearson(10, 10) == (pytest.approx(0.025 ** (1 / 10), abs=1e-12), 1.0)
    assert clopper_pearson(0, 1) == (0.0, pytest.approx(0.975, abs=1e-12))
    # Beta(1, 1) is uniform; Beta(a, 1) has CDF x**a.
    assert regularized_beta(1, 1, 0.3) == pytest.approx(0.3, abs=1e-14)
    assert regularized_beta(3, 1, 0.5) == pytest.approx(0.125, abs=1e-14)
    assert beta_quantile(0.125, 3, 1) == pytest.approx(0.5, abs=1e-12)


def test_textbook_values() -> None:
    low, high = clopper_pearson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.1871, 0.8129)
    low, high = clopper_pearson(40, 100)
    assert (round(low, 4), round(high, 4)) == (0.3033, 0.5028)


@pytest.mark.parametrize(("k", "n"), [(1, 7), (13, 40), (40, 100), (250, 1000), (3, 3000)])
def test_bounds_solve_the_binomial_tails(k: int, n: int) -> None:
    low, high = clopper_pearson(k, n)
    assert binom_tail_ge(k, n, low) == pytest.approx(0.025, abs=1e-9)
    assert 1 - binom_tail_ge(k + 1, n, high) == pytest.approx(0.025, abs=1e-9)


def test_bad_counts() -> None:
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)
    with pytest.raises(ValueError):
        clopper_pearson(0, 0)


def test_paired_bootstrap_is_fixed_by_its_seed() -> None:
    pairs = [(True, False)] * 30 + [(True, True)] * 50 + [(False, False)] * 15 + [(False, True)] * 5
    first = paired_bootstrap(pairs, seed=7)
    assert first == paired_bootstrap(pairs, seed=7)
    assert first != paired_bootstrap(pairs, seed=8)
    low, high = first
    assert low < 0.25 < high  # the observed difference, 0.80 - 0.55
    assert 0.1 < low and high < 0.4
    assert paired_bootstrap([(True, True)] * 10) == (0.0, 0.0)
    with pytest.raises(ValueError):
        paired_bootstrap([])
