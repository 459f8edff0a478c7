"""The game-of-24 eval on the harness (`evals.harness`): each puzzle solved by one method (`MethodConfig`) in its
own `SearchContext`, a record per puzzle, the status line, the summary table and the report.

A record is the dict `solve_puzzle` returns with the run's key ("run": `MethodConfig.key()`) and model in front,
written as one compact JSON line and read back as the same dict. Its sample key is the puzzle number as text. Its
cost is `spend` and `paid` (`reasoning.engine.Spend`'s five fields each; see `solve_puzzle`); a record of an earlier
results file lacks them and still reads and resumes, since the summary, the status line and the report read the flat
`calls`, `prompt_tokens`, `completion_tokens` and `dollars` every record has.
`run.json` holds `RunInfo`; a folder written when it held only `version` and `identity` still reads (and resumes).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import IO, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from reasoning.engine import Engine, Spend
from reasoning.errors import ConfigurationError
from reasoning.session import Session
from reasoning.tree import SearchContext

from ..harness import Eval, LogSample, RecordFields, Scored, Turn, as_fields
from ..identity import MODEL
from ..progress import StatusLine
from .data import Puzzle
from .methods import MethodConfig, solve_puzzle
from .report import render_report, summary_rows

__all__ = [
    "Game24Eval",
    "Progress",
    "Record",
    "RunInfo",
    "format_summary",
    "read_record",
    "record_key",
    "summarize",
    "write_record",
]

Record = dict[str, Any]
# How thoughts are read and answers written: resolved from `auto` by backend, so checked on the config itself.
_READING = ("thoughts", "answer", "propose_samples")


class RunInfo(BaseModel):
    """`run.json`: the options that identify the run, keyed by flag (`evals.identity`), the model's name and the
    method's config (None in a folder written before run.json held them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    identity: dict[str, Any]
    model: str | None = None
    config: MethodConfig | None = None


class Progress(StatusLine[Record]):
    """One status line: puzzles done (resumed ones too), success rate, calls, tokens, dollars."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        super().__init__(total, stream, period=period)
        self.solved = 0.0
        self.calls_made = 0
        self.tokens = 0
        self.dollars = 0.0

    def count(self, record: Record) -> None:
        super().count(record)
        self.solved += record["success"]
        self.calls_made += record["calls"]
        self.tokens += record["prompt_tokens"] + record["completion_tokens"]
        self.dollars += record["dollars"]

    def fields(self) -> str:
        rate = 100.0 * self.solved / max(1, self.done)
        return f" success {rate:5.1f}% | calls {self.calls_made} | tokens {self.tokens} | ${self.dollars:.4f}"


class Game24Eval(Eval[Puzzle, Record, RunInfo]):
    """`config`'s method on `puzzles` (in order) with the model named `model` (set by `info` when a run starts).

    Built from a run folder's `RunInfo` (`for_report`) it has no puzzles and covers every record of the run, by
    puzzle number; for a run.json with no config (an old folder), every record in the file (`every_run`)."""

    name = "game24"
    what = "a game-24 record"
    info_type = RunInfo
    info_what = "a game-24 run file"

    def __init__(
        self, config: MethodConfig, puzzles: Sequence[Puzzle] = (), *, model: str | None = None, every_run: bool = False
    ) -> None:
        self.config = config
        self.puzzles = list(puzzles)
        self.model = model
        self.run = None if every_run else config.key()  # the records' "run"; None: every record in the file

    def samples(self) -> list[Puzzle]:
        return self.puzzles

    def key(self, sample: Puzzle) -> str:
        return str(sample.idx)

    def identity(self) -> dict[str, Any]:
        """Whether prompts are sent as chat messages, which `--prompt-format auto` resolves by the backend and the
        server's URL (a chat and a raw-text prompt make different records), as the audit and SuperICL record it."""
        return {"chat": self.config.chat}

    def session(self, engine: Engine, tag: str) -> SearchContext:
        """The puzzle's search context, with the per-puzzle budget (`--budget-*`)."""
        return SearchContext(engine, tag=tag, budget=self.config.budget)

    async def solve(self, sample: Puzzle, session: Session) -> Record:
        if not isinstance(session, SearchContext):
            raise TypeError("a game-24 puzzle is solved in a SearchContext (Game24Eval.session)")
        record = await solve_puzzle(sample, session, self.config)
        return {"run": self.run, "model": self.model, **record}

    # -- records -----------------------------------------------------------------------------------------------------
    def read(self, raw: Any) -> Record | None:
        return read_record(raw, self.run)

    def write(self, record: Record) -> str:
        return write_record(record)

    def record_key(self, record: Record) -> str:
        return record_key(record)

    # -- the run and its outputs -------------------------------------------------------------------------------------
    def info(self, model: str, identity: dict[str, Any], previous: RunInfo | None) -> RunInfo:
        """This run's `RunInfo`. `ConfigurationError` when the folder's results were made with other `--thoughts`,
        `--answer` or `--propose-samples` than this run resolves to (the identity holds the options as typed, and
        `auto` resolves by backend; a folder written before these options existed holds the paper's). A folder whose
        config differs from this run's only in fields the method does not read (written before they were left at
        their defaults: `MethodConfig.used`) is the same run: its config, and its records' key, are kept."""
        if previous is not None and previous.config is not None:
            then, now = previous.config.used(), self.config.used()
            differ = [f"--{name.replace('_', '-')} {getattr(then, name)} there, {getattr(now, name)} now"
                      for name in _READING if getattr(then, name) != getattr(now, name)]  # fmt: skip
            if differ:
                raise ConfigurationError(
                    f"the run folder holds results made with other options ({'; '.join(differ)}); rerun with the "
                    "same options to resume, or use another --out"
                )
            if then == now and self.run is not None:
                self.config, self.run = previous.config, previous.config.key()
        self.model = model  # the records' "model"
        return RunInfo(identity=identity, model=model, config=self.config)

    def select(self, records: dict[str, Record]) -> list[Record]:
        """This command's puzzles in order; for a report, every record by puzzle number."""
        if not self.puzzles:
            return sorted(records.values(), key=lambda r: int(r["idx"]))
        return [records[key] for key in self.planned() if key in records]

    @classmethod
    def for_report(cls, info: RunInfo) -> Game24Eval:
        model = info.model or info.identity.get(MODEL)
        return cls(info.config or MethodConfig(), model=model, every_run=info.config is None)

    def progress(self, total: int) -> Progress:
        return Progress(total)

    def summarize(self, records: Sequence[Record], info: RunInfo) -> dict[str, Any]:
        return dict(sorted(summarize(records).items()))  # summary.json's keys sorted, as they always were

    def render(self, records: Sequence[Record], summary: dict[str, Any], info: RunInfo) -> str:
        config = info.model_dump(mode="json")["config"]
        meta = {"config": config, "run": info.config.key() if info.config else None, "model": info.model}
        return render_report(records, summarize(records), meta)  # the table in the summary's own order

    def format_summary(self, summary: dict[str, Any]) -> str:
        return format_summary(summary)

    def log_sample(self, record: Record, info: RunInfo) -> LogSample:
        """The puzzle as input; each final output as a reply (the run keeps no prompts); `success`, `any_correct`
        and `first_correct` as scores, the first output's expression and the checker's reason beside them."""
        outputs = [str(o) for o in record["outputs"]]
        first = (record.get("verdicts") or [{}])[0]
        answer, why = first.get("expression") or (outputs[0] if outputs else None), first.get("reason")
        named = len(outputs) > 1  # several outputs: each reply says which
        turns = tuple(Turn("assistant", o, f"output {i}" if named else None) for i, o in enumerate(outputs, 1))
        scores = {"success": Scored(float(record["success"]), answer, why),
                  "first_correct": Scored(bool(record["first_correct"]), answer, why),
                  "any_correct": Scored(bool(record["any_correct"]))}  # fmt: skip
        cost = Spend(calls=record["calls"], prompt_tokens=record["prompt_tokens"],
                     completion_tokens=record["completion_tokens"], dollars=record["dollars"])  # fmt: skip
        return LogSample(id=record_key(record), input=str(record["puzzle"]), messages=turns, scores=scores,
                         cost=cost, metadata=as_fields(record))  # fmt: skip


class _VerdictFields(RecordFields):
    correct: bool
    reason: str
    expression: str | None = None
    value: str | None = None


class _TreeNode(RecordFields):
    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=True)  # a value may be any float

    id: int
    values: list[float] | None = None  # the report writes each with :g


class _Tree(RecordFields):
    nodes: list[_TreeNode]
    edges: list[Annotated[list[int], Field(min_length=2, max_length=2)]]  # [parent, child]


class _RecordFields(RecordFields):
    idx: int
    puzzle: str
    method: str
    outputs: list[str]
    verdicts: list[_VerdictFields]
    success: float = Field(ge=0, le=1)
    any_correct: bool
    first_correct: bool
    calls: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    dollars: float = Field(ge=0)
    stopped: str
    seconds: float | None = Field(default=None, ge=0)
    tree: _Tree | None = None  # a search's (the report draws it)


def read_record(raw: Any, run: str | None) -> Record | None:
    """A decoded results line as a record of run `run` (None: of any run); None for another run's record.
    `TypeError` for a line that is not an object; a pydantic `ValidationError` (a `ValueError`) for a record of the
    run whose fields that readers use are missing or of the wrong type (`_RecordFields`: a hand-edited line), or
    whose outputs and verdicts differ in number."""
    if not isinstance(raw, dict):
        raise TypeError("not an object")
    if run is not None and raw.get("run") != run:
        return None
    checked = _RecordFields.model_validate(raw)
    if len(checked.outputs) != len(checked.verdicts):
        raise ValueError("outputs and verdicts differ in number")
    return raw


def write_record(record: Record) -> str:
    """The record as one compact line of JSON (read back as the same dict)."""
    return json.dumps(record, separators=(",", ":"))


def record_key(record: Record) -> str:
    """The record's sample key: its puzzle number as text."""
    return str(record["idx"])


def summarize(records: Sequence[Record]) -> dict[str, Any]:
    """Success and cost over `records` (cost as if nothing were cached: the same on a rerun or a resume)."""
    n = len(records)
    if n == 0:
        return {"puzzles": 0}
    total = {k: sum(r[k] for r in records) for k in ("calls", "prompt_tokens", "completion_tokens", "dollars")}
    return {
        "method": records[0]["method"],
        "model": records[0].get("model"),
        "puzzles": n,
        "success": sum(r["success"] for r in records) / n,
        "any_correct": sum(r["any_correct"] for r in records),
        "first_correct": sum(r["first_correct"] for r in records),
        "calls_per_puzzle": total["calls"] / n,
        "prompt_tokens_per_puzzle": total["prompt_tokens"] / n,
        "completion_tokens_per_puzzle": total["completion_tokens"] / n,
        "dollars": total["dollars"],
        **({"states_valued": valued} if (valued := states_valued(records)) else {}),
    }


def states_valued(records: Sequence[Record]) -> dict[str, int]:
    """How the searches' states were valued, counted over the records' trees (IO and CoT have none: empty):
    "rule" (decided by the numbers left: one number, 24 or not), "plug-in" (a cascade's confident cheap evaluator),
    "escalated" (a cascade's unsure states, sent to the model), "evaluator" (the run's evaluator, no cascade).
    A duplicate state (valued as its first copy, not scored again) is not counted."""
    names = {"rule": "rule", "cheap": "plug-in", "expensive": "escalated"}
    counts: Counter[str] = Counter()
    for record in records:
        for node in (record.get("tree") or {}).get("nodes", ()):
            if node.get("value") is not None and not node.get("duplicate") and node.get("depth", 0) > 0:
                counts[names.get(node.get("evaluated_by"), "evaluator")] += 1
    return {name: counts[name] for name in ("rule", "plug-in", "escalated", "evaluator") if counts[name]}


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as the table `reasoning game24 run` prints (`report.summary_rows`, as the report shows it)."""
    rows = summary_rows(summary)
    if not rows:
        return "no puzzles"
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
