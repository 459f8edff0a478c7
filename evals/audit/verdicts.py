"""Human verdicts on hinted pairs: `verdicts.jsonl` in a run folder, one JSON object a line,

    {"key": "<record key>", "verbalized": true, "note": "cites the metadata", "at": "2025-06-01T12:00:00+00:00"}

`key` is a record's key in `results.jsonl`; `verbalized` whether the hinted explanation says it uses the hint; `note`
is optional. The file is appended to (`record_verdict`, one line a verdict, on disk before it returns) and never
rewritten: the latest line for a key wins, so a verdict is changed by recording another. `read_verdicts` reads it;
a line that is not such an object is one `ConfigurationError` naming the file and line. A verdict whose key is not
in the results is kept (the summary lists it as unknown), never dropped in silence.

Only a pair whose explanation can verbalize a hint that moved its answer gets a verdict: a hint's record
(`evals.audit.hints.HINT_NAMES`), asked with chain of thought, whose answer switched to the hint
(`evals.audit.verbalization.switched_to_hint`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from reasoning.errors import ConfigurationError

from .. import harness
from ..files import append_lines, iter_lines
from .biases import Setting
from .hints import HINT_NAMES
from .options import RunInfo
from .records import Entry, ProbeRecord
from .verbalization import switched_to_hint

__all__ = ["VERDICTS_FILE", "Verdict", "read_verdicts", "record_verdict"]

VERDICTS_FILE = "verdicts.jsonl"


class Verdict(BaseModel):
    """One human verdict: does the explanation of the pair `key` verbalize the hint? `at` is when it was recorded
    (ISO 8601); `note` says why, or is None."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    key: str
    verbalized: bool
    note: str | None = None
    at: str

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not value:
            raise ValueError("is empty")
        return value

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        datetime.fromisoformat(value)  # ValueError: not an ISO 8601 time
        return value


def read_verdicts(folder: str | Path) -> dict[str, Verdict]:
    """The verdicts in `folder/verdicts.jsonl` by key, the latest line of each key winning; empty when there is no
    file. `ConfigurationError` naming the file and line for a line that is not JSON or not a verdict (a field
    missing, of the wrong type, or unknown; `at` not an ISO time), or for bytes that are not UTF-8."""
    path = Path(folder) / VERDICTS_FILE
    found: dict[str, Verdict] = {}
    for number, line in iter_lines(path):
        try:
            raw = json.loads(line)
        except (ValueError, RecursionError):
            raise ConfigurationError(f"{path}:{number} is not valid JSON; fix or delete the line") from None
        try:
            verdict = Verdict.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "the line"
            raise ConfigurationError(f"{path}:{number} is not a verdict ({where}: {first['msg'].lower()}); a line "
                                     'is {"key": ..., "verbalized": true|false, "note": ..., "at": ISO time}'
                                     ) from None  # fmt: skip
        found.pop(verdict.key, None)  # the latest line wins, and takes its key's place in file order
        found[verdict.key] = verdict
    return found


def _refusal(entry: Entry | None, key: str, results: Path) -> str | None:
    """Why `key` cannot take a verdict (one line), or None."""
    if entry is None:
        return f"{key!r} is not a record of {results}"
    r = entry.record
    if not isinstance(r, ProbeRecord) or r.bias not in HINT_NAMES:
        name = r.bias if isinstance(r, ProbeRecord) else "BBQ"
        return f"{key!r} is a {name} record, not a hint's ({', '.join(HINT_NAMES)}): verdicts are on hinted pairs"
    if not Setting.parse(r.setting).cot:
        return f"{key!r} was answered without chain of thought ({r.setting}): there is no explanation to judge"
    if not switched_to_hint(r):
        return (f"{key!r} did not switch to the hint's answer: only pairs whose answer moved to the hint are "
                "scored")  # fmt: skip
    return None


def record_verdict(folder: str | Path, key: str, verbalized: bool, note: str | None = None) -> Verdict:
    """Append a verdict on the pair `key` of the audit run in `folder` to its `verdicts.jsonl` (on disk before
    returning; the latest line of a key wins) and return it.

    `ConfigurationError`, one line, when `folder` is not an audit run folder (nothing is written in it) or another
    process holds it (a run appending), when `key` is not one of its records, or not a hinted chain-of-thought pair
    whose answer switched to the hint, or when its verdicts.jsonl holds a line that is not a verdict (`read_verdicts`;
    nothing is added after it). A last line written by hand without its newline keeps its line."""
    run = harness.RunFolder(folder, RunInfo, eval_name="audit", what="an audit run file")
    if not run.path.exists():
        raise ConfigurationError(f"no such folder: {run.path}")
    if not run.path.is_dir():
        raise ConfigurationError(f"{run.path} is not a folder; give the --out folder of an audit run")
    if run.info() is None:  # before the lock, whose .lock file would be left in a folder that holds no run
        raise ConfigurationError(f"{run.path} is not an audit run folder (no run.json)")
    with run.lock():  # not while a run appends to results.jsonl (its last line would look cut short)
        results = harness.ResultsFile(run.results_path, read=Entry.parse, write=Entry.line, key=lambda e: e.key,
                                      what="an audit record")  # fmt: skip
        entry = next((e for e in results.records() if e.key == key), None)
        refusal = _refusal(entry, key, run.results_path)
        if refusal is not None:
            raise ConfigurationError(refusal)
        verdict = Verdict(key=key, verbalized=verbalized, note=note or None,
                          at=datetime.now(UTC).isoformat(timespec="seconds"))  # fmt: skip
        path = run.path / VERDICTS_FILE
        read_verdicts(run.path)  # a line that is not a verdict: refused before a line is added after it
        # A last line written by hand without its newline: the verdict starts a line of its own, not glued to it.
        append_lines(path, [("\n" if _unterminated(path) else "") + verdict.model_dump_json(exclude_none=True)])
    return verdict


def _unterminated(path: Path) -> bool:
    """Whether the file `path` ends in a line without its newline."""
    if not path.is_file():
        return False
    with path.open("rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return False
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"
