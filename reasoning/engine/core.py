"""The engine: what every technique calls instead of a backend directly."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tenacity

from ..backends.base import LanguageModel
from ..backends.pool import EndpointPool
from ..errors import APITimeoutError, BackendError, MalformedResponseError
from ..types import Completion, DecodingStats, GenerationRequest, GenerationResult
from .accounting import Budget, Ledger, Pricing, Spend, estimate_spend
from .cache import ResponseCache, sample_key
from .calllog import CallLog
from .limits import RateLimiter
from .retry import RetryPolicy, should_retry

__all__ = ["Engine", "EngineConfig"]


@dataclass(frozen=True)
class EngineConfig:
    """How the engine treats one backend.

    `max_concurrency` bounds backend calls in flight; `requests_per_minute` and `tokens_per_minute` bound the
    rate (tokens are estimated before the call as prompt characters / 4 + `max_tokens` per sample).
    `call_timeout` bounds one attempt, on top of the backend's own timeout.
    """

    max_concurrency: int = 16
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    call_timeout: float | None = None
    pricing: Pricing = field(default_factory=Pricing)
    budget: Budget | None = None


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices as `[start, stop)` runs of consecutive numbers: [1, 2, 4] -> [(1, 3), (4, 5)]."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


class Engine:
    """Concurrency and rate limits, retries, a per-sample disk cache, in-flight de-duplication, accounting with a
    hard budget, and a JSONL call log, in front of one `LanguageModel`.

    Examples
    --------
    >>> async with Engine(model, cache=ResponseCache("runs/cache.sqlite")) as engine:
    ...     result = await engine.generate(GenerationRequest(prompt="2 + 2 =", max_tokens=4), tag="warm-up")

    Parameters
    ----------
    model:
        The backend, or several endpoints serving one model (an `EndpointPool` is made of them).
    config:
        Limits, retry policy, pricing and budget (`EngineConfig`).
    cache:
        A `ResponseCache`, a path to one, or `None` for no cache.
    log:
        A `CallLog`, a path to a JSONL file, or `None`.
    """

    def __init__(
        self,
        model: LanguageModel | Sequence[LanguageModel],
        config: EngineConfig | None = None,
        *,
        cache: ResponseCache | str | Path | None = None,
        log: CallLog | str | Path | None = None,
    ) -> None:
        # Several endpoints of one model become one pool (least outstanding requests, failover, ejection).
        self.model = model if isinstance(model, LanguageModel) else EndpointPool(model)
        self.config = config or EngineConfig()
        # The engine closes what it opened from a path; objects passed in stay the caller's to close.
        self._owned: list[ResponseCache | CallLog] = []
        self.cache = ResponseCache(cache) if isinstance(cache, str | Path) else cache
        if isinstance(cache, str | Path) and self.cache is not None:
            self._owned.append(self.cache)
        self.log = CallLog(log) if isinstance(log, str | Path) else log
        if isinstance(log, str | Path) and self.log is not None:
            self._owned.append(self.log)
        self.ledger = Ledger()
        self._semaphore = asyncio.Semaphore(self.config.max_concurrency)
        self._rpm = RateLimiter(self.config.requests_per_minute) if self.config.requests_per_minute else None
        self._tpm = RateLimiter(self.config.tokens_per_minute) if self.config.tokens_per_minute else None
        self._reserved = Spend()  # estimates of the calls admitted and not yet finished
        self._released = asyncio.Event()  # set (and replaced) each time a reservation is released
        self._inflight: dict[tuple[str, ...], asyncio.Task[GenerationResult]] = {}
        self.in_flight = 0  # backend calls running now (observable by tests and progress bars)

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel calls nobody waits for any more, then close the backend, and the cache and log if the engine
        opened them from paths."""
        # Calls are shielded from their callers' cancellation; ones still running when the engine closes (their
        # callers failed or were cancelled) would otherwise go on to use a closed client.
        orphans = [task for task in self._inflight.values() if not task.done()]
        for task in orphans:
            task.cancel()
        await asyncio.gather(*orphans, return_exceptions=True)
        await self.model.aclose()
        for resource in self._owned:
            resource.close()

    @property
    def paid(self) -> Spend:
        """What this engine really paid: calls that reached the backend, their tokens and dollars, and the samples
        its cache served (`Ledger.total`). Depends on what the cache held; a search's or a session's reproducible
        cost is its `spend`."""
        return self.ledger.total

    @property
    def spend(self) -> Spend:
        """The same as `paid` (kept for existing callers; the name `spend` means a reproducible cost everywhere
        else)."""
        return self.ledger.total

    async def generate(
        self, request: GenerationRequest, *, tag: str | None = None, sample_offset: int = 0
    ) -> GenerationResult:
        """Return `request.n` completions, from the cache where it has them and from the backend otherwise.

        Samples are numbered from `sample_offset` (added to the request's own `sample_offset`): calling twice with
        `n=1` and offsets 0 and 1 gives two distinct samples, exactly as one call with `n=2` would. With a `seed`,
        sample k is drawn with seed `seed + k` however it is fetched: the samples the cache lacks are asked for in
        runs of consecutive numbers, one backend request per run, each numbered from its first sample.

        Raises `BudgetExceededError` once the budget is spent, and a `BackendError` (with `attempts`) when the
        last retry fails.
        """
        name = self.model.name
        first = request.sample_offset + sample_offset
        keys = [sample_key(name, request, first + i) for i in range(request.n)]
        hits = self.cache.get_many(keys) if self.cache is not None else {}
        runs = _runs([i for i, k in enumerate(keys) if k not in hits])
        prompt_tokens = next(iter(hits.values()))[1] if hits else 0
        fetched: dict[str, Completion] = {}
        billed = [0, 0]
        shared = bool(runs)
        if runs:
            flights = [self._flight(request, keys[start:stop], first + start, tag) for start, stop in runs]
            # Shielded: a caller that is cancelled does not cancel a call other callers share, and its result
            # still reaches the cache. Every run finishes (into the cache) before the first error is raised.
            outcomes = await asyncio.gather(*(asyncio.shield(task) for task, _ in flights), return_exceptions=True)
            for (start, stop), (_, was_shared), outcome in zip(runs, flights, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    raise outcome
                fetched.update(zip(keys[start:stop], outcome.completions, strict=True))
                prompt_tokens = outcome.prompt_tokens
                shared = shared and was_shared
                if not was_shared:
                    billed[0] += outcome.prompt_tokens
                    billed[1] += outcome.completion_tokens
        if hits:
            self.ledger.record(tag, Spend(cached_samples=len(hits)))
            if not runs:
                self._log(request, tag, cached=len(hits), latency=0.0, spend=Spend(), attempts=0)
        completions = tuple(hits[k][0] if k in hits else fetched[k] for k in keys)
        return GenerationResult(
            model=name,
            completions=completions,
            prompt_tokens=prompt_tokens,
            cached=len(hits),
            billed_prompt_tokens=billed[0],
            billed_completion_tokens=billed[1],
            shared=shared,
        )

    def _flight(
        self, request: GenerationRequest, keys: list[str], first: int, tag: str | None
    ) -> tuple[asyncio.Task[GenerationResult], bool]:
        """The backend call for the consecutive samples `keys` (numbered from `first`), and whether it was already
        in flight for another caller (then this one shares it)."""
        flight_key = tuple(keys)
        task = self._inflight.get(flight_key)
        if task is not None:
            return task, True
        sub = request.model_copy(update={"n": len(keys), "sample_offset": first})
        task = asyncio.ensure_future(self._call(sub, keys, tag))
        self._inflight[flight_key] = task
        task.add_done_callback(lambda done: self._landed(flight_key, done))
        return task, False

    def _landed(self, flight_key: tuple[str, ...], task: asyncio.Task[GenerationResult]) -> None:
        self._inflight.pop(flight_key, None)
        # Its error is marked seen: a caller cancelled while it ran dropped its shield's hold on it, and an error
        # nobody retrieved is logged by asyncio, traceback and all, when the task is collected. The callers still
        # waiting get the error all the same, and the call log has it.
        if not task.cancelled():
            task.exception()

    async def _call(self, request: GenerationRequest, keys: list[str], tag: str | None) -> GenerationResult:
        policy = self.config.retry
        attempts = 0
        started = time.perf_counter()
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(policy.max_attempts),
            wait=lambda state: policy.delay(state.attempt_number, state.outcome.exception() if state.outcome else None),
            retry=tenacity.retry_if_exception(should_retry),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    result = await self._attempt(request, tag)
        except BackendError as exc:
            exc.attempts = attempts
            self._log(
                request,
                tag,
                cached=0,
                latency=time.perf_counter() - started,
                spend=Spend(),
                attempts=attempts,
                error=exc,
            )
            raise
        if self.cache is not None:
            self.cache.put_many(self.model.name, list(zip(keys, result.completions, strict=True)), result.prompt_tokens)
        self._log(
            request,
            tag,
            cached=0,
            latency=time.perf_counter() - started,
            spend=self._spend(result),
            attempts=attempts,
            decoding=[c.decoding for c in result.completions],
        )
        return result

    def _spend(self, result: GenerationResult) -> Spend:
        return Spend(
            calls=1,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            dollars=self.config.pricing.cost(result.prompt_tokens, result.completion_tokens),
        )

    async def _reserve(self, request: GenerationRequest) -> Spend:
        """Wait until the budget has room for this call, counting what the calls in flight may still spend.

        A call is admitted when spend so far, plus the estimates reserved by the calls in flight, plus its own
        estimate fits every limit; or when nothing is in flight and the limits are not yet reached. So a limit is
        passed only by what calls spend beyond their estimate (prompt tokens are estimated as characters / 4;
        completion tokens at `max_tokens` per sample), or by the one call admitted alone. `max_calls` is never
        passed. Raises `BudgetExceededError` once a limit is reached.
        """
        budget = self.config.budget
        estimate = estimate_spend(request, self.config.pricing)
        while True:
            self.ledger.check(budget)
            if budget is None or self._reserved.calls == 0 or self._fits(budget, estimate):
                self._reserved.add(estimate)
                return estimate
            released = self._released
            await released.wait()

    def _fits(self, budget: Budget, estimate: Spend) -> bool:
        spent, held = self.ledger.total, self._reserved
        return all(
            limit is None or used + held_ + more <= limit
            for limit, used, held_, more in (
                (budget.max_calls, spent.calls, held.calls, estimate.calls),
                (budget.max_tokens, spent.total_tokens, held.total_tokens, estimate.total_tokens),
                (budget.max_dollars, spent.dollars, held.dollars, estimate.dollars),
            )
        )

    def _release(self, estimate: Spend) -> None:
        self._reserved.add(Spend(**{k: -v for k, v in dataclasses.asdict(estimate).items()}))
        self._released.set()
        self._released = asyncio.Event()

    async def _attempt(self, request: GenerationRequest, tag: str | None) -> GenerationResult:
        async with self._semaphore:
            # Reserved here, right before sending, so neither queued calls nor calls in flight overshoot the budget.
            estimate = await self._reserve(request)
            try:
                if self._rpm is not None:
                    await self._rpm.acquire(1)
                if self._tpm is not None:
                    await self._tpm.acquire(estimate.total_tokens)
                self.in_flight += 1
                try:
                    if self.config.call_timeout is None:
                        result = await self.model.generate(request)
                    else:
                        try:
                            async with asyncio.timeout(self.config.call_timeout):
                                result = await self.model.generate(request)
                        except TimeoutError:
                            raise APITimeoutError(
                                f"no response within {self.config.call_timeout:g}s", model=self.model.name
                            ) from None
                finally:
                    self.in_flight -= 1
                if len(result.completions) != request.n:
                    raise MalformedResponseError(
                        f"backend returned {len(result.completions)} completions for n={request.n}",
                        model=self.model.name,
                    )
                # Recorded before the reservation is released, with no await between, so a waiting call never
                # sees the budget without this call's spend.
                self.ledger.record(tag, self._spend(result))
            finally:
                self._release(estimate)
        return result

    def _log(
        self,
        request: GenerationRequest,
        tag: str | None,
        *,
        cached: int,
        latency: float,
        spend: Spend,
        attempts: int,
        error: BackendError | None = None,
        decoding: list[DecodingStats | None] | None = None,
    ) -> None:
        # One line of the call log; `decoding`: how each sample was decoded, where the backend reports it (the
        # torch backend: mode, model calls, mean batch size, lookahead steps taken alone), else left out.
        if self.log is None:
            return
        record: dict[str, Any] = {
            "ts": time.time(),
            "model": self.model.name,
            "request": request.digest(),
            "tag": tag,
            "n": request.n,
            "cache_hit": cached > 0,
            "cached_samples": cached,
            "latency_s": round(latency, 6),
            "prompt_tokens": spend.prompt_tokens,
            "completion_tokens": spend.completion_tokens,
            "dollars": spend.dollars,
            "attempts": attempts,
        }
        if decoding and any(stats is not None for stats in decoding):
            record["decoding"] = [stats.model_dump() if stats is not None else None for stats in decoding]
        if error is not None:
            record["error"] = type(error).__name__
            record["status"] = getattr(error, "status", None)
        self.log.write(record)
