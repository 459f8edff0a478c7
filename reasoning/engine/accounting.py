"""Token and dollar accounting per caller-supplied tag, and the hard budget."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import BudgetExceededError
from ..types import GenerationRequest

__all__ = ["Budget", "Ledger", "Pricing", "Spend", "estimate_spend"]


@dataclass(frozen=True)
class Pricing:
    """Dollars per million tokens."""

    prompt_per_million: float = 0.0
    completion_per_million: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_per_million + completion_tokens * self.completion_per_million) / 1e6


@dataclass(frozen=True)
class Budget:
    """Hard limits on what the engine may spend. `None` means no limit.

    Before each backend call the engine reserves the call's estimate (prompt characters / 4 + `max_tokens` per
    sample) and admits it only if spend, plus the reservations of the calls in flight, plus the estimate fits;
    otherwise it waits for calls in flight to finish. So `max_calls` is never passed, and the token and dollar
    limits are passed only by what the calls in flight (at most `EngineConfig.max_concurrency`) spend beyond
    their estimates, or by one call admitted alone when the limit is nearly reached.
    """

    max_tokens: int | None = None
    max_dollars: float | None = None
    max_calls: int | None = None


@dataclass
class Spend:
    """What was spent: backend calls, samples served from the cache, tokens, dollars."""

    calls: int = 0
    cached_samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Spend) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def as_dict(self) -> dict[str, int | float]:
        """The five fields by name, JSON-ready: `calls`, `cached_samples`, `prompt_tokens`, `completion_tokens`
        (counts) and `dollars` (a float)."""
        return dataclasses.asdict(self)


def estimate_spend(request: GenerationRequest, pricing: Pricing) -> Spend:
    """What a request is reserved at before it is sent: one call, prompt characters / 4 prompt tokens (chat
    messages' contents summed), `max_tokens` completion tokens per sample, and their dollars under `pricing`.

    A bound on completion tokens (a backend stops at `max_tokens`), an approximation of prompt tokens (a chat
    template or a tokenizer may count more). The estimate the engine reserves for its `Budget`, and a search for
    its `SearchBudget`."""
    chars = len(request.prompt or "") + sum(len(m.content) for m in request.messages or ())
    prompt, completion = chars // 4, request.max_tokens * request.n
    return Spend(calls=1, prompt_tokens=prompt, completion_tokens=completion, dollars=pricing.cost(prompt, completion))


class Ledger:
    """Running totals overall and per tag (a puzzle, a search node, an audit item)."""

    def __init__(self) -> None:
        self.total = Spend()
        self.by_tag: dict[str, Spend] = {}

    def record(self, tag: str | None, spend: Spend) -> None:
        self.total.add(spend)
        if tag is not None:
            self.by_tag.setdefault(tag, Spend()).add(spend)

    def check(self, budget: Budget | None) -> None:
        """Raise `BudgetExceededError` if any limit of `budget` is reached."""
        if budget is None:
            return
        spent = self.total
        limits: list[tuple[str, float | None, float]] = [
            ("tokens", budget.max_tokens, spent.total_tokens),
            ("dollars", budget.max_dollars, spent.dollars),
            ("calls", budget.max_calls, spent.calls),
        ]
        for kind, limit, used in limits:
            if limit is not None and used >= limit:
                raise BudgetExceededError(
                    f"budget reached: {used:g} {kind} spent of a {limit:g} {kind} limit; no new calls",
                    kind=kind,
                    spent=used,
                    limit=limit,
                )
