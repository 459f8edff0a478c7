"""A search's own budget (calls, tokens, dollars) and the rule that admits its requests.

`SearchContext.generate` (in `reasoning.tree`) reserves each request here before it reaches the engine, as the
engine does for its global `Budget`, so a search never sends a call its budget has no room for.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .engine import Spend
from .errors import ConfigurationError, SearchBudgetReached

__all__ = ["BudgetGate", "SearchBudget"]


@dataclass(frozen=True)
class SearchBudget:
    """Hard limits for one search, on top of the engine's global budget. `None` means no limit.

    `max_calls` counts requests, `max_tokens` prompt + completion tokens, `max_dollars` dollars under the engine's
    `EngineConfig.pricing`. All three are counted on what the search's requests cost as if none were cached
    (`SearchContext.spend`): a request served from the cache counts like a paid one, so a search stops at the
    same point whether its calls are paid or read from a cache.

    Before each request `SearchContext.generate` reserves its estimate (`reasoning.engine.estimate_spend`: one
    call, prompt characters / 4, `max_tokens` per sample) and sends it only if spend so far, plus the
    reservations of the requests in flight, plus its own estimate fits every limit; otherwise it waits (and the
    requests after it wait behind it) until requests in flight finish and it fits, or none is left in flight and
    it goes alone. So `max_calls` is never passed, at any concurrency; `max_tokens` and `max_dollars` are passed
    only by what the requests in flight spend beyond their estimates, or by the one request admitted alone while
    the limit is not yet reached. A request that finds a limit reached (on arrival or while it waits) is refused
    with `SearchBudgetReached` and nothing is sent; the requests already in flight complete and are kept.

    Raises `ConfigurationError` for a negative or NaN limit.
    """

    max_calls: int | None = None
    max_tokens: int | None = None
    max_dollars: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_calls", "max_tokens", "max_dollars"):
            limit = getattr(self, name)
            if limit is not None and (math.isnan(limit) or limit < 0):
                raise ConfigurationError(f"SearchBudget.{name} must be >= 0 or None (no limit); got {limit!r}")

    def reached(self, spent: Spend) -> str | None:
        """The first limit `spent` has reached ("calls", "tokens" or "dollars"), or None."""
        for kind, limit, used in self._limits(spent):
            if limit is not None and used >= limit:
                return kind
        return None

    def fits(self, spent: Spend) -> bool:
        """Whether `spent` is within every limit (equal to a limit fits)."""
        return all(limit is None or used <= limit for _, limit, used in self._limits(spent))

    def _limits(self, spent: Spend) -> tuple[tuple[str, float | None, float], ...]:
        return (
            ("calls", self.max_calls, spent.calls),
            ("tokens", self.max_tokens, spent.total_tokens),
            ("dollars", self.max_dollars, spent.dollars),
        )


class BudgetGate:
    """Admits one search's requests against its `SearchBudget` (the rule is in `SearchBudget`'s docstring).

    `spent()` returns what the search has spent so far; `admit(estimate)` waits for room and reserves the
    estimate, or raises `SearchBudgetReached`; `release(estimate)` is called once the request has finished and
    its cost has been added to what `spent()` returns (with no `await` in between).

    Requests are admitted strictly in the order they arrive: one that does not fit waits, and so does every
    request after it, until the requests in flight finish. So whether a request is admitted depends on what was
    spent before it, not on which call happened to finish first, nor (when the estimates bound the real costs)
    on whether calls were served from a cache.
    """

    def __init__(self, budget: SearchBudget | None, spent: Callable[[], Spend], *, name: str) -> None:
        self.budget = budget
        self.spent = spent
        self.name = name
        self.reserved = Spend()  # estimates of the requests admitted and not yet finished
        self._waiting: deque[tuple[asyncio.Future[None], Spend]] = deque()

    def check(self) -> None:
        """Raise `SearchBudgetReached` if a limit is already reached."""
        error = self._refusal()
        if error is not None:
            raise error

    async def admit(self, estimate: Spend) -> bool:
        """Reserve `estimate` once it fits; return whether anything was reserved (False: no budget)."""
        if self.budget is None:
            return False
        self.check()
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append((turn, estimate))
        self._admit_waiting()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.release(estimate)  # admitted, then cancelled before it could run: give the room back
            raise
        return True

    def release(self, estimate: Spend) -> None:
        """Give back a reservation made by `admit`, and admit whoever now fits."""
        self.reserved.add(Spend(**{k: -v for k, v in vars(estimate).items()}))
        if self.reserved.calls == 0:
            self.reserved = Spend()  # no float drift left behind in dollars
        self._admit_waiting()

    def _refusal(self) -> SearchBudgetReached | None:
        spent = self.spent()
        kind = self.budget.reached(spent) if self.budget is not None else None
        if kind is None:
            return None
        return SearchBudgetReached(f"search budget for {self.name!r} reached ({kind}): spent {spent}")

    def _admit_waiting(self) -> None:
        # From the head of the queue: admit while requests fit (or one alone, with nothing in flight); once a
        # limit is reached, refuse every waiting request (spend only grows).
        assert self.budget is not None
        while self._waiting:
            turn, estimate = self._waiting[0]
            if turn.done():  # cancelled while waiting
                self._waiting.popleft()
                continue
            error = self._refusal()
            if error is not None:
                for waiting, _ in self._waiting:
                    if not waiting.done():
                        waiting.set_exception(self._refusal() or error)  # one exception object per request
                self._waiting.clear()
                return
            total = Spend()
            for part in (self.spent(), self.reserved, estimate):
                total.add(part)
            if self.reserved.calls and not self.budget.fits(total):
                return
            self._waiting.popleft()
            self.reserved.add(estimate)
            turn.set_result(None)
