"""One model behind several endpoints: least outstanding requests, failover, ejection and re-admission."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import (
    APIConnectionError,
    BackendError,
    ConfigurationError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    named_wait,
)
from ..types import GenerationRequest, GenerationResult
from .base import LanguageModel
from .openai_compat import redact_url

__all__ = ["EndpointPool", "EndpointStats"]


@dataclass
class EndpointStats:
    """What one endpoint of a pool did. `outstanding` is requests in flight now."""

    name: str
    outstanding: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    ejections: int = 0
    readmissions: int = 0
    healthy: bool = True


class _Endpoint:
    def __init__(self, model: LanguageModel, label: str) -> None:
        self.model = model
        self.stats = EndpointStats(label)
        self.consecutive_failures = 0
        self.ejected_until = 0.0  # monotonic time; 0 = never ejected
        self.cooldown = 0.0  # the next ejection's length; doubles on each failed probe
        self.probing = False  # an ejected endpoint whose cooldown ended takes one request at a time

    def available(self, now: float) -> bool:
        if self.stats.healthy:
            return True
        return now >= self.ejected_until and not self.probing


def _health_failure(exc: BackendError) -> bool:
    # Failures that say something about the endpoint, not about the request: a 400 is the caller's, so the
    # endpoint stays in and the request is not sent elsewhere. A 5xx is the endpoint's whether or not waiting
    # helps (`exc.retryable`, decided in `reasoning.errors`): a 501 from a server that is not OpenAI-compatible
    # fails over to the others too.
    return isinstance(exc, APIConnectionError | ServerError | MalformedResponseError | RateLimitError)


class EndpointPool(LanguageModel):
    """Several endpoints serving one model (several vLLM servers, or an API plus a fallback), used as one.

    Each request goes to the available endpoint with the fewest requests outstanding (ties in turn). A request is
    sent to one endpoint only; it goes to another only after that one failed with a connection error, a timeout,
    a 5xx, a 429 or a malformed response (**failover**, at most once per endpoint per call). A 4xx other than 429
    is the request's fault: it is raised at once and the endpoint stays in.

    An endpoint that fails `eject_after` times in a row is **ejected** for `cooldown` seconds; a 429, a 5xx that
    names a wait (`Retry-After` or `retry-after-ms`: a server that is loading), or one that waiting will not cure
    (a 501: not `retryable`), ejects at once, for the wait named when longer (capped at `max_cooldown`); each
    failed probe doubles the cooldown up to `max_cooldown`. When the cooldown ends, the endpoint is **probed** with
    one real request at a time; the first success re-admits it. When every endpoint is ejected, a call waits for
    the first cooldown to end rather than failing at once.

    The pool does not wait or back off between failovers. When every endpoint failed for a call it raises the last
    error that another try may cure (`retryable`), else the last error: the `Engine`'s retry policy decides what
    happens next, by the same rule as for one endpoint (a retry goes to the endpoints still in).

    Parameters
    ----------
    endpoints:
        The backends, in order of preference for ties. All must share one `name` unless `name` is given (the name
        is the cache key's model: give one only when the endpoints really serve the same model).
    """

    def __init__(
        self,
        endpoints: Sequence[LanguageModel],
        *,
        name: str | None = None,
        eject_after: int = 2,
        cooldown: float = 1.0,
        max_cooldown: float = 30.0,
    ) -> None:
        if not endpoints:
            raise ConfigurationError("an endpoint pool needs at least one endpoint")
        names = {m.name for m in endpoints}
        if name is None and len(names) > 1:
            raise ConfigurationError(
                f"endpoints serve different model names {sorted(names)}; pass name= if they are one model"
            )
        if eject_after < 1 or cooldown <= 0 or max_cooldown < cooldown:
            raise ConfigurationError("need eject_after >= 1 and 0 < cooldown <= max_cooldown")
        self.name = name or endpoints[0].name
        self.eject_after = eject_after
        self.initial_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._endpoints = [_Endpoint(m, _label(m, i)) for i, m in enumerate(endpoints)]
        self._turn = itertools.count()
        self._changed = asyncio.Event()  # set when an endpoint may have become available
        self.failovers = 0  # requests sent to another endpoint after one failed them, within one call

    def __repr__(self) -> str:
        return f"EndpointPool({[e.stats.name for e in self._endpoints]!r})"

    @property
    def stats(self) -> list[EndpointStats]:
        return [e.stats for e in self._endpoints]

    async def aclose(self) -> None:
        for endpoint in self._endpoints:
            await endpoint.model.aclose()

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        tried: set[int] = set()
        errors: list[BackendError] = []
        while True:
            endpoint = self._pick(tried)
            if endpoint is None:
                if errors:  # every endpoint that could take it now has failed this call
                    raise next((e for e in reversed(errors) if e.retryable), errors[-1])
                await self._wait_for_one()
                continue
            index = self._endpoints.index(endpoint)
            tried.add(index)
            if errors:
                self.failovers += 1
            try:
                result = await self._send(endpoint, request)
            except BackendError as exc:
                if not _health_failure(exc):
                    raise
                errors.append(exc)
                continue
            if result.model != self.name:
                result = result.model_copy(update={"model": self.name})
            return result

    def _pick(self, tried: set[int]) -> _Endpoint | None:
        now = time.monotonic()
        turn = next(self._turn)
        size = len(self._endpoints)
        candidates = [
            (e.stats.healthy, -e.stats.outstanding, -((i - turn) % size), e)
            for i, e in enumerate(self._endpoints)
            if i not in tried and e.available(now)
        ]
        if not candidates:
            return None
        # A probe first (so an endpoint that came back is re-admitted even while others carry the load), then
        # the fewest outstanding, then whose turn it is.
        _, _, _, best = max(candidates, key=lambda c: (not c[0], c[1], c[2]))
        return best

    async def _wait_for_one(self) -> None:
        now = time.monotonic()
        due = [e.ejected_until for e in self._endpoints if not e.stats.healthy and not e.probing]
        delay = max(0.0, min(due) - now) if due else None
        self._changed.clear()
        try:
            # Woken early when a probe ends; otherwise at the first cooldown's end.
            await asyncio.wait_for(self._changed.wait(), timeout=delay)
        except TimeoutError:
            pass

    async def _send(self, endpoint: _Endpoint, request: GenerationRequest) -> GenerationResult:
        stats = endpoint.stats
        probe = not stats.healthy
        endpoint.probing = probe
        stats.outstanding += 1
        stats.sent += 1
        try:
            result = await endpoint.model.generate(request)
        except BackendError as exc:
            stats.failed += 1
            if _health_failure(exc):
                self._failed(endpoint, exc, probe)
            raise
        else:
            stats.succeeded += 1
            endpoint.consecutive_failures = 0
            if probe:
                stats.healthy = True
                stats.readmissions += 1
                endpoint.cooldown = 0.0
            return result
        finally:
            stats.outstanding -= 1
            if probe:
                endpoint.probing = False
                self._changed.set()

    def _failed(self, endpoint: _Endpoint, exc: BackendError, probe: bool) -> None:
        endpoint.consecutive_failures += 1
        # The wait the server named, whatever the status (the engine's retry policy reads the same attribute).
        asked = named_wait(exc)
        # Out at once: told to wait (a 429, a named wait), or a failure no wait will cure (a 501).
        told_to_wait = isinstance(exc, RateLimitError) or asked is not None or not exc.retryable
        if not (probe or told_to_wait or endpoint.consecutive_failures >= self.eject_after):
            return
        stats = endpoint.stats
        wait = min(asked, self.max_cooldown) if asked is not None else 0.0
        if not (stats.healthy or probe):
            # Already out (a request sent before the ejection failed late): a longer wait it names keeps it out.
            endpoint.ejected_until = max(endpoint.ejected_until, time.monotonic() + wait)
            return
        if probe:
            endpoint.cooldown = min(self.max_cooldown, max(endpoint.cooldown, self.initial_cooldown) * 2)
        else:
            endpoint.cooldown = self.initial_cooldown
        if stats.healthy:
            stats.ejections += 1
        stats.healthy = False
        endpoint.ejected_until = time.monotonic() + max(endpoint.cooldown, wait)


def _label(model: LanguageModel, index: int) -> str:
    url = redact_url(getattr(model, "base_url", None))
    return f"{index}:{url}" if url else f"{index}:{model.name}"
