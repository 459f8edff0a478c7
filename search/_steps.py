"""The phases every strategy's step is made of: expand, drop repeated states, score."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from typing import TypeVar

from reasoning.checks import CheckedTask
from reasoning.evaluators import CheckedEvaluator
from reasoning.tree import Node, SearchBudgetReached, SearchContext

S = TypeVar("S")


async def expand_all(task: CheckedTask[S], nodes: Sequence[Node[S]], ctx: SearchContext) -> tuple[list[Node[S]], bool]:
    """Expand `nodes` concurrently and add their children to the tree, in order; also return whether the search
    budget refused an expansion. Every expansion finishes first: what the others produced stays in the tree.
    Any error but `SearchBudgetReached` is raised (the first one)."""
    outcomes = await asyncio.gather(*(task.expand(node, ctx) for node in nodes), return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    for failure in failures:
        if not isinstance(failure, SearchBudgetReached):
            raise failure
    children = [ctx.tree.add(c) for kids in outcomes if not isinstance(kids, BaseException) for c in kids]
    return children, bool(failures)


def new_states(task: CheckedTask[S], nodes: Sequence[Node[S]], seen: set[Hashable]) -> list[Node[S]]:
    """The nodes whose state (`task.key`) is not in `seen`, first copy only (their keys are added to `seen`);
    the others are marked `info["duplicate"] = True`."""
    fresh = []
    for node in nodes:
        key = task.key(node)
        if key in seen:
            node.info["duplicate"] = True
        else:
            seen.add(key)
            fresh.append(node)
    return fresh


async def score(evaluator: CheckedEvaluator[S], nodes: Sequence[Node[S]], ctx: SearchContext, step: int) -> bool:
    """Score `nodes`; return True when the search budget stopped the scoring. Then the nodes whose calls
    completed keep their values, which are copied into the tree (`partial=True`)."""
    try:
        await evaluator.evaluate(nodes, ctx)
    except SearchBudgetReached:
        for node in nodes:
            if node.value is not None:
                ctx.tree.update(node, step=step, partial=True)
        return True
    return False
