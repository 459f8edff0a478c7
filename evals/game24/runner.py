"""Running a method over puzzles without a run folder: kept for existing callers. A run folder is what
`evals.harness.run_eval(Game24Eval(config, puzzles), out, engine, model=...)` (and `reasoning game24 run`) writes.

The run loop is the harness's (`evals.harness.run_samples`): puzzles stream, a bounded number in flight, each
solved in its own `SearchContext`, its record on disk as soon as it finishes, and the status line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from reasoning.engine import Engine

from .. import harness
from .data import Puzzle
from .eval import Game24Eval, Progress, Record, format_summary, read_record, record_key, summarize, write_record
from .methods import MethodConfig

__all__ = ["Progress", "ResultsFile", "format_summary", "run_eval", "summarize"]


class ResultsFile:
    """A game-24 results file, read as one run's records (`MethodConfig.key()`). Kept for existing callers: a
    `Game24Eval` reads and writes its folder's results file (`evals.harness.open_results`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.bind(None)  # drops a partial last line

    def bind(self, run: str | None) -> harness.ResultsFile[Record]:
        """The file as run `run`'s records (None: every record)."""
        return harness.ResultsFile(self.path, read=functools.partial(read_record, run=run), write=write_record,
                                   key=record_key, what=Game24Eval.what)  # fmt: skip

    def records(self, run: str) -> Iterator[Record]:
        """This run's records, read a line at a time."""
        return self.bind(run).records()

    def load(self, run: str) -> dict[int, Record]:
        """This run's records by puzzle (the first of a repeated puzzle wins, as the resume counts it)."""
        return {int(key): record for key, record in self.bind(run).load().items()}

    def done(self, run: str) -> set[int]:
        """The puzzle numbers this run has records for (records are not kept)."""
        return {int(key) for key in self.bind(run).done()}

    def append(self, record: Record) -> None:
        self.bind(None).append(record)


async def run_eval(
    puzzles: Sequence[Puzzle],
    engine_for: Callable[[Puzzle], Engine],
    config: MethodConfig,
    results: ResultsFile,
    *,
    model: str,
    parallel: int = 4,
    progress: Progress | None = None,
    calls: Callable[[], int] | None = None,
) -> list[Record]:
    """Solve every puzzle not already in `results` for this run; return all of this run's records, in puzzle
    order. Kept for existing callers; `evals.harness.run_eval(Game24Eval(...), ...)` runs into a folder.

    At most `parallel` puzzles are in flight; if one fails the others are cancelled and the error is raised (what
    finished is on disk). The status line counts the puzzles done before too, and the model calls in flight of the
    engines the puzzles use (`calls` is no longer read)."""
    ev = Game24Eval(config, puzzles, model=model)
    bound = results.bind(ev.run)
    planned = ev.planned()
    await harness.run_samples(ev.samples(), ev.solve, bound, engine=engine_for, key=ev.key, name=ev.name,
                              progress=progress or ev.progress(len(planned)), parallel=parallel, planned=planned,
                              session=ev.session)  # fmt: skip
    return ev.select(bound.load())
