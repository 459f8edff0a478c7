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
    lazy: bool = False,
    max_visits: int | None = None,
) -> SearchResult[S]:
    """Go deep along the best child first; skip children valued below `threshold`; back up when a subtree is
    exhausted.

    A step expands one node and scores all its children at once. `breadth` caps how many children of a node are
    explored. `outputs` are the terminal nodes reached, best first.

    With `dedupe` (the default) the search keeps a visited set by `task.key`: a state is scored and explored
    once, the first time it is generated; a later copy (another path to it) stays in the tree marked
    `info["duplicate"]`, unscored and unexplored, so no state is returned twice. `dedupe=False` treats every
    path as its own node.

    `lazy=True` is the paper's crosswords DFS (Yao et al., 2023, `scripts/crosswords/search_crosswords-dfs.ipynb`):
    a node's children are taken in the order `task.expand` returns them (e.g. by the proposer's confidence), and
    each is scored only when its turn comes, then explored (if valued at least `threshold`) before the next sibling
    is scored. A pruned child counts as visited: `breadth` caps the children scored per node, pruned ones included,
    and `max_visits` the states scored in the whole search (the paper: 3 and 100). Each scored child's graph node
    gets `visit` (1, 2, ... in the order scored) and `selected` (explored, or pruned). A step is still one
    expansion; its record lists the children scored, in order. The default (`lazy=False`) scores all children of
    a node at once and goes down the best valued first, as before; `max_visits` applies to it too.

    `stopped` is "accepted" (a terminal node valued at least `accept`, when given), "exhausted" (every subtree
    explored or pruned), "budget" (the search budget refused a call), "max_steps" (`max_steps` expansions) or
    "max_visits" (`max_visits` states scored with more to score). Raises `InterfaceError` when `task` or
    `evaluator` breaks its interface (`reasoning.checks`).
    """
    task, evaluator = checked_task(task), checked_evaluator(evaluator)
    tree = ctx.tree
    root = tree.add(task.root())
    seen: set[Hashable] = {task.key(root)}
    terminals: list[Node[S]] = []
    records: list[StepRecord] = []
    visits = 0  # states scored so far

    def count_visits(k: int) -> None:  # before `k` more states are scored
        nonlocal visits
        if max_visits is not None and visits + k > max_visits:
            raise _Stop("max_visits")
        visits += k

    async def visit(node: Node[S]) -> None:
        if task.is_terminal(node):
            terminals.append(node)
            if accept is not None and (node.value or 0.0) >= accept:
                raise _Stop("accepted")
            return
        if len(records) >= max_steps:
            raise _Stop("max_steps")
        if lazy:
            return await visit_lazily(node)
        children = [tree.add(c) for c in await task.expand(node, ctx)]
        fresh = new_states(task, children, seen) if dedupe else children
        count_visits(len(fresh))
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

    async def visit_lazily(node: Node[S]) -> None:
        if max_visits is not None and visits >= max_visits:  # no child could be scored: spare the call
            raise _Stop("max_visits")
        children = [tree.add(c) for c in await task.expand(node, ctx)]
        fresh = new_states(task, children, seen) if dedupe else children
        record = StepRecord(len(records), [node.id], [], [], [])
        records.append(record)
        for child in children:
            tree.update(child, selected=False, step=record.step)
        for child in fresh:
            if breadth is not None and len(record.candidates) >= breadth:
                break
            count_visits(1)
            if await score(evaluator, [child], ctx, record.step):
                raise SearchBudgetReached("the search budget stopped scoring")
            explore = (child.value or 0.0) >= threshold
            tree.update(child, selected=explore, step=record.step, visit=visits)
            record.candidates.append(child.id)
            record.values.append(child.value or 0.0)
            if explore:
                record.selected.append(child.id)
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
