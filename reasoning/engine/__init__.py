"""The async engine: limits, retries, cache, accounting, budget and logging in front of any backend."""

from .accounting import Budget, Ledger, Pricing, Spend, estimate_spend
from .cache import ResponseCache, sample_key
from .calllog import CallLog
from .core import Engine, EngineConfig
from .limits import RateLimiter
from .retry import RetryPolicy, should_retry

__all__ = [
    "Budget",
    "CallLog",
    "Engine",
    "EngineConfig",
    "Ledger",
    "Pricing",
    "RateLimiter",
    "ResponseCache",
    "RetryPolicy",
    "Spend",
    "estimate_spend",
    "sample_key",
    "should_retry",
]
