"""What every search strategy returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from reasoning.engine import Spend
from reasoning.tree import Node, SearchTree

__all__ = ["SearchResult", "StepRecord", "StopReason"]

S = TypeVar("S")

StopReason = Literal["accepted", "max_outputs", "exhausted", "budget", "max_steps", "max_visits"]


@dataclass
class StepRecord:
    """One step of a search: which nodes were expanded, which candidates came out, their values, what was kept."""

    step: int
    expanded: list[int]
    candidates: list[int]
    values: list[float]
    selected: list[int]


@dataclass
class SearchResult(Generic[S]):
    """The outcome of a search.

    `outputs` are the final nodes, best first (for BFS the last frontier; for DFS / best-first the terminal nodes
    reached, by value), each state once unless the search ran with `dedupe=False`.

    `stopped` says why the search ended, in one vocabulary for every strategy:

    - "accepted": a terminal node scored at least the `accept` threshold (DFS, best-first, A*);
    - "max_outputs": `max_outputs` terminal nodes were found (best-first, A*);
    - "exhausted": nothing was left to expand (every open node finished or pruned, the queue empty);
    - "budget": the search's `SearchBudget` had no room for another call; `outputs` are what the steps completed
      before it found (BFS: the last complete frontier);
    - "max_steps": the step limit (`steps` for BFS, `max_steps` for the others) was reached with nodes still open;
    - "max_visits": DFS scored `max_visits` states with more to score.

    When two hold at once the first in the order above wins.
    """

    outputs: list[Node[S]]
    tree: SearchTree
    steps: list[StepRecord] = field(default_factory=list)
    stopped: StopReason = "exhausted"
    spend: Spend = field(default_factory=Spend)
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def best(self) -> Node[S] | None:
        """The output with the highest `value`, ties going to the first in `outputs`; None when there is no output
        (a DFS that pruned every path, a budget stop before any terminal node). An unscored output (`value` None)
        ranks as 0.0, as the strategies rank it, so this is `outputs[0]` whenever `outputs` is sorted best first,
        as every strategy returns it except BFS with `select="sample"`."""
        if not self.outputs:
            return None
        return max(self.outputs, key=lambda node: node.value or 0.0)

    def summary(self) -> dict[str, Any]:
        return {
            "stopped": self.stopped,
            "nodes": len(self.tree.nodes),
            "steps": len(self.steps),
            "calls": self.spend.calls,
            "prompt_tokens": self.spend.prompt_tokens,
            "completion_tokens": self.spend.completion_tokens,
            "dollars": self.spend.dollars,
            "requests": dict(self.requests),
        }
