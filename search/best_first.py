"""Best-first and A* search over thoughts: one priority queue, popped a batch at a time."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TypeVar

from reasoning.evaluators import Evaluator
from reasoning.tree import Node, SearchBudgetReached, SearchContext, Task, gather_all

from .result import SearchResult, StepRecord

__all__ = ["astar", "best_first"]

S = TypeVar("S")


async def best_first(
    task: Task[S],
    evaluator: Evaluator[S],
    ctx: SearchContext,
    *,
    priority: Callable[[Node[S]], float],
    width: int = 1,
    max_steps: int = 50,
    accept: float | None = None,
    max_outputs: int = 5,
) -> SearchResult[S]:
    """Always expand the open node(s) with the lowest `priority(node)` (computed once the node is scored).

    Each step pops up to `width` nodes and expands them concurrently, then scores all their children at once.
    Terminal nodes are collected, not expanded. The search ends after `max_steps` steps, when the queue is empty,
    when `max_outputs` terminal nodes were found, or at the first terminal node valued at least `accept`.
    """
    tree = ctx.tree
    root = tree.add(task.root())
    order = itertools.count()  # ties pop in insertion order
    # Each queue entry: (priority, insertion number, node).
    queue: list[tuple[float, int, Node[S]]] = [(0.0, next(order), root)]
    terminals: list[Node[S]] = []
    records: list[StepRecord] = []
    stopped = "done"
    while queue:
        if len(records) >= max_steps:
            stopped = "step_limit"
            break
        batch = [heapq.heappop(queue)[2] for _ in range(min(width, len(queue)))]
        try:
            expansions = await gather_all(task.expand(node, ctx) for node in batch)
            children = [tree.add(child) for kids in expansions for child in kids]
            await evaluator.evaluate(children, ctx)
        except SearchBudgetReached:
            stopped = "budget"
            break
        for child in children:
            tree.update(child, step=len(records), priority=priority(child))
            if task.is_terminal(child):
                terminals.append(child)
            else:
                heapq.heappush(queue, (priority(child), next(order), child))
        records.append(
            StepRecord(len(records), [n.id for n in batch], [c.id for c in children],
                       [c.value or 0.0 for c in children], [])
        )  # fmt: skip
        if accept is not None and any((t.value or 0.0) >= accept for t in terminals):
            stopped = "accepted"
            break
        if len(terminals) >= max_outputs:
            break
    outputs = sorted(terminals, key=lambda n: n.value or 0.0, reverse=True)
    return SearchResult(outputs, tree, records, stopped, ctx.spend, dict(ctx.requests))


async def astar(
    task: Task[S],
    evaluator: Evaluator[S],
    ctx: SearchContext,
    *,
    heuristic: Callable[[Node[S]], float],
    cost: Callable[[Node[S]], float] = lambda node: float(node.depth),
    **options: float | int | None,
) -> SearchResult[S]:
    """A*: best-first with priority `cost(node) + heuristic(node)` — cost so far plus an estimate of the cost to
    go derived from the evaluator's value (e.g. remaining depth scaled by how unpromising the node looks)."""
    return await best_first(
        task,
        evaluator,
        ctx,
        priority=lambda node: cost(node) + heuristic(node),
        **options,  # type: ignore[arg-type]
    )
