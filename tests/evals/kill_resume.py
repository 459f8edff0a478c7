"""Kill -9 in the middle of an eval run, rerun it, and set it beside an uninterrupted run: what the game-24 and audit
tests share.

The model is `loopback_server.py` in its own process (so killing the client leaves it serving), answering each
request as a pure function of its body and logging every request with whether its answer was fully written. The
client is the real command line in a subprocess, run from its own folder with relative `--out`/`--cache` paths, so
two runs' outputs name the same folders.

    with LoopbackServer(tmp, "--responder", "multiple-choice") as server:
        trial = kill_and_rerun(server, args, tmp, kill_at=20)

`trial` has the requests the server saw before the kill (phase 1), during the rerun (phase 2) and during a fresh
uninterrupted run of the same command (phase 3), the cache keys the killed client had stored, and both run folders.
`resends(trial)` sorts the requests asked twice into those whose answer the killed client had cached (a repeated paid
call: there must be none) and those that were in flight at the kill.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning.engine.cache import sample_key
from reasoning.types import GenerationRequest, Message
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA), PYTHONPATH=str(ROOT))


@dataclass(frozen=True)
class Request:
    """One request the server answered: the digest of its body, whether and when (monotonic clock) the whole answer
    was written, and the body."""

    digest: str
    written: bool
    t: float
    body: dict[str, Any]

    def cache_keys(self, seed: int) -> list[str]:
        """The client's cache keys for this request's samples (`seed`: the client's base seed, which the engine
        advances by the first sample's index)."""
        body = self.body
        request = GenerationRequest(
            prompt=body.get("prompt"),
            messages=tuple(Message(**m) for m in body["messages"]) if "messages" in body else None,
            temperature=body["temperature"],
            top_p=body["top_p"],
            max_tokens=body["max_tokens"],
            stop=tuple(body.get("stop") or ()),
            seed=seed,
        )
        first = int(body.get("seed", seed)) - seed
        return [sample_key(body["model"], request, first + j) for j in range(int(body.get("n") or 1))]


class LoopbackServer:
    """`tests/evals/loopback_server.py` in a subprocess, logging to `folder/server.jsonl`."""

    def __init__(self, folder: Path, *args: str, latency: float = 0.005, jitter: float = 0.0) -> None:
        self.log = folder / "server.jsonl"
        self.stderr = (folder / "server.err").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.evals.loopback_server", *args, "--latency", str(latency),
             "--jitter", str(jitter), "--log", str(self.log)],
            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        port = self.proc.stdout.readline().strip()
        if not port:
            self.close()
            raise RuntimeError(f"the loopback server did not start: {(folder / 'server.err').read_text()[-2000:]}")
        self.url = f"http://127.0.0.1:{port}/v1"

    def requests(self) -> list[Request]:
        if not self.log.exists():
            return []
        rows = map(json.loads, self.log.read_text().splitlines())
        return [Request(r["digest"], r["written"], r["t"], r["body"]) for r in rows]

    def settle(self, quiet: float = 0.5, timeout: float = 30.0) -> int:
        """Wait until no request has been logged for `quiet` seconds (a killed client's last requests finish
        within the server's latency); the number of requests logged so far."""
        deadline = time.monotonic() + timeout
        size, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = self.log.stat().st_size if self.log.exists() else 0
            if now != size:
                size, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return len(self.requests())
            time.sleep(0.05)
        raise TimeoutError("the loopback server kept logging requests")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def complete_lines(path: Path) -> list[dict[str, Any]]:
    """The results file's whole lines (a line cut short by the kill is not one)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].decode().splitlines() if line.strip()]


def cache_keys(cache: Path) -> set[str]:
    """The keys in a cache file, read from a copy (with its write-ahead log) so the original is left as it is."""
    copy = cache.parent / "cache-snapshot"
    copy.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = cache.with_name(cache.name + suffix)
        if source.exists():
            shutil.copy(source, copy / (cache.name + suffix))
    db = sqlite3.connect(copy / cache.name)
    try:
        return {key for (key,) in db.execute("SELECT key FROM samples")}
    finally:
        db.close()


def run_cli(cwd: Path, args: list[str], name: str) -> subprocess.Popen[bytes]:
    cwd.mkdir(parents=True, exist_ok=True)
    with (cwd / f"{name}.out").open("wb") as out, (cwd / f"{name}.err").open("wb") as err:
        return subprocess.Popen([sys.executable, "-m", "reasoning.cli", *args], cwd=cwd, env=ENV, stdout=out,
                                stderr=err)  # fmt: skip


def finish(proc: subprocess.Popen[bytes], cwd: Path, name: str, timeout: float = 300) -> str:
    """Wait for a run to end; its stdout (it must have succeeded)."""
    code = proc.wait(timeout=timeout)
    assert code == 0, (cwd / f"{name}.err").read_text()[-3000:]
    return (cwd / f"{name}.out").read_text()


@dataclass
class Trial:
    killed: Path  # the folder of the run killed and rerun
    fresh: Path  # the folder of the uninterrupted run
    done_at_kill: list[dict[str, Any]]  # whole lines in the results file when the client died
    killed_at: float  # time.monotonic() at the kill (one clock for every process on the machine)
    before: list[Request]  # requests the server saw from the killed client
    rerun: list[Request]  # ... from the rerun
    uninterrupted: list[Request]  # ... from the fresh run
    cached_at_kill: set[str]  # the killed client's cache keys
    cached_at_end: set[str]  # the rerun's cache keys at the end
    stdout_rerun: str
    stdout_fresh: str
    seconds: dict[str, float]


def kill_and_rerun(server: LoopbackServer, args: list[str], folder: Path, *, kill_at: int, delay: float = 0.0) -> Trial:
    """Run `reasoning ARGS` (with `--out run --cache cache.sqlite`) in `folder/killed`, kill -9 it `delay` seconds
    after its results file has `kill_at` lines, rerun it there to the end, then run it uninterrupted in
    `folder/fresh`. (A delay lets the items after the kill_at-th get part of their calls answered first.)"""
    args = [*args, "--base-url", server.url, "--out", "run", "--cache", "cache.sqlite"]
    killed, fresh = folder / "killed", folder / "fresh"
    results = killed / "run" / "results.jsonl"
    seconds: dict[str, float] = {}
    started = time.monotonic()
    proc = run_cli(killed, args, "first")
    deadline = time.monotonic() + 120
    while len(complete_lines(results)) < kill_at:
        if proc.poll() is not None:
            error = (killed / "first.err").read_text()[-2000:]
            raise AssertionError(f"the run ended before {kill_at} results: {error}")
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"no {kill_at} results within 120 s")
        time.sleep(0.01)
    time.sleep(delay)
    killed_at = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    seconds["until kill"] = time.monotonic() - started
    done_at_kill = complete_lines(results)
    phase1 = server.settle()
    cached_at_kill = cache_keys(killed / "cache.sqlite")

    started = time.monotonic()
    stdout_rerun = finish(run_cli(killed, args, "rerun"), killed, "rerun")
    seconds["rerun"] = time.monotonic() - started
    phase2 = server.settle()
    started = time.monotonic()
    stdout_fresh = finish(run_cli(fresh, args, "fresh"), fresh, "fresh")
    seconds["uninterrupted"] = time.monotonic() - started
    server.settle()  # the server logs a request just after its answer went out
    requests = server.requests()
    return Trial(
        killed=killed / "run", fresh=fresh / "run", done_at_kill=done_at_kill, killed_at=killed_at,
        before=requests[:phase1],
        rerun=requests[phase1:phase2], uninterrupted=requests[phase2:], cached_at_kill=cached_at_kill,
        cached_at_end=cache_keys(killed / "cache.sqlite"), stdout_rerun=stdout_rerun, stdout_fresh=stdout_fresh,
        seconds=seconds,
    )  # fmt: skip


@dataclass(frozen=True)
class Resends:
    cached: list[Request]  # asked again although the killed client had its answer in the cache: must be none
    in_flight: list[Request]  # asked again because the killed client had no answer stored (in flight at the kill)
    answered_not_stored: int  # of those, answered in full before the kill, the client killed before caching it


def resends(trial: Trial, seed: int) -> Resends:
    stored = {r.digest for r in trial.before if all(k in trial.cached_at_kill for k in r.cache_keys(seed))}
    asked = {r.digest for r in trial.before}
    again = [r for r in trial.rerun if r.digest in asked]
    return Resends(
        cached=[r for r in again if r.digest in stored],
        in_flight=[r for r in again if r.digest not in stored],
        answered_not_stored=sum(r.written and r.t < trial.killed_at and r.digest not in stored for r in trial.before),
    )


def check_requests(trial: Trial, seed: int, concurrency: int) -> Resends:
    """The request-level guarantees: no answer the killed client had cached is asked for again; at most
    `concurrency` requests (those in flight at the kill) are; killed + rerun asked exactly the uninterrupted run's
    requests; and no run asked anything twice by itself."""
    # The key mapping is right (else "cached" above would be vacuous): every request of the rerun is in its cache.
    assert all(k in trial.cached_at_end for r in trial.rerun for k in r.cache_keys(seed))
    for phase in (trial.before, trial.rerun, trial.uninterrupted):
        assert max(Counter(r.digest for r in phase).values(), default=1) == 1
    found = resends(trial, seed)
    assert found.cached == [], f"{len(found.cached)} paid calls repeated although their answers were cached"
    assert len(found.in_flight) <= concurrency
    assert {r.digest for r in trial.before + trial.rerun} == {r.digest for r in trial.uninterrupted}
    assert len(trial.before) + len(trial.rerun) == len(trial.uninterrupted) + len(found.in_flight)
    return found


def check_results(trial: Trial, key: Callable[[dict[str, Any]], Any], expected: set[Any]) -> dict[Any, dict[str, Any]]:
    """Every item exactly once in the killed-and-rerun results file; the records by key."""
    lines = complete_lines(trial.killed / "results.jsonl")
    counts = Counter(key(r) for r in lines)
    lost = expected - set(counts)
    duplicated = {k: n for k, n in counts.items() if n > 1}
    assert not lost and not duplicated and set(counts) == expected, (sorted(lost)[:5], duplicated)
    return {key(r): r for r in lines}


def figures(trial: Trial, found: Resends, split: int, what: str = "items split by the kill") -> str:
    """One line for the test log: what the kill and rerun cost."""
    return (f"results at the kill {len(trial.done_at_kill)}; requests before the kill {len(trial.before)}, "
            f"rerun {len(trial.rerun)}, uninterrupted {len(trial.uninterrupted)}; lost 0, duplicated 0; re-sent: "
            f"cached {len(found.cached)}, in flight {len(found.in_flight)} (answered in full before the kill but not "
            f"cached: {found.answered_not_stored}); {what} {split}; seconds "
            + ", ".join(f"{k} {v:.1f}" for k, v in trial.seconds.items()))  # fmt: skip
