"""A replay backend built from the published GPT-4 crosswords DFS runs (Yao et al., 2023).

What the published files hold, and so what the replay can answer:

- `env_cache.json`: each board rendering GPT-4 was asked to propose from -> its candidate fills with their summed
  confidence, in the order the candidates first appeared. A propose request is answered from it: the prompt is
  our propose prompt around that rendering, and the reply lists each candidate with confidence words whose sum,
  added in order as the task adds them, is the cached number exactly (so ties and float rounding order the
  candidates as the paper's sort did). This cache is the pruned run's only: the no-prune ablation asked GPT-4
  afresh (on a board the cache holds, game 70's after "h4. rinse", it went on with "h3. lower" where the cache's
  first choice is "h1. latin"), so its replay is given no cache (`proposals=None`) and every proposal is rebuilt
  from the log: the states the log visits next from that state, in that order, each with a lower confidence than
  the one before (`reconstructed` counts them). Candidates the original skipped (they changed a letter, or came
  after the 3 visited) are not in the log, and are not needed to visit the same states.
- The DFS logs (`infoss_dfs_prune.json`, `infoss_dfs_no_prune.json`): for each visited state in order, its fills
  and the COUNTS of sure / maybe / impossible verdicts over its clues; not which clue got which verdict. The
  paper's code also cached the verdict per prompt for the whole run, so the same clue with the same letters got
  the same verdict in every state; we found no cheap way to recover per-clue verdicts consistent with every
  state's counts. So the replay answers prune requests state by state: it follows the log's visiting order, and
  the prune requests of the next logged state (one per clue with 2 or more letters, which it checks against that
  state's board) get verdicts that make that state's counts come out as logged. Which clue is called impossible
  is ours (in clue order: sure first, then maybe, impossible, and no verdict for the rest); the counts, and so the
  pruning, are the log's. A prune request that is not one of the next state's clues is a miss: the search left the
  logged path.

Requests are matched by prompt text, so a search that asks anything the logged one did not fails loudly
(`ReplayMissError`), unless `strict=False` (then the request gets an empty answer and `misses` counts it).
Serve it through an engine with no response cache: the replay counts the prune requests of each state.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

from prompts import crosswords as prompts
from reasoning.backends.base import LanguageModel
from reasoning.errors import BackendError
from reasoning.types import Completion, GenerationRequest, GenerationResult

from .board import Board, parse_fill
from .data import TEST_GAMES
from .task import CrosswordsTask, prune_items

__all__ = ["LoggedState", "ReplayMissError", "ReplayModel", "confidence_words", "load_cache", "load_log"]

PRUNE_LOG = "infoss_dfs_prune.json"
NO_PRUNE_LOG = "infoss_dfs_no_prune.json"
CACHE = "env_cache.json"


class ReplayMissError(BackendError):
    """The replay has no answer for this request: the search asked something the logged run did not."""


LoggedState = dict[str, Any]  # {"actions": ["h2. motor", ...], "count": {"sure": 1, ...}, "info": {...}, ...}


def load_log(path: str | Path) -> list[list[LoggedState]]:
    """A published DFS log: for each of the 20 test games (log game i = mini0505 game 5i), its visited states.
    `ValueError` saying what is wrong for a file of another layout (`OSError` for one that cannot be read)."""
    log = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(log, list) or len(log) != len(TEST_GAMES):
        raise ValueError(f"{path} is not a DFS log (a list of the {len(TEST_GAMES)} test games' states)")
    for i, states in enumerate(log):
        if not isinstance(states, list) or not all(_is_state(state) for state in states):
            raise ValueError(f'{path}: log game {i} is not a list of states {{"actions": ["h1. agend", ...], '
                             '"count": {"sure": 1, "maybe": 0, "impossible": 0}}')  # fmt: skip
    return log


def _is_state(state: Any) -> bool:
    return (isinstance(state, dict) and isinstance(state.get("actions"), list)
            and all(isinstance(a, str) for a in state["actions"]) and isinstance(state.get("count"), dict)
            and all(_count(state["count"].get(word)) for word in prompts.PRUNE_WORDS))  # fmt: skip


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _confidence(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def load_cache(path: str | Path) -> dict[str, dict[str, float]]:
    """`env_cache.json`: board rendering -> {candidate fill: summed confidence}, in first-seen order. `ValueError`
    saying what is wrong for a file of another layout (`OSError` for one that cannot be read)."""
    table = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(table, dict) or not all(
        isinstance(scores, dict) and all(map(_confidence, scores.values())) for scores in table.values()
    ):
        raise ValueError(f'{path} is not a propose cache (board rendering -> {{"h1. agend": confidence, ...}})')
    return table


@cache
def confidence_words(score: float) -> tuple[str, ...]:
    """Confidence words whose values (certain 1, high 0.5, medium 0.2, low 0.1), added in this order from 0, give
    `score` exactly as a float: the fewest such words. `ValueError` when none up to 100 words does."""
    words = sorted(prompts.CONFIDENCE, key=prompts.CONFIDENCE.__getitem__, reverse=True)
    paths: dict[float, tuple[str, ...]] = {0.0: ()}
    frontier = [0.0]
    while frontier:
        if score in paths:
            return paths[score]
        step = []
        for total in frontier:
            for word in words:
                new = total + prompts.CONFIDENCE[word]
                if new not in paths and new <= score + 1e-9 and len(paths[total]) < 100:
                    paths[new] = (*paths[total], word)
                    step.append(new)
        frontier = step
    raise ValueError(f"no sum of confidence words gives {score!r}")


def proposal_text(scores: dict[str, float]) -> str:
    """One reply listing each candidate (in order) once per confidence word of its score."""
    return "\n".join(f"{fill} ({word})" for fill, score in scores.items() for word in confidence_words(score))


def _content(request: GenerationRequest) -> str:
    if request.messages is not None:
        return request.messages[-1].content
    return request.prompt or ""


class ReplayModel(LanguageModel):
    """Answers one game's propose and prune requests from the published log of that game (`states`) and the
    propose cache (`proposals`: board rendering -> candidates; None: rebuild every proposal from the log), as the
    module docstring says. `misses` counts
    requests answered empty (`strict=False`), `reconstructed` the propose requests answered from the log's visiting
    order, and `remaining` the logged states whose prune requests never came."""

    def __init__(
        self,
        task: CrosswordsTask,
        states: list[LoggedState],
        proposals: dict[str, dict[str, float]] | None,
        *,
        prune: bool = True,
        max_visits: int = 100,
        strict: bool = True,
    ) -> None:
        self.task = task
        self.strict = strict
        self.misses = 0
        self.reconstructed = 0
        self.name = f"gpt-4-replay/crosswords-{task.game.idx}"
        self._propose: dict[str, str] = {}
        self._rebuilt: dict[str, list[str]] = defaultdict(list)  # prompt -> replies, the k-th for the k-th asking
        self._asked: dict[str, int] = defaultdict(int)
        self._prune: list[dict[str, str | None]] = []  # per logged state: prompt -> verdict
        clues = task.game.clues
        boards = [_board(s["actions"]) for s in states]
        for rendering, scores in (proposals or {}).items():
            self._propose[self._prompt(rendering)] = proposal_text(scores)
        expanded: list[tuple[Board, list[str]]] = [(Board(), [])]
        for pos, (state, board) in enumerate(zip(states, boards, strict=True)):
            pruned = prune and state["count"]["impossible"] > 0
            if not pruned and board.steps < task.config.max_fills and pos + 1 < max_visits:
                expanded.append((board, state["actions"]))
            self._prune.append(self._verdicts(board, state["count"]))
        for board, actions in expanded:
            prompt = self._prompt(board.render(clues))
            if prompt in self._propose:
                continue
            children = [s["actions"][-1] for s in states if s["actions"][:-1] == actions]
            lines = [f"{fill} (certain)" for i, fill in enumerate(children) for _ in range(len(children) - i)]
            self._rebuilt[prompt].append("\n".join(lines))
        self._cursor = 0

    def _prompt(self, rendering: str) -> str:
        return _content(self.task.propose_request_for(rendering))

    def _verdicts(self, board: Board, count: dict[str, int]) -> dict[str, str | None]:
        words = [w for w in prompts.PRUNE_WORDS for _ in range(count.get(w, 0))]
        items = prune_items(board)
        if len(words) > len(items):
            raise ValueError(f"a logged state has {len(words)} verdicts for {len(items)} clues")
        words += [None] * (len(items) - len(words))  # type: ignore[list-item]
        return {_content(self.task.prune_request(k, w)): v for (k, w), v in zip(items, words, strict=True)}

    @property
    def remaining(self) -> int:
        return len(self._prune) - self._cursor

    def _miss(self, why: str) -> str:
        if self.strict:
            raise ReplayMissError(why, model=self.name)
        self.misses += 1
        return ""

    def _answer(self, prompt: str) -> str:
        if prompt in self._propose:
            return self._propose[prompt]
        if prompt in self._rebuilt:
            k = self._asked[prompt]
            self._asked[prompt] += 1
            replies = self._rebuilt[prompt]
            if k >= len(replies):
                return self._miss(f"propose prompt asked {k + 1} times, the log holds {len(replies)}")
            self.reconstructed += 1
            return replies[k]
        while self._cursor < len(self._prune) and not self._prune[self._cursor]:
            self._cursor += 1  # a state with no clue to ask about (none in the published logs)
        if self._cursor < len(self._prune) and prompt in self._prune[self._cursor]:
            pending = self._prune[self._cursor]
            verdict = pending.pop(prompt)
            if not pending:
                self._cursor += 1
            return f"(replayed)\n{verdict}" if verdict else "(replayed: no verdict)"
        return self._miss("no logged answer for this prompt (not a proposal, nor a clue of the next logged state)")

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        texts = [self._answer(_content(request))] + [""] * (request.n - 1)
        return GenerationResult(
            model=self.name, completions=tuple(Completion(text=t, finish_reason="stop") for t in texts)
        )


def _board(actions: list[str]) -> Board:
    board = Board()
    for action in actions:
        board = board.fill(parse_fill(action))
    return board
