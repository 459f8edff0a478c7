"""Depth-first search over thoughts with value pruning and backtracking (Yao et al., 2023, crosswords)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from reasoning.checks import checked_task
from reasoning.evaluators import Evaluator, checked_evaluator
from reasoning.tree import Node, SearchBudgetReached, SearchContext, Task

from ._steps import new_states, score
from .result import SearchResult, StepRecord, StopReason

__all__ = ["dfs"]

S = TypeVar("S")


class _Stop(Exception):
    def __init__(self, reason: StopReason) -> None:
        self.reason: StopReason = reason


async def dfs(
    task: Task[S],
    evaluator: Evaluator[S],
    ctx: SearchContext,
    *,
    threshold: float,
    max_steps: int = 100,
    breadth: int | None = None,
    accept: float | None = None,
    dedupe: bool = True,
) -> SearchResult[S]:
    """Go deep along the best child first; skip children valued below `threshold`; back up when a subtree is
    exhausted.

    A step expands one node and scores all its children at once. `breadth` caps how many children of a node are
    explored. `outputs` are the terminal nodes reached, best first.

    With `dedupe` (the default) the search keeps a visited set by `task.key`: a state is scored and explored
    once, the first time it is generated; a later copy (another path to it) stays in the tree marked
    `info["duplicate"]`, unscored and unexplored, so no state is returned twice. `dedupe=False` treats every
    path as its own node.

    `stopped` is "accepted" (a terminal node valued at least `accept`, when given), "exhausted" (every subtree
    explored or pruned), "budget" (the search budget refused a call) or "max_steps" (`max_steps` expansions).
    Raises `InterfaceError` when `task` or `evaluator` breaks its interface (`reasoning.checks`).
    """
    task, evaluator = checked_task(task), checked_evaluator(evaluator)
    tree = ctx.tree
    root = tree.add(task.root())
    seen: set[Hashable] = {task.key(root)}
    terminals: list[Node[S]] = []
    records: list[StepRecord] = []

    async def visit(node: Node[S]) -> None:
        if task.is_terminal(node):
            terminals.append(node)
            if accept is not None and (node.value or 0.0) >= accept:
                raise _Stop("accepted")
            return
        if len(records) >= max_steps:
            raise _Stop("max_steps")
        children = [tree.add(c) for c in await task.expand(node, ctx)]
        fresh = new_states(task, children, seen) if dedupe else children
        if await score(evaluator, fresh, ctx, len(records)):
            raise SearchBudgetReached("the search budget stopped scoring")
        ranked = sorted(fresh, key=lambda c: c.value or 0.0, reverse=True)
        keep = [c for c in ranked if (c.value or 0.0) >= threshold][:breadth]
        for child in children:
            tree.update(child, selected=child in keep, step=len(records))
        records.append(
            StepRecord(len(records), [node.id], [c.id for c in children], [c.value or 0.0 for c in children],
                       [c.id for c in keep])
        )  # fmt: skip
        for child in keep:
            await visit(child)

    stopped: StopReason = "exhausted"
    try:
        await visit(root)
    except _Stop as stop:
        stopped = stop.reason
    except SearchBudgetReached:
        stopped = "budget"
    outputs = sorted(terminals, key=lambda n: n.value or 0.0, reverse=True)
    return SearchResult(outputs, tree, records, stopped, ctx.spend, dict(ctx.requests))
