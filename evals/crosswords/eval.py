"""The crosswords eval on the harness (`evals.harness`): each game solved by one method (`MethodConfig`) in its own
`SearchContext`, a record per game, the summary and the report.

A record is the dict `solve_game` returns with the run's key ("run": `MethodConfig.key()`) and model in front,
written as one compact JSON line. Its sample key is the game's number in mini0505.json, as text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reasoning.engine import Engine, Spend
from reasoning.session import Session
from reasoning.tree import SearchContext

from ..harness import Eval, LogSample, RecordFields, Scored, Turn, as_fields
from .data import Game
from .methods import MethodConfig, solve_game
from .report import figure, label, render_report

__all__ = ["CrosswordsEval", "Record", "RunInfo", "summarize"]

Record = dict[str, Any]


class RunInfo(BaseModel):
    """`run.json`: the options that identify the run (by flag), the model's name and the method's config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: dict[str, Any]
    model: str | None = None
    config: MethodConfig | None = None


class CrosswordsEval(Eval[Game, Record, RunInfo]):
    """`config`'s method on `games` (in order) with the model named `model` (set by `info` when a run starts).
    Built for a report (`for_report`) it has no games and covers every record of its run, by game number."""

    name = "crosswords"
    what = "a crosswords record"
    info_type = RunInfo
    info_what = "a crosswords run file"

    def __init__(self, config: MethodConfig, games: Sequence[Game] = (), *, model: str | None = None) -> None:
        self.config = config
        self.games = list(games)
        self.model = model
        self.run = config.key()

    def samples(self) -> list[Game]:
        return self.games

    def key(self, sample: Game) -> str:
        return str(sample.idx)

    def identity(self) -> dict[str, Any]:
        return {"chat": self.config.chat}

    def session(self, engine: Engine, tag: str) -> SearchContext:
        return SearchContext(engine, tag=tag)

    async def solve(self, sample: Game, session: Session) -> Record:
        if not isinstance(session, SearchContext):
            raise TypeError("a crosswords game is solved in a SearchContext (CrosswordsEval.session)")
        record = await solve_game(sample, session, self.config)
        return {"run": self.run, "model": self.model, **record}

    def read(self, raw: Any) -> Record | None:
        if not isinstance(raw, dict):
            raise TypeError("not an object")
        if raw.get("run") != self.run:
            return None
        _RecordFields.model_validate(raw)  # a pydantic ValidationError (a ValueError) for a hand-edited line
        return raw

    def write(self, record: Record) -> str:
        return json.dumps(record, separators=(",", ":"))

    def record_key(self, record: Record) -> str:
        return str(record["idx"])

    def info(self, model: str, identity: dict[str, Any], previous: RunInfo | None) -> RunInfo:
        """This run's `RunInfo`. A folder whose config differs from this run's only in fields the method does not
        read (written before they were left at their defaults: `MethodConfig.used`) is the same run: its config,
        and its records' key, are kept."""
        if previous is not None and previous.config is not None and previous.config.used() == self.config.used():
            self.config, self.run = previous.config, previous.config.key()
        self.model = model
        return RunInfo(identity=identity, model=model, config=self.config)

    def select(self, records: dict[str, Record]) -> list[Record]:
        if not self.games:
            return sorted(records.values(), key=lambda r: int(r["idx"]))
        return [records[key] for key in self.planned() if key in records]

    @classmethod
    def for_report(cls, info: RunInfo) -> CrosswordsEval:
        return cls(info.config or MethodConfig(), model=info.model)

    def summarize(self, records: Sequence[Record], info: RunInfo) -> dict[str, Any]:
        return summarize(records)

    def render(self, records: Sequence[Record], summary: dict[str, Any], info: RunInfo) -> str:
        return render_report(records, summary, info.model_dump(mode="json"))

    def format_summary(self, summary: dict[str, Any]) -> str:
        """The summary as lines of name and value, named and rounded as the report names and rounds them
        (`report.label`, `report.figure`: success rates as percentages, like the paper's Table 3)."""
        width = max(map(len, map(label, summary)), default=0)
        return "\n".join(f"{label(key):<{width}}  {figure(key, value)}" for key, value in summary.items())

    def log_sample(self, record: Record, info: RunInfo) -> LogSample:
        """The clues as input, the answer grid as target; the model's reply (IO, CoT) or the grid the search filled
        as the reply (the run keeps no prompts, nor a search's proposals); `letter`, `word` and `solved` as scores
        (the output grid as their answer)."""
        grid = "\n".join(record["output"])
        reply = Turn("assistant", record["text"]) if "text" in record else Turn("assistant", grid, "output grid")
        scores = {"letter": Scored(float(record["letter"]), grid), "word": Scored(float(record["word"]), grid),
                  "solved": Scored(bool(record["solved"]), grid)}  # fmt: skip
        cost = Spend(calls=record["calls"], prompt_tokens=record["prompt_tokens"],
                     completion_tokens=record["completion_tokens"], dollars=record["dollars"])  # fmt: skip
        return LogSample(id=str(record["idx"]), input="\n".join(record["clues"]), target="\n".join(record["answer"]),
                         messages=(reply,), scores=scores, cost=cost, metadata=as_fields(record))  # fmt: skip


class _Scores(RecordFields):
    letter: float = Field(ge=0, le=1)
    word: float = Field(ge=0, le=1)
    solved: bool


class _RecordFields(_Scores):
    idx: int
    method: str
    output: list[str]
    answer: list[str] | None = None  # records of earlier versions may lack the answer and the clues
    clues: list[str] | None = None
    calls: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    dollars: float = Field(ge=0)
    best: _Scores | None = None
    visited: list[_Scores] | None = None


def summarize(records: Sequence[Record]) -> dict[str, Any]:
    """Mean letter / word / game success over `records` (fractions), with the DFS's oracle pick (`best_*`, the
    visited state with the most words right) and states visited, and cost per game."""
    n = len(records)
    if n == 0:
        return {"games": 0}
    out: dict[str, Any] = {"method": records[0]["method"], "model": records[0].get("model"), "games": n,
                           "letter": sum(r["letter"] for r in records) / n,
                           "word": sum(r["word"] for r in records) / n,
                           "game": sum(bool(r["solved"]) for r in records) / n}  # fmt: skip
    if all("visited" in r for r in records):
        bests = [r["best"] or {"letter": 0.0, "word": 0.0, "solved": False} for r in records]
        out.update(best_letter=sum(b["letter"] for b in bests) / n, best_word=sum(b["word"] for b in bests) / n,
                   best_game=sum(bool(b["solved"]) for b in bests) / n,
                   visited_per_game=sum(len(r["visited"]) for r in records) / n)  # fmt: skip
    out.update(calls_per_game=sum(r["calls"] for r in records) / n,
               tokens_per_game=sum(r["prompt_tokens"] + r["completion_tokens"] for r in records) / n,
               dollars=sum(r["dollars"] for r in records))  # fmt: skip
    return out
