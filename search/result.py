"""What every search strategy returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from reasoning.engine import Spend
from reasoning.tree import Node, SearchTree

__all__ = ["SearchResult", "StepRecord"]

S = TypeVar("S")


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
    reached, by value). `stopped` says why the search ended: "done", "budget", "step_limit" or "accepted" (a
    terminal node scored at least the acceptance threshold).
    """

    outputs: list[Node[S]]
    tree: SearchTree
    steps: list[StepRecord] = field(default_factory=list)
    stopped: str = "done"
    spend: Spend = field(default_factory=Spend)
    requests: dict[str, int] = field(default_factory=dict)

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
