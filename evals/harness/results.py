"""`results.jsonl`: one record a line, appended whole and flushed as each sample finishes, read back a line at a time.

A line cut short by a killed process is dropped when the file is opened (`repaired` says so), so a rerun redoes
exactly the samples that had not finished. A line that is not JSON, or not a record of this eval, is one
`ConfigurationError` naming the file and line; the file is left as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from reasoning.errors import ConfigurationError, InterfaceError

from ..files import append_lines, iter_lines, repair_tail

__all__ = ["ResultsFile"]

R = TypeVar("R")


class ResultsFile(Generic[R]):
    """An eval's results file.

    `read(obj)` turns one decoded JSON line into a record, or None for a record of this eval that the run does not
    own (skipped); it raises `ValueError`, `TypeError`, `KeyError` or a pydantic `ValidationError` for a line that
    is not one of this eval's records ("is not {what}"). `write(record)` is the record's one-line JSON text and
    `key(record)` its sample key (the resume set). The first record of a repeated key wins, as the resume counts it.

    Opening the file, and reading it, never creates anything: a file (or folder) that is not there reads as no
    records. `append` makes the file, and the folders above it, when it writes the first record.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read: Callable[[Any], R | None],
        write: Callable[[R], str],
        key: Callable[[R], str],
        what: str,
    ) -> None:
        self.path = Path(path)
        self.repaired = repair_tail(self.path)
        self._read, self._write, self.key, self.what = read, write, key, what

    def records(self) -> Iterator[R]:
        """Every record in file order (repeated keys too), read and checked a line at a time."""
        for number, line in iter_lines(self.path):
            try:
                raw = json.loads(line)
            # ValueError: not JSON; RecursionError: "[[[[..." nested deeper than the json module reads.
            except (ValueError, RecursionError):
                raise ConfigurationError(f"{self.path}:{number} is not valid JSON; fix or move the file") from None
            try:
                record = self._read(raw)
            except (ValueError, TypeError, KeyError, ValidationError, RecursionError) as exc:
                raise ConfigurationError(f"{self.path}:{number} is not {self.what} ({_why(exc)}); fix or move the "
                                         "file") from None  # fmt: skip
            if record is not None:
                yield record

    def load(self) -> dict[str, R]:
        """Records by key, in file order (the first of a repeated key wins)."""
        records: dict[str, R] = {}
        for record in self.records():
            records.setdefault(self.key(record), record)
        return records

    def done(self) -> set[str]:
        """The keys the file holds (records are not kept)."""
        return {self.key(r) for r in self.records()}

    def append(self, records: R | Sequence[R]) -> None:
        """Append one record (or several, in one write), each whole, flushed to disk before returning; the file and
        the folders above it are made if they are not there."""
        many: Sequence[R] = records if isinstance(records, list | tuple) else [records]  # type: ignore[list-item]
        lines = [self._write(r) for r in many]
        for line in lines:  # one record a line: a line break in one would make the file unreadable to every rerun
            if not isinstance(line, str) or "\n" in line or "\r" in line:
                raise InterfaceError(f"{self.what}'s write() must return one line of JSON text; it returned "
                                     f"{line!r:.60}")  # fmt: skip
        self.path.parent.mkdir(parents=True, exist_ok=True)  # here, not on opening: a reader makes nothing
        append_lines(self.path, lines)


def _why(exc: Exception) -> str:
    # What is wrong with a line, in a few words: a pydantic error's first field and message ("calls: Input should be
    # a valid integer"), else the exception's own text (its type where it has none), cut to 120 characters.
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        text = f"{where}: {first['msg']}" if where else str(first["msg"])
    else:
        text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


class RecordFields(BaseModel):
    """The base of an eval's check of the record fields its readers use (`Eval.read` validates a decoded line with
    a subclass and keeps the dict): strict types ("1" is not 1, true is not 1), no NaN or infinity, other fields
    ignored. A line that fails is a pydantic `ValidationError`, which `ResultsFile` reports in one line naming the
    field."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)
