"""Kill -9 in the middle of a tree-of-thought run against a replay of the published GPT-4 run, rerun, and compare
with an uninterrupted run of the same command: no puzzle lost or written twice, no paid call whose answer was cached
asked again, and the same summary and report, byte for byte.

Records carry each puzzle's cost as if nothing were cached (what the search asked for), which a kill and a resume
do not change, and what this process really paid (`paid`) and took (`seconds`), which they do; summaries and
reports hold only the former. With several puzzles in flight, which one pays for a prompt two share depends on
timing, so `paid` differs even between two uninterrupted runs: it stays out of the comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED_DATA
from tests.evals.kill_resume import (
    LoopbackServer,
    check_requests,
    check_results,
    complete_lines,
    figures,
    kill_and_rerun,
)

LOG = SHARED_DATA / "tot" / "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"
PUZZLES = range(900, 940)
CONCURRENCY = 4  # engine calls in flight at most: the bound on requests re-sent after the kill
VARIES = ("seconds", "paid", "calls_by_kind")  # per process: wall time, and what was paid rather than cached


def outcome(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in VARIES}


@pytest.mark.skipif(not LOG.is_file(), reason="the published ToT run is not in the shared data")
@pytest.mark.parametrize("parallel", [1, 4])
def test_kill_9_mid_run_then_rerun_matches_an_uninterrupted_run(tmp_path: Path, parallel: int) -> None:
    args = ["game24", "run", "--range", f"{PUZZLES.start}-{PUZZLES.stop - 1}", "--model", "gpt-4", "--seed", "0",
            "--parallel", str(parallel), "--concurrency", str(CONCURRENCY)]  # fmt: skip
    # 30 ms a reply: with 5 ms all 40 puzzles could finish in the 80 ms between the 12th and the kill on a loaded
    # machine (the watcher polls late), and there was nothing left to kill (CI, --parallel 4).
    with LoopbackServer(tmp_path, "--responder", "game24-replay", "--replay-log", str(LOG), latency=0.03) as server:
        # Killed a little after the 12th puzzle, so the next ones have paid for part of their calls.
        trial = kill_and_rerun(server, args, tmp_path, kill_at=12, delay=0.08)
    assert 12 <= len(trial.done_at_kill) < len(PUZZLES)
    found = check_requests(trial, seed=0, concurrency=CONCURRENCY)
    rerun = check_results(trial, lambda r: r["idx"], set(PUZZLES))
    fresh = {r["idx"]: r for r in complete_lines(trial.fresh / "results.jsonl")}
    assert sorted(fresh) == list(PUZZLES)
    # Outputs, verdicts, success, the search trees (states, values, selections), requests asked: all identical.
    for idx in PUZZLES:  # outputs, verdicts, search trees with their costs, requests: all identical
        assert outcome(rerun[idx]) == outcome(fresh[idx]), idx
    split = {i for i in PUZZLES if rerun[i]["paid"] != fresh[i]["paid"]}
    what = "puzzles whose paid calls differ (split by the kill, or who paid first)"
    print(f"\ngame24, --parallel {parallel}: " + figures(trial, found, len(split), what))
    for name in ("summary.json", "report.html"):
        assert (trial.killed / name).read_bytes() == (trial.fresh / name).read_bytes(), name
    assert trial.stdout_rerun == trial.stdout_fresh
