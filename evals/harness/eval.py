"""What an eval supplies to the harness: the shape of inspect_ai's `Task(dataset, solver, scorer)`, with a run
folder as its log (a header in `run.json`, the samples in `results.jsonl`).

An `Eval` is built from one frozen config (its run identity) and knows:

- its samples and each sample's key (`samples`, `key`; `planned` are the keys this command asks for);
- how to solve one sample through a session (`solve(sample, session) -> record`; `session` makes a plain `Session`
  unless the eval needs a `SearchContext`, e.g. for a search with a budget);
- how a record is read from and written to a results line (`read`, `write`, `record_key`);
- what `run.json` holds (`info_type`, `info(model, identity)`), the status line (`progress`), and
  `summarize` / `render` / `format_summary` for `summary.json`, `report.html` and the printed table.

`evals.harness.run_eval` drives one into a folder; `evals.harness.add_eval_commands` gives it `reasoning NAME run`
and `reasoning NAME report`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Collection, Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from reasoning.engine import Engine
from reasoning.session import Session

from ..progress import StatusLine

__all__ = ["Eval"]

S = TypeVar("S")  # a sample
R = TypeVar("R")  # a record
InfoT = TypeVar("InfoT", bound=BaseModel)  # run.json


class Eval(ABC, Generic[S, R, InfoT]):
    """One eval's samples, solver, records and report (see the module docstring)."""

    name: ClassVar[str]  # the command (`reasoning NAME`), the sessions' tag prefix, the run.json header's eval
    what: ClassVar[str]  # a record in errors: "an audit record"
    info_type: ClassVar[type[BaseModel]]  # run.json's model
    info_what: ClassVar[str]  # run.json in errors: "an audit run file"

    # -- samples and solving ---------------------------------------------------------------------------------------
    @abstractmethod
    def samples(self) -> Iterable[S] | AsyncIterable[S]:
        """The samples to solve, in order (made lazily where that saves memory)."""

    @abstractmethod
    def key(self, sample: S) -> str:
        """The sample's key in the results file (resume skips keys already there)."""

    @abstractmethod
    def planned(self) -> Collection[str]:
        """The keys this command asks for (the status line's total and its resumed count)."""

    @abstractmethod
    async def solve(self, sample: S, session: Session) -> R:
        """Solve one sample through `session`; the record written to the results file."""

    def session(self, engine: Engine, tag: str) -> Session:
        """The session a sample is solved in (override for a `SearchContext`, or a budget)."""
        return Session(engine, tag=tag)

    # -- records ---------------------------------------------------------------------------------------------------
    @abstractmethod
    def read(self, raw: Any) -> R | None:
        """A decoded results line as a record (None: another run's record, skipped); raises `ValueError`,
        `TypeError`, `KeyError` or a pydantic `ValidationError` for a line that is not one."""

    @abstractmethod
    def write(self, record: R) -> str:
        """The record as one line of JSON."""

    @abstractmethod
    def record_key(self, record: R) -> str:
        """The record's sample key."""

    # -- the run and its outputs -----------------------------------------------------------------------------------
    @abstractmethod
    def info(self, model: str, identity: dict[str, Any], previous: InfoT | None) -> InfoT:
        """run.json's content for a run of `model` with `identity` (the options that identify it); `previous` is
        what the folder held (None for a new folder), for what a rerun adds to (e.g. more tasks)."""

    def select(self, records: dict[str, R]) -> list[R]:
        """The records the outputs cover, from all those in the results file by key (default: all, file order)."""
        return list(records.values())

    @classmethod
    def for_report(cls, info: InfoT) -> Eval[S, R, InfoT]:
        """An eval that reads, summarizes and renders the records of a folder whose run.json holds `info` (what
        `reasoning NAME report DIR` uses; no samples)."""
        raise NotImplementedError(f"{cls.__name__} cannot rebuild a report from a folder")

    @abstractmethod
    def progress(self, total: int) -> StatusLine[R]:
        """The status line."""

    @abstractmethod
    def summarize(self, records: Sequence[R], info: InfoT) -> dict[str, Any]:
        """summary.json's content. Must not depend on the order records finished in, nor on the cache."""

    @abstractmethod
    def render(self, records: Sequence[R], summary: dict[str, Any], info: InfoT) -> str:
        """report.html's content (`evals.harness.page`)."""

    @abstractmethod
    def format_summary(self, summary: dict[str, Any]) -> str:
        """The summary as the plain-text table the command prints."""
