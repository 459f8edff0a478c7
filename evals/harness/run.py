"""Running an `Eval` into a run folder, and rebuilding its outputs: what `reasoning NAME run` and `reasoning NAME
report` do, and what a library user calls.

    records, summary = await run_eval(MyEval(config), "runs/mine", engine, identity={"--model": engine.model.name})

`run_eval` refuses a folder whose records were made under another identity (the one rule, `RunFolder.check`),
records run.json, solves the samples the results file lacks (`run_samples`), and writes `summary.json` and
`report.html` from every record the eval selects — also when the run is interrupted (Ctrl-C, a failed call), so a
partial run has its partial report. Rerunning the same command resumes.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from reasoning.engine import Engine
from reasoning.errors import ConfigurationError, InterfaceError

from ..files import write_atomic
from ..identity import MODEL
from .driver import resume, run_samples
from .eval import Eval
from .folder import RunFolder
from .results import ResultsFile

__all__ = ["open_folder", "open_results", "run_eval", "write_outputs"]

S = TypeVar("S")
R = TypeVar("R")
InfoT = TypeVar("InfoT", bound=BaseModel)


def open_folder(ev: Eval[Any, Any, Any] | type[Eval[Any, Any, Any]], path: str | Path) -> RunFolder[Any]:
    """The eval's run folder at `path` (nothing is read or written yet)."""
    return RunFolder(path, ev.info_type, eval_name=ev.name, what=ev.what_info())


def open_results(ev: Eval[Any, R, Any], folder: RunFolder[Any]) -> ResultsFile[R]:
    """The folder's results file, read and written as `ev`'s records (a partial last line is dropped)."""
    return ResultsFile(folder.results_path, read=ev.read, write=ev.write, key=ev.record_key, what=ev.what_record())


def write_outputs(ev: Eval[Any, R, InfoT], folder: RunFolder[Any], records: Sequence[R], info: InfoT) -> dict[str, Any]:
    """Write `summary.json` and `report.html` into the folder (each replaced whole); return the summary. The eval
    reads what else it needs of the folder first (`Eval.attach`)."""
    ev.attach(folder.path)
    summary = ev.summarize(records, info)
    try:
        text = json.dumps(summary, indent=1, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:  # NaN would be written as `NaN`, which is not JSON; a set, not at all
        raise InterfaceError(f"{ev.name}: summarize() must return what JSON holds (finite numbers, strings, lists, "
                             f"dicts); {exc}") from None  # fmt: skip
    write_atomic(folder.path / "summary.json", text + "\n")
    write_atomic(folder.path / "report.html", ev.render(records, summary, info))
    return summary


def _unique(ev: Eval[Any, Any, Any], keys: Collection[str]) -> None:
    """`InterfaceError` if two samples share a key (only the first's record would count, the other solved anew on
    every run)."""
    twice = next((key for key, n in Counter(keys).items() if n > 1), None)
    if twice is not None:
        raise InterfaceError(f"{ev.name}: two samples have the key {twice!r}; each sample's key must be its own")


def _as_stored(identity: dict[str, Any]) -> dict[str, Any]:
    """`identity` as run.json stores it (JSON: tuples become lists, paths strings), so a rerun compares what was
    stored with what it would store; `ConfigurationError` for a value that is not a finite number (NaN is unequal
    to itself: the run would refuse its own rerun)."""
    try:
        stored: dict[str, Any] = json.loads(json.dumps(identity, default=str, allow_nan=False))
    except ValueError:
        bad = [key for key, value in identity.items() if isinstance(value, float) and not math.isfinite(value)]
        raise ConfigurationError(f"{', '.join(map(str, bad)) or 'an option'} must be a finite number") from None
    return stored


async def run_eval(
    ev: Eval[S, R, InfoT],
    out: str | Path,
    engine: Engine | Callable[[S], Engine],
    *,
    model: str,
    identity: dict[str, Any] | None = None,
    parallel: int = 8,
    backend: str | None = None,
) -> tuple[list[R], dict[str, Any] | None]:
    """Run `ev` into the folder `out` on `engine` (or one engine per sample); return the records the outputs were
    made from and the summary (None when no sample has finished).

    `identity` (the options that make a record what it is; `ev.identity()` and the model's name under `--model`
    are added to it) must match the folder's once it holds a record, else `ConfigurationError` and nothing is
    written. The samples come from `ev.pending(done)`, `done` the keys already in the results file. The outputs
    cover the records `ev.select` picks from the file. `backend` (what a local model computes in and why) goes in
    run.json's header. Errors from the samples are raised after the outputs are written."""
    folder = open_folder(ev, out)
    now = _as_stored({**(identity or {}), **ev.identity(), MODEL: model})
    with folder.lock():  # one process at a time appends to a folder's results
        folder.check(now)
        info = ev.info(model, now, folder.info() if folder.has_records() else None)
        folder.write(info, backend)
        results = open_results(ev, folder)
        if results.repaired:
            print(f"repaired {results.path}: dropped a partial last line", file=sys.stderr)
        planned = ev.planned()
        _unique(ev, planned)
        progress = ev.progress(len(planned))
        records: list[R] = []
        summary: dict[str, Any] | None = None
        try:
            done = resume(results, planned, progress)
            del planned  # a key per sample, not held while the run goes on
            await run_samples(ev.pending(done), ev.solve, results, engine=engine, key=ev.key, name=ev.name,
                              progress=progress, parallel=parallel, session=ev.session, done=done)  # fmt: skip
        finally:
            # Also when interrupted: the outputs say what is on disk.
            found = results.load()
            records = ev.select(found)
            if records:
                summary = write_outputs(ev, folder, records, info)
    return records, summary
