"""Evaluators score a batch of nodes asynchronously. All of them share one small interface, `Evaluator`.

- `LLMValue`: ask the model about each node, `n` samples, map each sample to a number, aggregate (sum by default:
  the paper's value with sure / likely / impossible).
- `LLMVote`: ask the model `n` times which of the nodes is best; a node's value is its vote count.
- `Heuristic`: a rule or a program (e.g. an exact solver), sync or async.
- `Cascade`: a cheap evaluator first; nodes it is unsure about go to an expensive one.
- `Shortcut`: a rule values the nodes it decides exactly (no call); the others go to an evaluator.
"""

from __future__ import annotations

import decimal
import inspect
import math
import numbers
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ._words import counted
from .checks import check_defined, describe, function_name, shown
from .errors import InterfaceError
from .tree import Node, SearchContext, check_samples, gather_all
from .types import GenerationRequest

__all__ = [
    "Cascade",
    "CheckedEvaluator",
    "Evaluator",
    "Heuristic",
    "LLMValue",
    "LLMVote",
    "Shortcut",
    "checked_evaluator",
    "word_values",
]

S = TypeVar("S")


class Evaluator(Protocol[S]):
    """Scores nodes: sets `node.value` (and `node.values` where there are samples) and returns the values, one
    number per node in order. The search strategies check this (`checked_evaluator`) and raise `InterfaceError`
    naming the evaluator when it does not hold."""

    async def evaluate(self, nodes: Sequence[Node[S]], ctx: SearchContext) -> list[float]: ...


EVALUATOR_METHODS = {
    "evaluate": "async evaluate(nodes, ctx) -> list of numbers, one per node, each also set as node.value",
}


_EVALUATE = "must be an async method returning a list of numbers, one per node, each also set as node.value"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not math.isnan(value)


class CheckedEvaluator(Generic[S]):
    """An `Evaluator` whose answers are checked.

    Raises `InterfaceError` when it has no `evaluate` method, or inherits it from the `Evaluator` protocol without
    defining it; and when called, if `evaluate` is not async, returns anything but one number (not NaN) per node,
    or leaves a node's `value` unset or not a number (the strategies rank nodes by `node.value`).
    """

    def __init__(self, evaluator: Evaluator[S]) -> None:
        self.evaluator = evaluator
        self.name = getattr(evaluator, "__name__", None) or type(evaluator).__name__
        if not callable(getattr(evaluator, "evaluate", None)):
            raise InterfaceError(f"{self.name} is not an Evaluator: it lacks evaluate(nodes, ctx), which {_EVALUATE} "
                                 "(see reasoning.evaluators.Evaluator); a function of one node is one when "
                                 "wrapped: Heuristic(fn)")  # fmt: skip

        check_defined(evaluator, Evaluator, EVALUATOR_METHODS, name=self.name)

    async def evaluate(self, nodes: Sequence[Node[S]], ctx: SearchContext) -> list[float]:
        out = self.evaluator.evaluate(nodes, ctx)
        if not inspect.isawaitable(out):
            raise InterfaceError(f"{self.name}.evaluate {_EVALUATE} (it returned {describe(out)} without an "
                                 "await); declare it `async def evaluate(self, nodes, ctx)`")  # fmt: skip
        values = await out
        if not isinstance(values, Sequence) or isinstance(values, str | bytes):
            raise InterfaceError(f"{self.name}.evaluate {_EVALUATE} (got {describe(values)})")
        if len(values) != len(nodes):
            raise InterfaceError(f"{self.name}.evaluate {_EVALUATE}: it returned {counted(len(values), 'value')} "
                                 f"for {counted(len(nodes), 'node')}")  # fmt: skip
        for value in values:
            if not _is_number(value):
                raise InterfaceError(f"{self.name}.evaluate {_EVALUATE} (got {describe(values)} with {value!r})")
        for node in nodes:
            if not _is_number(node.value):
                raise InterfaceError(f"{self.name}.evaluate {_EVALUATE}: {node!r} was left with value "
                                     f"{node.value!r}; set node.value on every node scored")  # fmt: skip
        return [float(v) for v in values]


def checked_evaluator(evaluator: Evaluator[S]) -> CheckedEvaluator[S]:
    """`evaluator` wrapped in `CheckedEvaluator` (itself when it already is one). Raises `InterfaceError`."""
    return evaluator if isinstance(evaluator, CheckedEvaluator) else CheckedEvaluator(evaluator)


def word_values(words: dict[str, float]) -> Callable[[str], float | None]:
    """A parser that reads a sample's last line as one of `words` (case-insensitive), e.g. sure/likely/impossible."""

    def parse(text: str) -> float | None:
        last = text.strip().split("\n")[-1].strip().lower().rstrip(".")
        return words.get(last)

    return parse


def _number(value: Any, owner: str, role: str, fn: Any, *, must: str = "a number") -> float:
    """`value` as a float, if it is the number a user's function must return; else `InterfaceError` naming the
    function and what it returned (not float()'s TypeError or ValueError)."""
    real = isinstance(value, numbers.Real | decimal.Decimal) and not isinstance(value, bool)
    if not real or math.isnan(value):
        raise InterfaceError(f"{owner}'s {role} function {function_name(fn)} must return {must}; got {shown(value)}")
    return float(value)


def _maybe_number(value: Any, owner: str, role: str, fn: Any) -> float | None:
    return None if value is None else _number(value, owner, role, fn, must="a number or None")


def _request(value: Any, owner: str, fn: Any) -> GenerationRequest:
    if not isinstance(value, GenerationRequest):
        raise InterfaceError(f"{owner}'s prompt function {function_name(fn)} must return a GenerationRequest (e.g. "
                             f"GenerationRequest.chat(text)); got {shown(value)}")  # fmt: skip
    return value


def _truth(value: Any, owner: str, role: str, fn: Any) -> bool:
    """`value`, if it is the bool a user's predicate must return (numpy's bool too)."""
    if isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__.startswith("bool")):
        return bool(value)
    raise InterfaceError(f"{owner}'s {role} function {function_name(fn)} must return True or False; got "
                         f"{shown(value)}")  # fmt: skip


@dataclass(frozen=True)
class LLMValue(Generic[S]):
    """Value each node independently with `n` samples of `prompt(node)`.

    `shortcut(node)` may return a value without asking (e.g. a rule that a finished state without an answer is
    worth 0); `parse(sample)` maps a sample to a number or `None` (ignored); `aggregate` combines the parsed
    numbers (default: an exactly rounded sum). Identical prompts are asked once: the engine's cache and in-flight
    de-duplication serve every node that shares a prompt with the same samples, as the paper's value cache does.
    """

    prompt: Callable[[Node[S]], GenerationRequest]
    parse: Callable[[str], float | None]
    n: int = 3
    shortcut: Callable[[Node[S]], float | None] | None = None
    aggregate: Callable[[list[float]], float] = math.fsum  # order-independent: equal multisets tie exactly

    def __post_init__(self) -> None:
        check_samples(self.n, "LLMValue")

    async def _one(self, node: Node[S], ctx: SearchContext) -> float:
        if self.shortcut is not None:
            quick = _maybe_number(self.shortcut(node), "LLMValue", "shortcut", self.shortcut)
            if quick is not None:
                node.value, node.values = quick, ()
                return quick
        request = _request(self.prompt(node), "LLMValue", self.prompt).model_copy(update={"n": self.n})
        result = await ctx.generate(request, kind="evaluate")
        node.spend.add(ctx.cost(result))
        parsed = [_maybe_number(self.parse(text), "LLMValue", "parse", self.parse) for text in result.texts]
        node.values = tuple(0.0 if p is None else p for p in parsed)
        node.value = _number(self.aggregate([p for p in parsed if p is not None]), "LLMValue", "aggregate",
                             self.aggregate)  # fmt: skip
        return node.value

    async def evaluate(self, nodes: Sequence[Node[S]], ctx: SearchContext) -> list[float]:
        return await gather_all(self._one(node, ctx) for node in nodes)


@dataclass(frozen=True)
class LLMVote(Generic[S]):
    """Ask `n` times which node is best; `parse(sample, k)` returns the chosen index in `0..k-1` or `None`
    (`reasoning.choices.vote_choice` reads "The best choice is N", and no vote from "The best choice is 1 or 3")."""

    prompt: Callable[[Sequence[Node[S]]], GenerationRequest]
    parse: Callable[[str, int], int | None]
    n: int = 5

    def __post_init__(self) -> None:
        check_samples(self.n, "LLMVote")

    async def evaluate(self, nodes: Sequence[Node[S]], ctx: SearchContext) -> list[float]:
        if not nodes:
            return []
        request = _request(self.prompt(nodes), "LLMVote", self.prompt).model_copy(update={"n": self.n})
        result = await ctx.generate(request, kind="evaluate")
        votes = [0.0] * len(nodes)
        for text in result.texts:
            choice = self.parse(text, len(nodes))
            if choice is not None and (isinstance(choice, bool) or not isinstance(choice, numbers.Integral)):
                raise InterfaceError(f"LLMVote's parse function {function_name(self.parse)} must return the index "
                                     f"of the chosen node (an int, 0 to k-1) or None; got {shown(choice)}")  # fmt: skip
            if choice is not None and 0 <= choice < len(nodes):
                votes[int(choice)] += 1
        cost = ctx.cost(result)
        for node, vote in zip(nodes, votes, strict=True):
            node.value, node.values = vote, (vote,)
        nodes[0].spend.add(cost)  # one call scored them all; charge it once
        return votes


@dataclass(frozen=True)
class Heuristic(Generic[S]):
    """A rule- or program-based score, `fn(node) -> float` (sync or async). Costs no model call. A function that
    returns anything but a number (None, "high", NaN) is an `InterfaceError` naming it."""

    fn: Callable[[Node[S]], float | Awaitable[float]]

    async def evaluate(self, nodes: Sequence[Node[S]], ctx: SearchContext) -> list[float]:
        values = []
        for node in nodes:
            out: Any = self.fn(node)
            value = _number(await out if inspect.isawaitable(out) else out, "Heuristic", "scoring", self.fn)
            node.value, node.values = value, (value,)
            values.append(value)
        return values


@dataclass(frozen=True)
class Cascade(Generic[S]):
    """Score with `cheap`; re-score with `expensive` only the nodes where `unsure(node)` holds.

    `node.info["evaluated_by"]` records which evaluator's value stands, so reports can count escalations.
    `unsure` must return True or False (an `InterfaceError` names it otherwise: None, or a coroutine, would
    escalate nothing, or everything).
    """

    cheap: Evaluator[S]
    expensive: Evaluator[S]
    unsure: Callable[[Node[S]], bool]

    async def evaluate(self, nodes: Sequence[Node[S]], ctx: SearchContext) -> list[float]:
        await checked_evaluator(self.cheap).evaluate(nodes, ctx)
        for node in nodes:
            node.info["evaluated_by"] = "cheap"
        escalate = [node for node in nodes if _truth(self.unsure(node), "Cascade", "unsure", self.unsure)]
        if escalate:
            await checked_evaluator(self.expensive).evaluate(escalate, ctx)
            for node in escalate:
                node.info["evaluated_by"] = "expensive"
        return [node.value if node.value is not None else 0.0 for node in nodes]


@dataclass(frozen=True)
class Shortcut(Generic[S]):
    """Value the nodes `rule` decides (it returns a number: a finished state checked exactly, say) without a call;
    score the others, in one batch, with `evaluator`. `rule` returns a number or None ("not decided"); anything
    else is an `InterfaceError` naming it. `node.info["evaluated_by"]` is "rule" for the nodes it decided."""

    rule: Callable[[Node[S]], float | None]
    evaluator: Evaluator[S]

    async def evaluate(self, nodes: Sequence[Node[S]], ctx: SearchContext) -> list[float]:
        rest = []
        for node in nodes:
            value = _maybe_number(self.rule(node), "Shortcut", "rule", self.rule)
            if value is None:
                rest.append(node)
            else:
                node.value, node.values = value, ()
                node.info["evaluated_by"] = "rule"
        if rest:
            await checked_evaluator(self.evaluator).evaluate(rest, ctx)
        return [node.value if node.value is not None else 0.0 for node in nodes]
