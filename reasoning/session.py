"""The session: the one place a technique talks to the engine.

A `Session` is a tag-scoped view of an `Engine`: every request it sends goes under its tag, is counted by kind,
and is reserved against its optional `SearchBudget`. A tree search runs in a `SearchContext` (a session plus its
`SearchTree`, in `reasoning.tree`); a probe, a SuperICL item or a judge call runs in a plain session.

Three words for cost, each used one way:

- `spend`: what the session's requests cost as if nothing were cached or shared (calls, prompt and completion
  tokens, dollars). The same on every run of the same technique, so budgets, per-node costs and reports built on
  it are reproducible.
- `paid`: what the backend was really paid under the session's tag (the engine ledger's entry): calls that reached
  the backend, samples served from the cache (`cached_samples`). Depends on what the cache held and which calls
  other callers shared.
- `cost(result)`: one result's reproducible cost, the unit `spend` adds up.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from types import TracebackType
from typing import Self

from .engine import Engine, Spend, estimate_spend
from .errors import SessionClosedError
from .search_budget import BudgetGate, SearchBudget
from .types import GenerationRequest, GenerationResult

__all__ = ["Session"]


class Session:
    """A tag-scoped view of an engine: send requests under one tag, count them by kind, keep to a budget.

    >>> async with Session(engine, tag="puzzle/7", budget=SearchBudget(max_calls=20)) as session:
    ...     result = await session.generate(request, kind="expand")
    ...     session.spend, session.paid  # as if uncached; really paid (from the ledger)

    `engine` and `tag` are as given; a tag names one session at a time (the engine's ledger keeps one entry per
    tag, and `close` removes it). `requests` and `calls` count requests by the `kind` given to `generate`
    ("expand", "evaluate", ...): `requests` every one, cached or not; `calls` only those that reached the backend
    (not served from the cache, not shared with another caller's identical call in flight).

    `generate(..., distinct=True)` numbers repeated identical requests within this session as distinct samples
    (sample offsets 0, 1, 2, ...): two nodes that ask the same propose prompt get two samples, as two calls to a
    sampling model would, while a rerun of the same search reads the same samples from the cache.

    `budget` is a hard limit: `generate` reserves each request against it before the engine sees the request,
    and raises `SearchBudgetReached` instead of sending one it has no room for (the rule: `SearchBudget`).

    `close()` (or leaving `async with`) releases the tag's ledger entry; `paid` keeps answering from a snapshot,
    and `generate` then raises `SessionClosedError`.
    """

    def __init__(self, engine: Engine, *, tag: str, budget: SearchBudget | None = None) -> None:
        self.engine = engine
        self.tag = tag
        self.requests: Counter[str] = Counter()  # by kind ("expand", "evaluate"), cached or not
        self.calls: Counter[str] = Counter()  # by kind, only those that reached the backend
        self.spend = Spend()  # what this session's requests cost, as if none were cached (see `cost`)
        self._gate = BudgetGate(budget, lambda: self.spend, name=tag)
        self._occurrences: Counter[str] = Counter()
        self._paid: Spend | None = None  # the ledger entry's snapshot, once closed

    @property
    def budget(self) -> SearchBudget | None:
        """The session's hard limit (calls, tokens, dollars on `spend`), or None for none."""
        return self._gate.budget

    @property
    def model(self) -> str:
        """The name of the engine's model (what `GenerationResult.model` says)."""
        return self.engine.model.name

    @property
    def closed(self) -> bool:
        """Whether `close` was called (then `generate` raises `SessionClosedError`)."""
        return self._paid is not None

    @property
    def paid(self) -> Spend:
        """What the engine really paid under this session's tag: calls that reached the backend (their tokens and
        dollars), and samples served from the cache. Depends on what the cache held, unlike `spend`. Read from
        the engine's ledger while open; from the snapshot `close` took once closed."""
        if self._paid is not None:
            return self._paid
        return self.engine.ledger.by_tag.get(self.tag) or Spend()

    def check_budget(self) -> None:
        """Raise `SearchBudgetReached` if a limit of the session's budget is already reached."""
        self._gate.check()

    async def generate(self, request: GenerationRequest, *, kind: str, distinct: bool = False) -> GenerationResult:
        """Send `request` through the engine under this session's tag, once its budget has room for it.

        `kind` names what the request is for in `requests` and `calls` ("expand", "evaluate", ...). Waits while
        the requests in flight could pass the budget; raises `SearchBudgetReached` when it has no room (nothing
        is sent), `SessionClosedError` once the session is closed, and whatever the engine raises
        (`BudgetExceededError`, `BackendError`). A request whose caller is cancelled holds its room until the
        engine's call (which goes on) ends, and its cost is counted then.
        """
        if self.closed:
            raise SessionClosedError(f"session {self.tag!r} is closed: open a new Session to send more requests")
        offset = 0
        if distinct:  # numbered in the order of the calls, before any wait, so a rerun numbers them alike
            digest = request.digest()
            offset = self._occurrences[digest] * request.n
            self._occurrences[digest] += 1
        estimate = estimate_spend(request, self.engine.config.pricing)
        reserved = await self._gate.admit(estimate)
        self.requests[kind] += 1
        # The engine's call goes on when this caller is cancelled (it is shielded, and other callers may share it):
        # so does its reservation, until it ends and its cost is counted. Released at once, a search cancelled
        # mid-step and run again in this context could send its budget's worth of calls a second time.
        call = asyncio.ensure_future(self.engine.generate(request, tag=self.tag, sample_offset=offset))
        call.add_done_callback(lambda done: self._landed(done, kind, estimate if reserved else None))
        return await asyncio.shield(call)

    def _landed(self, call: asyncio.Future[GenerationResult], kind: str, estimate: Spend | None) -> None:
        """Count a finished call's cost, then give back its reservation (no await in between)."""
        if not call.cancelled() and call.exception() is None:
            result = call.result()
            if result.cached < len(result.completions) and not result.shared:
                self.calls[kind] += 1
            self.spend.add(self.cost(result))
        if estimate is not None:
            self._gate.release(estimate)
        if self._paid is not None:  # a call in flight at close: fold what the ledger recorded since into `paid`
            self._paid.add(self.engine.ledger.by_tag.pop(self.tag, Spend()))

    def cost(self, result: GenerationResult) -> Spend:
        """What a result costs as if nothing were cached or shared: one call, its prompt and completion tokens,
        and their dollars under the engine's `EngineConfig.pricing` (`cached_samples` 0).

        The same on every run of the same search, whatever a cache held or another search asked first, so search
        budgets, per-node costs and reports built on it are reproducible (a run killed and resumed reports what an
        uninterrupted one does). What was really paid is `paid`, and the engine's ledger."""
        prompt, completion = result.prompt_tokens, result.completion_tokens
        return Spend(
            calls=1,
            prompt_tokens=prompt,
            completion_tokens=completion,
            dollars=self.engine.config.pricing.cost(prompt, completion),
        )

    def close(self) -> None:
        """Release the tag's entry in the engine's ledger (the ledger's total keeps it), keeping a snapshot that
        `paid` goes on answering from. Idempotent. Calls still in flight finish; what they pay is added to `paid`
        as they land, and the ledger keeps no entry for the tag."""
        if self._paid is None:
            self._paid = dataclasses.replace(self.paid)
            self.engine.ledger.by_tag.pop(self.tag, None)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
