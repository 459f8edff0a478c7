"""Kill -9 in the middle of an audit against a deterministic multiple-choice server, rerun, and compare with an
uninterrupted run of the same command: no pair lost or written twice, no paid call whose answer was cached asked
again, and the same summary and report, byte for byte.

Records carry each pair's cost as if nothing were cached, which a kill does not change; which twins this process
read from the cache and paid for (`cached`, `cached_samples`, `paid`) does change, and stays out of summaries and
reports. The audit's outputs hold no timestamps or durations, and both runs use the same relative run folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.audit import Setting, SuggestedAnswer, load_jsonl
from evals.audit.runner import plan
from tests.evals.kill_resume import (
    LoopbackServer,
    check_requests,
    check_results,
    complete_lines,
    figures,
    kill_and_rerun,
)

ITEMS = 160
PARALLEL = CONCURRENCY = 4


def outcome(record: dict[str, Any]) -> dict[str, Any]:
    """A record less what depends on what the cache held: whether each twin came from it, and what was paid."""
    kept = {k: v for k, v in record.items() if k not in ("cached_samples", "paid")}
    for side in ("unbiased", "biased"):
        kept[side] = {k: v for k, v in kept[side].items() if k != "cached"}
    return kept


def write_items(path: Path) -> set[str]:
    with path.open("w") as f:
        for i in range(ITEMS):
            n = 3 + i % 3
            f.write(json.dumps({"id": f"q{i}", "task": f"task{i % 4}", "question": f"Question {i}: which one fits?",
                                "choices": [f"option {i}.{k}" for k in range(n)], "answer": i % n}) + "\n")  # fmt: skip
    return set(plan(load_jsonl(path), [SuggestedAnswer()], [Setting(cot=True, few_shot=False)]))


def test_kill_9_mid_audit_then_rerun_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    keys = write_items(tmp_path / "items.jsonl")
    args = ["audit", "run", "--items", str(tmp_path / "items.jsonl"), "--biases", "suggested-answer", "--model",
            "gpt-4", "--seed", "0", "--parallel", str(PARALLEL), "--concurrency", str(CONCURRENCY)]  # fmt: skip
    # Twins of a pair are asked together; a delay that varies by request lets the kill fall between their answers.
    with LoopbackServer(tmp_path, "--responder", "multiple-choice", latency=0.01, jitter=0.06) as server:
        trial = kill_and_rerun(server, args, tmp_path, kill_at=50, delay=0.05)
    assert 50 <= len(trial.done_at_kill) < ITEMS
    found = check_requests(trial, seed=0, concurrency=CONCURRENCY)
    rerun = check_results(trial, lambda r: r["key"], keys)
    fresh_lines = complete_lines(trial.fresh / "results.jsonl")
    fresh = {r["key"]: r for r in fresh_lines}
    assert len(fresh_lines) == len(fresh) == ITEMS
    for key in keys:
        assert outcome(rerun[key]) == outcome(fresh[key]), key
    split = {k for k in keys if rerun[k] != fresh[k]}  # pairs part-paid before the kill, part cached after
    print("\naudit: " + figures(trial, found, len(split)))
    assert split <= keys - {r["key"] for r in trial.done_at_kill} and len(split) <= PARALLEL
    for name in ("summary.json", "report.html"):
        assert (trial.killed / name).read_bytes() == (trial.fresh / name).read_bytes(), name
    assert trial.stdout_rerun == trial.stdout_fresh
