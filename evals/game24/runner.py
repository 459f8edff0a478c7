"""Running a method over many puzzles: concurrent puzzles, results appended as they finish, resume, progress, and
the summary table."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from reasoning.engine import Engine

from ..files import append_lines, numbered_lines, repair_tail
from ..progress import StatusLine
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

    def load(self, run: str) -> dict[int, dict[str, Any]]:
        done: dict[int, dict[str, Any]] = {}
        for number, line in numbered_lines(self.path):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise ValueError(f"{self.path}:{number} is not valid JSON; fix or move the file") from None
            if record.get("run") == run:
                done[int(record["idx"])] = record
        return done

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
    puzzles: list[Puzzle],
    engine_for: EngineFor,
    config: MethodConfig,
    results: ResultsFile,
    *,
    model: str,
    parallel: int = 4,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Solve every puzzle not already in `results` for this run; return all of this run's records, in puzzle
    order. Puzzles run `parallel` at a time; if one fails (a backend error after retries, the engine's budget),
    the others are cancelled — what finished is on disk, and calls already made are in the engine's cache."""
    run = config.key()
    done = results.load(run)
    todo = [p for p in puzzles if p.idx not in done]
    progress = progress or Progress(len(puzzles), already=len(puzzles) - len(todo))
    gate = asyncio.Semaphore(parallel)

    async def one(puzzle: Puzzle) -> None:
        async with gate:
            record = await solve_puzzle(puzzle, engine_for(puzzle), config)
        record = {"run": run, "model": model, **record}
        results.append(record)
        done[puzzle.idx] = record
        progress.update(record)

    try:
        async with asyncio.TaskGroup() as group:
            for puzzle in todo:
                group.create_task(one(puzzle))
    except BaseExceptionGroup as group_error:
        # Surface the first real error (the rest are usually the same failure seen by sibling puzzles).
        raise group_error.exceptions[0] from None
    finally:
        progress.close()
    return [done[p.idx] for p in puzzles if p.idx in done]


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
        "seconds_per_puzzle": sum(r["seconds"] for r in records) / n,
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
        ("wall time / puzzle", f"{summary['seconds_per_puzzle']:.2f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
