import random

from reasoning import APIConnectionError, BadRequestError, RateLimitError, RetryPolicy, ServerError
from reasoning.engine import should_retry


def test_should_retry_decisions():
    assert should_retry(RateLimitError("x", model="m"))
    assert should_retry(ServerError("x", model="m", status=503))
    assert should_retry(APIConnectionError("x", model="m"))
    assert not should_retry(BadRequestError("x", model="m", status=400))
    assert not should_retry(ValueError("x"))


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    for attempt in range(1, 10):
        for _ in range(50):
            assert 0.0 <= policy.delay(attempt, None, rng) <= min(8.0, 2 ** (attempt - 1))


def test_retry_after_floors_the_delay_and_is_capped():
    policy = RetryPolicy(initial_delay=0.01, max_delay=0.02, max_retry_after=5.0)
    assert policy.delay(1, RateLimitError("x", model="m", retry_after=2.0)) >= 2.0
    assert policy.delay(1, RateLimitError("x", model="m", retry_after=3600.0)) == 5.0


def test_a_late_attempt_waits_the_longest_backoff_and_does_not_overflow() -> None:
    # Attempt 1025 of a patient policy raised OverflowError: 2 ** 1024 does not convert to a float.
    policy = RetryPolicy(max_attempts=100_000, initial_delay=0.5, max_delay=4.0)
    rng = random.Random(0)
    for attempt in (1024, 1025, 1100, 5_000, 100_000):
        assert 0.0 <= policy.delay(attempt, None, rng) <= 4.0
    assert policy.delay(5_000, RateLimitError("x", model="m", retry_after=30.0), rng) == 30.0
    assert RetryPolicy(initial_delay=0.0, max_delay=0.0).delay(10_000, None, rng) == 0.0
