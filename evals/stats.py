"""Statistics shared by the evals, from scipy: exact (Clopper–Pearson) intervals for proportions (`Proportion`: k of
n with its interval) and a paired percentile bootstrap for a difference of two paired proportions.

- `clopper_pearson`: Clopper & Pearson (1934), "The use of confidence or fiducial limits illustrated in the case of
  the binomial", Biometrika 26(4); computed by `scipy.stats.binomtest(k, n).proportion_ci(method="exact")`.
- `paired_bootstrap`: the percentile interval of Efron & Tibshirani (1993), "An Introduction to the Bootstrap",
  Chapter 13; computed by `scipy.stats.bootstrap(..., paired=True, method="percentile")`.
- `seeded`: the numpy generator a seed (an int, or a text such as a group's name) gives, the same on every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats

__all__ = ["Proportion", "batch_for", "clopper_pearson", "paired_bootstrap", "seeded"]


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """The exact two-sided `1 - alpha` interval (low, high) for a binomial proportion `k / n`: the bounds are the
    beta quantiles B(alpha/2; k, n-k+1) and B(1-alpha/2; k+1, n-k), 0 at k = 0 and 1 at k = n.

    Raises ValueError unless 0 <= k <= n and n > 0."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0; got k={k}, n={n}")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=1.0 - alpha, method="exact")
    return float(ci.low), float(ci.high)


def seeded(seed: int | str) -> np.random.Generator:
    """A numpy generator fixed by `seed`: an int as numpy takes it, a text by its SHA-256 digest."""
    if isinstance(seed, int):
        return np.random.default_rng(seed)
    return np.random.default_rng(int.from_bytes(hashlib.sha256(seed.encode()).digest()))


def batch_for(n: int) -> int:
    """Resamples per vectorized call of `scipy.stats.bootstrap` for `n` observations: about 65,000 drawn indices at
    a time, which stay in cache (several times faster than all at once at n in the thousands) and bound the memory
    at any n. A fixed rule, so the draws (which may depend on it) are the same on every run."""
    return max(1, 2**16 // n)


def paired_bootstrap(
    pairs: Sequence[tuple[bool, bool]], *, alpha: float = 0.05, resamples: int = 2000, seed: int | str = 0
) -> tuple[float, float]:
    """The `1 - alpha` percentile interval (low, high) for mean(first) - mean(second) over paired outcomes:
    `resamples` resamples of the pairs with replacement, drawn from `seeded(seed)` (so the interval is the same on
    every run); the percentiles are scipy's (linear interpolation between order statistics).

    Raises ValueError when there is no pair."""
    n = len(pairs)
    if n == 0:
        raise ValueError("no pairs to resample")
    first = np.array([a for a, _ in pairs], dtype=float)
    second = np.array([b for _, b in pairs], dtype=float)
    if n == 1:  # every resample is the one pair (scipy asks for two)
        return float(first[0] - second[0]), float(first[0] - second[0])

    def difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(a.mean(axis=axis) - b.mean(axis=axis))

    result = stats.bootstrap((first, second), difference, paired=True, vectorized=True, n_resamples=resamples,
                             batch=batch_for(n), confidence_level=1.0 - alpha, method="percentile",
                             rng=seeded(seed))  # fmt: skip
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


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
