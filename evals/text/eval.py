"""The creative-writing eval on the harness (`evals.harness`): each task solved by one method (`MethodConfig`) in its
own `SearchContext`, its outputs scored by the coherency judge, a record per task, the status line, the summary and
the report.

The metric is the paper's (Section 4.2): the judge's coherency score, 1-10, averaged over its samples, over a task's
outputs, then over the tasks, given here with a 95% Student-t interval over tasks. Paper, GPT-4 writing and judging:
ToT 7.56, CoT 6.93, IO 6.19. A run without the judge (`--judge none`; always the replay, whose log holds no
scores) reports no score and says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import IO, Any

from pydantic import BaseModel, ConfigDict

from reasoning.engine import Engine, Spend
from reasoning.errors import ConfigurationError
from reasoning.session import Session
from reasoning.tree import SearchContext

from ..harness import Eval, LogSample, Scored, Turn, as_fields
from ..progress import StatusLine
from .data import Sentences
from .judge import mean_interval
from .methods import MethodConfig, solve_task
from .record import Record
from .report import render_report

__all__ = ["NOT_JUDGED", "PAPER", "REPLAY_NOT_JUDGED", "Progress", "RunInfo", "TextEval", "format_summary", "summarize"]

PAPER = {"tot-bfs": 7.56, "cot": 6.93, "io": 6.19}  # GPT-4's coherency, judged by GPT-4 (Section 4.2)
NOT_JUDGED = "not judged (--judge none)"
REPLAY_NOT_JUDGED = "not judged: the replayed log holds no coherency scores, so the judge cannot be replayed"


class RunInfo(BaseModel):
    """`run.json`: the options that identify the run (keyed by flag, `evals.identity`), the model's name, the
    method's config, and whether the outputs are a replay of the published run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: dict[str, Any]
    model: str
    config: dict[str, Any] = {}
    replay: bool = False


class Progress(StatusLine[Record]):
    """One status line: tasks done (resumed ones too), the mean coherency so far, calls and tokens."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        super().__init__(total, stream, period=period)
        self.scores: list[float] = []
        self.calls_made = self.tokens = 0

    def count(self, record: Record) -> None:
        super().count(record)
        if record.coherency is not None:
            self.scores.append(record.coherency)
        self.calls_made += record.calls
        self.tokens += record.prompt_tokens + record.completion_tokens

    def fields(self) -> str:
        score = f"{sum(self.scores) / len(self.scores):.2f}" if self.scores else "-"
        return f" coherency {score} | calls {self.calls_made} | tokens {self.tokens}"


class TextEval(Eval[Sentences, Record, RunInfo]):
    """`config`'s method on `tasks` (in order). Built from a run folder's `RunInfo` (`for_report`) it has no tasks
    and covers every record of the folder, by row."""

    name = "text"
    what = "a creative-writing record"
    info_what = "a creative-writing run file"
    record_type = Record
    info_type = RunInfo

    def __init__(
        self,
        config: MethodConfig,
        tasks: Sequence[Sentences] = (),
        *,
        replay: bool = False,
        log: Mapping[int, dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.tasks = list(tasks)
        self.replay = replay
        self.log = dict(log or {})  # the replayed run's records by row: each record says if it kept the log's output
        self.model: str | None = None

    def samples(self) -> list[Sentences]:
        return self.tasks

    def key(self, sample: Sentences) -> str:
        return str(sample.idx)

    def identity(self) -> dict[str, Any]:
        """Whether prompts go as chat messages, which `--prompt-format auto` resolves by the backend and the server's
        URL (a chat and a raw-text prompt make different records), as game 24, the audit and SuperICL record it."""
        return {"chat": self.config.chat}

    def session(self, engine: Engine, tag: str) -> SearchContext:
        return SearchContext(engine, tag=tag)

    async def solve(self, sample: Sentences, session: Session) -> Record:
        if not isinstance(session, SearchContext):
            raise TypeError("a creative-writing task is solved in a SearchContext (TextEval.session)")
        record = await solve_task(sample, session, self.config)
        logged = self.log.get(sample.idx)
        as_logged = None if logged is None else record.outputs == logged.get("ys")
        return record.model_copy(update={"model": self.model, "as_logged": as_logged})

    def info(self, model: str, identity: dict[str, Any], previous: RunInfo | None) -> RunInfo:
        self.model = model
        return RunInfo(identity=identity, model=model, config=dataclasses.asdict(self.config), replay=self.replay)

    def select(self, records: dict[str, Record]) -> list[Record]:
        """This command's tasks in order; for a report, every record by row."""
        if not self.tasks:
            return sorted(records.values(), key=lambda r: r.idx)
        return [records[key] for key in self.planned() if key in records]

    @classmethod
    def for_report(cls, info: RunInfo) -> TextEval:
        try:
            config = MethodConfig(**info.config)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"run.json's config is not a creative-writing method's ({exc})") from None
        return cls(config, replay=info.replay)

    def progress(self, total: int) -> Progress:
        return Progress(total)

    def summarize(self, records: Sequence[Record], info: RunInfo) -> dict[str, Any]:
        return summarize(records, info)

    def render(self, records: Sequence[Record], summary: dict[str, Any], info: RunInfo) -> str:
        return render_report(records, summary, info.config)

    def format_summary(self, summary: dict[str, Any]) -> str:
        return format_summary(summary)

    def log_sample(self, record: Record, info: RunInfo) -> LogSample:
        """The task's four sentences as input; each output as a reply (the run keeps no prompts); `coherency` as
        the score where the judge gave one (the judge's samples per output are in the metadata)."""
        named = len(record.outputs) > 1
        said = tuple(Turn("assistant", o, f"output {i}" if named else None) for i, o in enumerate(record.outputs, 1))
        scores = {"coherency": Scored(record.coherency)} if record.coherency is not None else {}
        cost = Spend(calls=record.calls, prompt_tokens=record.prompt_tokens,
                     completion_tokens=record.completion_tokens, dollars=record.dollars)  # fmt: skip
        return LogSample(id=record.key, input=record.sentences, messages=said, scores=scores, cost=cost,
                         metadata=as_fields(record))  # fmt: skip


def summarize(records: Sequence[Record], info: RunInfo) -> dict[str, Any]:
    """The coherency over `records` (the mean of the tasks' scores with its 95% interval, the tasks scored, the
    paper's figure for the method) and the cost a task (as if nothing were cached: the same on a rerun)."""
    n = len(records)
    method = str(info.config.get("method", records[0].method if records else ""))
    out: dict[str, Any] = {"method": method, "model": info.model, "tasks": n}
    if n == 0:
        return out
    scored = [r.coherency for r in records if r.coherency is not None]
    if not info.config.get("judge", True):
        out["coherency"] = REPLAY_NOT_JUDGED if info.replay else NOT_JUDGED
    else:
        interval = mean_interval(scored)
        out["coherency"] = sum(scored) / len(scored) if scored else None
        out["coherency_low"], out["coherency_high"] = interval if interval else (None, None)
        out["tasks_scored"] = len(scored)
        out["outputs_unscored"] = sum(1 for r in records for s in r.scores if all(v is None for v in s))
    out["paper_gpt4_coherency"] = PAPER.get(method)
    if info.replay:
        out["replay_kept_as_logged"] = sum(1 for r in records if r.as_logged)
    out["tasks_without_output"] = sum(1 for r in records if not r.outputs)
    out["calls_per_task"] = sum(r.calls for r in records) / n
    out["prompt_tokens_per_task"] = sum(r.prompt_tokens for r in records) / n
    out["completion_tokens_per_task"] = sum(r.completion_tokens for r in records) / n
    out["dollars"] = sum(r.dollars for r in records)
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as the table `reasoning text run` prints."""
    if not summary.get("tasks"):
        return "no tasks"
    score = summary.get("coherency")
    if isinstance(score, float):
        low, high = summary.get("coherency_low"), summary.get("coherency_high")
        shown = f"{score:.2f}" + (f" (95% interval {low:.2f}-{high:.2f})" if low is not None else "")
        shown += f", {summary['tasks_scored']} of {summary['tasks']} tasks scored"
    else:
        shown = str(score) if score is not None else "no output could be scored"
    rows = [
        ("method", summary["method"]),
        ("model", summary["model"]),
        ("tasks", summary["tasks"]),
        ("coherency (1-10)", shown),
        ("paper (GPT-4)", summary.get("paper_gpt4_coherency")),
        *(
            [("kept as logged (replay)", summary["replay_kept_as_logged"])]
            if "replay_kept_as_logged" in summary
            else []
        ),
        ("tasks without output", summary["tasks_without_output"]),
        ("calls / task", f"{summary['calls_per_task']:.1f}"),
        ("prompt tokens / task", f"{summary['prompt_tokens_per_task']:.0f}"),
        ("completion tokens / task", f"{summary['completion_tokens_per_task']:.0f}"),
        ("dollars", f"{summary['dollars']:.4f}"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
