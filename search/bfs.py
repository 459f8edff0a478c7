"""Breadth-first (beam) search over thoughts, as in Tree of Thoughts (Yao et al., 2023)."""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Literal, TypeVar

from reasoning.evaluators import Evaluator
from reasoning.tree import Node, SearchBudgetReached, SearchContext, Task, gather_all

from .result import SearchResult, StepRecord

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
) -> SearchResult[S]:
    """Keep the `breadth` best states at each depth.

    Each step expands every frontier node and then scores every new candidate, each phase issued at once
    through the engine (never one node at a time). Identical candidates in a step (by `task.key`) are scored
    once; later copies get `duplicate_value` (the paper's rule: 0, which sinks them in the ranking).

    Parameters
    ----------
    select:
        "greedy" keeps the top `breadth` by value (ties in candidate order, as a stable sort does);
        "sample" draws `breadth` with replacement, with probability proportional to value.

    Returns
    -------
    SearchResult whose `outputs` is the last frontier, best first.
    """
    rng = rng or random.Random(0)
    tree = ctx.tree
    frontier: list[Node[S]] = [tree.add(task.root())]
    records: list[StepRecord] = []
    stopped = "done"
    for step in range(steps):
        live = [n for n in frontier if not task.is_terminal(n)]
        if not live:
            break
        try:
            # 1. Expand every frontier node concurrently.
            expansions = await gather_all(task.expand(node, ctx) for node in live)
            children = [tree.add(child) for kids in expansions for child in kids]
            # 2. Score each distinct candidate once, all concurrently.
            first: dict[Hashable, Node[S]] = {}
            for node in children:
                first.setdefault(task.key(node), node)
            await evaluator.evaluate(list(first.values()), ctx)
        except SearchBudgetReached:
            stopped = "budget"
            break
        # Terminal nodes already in the frontier compete again with their values; new children follow.
        candidates = [n for n in frontier if task.is_terminal(n)] + children
        for node in children:
            if first[task.key(node)] is not node:
                node.value, node.info["duplicate"] = duplicate_value, True
        values = [node.value if node.value is not None else 0.0 for node in candidates]
        # 3. Select the next frontier.
        ids = list(range(len(candidates)))
        if select == "greedy":
            chosen = sorted(ids, key=lambda i: values[i], reverse=True)[:breadth]
        else:
            total = sum(values)
            chosen = rng.choices(ids, weights=values, k=breadth) if total > 0 and ids else ids[:breadth]
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
            break
    return SearchResult(
        outputs=frontier, tree=tree, steps=records, stopped=stopped, spend=ctx.spend, requests=dict(ctx.requests)
    )
