"""The one run loop every eval goes through: resume, a bounded number of samples in flight, a session per sample,
each record on disk as soon as its sample finishes, and the status line.

    done = await run_samples(samples, solve, results, engine=engine, key=lambda s: s.id, name="audit",
                             planned=keys, progress=Progress(len(keys)), parallel=8)

For each sample not already in the results file the loop opens a `Session` tagged `"{name}/{key}"` on the sample's
engine, awaits `solve(sample, session)`, appends the record, and closes the session (which releases the tag's
ledger entry: the record holds the sample's cost). Samples stream (`evals.streaming`): at most
`in_flight(parallel, engine)` are in flight, the next is taken from `samples` (an iterable or an async iterable)
only when one finishes, and a finished sample's record is out of memory. If a sample fails the others are cancelled
and the first error is raised: what finished is on disk, and the calls made are in the engine's cache.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Iterable
from typing import TypeVar

from reasoning.engine import Engine
from reasoning.errors import InterfaceError
from reasoning.session import Session

from ..progress import StatusLine
from ..streaming import in_flight, run_stream
from .results import ResultsFile

__all__ = ["resume", "run_samples"]

S = TypeVar("S")  # a sample
R = TypeVar("R")  # a record


def resume(results: ResultsFile[R], planned: Collection[str], progress: StatusLine[R] | None = None) -> set[str]:
    """The keys already in the results file; those in `planned` are counted by `progress` as resumed (the first
    record of a repeated key counts, as `ResultsFile.load` keeps it)."""
    done: set[str] = set()
    for record in results.records():
        key = results.key(record)
        if key not in done:
            done.add(key)
            if progress is not None and key in planned:
                progress.resume(record)
    return done


async def run_samples(
    samples: Iterable[S] | AsyncIterable[S],
    solve: Callable[[S, Session], Awaitable[R]],
    results: ResultsFile[R],
    *,
    engine: Engine | Callable[[S], Engine],
    key: Callable[[S], str],
    name: str,
    progress: StatusLine[R],
    parallel: int = 8,
    planned: Collection[str] = (),
    session: Callable[[Engine, str], Session] = lambda engine, tag: Session(engine, tag=tag),
    done: set[str] | None = None,
) -> set[str]:
    """Solve every sample whose key is not in the results file (or in `done`, when the caller already read it);
    return the keys done before this call. `engine` is the engine, or a function giving each sample its own (made
    when the sample starts). `session(engine, tag)` makes the sample's session (a `SearchContext` for a search, one
    with a budget); `planned` are the keys this command asks for, counted by the status line when resumed."""
    if done is None:
        done = resume(results, planned, progress)
    shared = engine if isinstance(engine, Engine) else None
    engine_of: Callable[[S], Engine] = (lambda _: shared) if shared is not None else engine  # type: ignore[assignment]
    busy: Counter[Engine] = Counter()  # the engines of the samples in flight (one per sample for a replay)

    async def one(sample: S) -> R:
        sample_key = key(sample)
        if not isinstance(sample_key, str):  # an int key never matches the file's (JSON) keys: nothing would resume
            raise InterfaceError(f"{name}: a sample's key must be a string; key({_shown(sample)}) returned "
                                 f"{_shown(sample_key)}")  # fmt: skip
        sample_engine = engine_of(sample)
        busy[sample_engine] += 1
        try:
            async with session(sample_engine, f"{name}/{sample_key}") as opened:
                record = await solve(sample, opened)
        finally:
            busy[sample_engine] -= 1
            if not busy[sample_engine]:
                del busy[sample_engine]
        if results.key(record) != sample_key:  # else the record would not count as the sample's: solved on every run
            raise InterfaceError(f"{name}: the record solve() returned for sample {sample_key!r} has the key "
                                 f"{_shown(results.key(record))}; a record's key must be its sample's")  # fmt: skip
        results.append(record)
        return record  # counted by the status line once it is out of flight

    def calls() -> int:
        return sum(e.in_flight for e in busy)

    pending: Iterable[S] | AsyncIterable[S] = (
        _skip_async(samples, key, done) if isinstance(samples, AsyncIterable) else
        (s for s in samples if key(s) not in done)
    )  # fmt: skip
    # The status line's "answered": the shared engine's calls so far (a replay's engines come and go: not told).
    answered = _calls_answered(shared) if shared is not None else None
    async with progress.live(calls, answered):
        await run_stream(pending, progress.track(one), limit=in_flight(parallel, shared))
    return done


def _calls_answered(engine: Engine) -> Callable[[], int]:
    return lambda: engine.paid.calls


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


async def _skip_async(samples: AsyncIterable[S], key: Callable[[S], str], done: Collection[str]) -> AsyncIterable[S]:
    async for sample in samples:
        if key(sample) not in done:
            yield sample
