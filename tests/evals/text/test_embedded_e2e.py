"""Every creative-writing method end to end on the embedded model (llama.cpp in process), on two tasks, with the
coherency judge and the report.

Short replies keep this to minutes on two CPU cores; the point is the real path — prompts, sampling, votes, search,
the judge through the same engine, results, report — not the small model's coherency."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[3]
CHEAP = ["--max-tokens", "64", "--judge-samples", "2", "--judge-max-tokens", "48"]
METHODS = {
    "io": ["--samples", "2"],
    "cot": ["--samples", "2"],
    "tot-bfs": ["--n-generate", "2", "--n-vote", "2", "--vote-max-tokens", "32"],
}


@pytest.mark.parametrize("method", METHODS)
def test_method_end_to_end(embedded_gguf_path, tmp_path, method):
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    command = [sys.executable, "-m", "reasoning.cli", "text", "run", "--method", method, "--range", "0-1",
               "--out", str(tmp_path), "--backend", "llamacpp", *CHEAP, *METHODS[method]]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["idx"] for r in records) == [0, 1]
    for record in records:
        assert record["model"] == "qwen2.5-coder-0.5b-instruct-q4_k_m"
        assert record["calls"] >= 2 and record["prompt_tokens"] > 0 and record["completion_tokens"] > 0
        assert record["judged"] and len(record["scores"]) == len(record["outputs"])
        assert all(len(scores) == 2 for scores in record["scores"])  # the judge's samples, read or not
        assert record["requests"].get("judge", 0) == len(record["outputs"])
        if method == "tot-bfs":  # a blank sample is no candidate: a step may have fewer than 2
            assert 1 <= len(record["steps"]) <= 2 and all(len(s["candidates"]) <= 2 for s in record["steps"])
            assert record["requests"]["expand"] == len(record["steps"])
            assert len(record["outputs"]) <= 1 and (record["plan"] or not record["outputs"])
        else:
            assert len(record["outputs"]) == 2
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tasks"] == 2 and "coherency" in summary
    assert "coherency (1-10)" in out.stdout and (tmp_path / "report.html").stat().st_size > 1000
    # The same command again resumes: nothing is redone, no model call is made.
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert again.returncode == 0 and "paid for 0 calls" in again.stderr
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2
