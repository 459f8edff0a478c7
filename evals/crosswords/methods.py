"""The crosswords methods of Yao et al. (2023): IO, CoT, and tree-of-thought DFS with pruning and backtracking,
and the one config (`MethodConfig`) a run's options are read from.

DFS runs `search.dfs` as the paper's notebook does (`lazy=True`): children in order of the proposer's confidence,
each scored (pruned or not) when its turn comes, at most `breadth` (3) scored per state and `max_visits` (100) in a
game. Its output is the deepest visited state, the first one reached at that depth (pruned states count: the rule
that gives the paper's 78 / 60 / 20 from its log); `best` is the oracle pick, the visited state with the most
words right (the first of equals), the paper's "+best state" column.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from prompts import crosswords as prompts
from reasoning.tree import Node, SearchContext
from search import dfs

from .board import Board
from .data import Game
from .score import read_grid, score_board, score_output
from .task import CrosswordsConfig, CrosswordsTask, PruneEvaluator

__all__ = ["DFS_ONLY", "METHODS", "MethodConfig", "solve_game", "unused_fields", "visited_states"]

METHODS = ("io", "cot", "tot-dfs")
# The `MethodConfig` fields only the DFS reads; IO and CoT read the others (temperature, max_tokens, chat, seed).
DFS_ONLY = ("prune", "breadth", "max_visits", "propose_samples", "prune_max_tokens")


def unused_fields(method: str) -> frozenset[str]:
    """The `MethodConfig` fields `method` never reads (the DFS's for IO and CoT)."""
    return frozenset(DFS_ONLY if method != "tot-dfs" else ())


@dataclass(frozen=True)
class MethodConfig:
    """Everything that defines a run's method; its hash (`key`) tags each record. Defaults are the paper's."""

    method: str = "tot-dfs"
    prune: bool = True
    breadth: int = 3
    max_visits: int = 100
    propose_samples: int = 8
    temperature: float = 0.7
    max_tokens: int = 256  # IO / CoT answers and proposals
    prune_max_tokens: int = 64
    chat: bool = True
    seed: int = 0

    def key(self) -> str:
        """12 hex digits of the SHA-256 of the fields."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def used(self) -> MethodConfig:
        """This config with each field its method does not read (`unused_fields`) at its default: the same run
        whatever those options said, and so the same `key`."""
        defaults = MethodConfig()
        unused: dict[str, Any] = {name: getattr(defaults, name) for name in unused_fields(self.method)}
        return dataclasses.replace(self, **unused)

    def task(self, game: Game) -> CrosswordsTask:
        return CrosswordsTask(game, CrosswordsConfig(temperature=self.temperature, propose_samples=self.propose_samples,
                                                     propose_max_tokens=self.max_tokens,
                                                     prune_max_tokens=self.prune_max_tokens, chat=self.chat,
                                                     seed=self.seed))  # fmt: skip


def visited_states(ctx: SearchContext) -> list[Node[Board]]:
    """The states a DFS scored, in the order it scored them (`visit` in the tree)."""
    graph = ctx.tree.graph
    visited = [n for n in ctx.tree.nodes if graph.nodes[n.id].get("visit") is not None]
    return sorted(visited, key=lambda n: graph.nodes[n.id]["visit"])


async def solve_game(game: Game, ctx: SearchContext, config: MethodConfig) -> dict[str, Any]:
    """One game by `config.method`: the record's fields (output grid, letter / word / game scores, the DFS's
    visited states and oracle pick, and the cost)."""
    task = config.task(game)
    answer = Board(cells=game.answer)
    record: dict[str, Any] = {"idx": game.idx, "method": config.method, "answer": _grid(answer),
                              "clues": list(game.clues)}  # fmt: skip
    if config.method in ("io", "cot"):
        prompt = (prompts.io_prompt if config.method == "io" else prompts.cot_prompt)(game.clue_lines())
        request = task.config.request(prompt, n=1, max_tokens=config.max_tokens, stop=("\nInput:",))
        text = (await ctx.generate(request, kind="answer")).text
        scores = score_output(game, text)
        record.update(text=text, output=_grid(read_grid(text)), **_scored(scores))
    else:
        result = await dfs(task, PruneEvaluator(task), ctx, threshold=1.0 if config.prune else 0.0,
                           max_steps=10 * config.max_visits + 1, breadth=config.breadth, dedupe=False, lazy=True,
                           max_visits=config.max_visits)  # fmt: skip
        visited = visited_states(ctx)
        rows = [_visit(game, n, ctx, config.prune) for n in visited]
        deepest = max((n.depth for n in visited), default=0)
        output = next((n for n in visited if n.depth == deepest), task.root())
        record.update(output=_grid(output.state), stopped=result.stopped, **_scored(score_board(game, output.state)))
        best = max(range(len(rows)), key=lambda i: rows[i]["word"], default=None)
        record["best"] = None if best is None else {"visit": best + 1, **{k: rows[best][k] for k in
                                                                          ("letter", "word", "solved")}}  # fmt: skip
        record["visited"] = rows
    spend = ctx.spend
    record.update(calls=spend.calls, prompt_tokens=spend.prompt_tokens, completion_tokens=spend.completion_tokens,
                  dollars=spend.dollars)  # fmt: skip
    return record


def _grid(board: Board) -> list[str]:
    return board.grid().split("\n")


def _scored(scores: Any) -> dict[str, Any]:
    return {"letter": scores.letter, "word": scores.word, "solved": scores.game}


def _visit(game: Game, node: Node[Board], ctx: SearchContext, prune: bool) -> dict[str, Any]:
    """One visited state as the record keeps it: its fills, the prune counts and verdicts, whether it was pruned,
    its scores, and its parent's visit number (0: the root)."""
    parent = node.parent
    parent_visit = ctx.tree.graph.nodes[parent.id].get("visit", 0) if parent is not None else 0
    scores = score_board(game, node.state)
    return {
        "fills": [n.thought for n in node.path()[1:]],
        "parent": parent_visit,
        "confidence": node.info.get("confidence"),
        "count": node.info.get("count"),
        "verdicts": node.info.get("verdicts"),
        "pruned": prune and bool(node.info.get("count", {}).get("impossible")),
        "grid": _grid(node.state),
        **_scored(scores),
    }
