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

from ..files import append_lines, iter_lines, repair_tail
from ..progress import StatusLine
from ..streaming import in_flight, run_stream
from .data import Puzzle
from .methods import MethodConfig, solve_puzzle

__all__ = ["Progress", "ResultsFile", "run_eval", "summarize"]


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
            except json.JSONDecodeError:
                raise ValueError(f"{self.path}:{number} is not valid JSON; fix or move the file") from None
            if record.get("run") == run:
                yield record

    def load(self, run: str) -> dict[int, dict[str, Any]]:
        return {int(r["idx"]): r for r in self.records(run)}

    def done(self, run: str) -> set[int]:
        """The puzzle numbers this run has records for (records are not kept)."""
        return {int(r["idx"]) for r in self.records(run)}

    def append(self, record: dict[str, Any]) -> None:
        append_lines(self.path, [json.dumps(record, separators=(",", ":"))])


class Progress(StatusLine):
    """One status line: puzzles done, running success rate, calls, tokens, dollars."""

    def __init__(self, total: int, already: int = 0, stream: IO[str] | None = None) -> None:
        super().__init__(total, stream)
        self.done = already
        self.solved = 0.0
        self.calls = 0
        self.tokens = 0
        self.dollars = 0.0

    def update(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.solved += record["success"]
        self.calls += record["calls"]
        self.tokens += record["prompt_tokens"] + record["completion_tokens"]
        self.dollars += record["dollars"]
        rate = 100.0 * self.solved / max(1, self.done)
        self.show(self.done, f" success {rate:5.1f}% | calls {self.calls} | tokens {self.tokens} | ${self.dollars:.4f}")


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
) -> list[dict[str, Any]]:
    """Solve every puzzle not already in `results` for this run; return all of this run's records, in puzzle
    order. At most `parallel` puzzles are in flight (and at most twice the engine's call concurrency); if one fails
    (a backend error after retries, the engine's budget), the others are cancelled — what finished is on disk, and
    calls already made are in the engine's cache."""
    run = config.key()
    done = results.done(run)
    progress = progress or Progress(len(puzzles), already=sum(p.idx in done for p in puzzles))
    # Each puzzle's engine is made when the puzzle starts (the replay backend makes one per puzzle).
    pending = ((p, engine_for(p)) for p in puzzles if p.idx not in done)

    async def one(job: tuple[Puzzle, Engine]) -> None:
        puzzle, engine = job
        record = await solve_puzzle(puzzle, engine, config)
        # The record holds the puzzle's spend; its ledger entry would otherwise stay for the rest of the run.
        engine.ledger.by_tag.pop(f"{config.method}/{puzzle.idx}", None)
        record = {"run": run, "model": model, **record}
        results.append(record)
        progress.update(record)

    try:
        first = next(pending, None)
        if first is not None:
            limit = in_flight(parallel, first[1])
            await run_stream(itertools.chain([first], pending), one, limit=limit)
    finally:
        progress.close()
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
