"""The SuperICL runner's names, kept for existing callers: the run is the harness's now (`evals.harness.run_eval`
with the `SuperICL` eval, `reasoning supericl run`), and these are thin wrappers over it.

    shots, task = await prepare(dataset, plugin, options)
    results = RunFolder("runs/s").bind(RunInfo(model=engine.model.name, options=options, tasks={"toy": task}))
    records = await run_supericl([(dataset, plugin, shots)], engine, results, options)

A run folder holds `run.json` (`RunInfo`), `results.jsonl` (one record per test item x method), `summary.json`,
`report.html`, and the engine's `cache.sqlite` and `calls.jsonl`. Rerunning resumes: finished keys are skipped, and
a line cut short by a killed process is dropped (its item is redone, the model's answers served from the cache).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prompts.supericl import Shot
from reasoning.engine import Engine
from reasoning.plugins import Plugin

from .. import harness
from ..identity import MODEL
from .data import Dataset
from .eval import Progress, SuperICL, prepare
from .info import RunInfo, Selection, TaskInfo, check_tasks
from .methods import METHODS, Options, Record
from .summary import format_summary, summarize_run

__all__ = [
    "Progress",
    "Record",
    "ResultsFile",
    "RunFolder",
    "RunInfo",
    "Selection",
    "TaskInfo",
    "format_summary",
    "prepare",
    "run_supericl",
    "summarize_run",
    "write_outputs",
]


class ResultsFile(harness.ResultsFile[Record]):
    """`results.jsonl` of SuperICL records (kept for existing callers; the harness opens a folder's results as
    `evals.harness.open_results(SuperICL, folder)`)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, read=Record.model_validate, write=Record.model_dump_json, key=lambda r: r.key,
                         what=SuperICL.what_record())  # fmt: skip


class RunFolder(harness.RunFolder[RunInfo]):
    """A SuperICL run folder (kept for existing callers; the harness opens it as `evals.harness.open_folder`)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, RunInfo, eval_name=SuperICL.name, what=SuperICL.what_info())

    def check(
        self,
        identity: dict[str, Any] | Options,
        model: str | None = None,
        tasks: Mapping[str, TaskInfo] | None = None,
    ) -> None:
        """Refuse an identity (or options, the model and tasks' data) other than the one the folder's records
        were made with (the harness's one rule, then `info.check_tasks`)."""
        if not isinstance(identity, Options):
            return super().check(identity)
        super().check({**SuperICL(identity).identity(), **({MODEL: model} if model is not None else {})})
        old = self.info() if self.has_records() else None
        if old is not None:
            check_tasks(old.tasks, tasks or {})

    def bind(self, info: RunInfo) -> ResultsFile:
        """Check `info` against the folder, record it (tasks merged) in run.json, and open the results file."""
        ev = SuperICL(info.options, tasks=info.tasks, selection=info.selection)
        now = {**info.identity, **ev.identity(), MODEL: info.model}
        super().check(now)
        self.write(ev.info(info.model, now, self.info() if self.has_records() else None))
        return ResultsFile(self.results_path)


async def run_supericl(
    datasets: Sequence[tuple[Dataset, Plugin, Sequence[Shot]]],
    engine: Engine,
    results: ResultsFile,
    options: Options,
    *,
    methods: Sequence[str] = METHODS,
    parallel: int = 8,
    progress: Progress | None = None,
) -> list[Record]:
    """Run every method not already in `results` on every test item of each (dataset, plug-in, examples) through
    the harness's run loop (`SuperICL`: a chunk of items at a time, method by method, `parallel` items in flight
    and at most twice the engine's call concurrency), appending each record as it finishes; return every record in
    the file. Kept for existing callers: `evals.harness.run_eval(SuperICL(...), folder, engine, ...)` also writes
    run.json and the outputs.

    If a model call fails for good, the other items are cancelled and the error raised: what finished is on disk,
    and calls made are in the engine's cache."""
    ev = SuperICL(options, datasets, methods=methods)
    planned = ev.planned()
    progress = progress or Progress(len(planned))
    done = harness.resume(results, planned, progress)
    del planned  # a key per item and method: not held while the run goes on
    await harness.run_samples(ev.pending(done), ev.solve, results, engine=engine, key=ev.key, name=ev.name,
                              progress=progress, parallel=parallel, done=done)  # fmt: skip
    return list(results.load().values())


def write_outputs(folder: RunFolder, records: Sequence[Record], info: RunInfo) -> dict[str, Any]:
    """Write `summary.json` and `report.html` into the folder; return the summary (kept for existing callers:
    `evals.harness.write_outputs`)."""
    return harness.write_outputs(SuperICL.for_report(info), folder, records, info)
