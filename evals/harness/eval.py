"""What an eval supplies to the harness: the shape of inspect_ai's `Task(dataset, solver, scorer)`, with a run
folder as its log (a header in `run.json`, the samples in `results.jsonl`).

An `Eval` is built from one frozen config (its run identity) and knows:

- its samples and each sample's key (`samples`, `key`; `planned` are the keys this command asks for);
- how to solve one sample through a session (`solve(sample, session) -> record`; `session` makes a plain `Session`
  unless the eval needs a `SearchContext`, e.g. for a search with a budget);
- how a record is read from and written to a results line (`read`, `write`, `record_key`);
- what `run.json` holds (`info_type`, `info(model, identity)`), the status line (`progress`), and
  `summarize` / `render` / `format_summary` for `summary.json`, `report.html` and the printed table;
- how a record reads as one sample of an eval log (`log_sample`: its input, target, messages, scores and metadata),
  which `reasoning export DIR --to inspect` writes.

`evals.harness.run_eval` drives one into a folder; `evals.harness.add_eval_commands` gives it `reasoning NAME run`
and `reasoning NAME report`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from reasoning.engine import Engine
from reasoning.errors import InterfaceError
from reasoning.session import Session

from ..progress import StatusLine
from .log_sample import LogSample, as_fields
from .page import escape, page

__all__ = ["Eval", "RunInfo"]

S = TypeVar("S")  # a sample
R = TypeVar("R")  # a record
InfoT = TypeVar("InfoT", bound=BaseModel)  # run.json


class RunInfo(BaseModel):
    """run.json of an eval that records nothing but the model and its identity (the default `info_type`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    identity: dict[str, Any] = {}


class Eval(ABC, Generic[S, R, InfoT]):
    """One eval's samples, solver, records and report (see the module docstring).

    Only `name`, `samples`, `key`, `solve` and `summarize` must be written; the rest have defaults for records that
    are pydantic models with a `key` field (`record_type`), a run.json of the model and identity (`RunInfo`), the
    plain status line, a report of the summary and the records as tables, and the summary as `name  value` lines.
    """

    name: ClassVar[str]  # the command (`reasoning NAME`), the sessions' tag prefix, the run.json header's eval
    record_type: ClassVar[type[BaseModel] | None] = None  # records as pydantic models with a `key` field
    info_type: ClassVar[type[BaseModel]] = RunInfo  # run.json's model
    what: ClassVar[str] = ""  # a record in errors; default "a NAME record"
    info_what: ClassVar[str] = ""  # run.json in errors; default "a NAME run file"

    @classmethod
    def what_record(cls) -> str:
        """A record in errors ("is not an echo record"); override `what` to say it otherwise."""
        return cls.what or f"a {cls.name} record"

    @classmethod
    def what_info(cls) -> str:
        """run.json in errors ("is not an echo run file"); override `info_what` to say it otherwise."""
        return cls.info_what or f"a {cls.name} run file"

    # -- samples and solving ---------------------------------------------------------------------------------------
    @abstractmethod
    def samples(self) -> Iterable[S] | AsyncIterable[S]:
        """The samples to solve, in order (made lazily where that saves memory)."""

    @abstractmethod
    def key(self, sample: S) -> str:
        """The sample's key in the results file (resume skips keys already there)."""

    def planned(self) -> Collection[str]:
        """The keys this command asks for (the status line's total and its resumed count). The default reads
        `samples()` when it is a list or tuple; override it for a generator or an async iterable."""
        samples = self.samples()
        if not isinstance(samples, list | tuple):
            raise InterfaceError(f"{type(self).__name__}.planned(): samples() is lazy; say which keys it makes")
        return [self.key(s) for s in samples]

    @abstractmethod
    async def solve(self, sample: S, session: Session) -> R:
        """Solve one sample through `session`; the record written to the results file."""

    def session(self, engine: Engine, tag: str) -> Session:
        """The session a sample is solved in (override for a `SearchContext`, or a budget)."""
        return Session(engine, tag=tag)

    def pending(self, done: Collection[str]) -> Iterable[S] | AsyncIterable[S]:
        """The samples to solve now, `done` being the keys already in the results file. Default: `samples()`, the
        driver skipping the done ones; an eval whose samples are costly to make leaves them out here."""
        return self.samples()

    def identity(self) -> dict[str, Any]:
        """What the eval adds to the run's identity beside the command's options (`evals.identity`): what its
        config resolved them to where no option says it, e.g. a plug-in file's digest (default: nothing)."""
        return {}

    # -- records ---------------------------------------------------------------------------------------------------
    def read(self, raw: Any) -> R | None:
        """A decoded results line as a record (None: another run's record, skipped); raises `ValueError`,
        `TypeError`, `KeyError` or a pydantic `ValidationError` for a line that is not one. Default: validated as
        `record_type`."""
        if self.record_type is None:
            raise InterfaceError(f"{type(self).__name__}: set record_type or define read/write/record_key")
        return self.record_type.model_validate(raw)  # type: ignore[return-value]

    def write(self, record: R) -> str:
        """The record as one line of JSON (default: a pydantic model's JSON)."""
        if not isinstance(record, BaseModel):
            raise InterfaceError(f"{type(self).__name__}.write: records are not pydantic models; define write")
        return record.model_dump_json()

    def record_key(self, record: R) -> str:
        """The record's sample key (default: its `key` field)."""
        return str(record.key)  # type: ignore[attr-defined]

    # -- the run and its outputs -----------------------------------------------------------------------------------
    def info(self, model: str, identity: dict[str, Any], previous: InfoT | None) -> InfoT:
        """run.json's content for a run of `model` with `identity` (the options that identify it); `previous` is
        what the folder held (None for a new folder), for what a rerun adds to (e.g. more tasks). Default: a
        `RunInfo`."""
        return self.info_type.model_validate({"model": model, "identity": identity})  # type: ignore[return-value]

    def select(self, records: dict[str, R]) -> list[R]:
        """The records the outputs cover, from all those in the results file by key (default: all, file order)."""
        return list(records.values())

    @classmethod
    def for_report(cls, info: InfoT) -> Eval[S, R, InfoT]:
        """An eval that reads, summarizes and renders the records of a folder whose run.json holds `info` (what
        `reasoning NAME report DIR` uses). Default: the class without its `__init__` (no samples), which serves an
        eval whose record methods and outputs need nothing the constructor sets."""
        return cls.__new__(cls)

    def progress(self, total: int) -> StatusLine[R]:
        """The status line (default: done/total, resumed, in flight, seconds)."""
        return StatusLine(total)

    def attach(self, folder: Path) -> None:
        """Called by `write_outputs` with the run folder before the summary and the report are made, for an eval
        whose outputs also read other files of the folder (the audit's human verdicts, `verdicts.jsonl`).
        Default: nothing."""

    @abstractmethod
    def summarize(self, records: Sequence[R], info: InfoT) -> dict[str, Any]:
        """summary.json's content. Must not depend on the order records finished in, nor on the cache."""

    def render(self, records: Sequence[R], summary: dict[str, Any], info: InfoT) -> str:
        """report.html's content (`evals.harness.page`). Default: the summary, then every record, as tables."""
        rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in summary.items())
        dumped = [r.model_dump(mode="json") if isinstance(r, BaseModel) else dict(r) for r in records]  # type: ignore[call-overload]
        head = list(dict.fromkeys(k for d in dumped for k in d))
        cells = "".join("<tr>" + "".join(f"<td>{escape(d.get(k, ''))}</td>" for k in head) + "</tr>" for d in dumped)
        table = "<tr>" + "".join(f"<th>{escape(k)}</th>" for k in head) + "</tr>" + cells
        model = getattr(info, "model", "")
        body = (
            f'<h1>{escape(self.name)} — {escape(model)}</h1><table id="summary">{rows}</table>'
            f'<h2>Records ({len(dumped)})</h2><div class="wide"><table id="records">{table}</table></div>'
        )
        return page(f"{self.name} — {model}", body)

    def format_summary(self, summary: dict[str, Any]) -> str:
        """The summary as the plain-text lines the command prints (default: `name  value`, aligned)."""
        width = max((len(k) for k in summary), default=0)
        return "\n".join(f"{k:<{width}}  {f'{v:.4g}' if isinstance(v, float) else v}" for k, v in summary.items())

    def log_sample(self, record: R, info: InfoT) -> LogSample:
        """The record as one sample of an eval log (`reasoning export`; `evals.harness.log_sample`). Default: its
        key as id and input, its fields as metadata, no messages and no scores; an eval overrides it to say what its
        records asked, answered and scored."""
        key = self.record_key(record)
        return LogSample(id=key, input=key, metadata=as_fields(record))
