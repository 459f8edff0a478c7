"""Running a method over many puzzles: a bounded number of puzzles in flight, results appended as they finish,
resume, progress, and the summary table.

Puzzles stream (`evals.streaming`): at most `in_flight(parallel, engine)` are being solved at once, the next one is
started only when one finishes, and a finished puzzle's record (its search tree included) is on disk and out of
memory. While it runs the process holds only the set of puzzle numbers already in the results file (about 80 bytes
a puzzle); the records are read back at the end.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from reasoning.engine import Engine
from reasoning.errors import ConfigurationError

from ..files import append_lines, iter_lines, read_text, repair_tail, write_atomic
from ..identity import MODEL
from ..progress import StatusLine
from ..streaming import in_flight, run_stream
from .data import Puzzle
from .methods import MethodConfig, solve_puzzle

__all__ = ["Progress", "ResultsFile", "record_identity", "recorded_identity", "run_eval", "summarize"]


class ResultsFile:
    """JSON lines, one record per finished puzzle, each tagged with the run's key.

    Each record is written whole and flushed to disk before the next; a line cut short by a killed process is
    dropped when the file is next opened, so a rerun redoes exactly the puzzles that had not finished.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)

    def records(self, run: str) -> Iterator[dict[str, Any]]:
        """This run's records, read a line at a time."""
        for number, line in iter_lines(self.path):
            try:
                record = json.loads(line)
            # ValueError: not JSON; RecursionError: "[[[[..." nested deeper than the json module reads.
            except (ValueError, RecursionError):
                raise ConfigurationError(f"{self.path}:{number} is not valid JSON; fix or move the file") from None
            # An object, and one of this run with a puzzle number (the resume reads it): else a one-line error, not
            # an AttributeError or KeyError from the code that reads it.
            mine = isinstance(record, dict) and record.get("run") == run
            if not isinstance(record, dict) or (mine and not _puzzle_number(record.get("idx"))):
                raise ConfigurationError(f"{self.path}:{number} is not a game-24 record; fix or move the file")
            if mine:
                yield record

    def load(self, run: str) -> dict[int, dict[str, Any]]:
        """This run's records by puzzle (the first of a repeated puzzle wins, as the resume counts it)."""
        records: dict[int, dict[str, Any]] = {}
        for record in self.records(run):
            records.setdefault(int(record["idx"]), record)
        return records

    def done(self, run: str) -> set[int]:
        """The puzzle numbers this run has records for (records are not kept)."""
        return {int(r["idx"]) for r in self.records(run)}

    def append(self, record: dict[str, Any]) -> None:
        append_lines(self.path, [json.dumps(record, separators=(",", ":"))])


def _puzzle_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def recorded_identity(folder: Path) -> dict[str, Any] | None:
    """The identity in the folder's `run.json` (see `evals.identity`); for a folder written before runs recorded
    one, the model its first record names; None for a new folder."""
    path = folder / "run.json"
    if not path.exists():
        first = next(iter_lines(folder / "results.jsonl"), None)
        try:
            return {MODEL: json.loads(first[1])["model"]} if first is not None else None
        except (ValueError, KeyError, TypeError, RecursionError):
            return None  # the results reader names the line
    try:
        found = json.loads(read_text(path, "game-24 run file"))["identity"]
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: "[[[[..." too deep to read
        found = None
    if not isinstance(found, dict):
        raise ConfigurationError(f"{path} is not a game-24 run file; fix or move it")
    return found


def record_identity(folder: Path, identity: dict[str, Any]) -> None:
    write_atomic(folder / "run.json", json.dumps({"version": 1, "identity": identity}, indent=1) + "\n")


class Progress(StatusLine[dict[str, Any]]):
    """One status line: puzzles done (resumed ones too), success rate, calls, tokens, dollars."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        super().__init__(total, stream, period=period)
        self.solved = 0.0
        self.calls_made = 0
        self.tokens = 0
        self.dollars = 0.0

    def count(self, record: dict[str, Any]) -> None:
        super().count(record)
        self.solved += record["success"]
        self.calls_made += record["calls"]
        self.tokens += record["prompt_tokens"] + record["completion_tokens"]
        self.dollars += record["dollars"]

    def fields(self) -> str:
        rate = 100.0 * self.solved / max(1, self.done)
        return f" success {rate:5.1f}% | calls {self.calls_made} | tokens {self.tokens} | ${self.dollars:.4f}"


EngineFor = Callable[[Puzzle], Engine]


async def run_eval(
    puzzles: Sequence[Puzzle],
    engine_for: EngineFor,
    config: MethodConfig,
    results: ResultsFile,
    *,
    model: str,
    parallel: int = 4,
    progress: Progress | None = None,
    calls: Callable[[], int] | None = None,
) -> list[dict[str, Any]]:
    """Solve every puzzle not already in `results` for this run; return all of this run's records, in puzzle
    order. At most `parallel` puzzles are in flight (and at most twice the engine's call concurrency); if one fails
    (a backend error after retries, the engine's budget), the others are cancelled — what finished is on disk, and
    calls already made are in the engine's cache. The status line counts the puzzles done before too, and shows
    the model calls in flight (`calls`)."""
    run = config.key()
    wanted = {p.idx for p in puzzles}
    progress = progress or Progress(len(puzzles))
    done: set[int] = set()
    for record in results.records(run):
        idx = int(record["idx"])
        if idx not in done:  # the first of a repeated puzzle counts, as in `load`
            done.add(idx)
            if idx in wanted:
                progress.resume(record)
    del wanted
    # Each puzzle's engine is made when the puzzle starts (the replay backend makes one per puzzle).
    pending = ((p, engine_for(p)) for p in puzzles if p.idx not in done)

    async def one(job: tuple[Puzzle, Engine]) -> dict[str, Any]:
        puzzle, engine = job
        record = await solve_puzzle(puzzle, engine, config)
        # The record holds the puzzle's spend; its ledger entry would otherwise stay for the rest of the run.
        engine.ledger.by_tag.pop(f"{config.method}/{puzzle.idx}", None)
        record = {"run": run, "model": model, **record}
        results.append(record)
        return record  # counted by the status line once it is out of flight

    async with progress.live(calls):
        first = next(pending, None)
        if first is not None:
            limit = in_flight(parallel, first[1])
            await run_stream(itertools.chain([first], pending), progress.track(one), limit=limit)
    records = results.load(run)
    return [records[p.idx] for p in puzzles if p.idx in records]


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
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
    }


def format_summary(summary: dict[str, Any]) -> str:
    if not summary.get("puzzles"):
        return "no puzzles"
    rows = [
        ("method", summary["method"]),
        ("model", summary["model"]),
        ("puzzles", summary["puzzles"]),
        ("success", f"{100 * summary['success']:.1f}%"),
        ("solved (any output)", summary["any_correct"]),
        ("solved (first output)", summary["first_correct"]),
        ("calls / puzzle", f"{summary['calls_per_puzzle']:.1f}"),
        ("prompt tokens / puzzle", f"{summary['prompt_tokens_per_puzzle']:.0f}"),
        ("completion tokens / puzzle", f"{summary['completion_tokens_per_puzzle']:.0f}"),
        ("dollars", f"{summary['dollars']:.4f}"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
