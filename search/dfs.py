"""Depth-first search over thoughts with value pruning and backtracking (Yao et al., 2023, crosswords)."""

from __future__ import annotations

from typing import TypeVar

from reasoning.evaluators import Evaluator
from reasoning.tree import Node, SearchBudgetReached, SearchContext, Task

from .result import SearchResult, StepRecord

__all__ = ["dfs"]

S = TypeVar("S")


class _Stop(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


async def dfs(
    task: Task[S],
    evaluator: Evaluator[S],
    ctx: SearchContext,
    *,
    threshold: float,
    max_steps: int = 100,
    breadth: int | None = None,
    accept: float | None = None,
) -> SearchResult[S]:
    """Go deep along the best child first; skip children valued below `threshold`; back up when a subtree is
    exhausted.

    A step expands one node and scores all its children at once. The search ends after `max_steps` expansions,
    when the tree is exhausted, or — if `accept` is given — at the first terminal node valued at least `accept`.
    `breadth` caps how many children of a node are explored. `outputs` are the terminal nodes reached, best first.
    """
    tree = ctx.tree
    root = tree.add(task.root())
    terminals: list[Node[S]] = []
    records: list[StepRecord] = []

    async def visit(node: Node[S]) -> None:
        if task.is_terminal(node):
            terminals.append(node)
            if accept is not None and (node.value or 0.0) >= accept:
                raise _Stop("accepted")
            return
        if len(records) >= max_steps:
            raise _Stop("step_limit")
        children = [tree.add(c) for c in await task.expand(node, ctx)]
        await evaluator.evaluate(children, ctx)
        ranked = sorted(children, key=lambda c: c.value or 0.0, reverse=True)
        keep = [c for c in ranked if (c.value or 0.0) >= threshold][:breadth]
        for child in children:
            tree.update(child, selected=child in keep, step=len(records))
        records.append(
            StepRecord(len(records), [node.id], [c.id for c in children], [c.value or 0.0 for c in children],
                       [c.id for c in keep])
        )  # fmt: skip
        for child in keep:
            await visit(child)

    stopped = "done"
    try:
        await visit(root)
    except _Stop as stop:
        stopped = stop.reason
    except SearchBudgetReached:
        stopped = "budget"
    outputs = sorted(terminals, key=lambda n: n.value or 0.0, reverse=True)
    return SearchResult(outputs, tree, records, stopped, ctx.spend, dict(ctx.requests))
