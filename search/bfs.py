"""Breadth-first (beam) search over thoughts, as in Tree of Thoughts (Yao et al., 2023)."""

from __future__ import annotations

import math
import random
from collections.abc import Hashable
from typing import Literal, TypeVar

from reasoning.checks import checked_task
from reasoning.evaluators import Evaluator, checked_evaluator
from reasoning.tree import Node, SearchContext, Task

from ._steps import expand_all, score
from .result import SearchResult, StepRecord, StopReason

__all__ = ["bfs"]

S = TypeVar("S")


async def bfs(
    task: Task[S],
    evaluator: Evaluator[S],
    ctx: SearchContext,
    *,
    breadth: int = 5,
    steps: int = 4,
    select: Literal["greedy", "sample"] = "greedy",
    rng: random.Random | None = None,
    duplicate_value: float = 0.0,
    dedupe: bool = True,
) -> SearchResult[S]:
    """Keep the `breadth` best states at each depth.

    Each step expands every frontier node and then scores every new candidate, each phase issued at once
    through the engine (never one node at a time). Identical candidates in a step (by `task.key`) are scored
    once; later copies get `duplicate_value` (the paper's rule: 0, which sinks them in the ranking, though they
    are still selected when fewer than `breadth` others are left, as in the paper).

    Parameters
    ----------
    select:
        "greedy" keeps the top `breadth` by value (ties in candidate order, as a stable sort does);
        "sample" draws `breadth` with replacement, with probability proportional to value (a value of 0 or less
        is never drawn; when some are infinite, one of those is drawn, each alike; when none is above 0, the
        first `breadth` candidates are kept).
    dedupe:
        True (the default): `outputs` lists each state (by `task.key`) once, its first copy in the frontier.
        False: the frontier as selected, copies included.

    Returns
    -------
    SearchResult whose `outputs` is the last frontier, best first, and whose `stopped` is "exhausted" (no
    frontier node left to expand), "max_steps" (`steps` steps done with nodes still open) or "budget" (the
    search budget refused a call; `outputs` is the last complete frontier).

    Raises
    ------
    InterfaceError
        `task` or `evaluator` breaks its interface (`reasoning.checks`).
    """
    task, evaluator = checked_task(task), checked_evaluator(evaluator)
    rng = rng or random.Random(0)
    tree = ctx.tree
    frontier: list[Node[S]] = [tree.add(task.root())]
    records: list[StepRecord] = []
    stopped: StopReason = "max_steps"
    for step in range(steps):
        live = [n for n in frontier if not task.is_terminal(n)]
        if not live:
            stopped = "exhausted"
            break
        # 1. Expand every frontier node concurrently.
        children, refused = await expand_all(task, live, ctx)
        if refused:
            stopped = "budget"
            break
        # 2. Score each distinct candidate once, all concurrently.
        # Each child's key is asked once: a key that is not equal to itself when asked again (NaN, an object
        # compared by identity and built afresh) is no state seen before, not a KeyError.
        first: dict[Hashable, Node[S]] = {}
        copies = [node for node in children if first.setdefault(task.key(node), node) is not node]
        if await score(evaluator, list(first.values()), ctx, step):
            stopped = "budget"
            break
        # Terminal nodes already in the frontier compete again with their values; new children follow.
        candidates = [n for n in frontier if task.is_terminal(n)] + children
        for node in copies:
            node.value, node.info["duplicate"] = duplicate_value, True
        values = [node.value if node.value is not None else 0.0 for node in candidates]
        # 3. Select the next frontier.
        ids = list(range(len(candidates)))
        if select == "greedy":
            chosen = sorted(ids, key=lambda i: values[i], reverse=True)[:breadth]
        else:
            weights = _weights(values)
            chosen = rng.choices(ids, weights=weights, k=breadth) if sum(weights) > 0 else ids[:breadth]
        frontier = [candidates[i] for i in chosen]
        for node in candidates:
            tree.update(node, selected=node in frontier, step=step)
        records.append(
            StepRecord(
                step=step,
                expanded=[n.id for n in live],
                candidates=[n.id for n in candidates],
                values=values,
                selected=[n.id for n in frontier],
            )
        )
        if not frontier:
            stopped = "exhausted"
            break
    else:
        if all(task.is_terminal(n) for n in frontier):
            stopped = "exhausted"
    outputs = frontier
    if dedupe:
        unique: dict[Hashable, Node[S]] = {}
        for node in frontier:
            unique.setdefault(task.key(node), node)
        outputs = list(unique.values())
    return SearchResult(
        outputs=outputs, tree=tree, steps=records, stopped=stopped, spend=ctx.spend, requests=dict(ctx.requests)
    )


def _weights(values: list[float]) -> list[float]:
    """The sampling weights of `values`: proportional to each value above 0, none for the others. An evaluator may
    score a solved state +inf, or several 1e308, and `random.choices` refuses weights whose total is not finite:
    then the infinite values share the draw alike, or the finite ones are scaled down."""
    weights = [v if v > 0 else 0.0 for v in values]
    if math.inf in weights:
        return [1.0 if w == math.inf else 0.0 for w in weights]
    if not math.isfinite(sum(weights)):
        top = max(weights)
        return [w / top for w in weights]
    return weights
