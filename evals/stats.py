"""Small, self-contained statistics, shared by the evals: exact (Clopper–Pearson) intervals for proportions
(`Proportion`: k of n with its interval) and a paired percentile bootstrap for a difference of two paired
proportions. No scipy.

The Clopper–Pearson bounds are beta quantiles, `B(alpha/2; k, n-k+1)` and `B(1-alpha/2; k+1, n-k)`, found by
bisection on the regularized incomplete beta function (evaluated by its continued fraction, as in Numerical Recipes
6.4): about 1e-12 absolute accuracy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

__all__ = ["Proportion", "beta_quantile", "clopper_pearson", "paired_bootstrap", "regularized_beta"]

_TINY = 1e-300


def _continued_fraction(a: float, b: float, x: float) -> float:
    # Lentz's method for the continued fraction of I_x(a, b); converges in O(sqrt(max(a, b))) steps.
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the beta distribution's CDF at `x`."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(b, a, 1.0 - x) / b


def beta_quantile(q: float, a: float, b: float) -> float:
    """The `q` quantile of Beta(a, b), by bisection (the CDF is increasing)."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if regularized_beta(a, b, mid) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return (lo + hi) / 2.0


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """The exact two-sided `1 - alpha` interval for a binomial proportion `k / n` (n > 0)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0; got k={k}, n={n}")
    low = 0.0 if k == 0 else beta_quantile(alpha / 2.0, k, n - k + 1)
    high = 1.0 if k == n else beta_quantile(1.0 - alpha / 2.0, k + 1, n - k)
    return low, high


def paired_bootstrap(
    pairs: Sequence[tuple[bool, bool]], *, alpha: float = 0.05, resamples: int = 2000, seed: int | str = 0
) -> tuple[float, float]:
    """A percentile interval for mean(first) - mean(second) over paired outcomes, resampling pairs with
    replacement `resamples` times from `random.Random(seed)` (so the interval is the same on every run)."""
    n = len(pairs)
    if n == 0:
        raise ValueError("no pairs to resample")
    diffs = [int(a) - int(b) for a, b in pairs]
    rng = random.Random(seed)
    stats = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
    # Nearest-rank percentiles, the usual choice for the percentile bootstrap.
    lo = stats[max(0, math.ceil(alpha / 2.0 * resamples) - 1)]
    hi = stats[min(resamples - 1, math.ceil((1.0 - alpha / 2.0) * resamples) - 1)]
    return lo, hi


class Proportion(BaseModel):
    """`k` of `n`, with its exact (Clopper–Pearson) interval; `value` etc. are None when `n` is 0."""

    model_config = ConfigDict(frozen=True)

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, k: int, n: int, alpha: float = 0.05) -> Proportion:
        if n == 0:
            return cls(k=0, n=0, value=None, low=None, high=None)
        low, high = clopper_pearson(k, n, alpha)
        return cls(k=k, n=n, value=k / n, low=low, high=high)
