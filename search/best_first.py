"""Best-first and A* search over thoughts: one priority queue, popped a batch at a time."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import TypeVar

from reasoning.checks import checked_task
from reasoning.evaluators import Evaluator, checked_evaluator
from reasoning.tree import Node, SearchContext, Task

from ._steps import expand_all, new_states, score
from .result import SearchResult, StepRecord, StopReason

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
    dedupe: bool = True,
) -> SearchResult[S]:
    """Always expand the open node(s) with the lowest `priority(node)` (computed once the node is scored).

    Each step pops up to `width` nodes and expands them concurrently, then scores all their children at once.
    Terminal nodes are collected, not expanded; `outputs` are those found, best value first.

    With `dedupe` (the default) the search keeps a closed set by `task.key`: a state is scored, queued and
    returned once, the first time it is generated; a later copy (another path to it) stays in the tree marked
    `info["duplicate"]`, unscored and unexpanded. So A* does not reopen a state later reached by a cheaper path:
    the first path stands. `dedupe=False` treats every path as its own node, and the same state may be
    returned several times.

    `stopped` is "accepted" (a terminal node valued at least `accept`, when given), "max_outputs" (`max_outputs`
    terminal nodes found), "exhausted" (the queue is empty), "budget" (the search budget refused a call;
    `outputs` are the terminal nodes of the steps completed) or "max_steps" (`max_steps` steps done).
    Raises `InterfaceError` when `task` or `evaluator` breaks its interface (`reasoning.checks`).
    """
    task, evaluator = checked_task(task), checked_evaluator(evaluator)
    tree = ctx.tree
    root = tree.add(task.root())
    seen: set[Hashable] = {task.key(root)}
    order = itertools.count()  # ties pop in insertion order
    # Each queue entry: (priority, insertion number, node).
    queue: list[tuple[float, int, Node[S]]] = [(0.0, next(order), root)]
    terminals: list[Node[S]] = []
    records: list[StepRecord] = []
    stopped: StopReason
    while True:
        if not queue:
            stopped = "exhausted"
            break
        if len(records) >= max_steps:
            stopped = "max_steps"
            break
        step = len(records)
        batch = [heapq.heappop(queue)[2] for _ in range(min(width, len(queue)))]
        children, refused = await expand_all(task, batch, ctx)
        fresh = new_states(task, children, seen) if dedupe else children
        if refused or await score(evaluator, fresh, ctx, step):
            stopped = "budget"
            break
        for child in children:
            if child.info.get("duplicate"):  # in the tree as the copy it is, unscored
                tree.update(child, step=step)
        for child in fresh:
            tree.update(child, step=step, priority=priority(child))
            if task.is_terminal(child):
                terminals.append(child)
            else:
                heapq.heappush(queue, (priority(child), next(order), child))
        records.append(
            StepRecord(step, [n.id for n in batch], [c.id for c in children], [c.value or 0.0 for c in children], [])
        )
        if accept is not None and any((t.value or 0.0) >= accept for t in terminals):
            stopped = "accepted"
            break
        if len(terminals) >= max_outputs:
            stopped = "max_outputs"
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
    go derived from the evaluator's value (e.g. remaining depth scaled by how unpromising the node looks).
    `options` are `best_first`'s (`width`, `max_steps`, `accept`, `max_outputs`, `dedupe`), and so are the
    `stopped` reasons and the closed set by `task.key`."""
    return await best_first(
        task,
        evaluator,
        ctx,
        priority=lambda node: cost(node) + heuristic(node),
        **options,  # type: ignore[arg-type]
    )
