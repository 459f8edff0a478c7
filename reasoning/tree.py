"""The shared search abstraction: nodes, tasks, thought generators, and the context a search runs in (a
`reasoning.session.Session` plus its `SearchTree`).

Every technique uses the same types: tree-of-thought search expands and scores `Node`s of a `Task` with an
`Evaluator` (see `reasoning.evaluators`); the search strategies in `search/` are plain functions over them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import networkx as nx

from .engine import Engine, Spend
from .errors import ConfigurationError, SearchBudgetReached
from .search_budget import SearchBudget
from .session import Session
from .types import MAX_SAMPLES, GenerationRequest

__all__ = [
    "Node",
    "Propose",
    "Sample",
    "SearchBudget",
    "SearchBudgetReached",
    "SearchContext",
    "SearchTree",
    "Task",
    "check_samples",
    "gather_all",
]

S = TypeVar("S")
T = TypeVar("T")


@dataclass(eq=False)
class Node(Generic[S]):
    """One state in a search: how it was reached (`parent`, `thought`), how deep, how it was scored, and what
    producing and scoring it cost. `id` is assigned when the node is added to a `SearchTree`."""

    state: S
    parent: Node[S] | None = None
    thought: str = ""
    depth: int = 0
    value: float | None = None
    values: tuple[float, ...] = ()
    spend: Spend = field(default_factory=Spend)
    id: int = -1
    info: dict[str, Any] = field(default_factory=dict)

    def child(self, state: S, thought: str) -> Node[S]:
        return Node(state=state, parent=self, thought=thought, depth=self.depth + 1)

    def path(self) -> list[Node[S]]:
        """From the root to this node."""
        out: list[Node[S]] = []
        node: Node[S] | None = self
        while node is not None:
            out.append(node)
            node = node.parent
        return out[::-1]

    def __repr__(self) -> str:
        return f"Node(id={self.id}, depth={self.depth}, value={self.value}, state={self.state!r})"


class Task(Protocol[S]):
    """A problem to search: its root, how to expand a node, when a node is terminal, and identity of states.

    `expand` is async and returns new children of the node, built with `node.child(state, thought)`; `root`,
    `is_terminal` and `key` are plain methods, `key` returning something hashable (equal states, equal keys).
    The search strategies check this (`reasoning.checks`) and raise `InterfaceError` naming the method when it
    does not hold."""

    def root(self) -> Node[S]: ...

    async def expand(self, node: Node[S], ctx: SearchContext) -> list[Node[S]]: ...

    def is_terminal(self, node: Node[S]) -> bool: ...

    def key(self, node: Node[S]) -> Hashable: ...


_NOTED = ("duplicate", "evaluated_by")  # node.info keys copied into the tree (JSON: a bool, a word)


class SearchTree:
    """Every node a search created, as a `networkx.DiGraph` (node id -> attributes; edges parent -> child)."""

    def __init__(self) -> None:
        self.graph: nx.DiGraph[int] = nx.DiGraph()
        self.nodes: list[Node[Any]] = []

    def add(self, node: Node[Any]) -> Node[Any]:
        node.id = len(self.nodes)
        self.nodes.append(node)
        self.graph.add_node(node.id, state=str(node.state), thought=node.thought, depth=node.depth)
        if node.parent is not None:
            self.graph.add_edge(node.parent.id, node.id)
        return node

    def update(self, node: Node[Any], **attrs: Any) -> None:
        """Copy the node's value, values and spend into the graph, plus any extra attributes; and what the search
        and the evaluators noted in `node.info` that a report shows: `duplicate` (a copy of a state seen before,
        valued without being scored) and `evaluated_by` (which evaluator of a `Cascade` or `Shortcut` valued it)."""
        data = self.graph.nodes[node.id]
        noted = {key: node.info[key] for key in _NOTED if key in node.info}
        data.update(
            value=node.value,
            values=list(node.values),
            tokens=node.spend.total_tokens,
            dollars=node.spend.dollars,
            **noted,
            **attrs,
        )

    def to_json(self) -> dict[str, Any]:
        """Nodes and edges as plain JSON (for reports)."""
        return {
            "nodes": [{"id": n, **d} for n, d in self.graph.nodes(data=True)],
            "edges": [[a, b] for a, b in self.graph.edges()],
        }


class SearchContext(Session):
    """What a tree search runs in: a `Session` (the engine, a tag for accounting, the search's budget, counters,
    `spend` and `paid`; see `reasoning.session`) plus the `SearchTree` of every node the search created."""

    def __init__(self, engine: Engine, *, tag: str, budget: SearchBudget | None = None) -> None:
        super().__init__(engine, tag=tag, budget=budget)
        self.tree = SearchTree()


async def gather_all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Like `asyncio.gather`, but every awaitable finishes before the first error is raised, so no call is left
    running unobserved when a search stops. A real failure is raised before a `SearchBudgetReached`."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise next((e for e in errors if not isinstance(e, SearchBudgetReached)), errors[0])
    return results  # type: ignore[return-value]


def check_samples(n: object, owner: str) -> None:
    """`ConfigurationError` naming `owner` unless `n` is a whole number of samples one request may ask for, 1 to
    `MAX_SAMPLES`. Generators and evaluators copy their request with `n` (`model_copy`, which does not validate), so
    they check it when they are made: 0 would ask for nothing, and too many would reach the backend."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLES:
        raise ConfigurationError(f"{owner}'s n must be a whole number of samples from 1 to {MAX_SAMPLES}; got {n!r}")


@dataclass(frozen=True)
class Propose(Generic[S]):
    """Propose thoughts in one call: the model lists several next steps, `parse` turns its text into children.

    With `n` > 1, the one call asks for `n` samples (each a list of steps); their children are merged, the first
    of each `key` (default: the child's state) kept, in order."""

    prompt: Callable[[Node[S]], GenerationRequest]
    parse: Callable[[Node[S], str], list[Node[S]]]
    n: int = 1
    key: Callable[[Node[S]], Hashable] | None = None

    def __post_init__(self) -> None:
        check_samples(self.n, "Propose")

    async def __call__(self, node: Node[S], ctx: SearchContext) -> list[Node[S]]:
        request = self.prompt(node)
        if self.n != 1:
            request = request.model_copy(update={"n": self.n})
        result = await ctx.generate(request, kind="expand", distinct=True)
        if self.n == 1:
            children = self.parse(node, result.text)
        else:
            merged: dict[Hashable, Node[S]] = {}
            for text in result.texts:
                for child in self.parse(node, text):
                    merged.setdefault(self.key(child) if self.key else child.state, child)
            children = list(merged.values())
        _share_cost(children, ctx.cost(result))
        return children


@dataclass(frozen=True)
class Sample(Generic[S]):
    """Sample `n` thoughts independently (one request with `n` samples); `parse` maps each to a child or `None`."""

    prompt: Callable[[Node[S]], GenerationRequest]
    parse: Callable[[Node[S], str], Node[S] | None]
    n: int = 5

    def __post_init__(self) -> None:
        check_samples(self.n, "Sample")

    async def __call__(self, node: Node[S], ctx: SearchContext) -> list[Node[S]]:
        request = self.prompt(node).model_copy(update={"n": self.n})
        result = await ctx.generate(request, kind="expand", distinct=True)
        children = [c for c in (self.parse(node, t) for t in result.texts) if c is not None]
        _share_cost(children, ctx.cost(result))
        return children


def _share_cost(nodes: Sequence[Node[Any]], spend: Spend) -> None:
    # One call produced all these nodes; each carries an equal share so the tree's costs add up to the call's.
    if not nodes:
        return
    k = len(nodes)
    for node in nodes:
        node.spend.add(
            dataclasses.replace(
                spend,
                calls=0,
                cached_samples=0,
                prompt_tokens=spend.prompt_tokens // k,
                completion_tokens=spend.completion_tokens // k,
                dollars=spend.dollars / k,
            )
        )
