"""Every game-of-24 method end to end on the embedded model (llama.cpp in process), on five puzzles.

Budgets keep this to minutes on two CPU cores; the point is the real path — prompts, parsing, search, checking,
results, report — not the small model's success rate (which is near zero on these hard puzzles)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[3]
CHEAP = ["--max-tokens", "96", "--value-max-tokens", "32", "--n-value", "1"]
METHODS = {
    "io": [],
    "cot": [],
    "cot-sc": ["--samples", "3", "--max-tokens", "64"],
    "tot-bfs": ["--breadth", "1", "--check-steps", "--budget-calls", "4", *CHEAP],
    "tot-dfs": ["--breadth", "2", "--check-steps", "--budget-calls", "4", "--threshold", "0", *CHEAP],
    "tot-astar": ["--breadth", "2", "--check-steps", "--budget-calls", "4", *CHEAP],
}


@pytest.mark.parametrize("method", METHODS)
def test_method_end_to_end(embedded_gguf_path, tmp_path, method):
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    command = [sys.executable, "-m", "reasoning.cli", "game24", "run", "--method", method, "--range", "900-904",
               "--out", str(tmp_path), "--backend", "llamacpp", *METHODS[method]]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["idx"] for r in records) == [900, 901, 902, 903, 904]
    for record in records:
        assert record["model"] == "qwen2.5-coder-0.5b-instruct-q4_k_m"
        assert record["calls"] >= 1 and record["prompt_tokens"] > 0 and record["completion_tokens"] > 0
        assert len(record["verdicts"]) == len(record["outputs"])
        if method.startswith("tot"):
            assert record["tree"]["nodes"]
            assert record["stopped"] in ("accepted", "max_outputs", "exhausted", "budget", "max_steps")
            assert record["calls"] <= 4  # the per-puzzle budget is a hard limit
        else:
            assert len(record["outputs"]) == (3 if method == "cot-sc" else 1)
    assert "success" in out.stdout and (tmp_path / "report.html").stat().st_size > 1000
    # The same command again resumes: nothing is redone, no model call is made.
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert again.returncode == 0 and len((tmp_path / "results.jsonl").read_text().splitlines()) == 5
