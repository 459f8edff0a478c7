"""Mini crosswords as a tree-of-thought `Task` and its prune `Evaluator` (Yao et al., 2023).

A state is a `Board`; a thought fills one word ("h2. motor"). Expanding a state asks the model for candidate fills
with a confidence (`propose_samples` samples of one request), sums each candidate's confidence over the samples
(certain 1, high 0.5, medium 0.2, low 0.1), and returns the children in order of that sum, highest first, ties in the
order the candidates first appeared (as the paper's sort of a dict); the same board asked about twice is one request
(the engine's cache answers the second, as the paper cached proposals by board). A candidate that would change a
letter already on the board, or go past `max_fills` fills, is dropped, as the paper's DFS skips it. The prune step
asks, for each clue with at least 2 letters on the board, whether a word can still fill it (sure / maybe /
impossible); a state with an impossible clue is valued 0, any other 1.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from prompts import crosswords as prompts
from reasoning.tree import Node, SearchContext
from reasoning.types import GenerationRequest

from .board import CLUE_NAMES, EMPTY, Board, Fill
from .data import Game

__all__ = ["CrosswordsConfig", "CrosswordsTask", "PruneEvaluator", "prune_items", "read_proposals", "read_verdict"]

_PROPOSAL = re.compile(r"^([hv][1-5])\. ([a-zA-Z]{5}) \((certain|high|medium|low)\).*$")


@dataclass(frozen=True)
class CrosswordsConfig:
    """How the task talks to the model. Defaults are the paper's: 8 proposal samples at temperature 0.7, at most
    9 fills (its `env.steps < 10`)."""

    temperature: float = 0.7
    propose_samples: int = 8
    propose_max_tokens: int = 256
    prune_max_tokens: int = 64
    max_fills: int = 9
    chat: bool = True
    seed: int | None = None

    def request(self, prompt: str, *, n: int, max_tokens: int, stop: tuple[str, ...] = ()) -> GenerationRequest:
        options: dict[str, Any] = {"n": n, "temperature": self.temperature, "max_tokens": max_tokens, "stop": stop,
                                   "seed": self.seed}  # fmt: skip
        if self.chat:
            return GenerationRequest.chat(prompt, **options)
        return GenerationRequest(prompt=prompt, **options)


def read_proposals(texts: Sequence[str]) -> dict[str, float]:
    """Candidate fills ("h2. motor", lower case) -> their confidence summed over `texts` (the samples), in the order
    they first appear. A line counts when it is the whole "h1. apple (medium)" form (anything may follow the
    bracket), as the paper's pattern; other lines are ignored."""
    scores: dict[str, float] = {}
    for text in texts:
        for line in text.split("\n"):
            match = _PROPOSAL.match(line)
            if match:
                fill = f"{match.group(1).lower()}. {match.group(2).lower()}"
                scores[fill] = scores.get(fill, 0.0) + prompts.CONFIDENCE[match.group(3)]
    return scores


def read_verdict(text: str) -> str | None:
    """A prune reply's verdict: its last non-empty line, lower-cased, a final "." dropped, if it is sure, maybe or
    impossible; else None (the paper reads the last line as it is)."""
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()]
    word = lines[-1].lower().rstrip(".") if lines else ""
    return word if word in prompts.PRUNE_WORDS else None


def prune_items(board: Board) -> list[tuple[int, str]]:
    """The clues the prune step asks about: (clue index 0..9, its 5 letters) for each with at most 3 empty cells,
    in order h1..v5 (the paper skips clues with 4 or 5 empty cells)."""
    return [(k, word) for k, word in enumerate(board.words) if word.count(EMPTY) < 4]


class CrosswordsTask:
    """One game as a `Task[Board]` (see the module docstring). `key` is the node's path of fills: the paper's DFS
    treats two paths to one board as two states."""

    def __init__(self, game: Game, config: CrosswordsConfig | None = None) -> None:
        self.game = game
        self.config = config or CrosswordsConfig()

    def root(self) -> Node[Board]:
        return Node(state=Board())

    def propose_request(self, board: Board) -> GenerationRequest:
        return self.propose_request_for(board.render(self.game.clues))

    def propose_request_for(self, rendering: str) -> GenerationRequest:
        """The propose request for a board as `Board.render` writes it."""
        prompt = prompts.propose_prompt(rendering)
        return self.config.request(prompt, n=self.config.propose_samples, max_tokens=self.config.propose_max_tokens)

    async def expand(self, node: Node[Board], ctx: SearchContext) -> list[Node[Board]]:
        # Not `distinct`: the same board asked again is the same request, answered by the engine's cache with the same
        # samples, as the paper's DFS cached its proposals by board rendering.
        result = await ctx.generate(self.propose_request(node.state), kind="expand")
        scores = read_proposals(result.texts)
        children = []
        for fill in sorted(scores, key=scores.__getitem__, reverse=True):  # stable: ties keep first-seen order
            clue, word = fill.split(". ")
            board = node.state.fill(Fill(clue, word))
            if board.changed or board.steps > self.config.max_fills:
                continue
            child = node.child(board, fill)
            child.info["confidence"] = scores[fill]
            children.append(child)
        return children

    def is_terminal(self, node: Node[Board]) -> bool:
        return node.state.steps >= self.config.max_fills

    def key(self, node: Node[Board]) -> Hashable:
        return tuple(n.thought for n in node.path())

    def prune_request(self, clue: int, letters: str) -> GenerationRequest:
        prompt = prompts.prune_prompt(self.game.clues[clue], " ".join(letters.lower()))
        return self.config.request(prompt, n=1, max_tokens=self.config.prune_max_tokens, stop=prompts.PRUNE_STOP)


@dataclass(frozen=True)
class PruneEvaluator:
    """The prune step as an `Evaluator[Board]`: each node valued 0.0 when the model calls some clue impossible,
    else 1.0. `node.info["count"]` gets the verdicts' counts {sure, maybe, impossible} (the paper's log) and
    `node.info["verdicts"]` each asked clue's verdict ("h1": "sure", None for no verdict). One request a clue; an
    identical request (the same clue and letters) is sent as the same request, so the engine's cache answers it as
    the paper's per-prompt cache did."""

    task: CrosswordsTask

    async def _one(self, node: Node[Board], ctx: SearchContext) -> float:
        items = prune_items(node.state)
        results = await asyncio.gather(
            *(ctx.generate(self.task.prune_request(k, w), kind="evaluate") for k, w in items)
        )
        verdicts = {CLUE_NAMES[k]: read_verdict(r.text) for (k, _), r in zip(items, results, strict=True)}
        count = {word: sum(v == word for v in verdicts.values()) for word in prompts.PRUNE_WORDS}
        node.info["count"], node.info["verdicts"] = count, verdicts
        node.value = 0.0 if count["impossible"] else 1.0
        return node.value

    async def evaluate(self, nodes: Sequence[Node[Board]], ctx: SearchContext) -> list[float]:
        return [await self._one(node, ctx) for node in nodes]
