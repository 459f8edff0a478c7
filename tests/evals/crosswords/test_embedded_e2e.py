"""IO, CoT and tree-of-thought DFS end to end on the embedded model (llama.cpp in process), on 3 games.

Small limits keep this to minutes on two CPU cores; the point is the real path (prompts, parsing, the lazy DFS with
pruning, scoring, results, the report with each game's board and DFS), not the small model's success rate."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[3]
METHODS = {
    "io": ["--max-tokens", "64"],
    "cot": ["--max-tokens", "200"],
    "tot-dfs": ["--propose-samples", "2", "--max-visits", "6", "--max-tokens", "96", "--prune-max-tokens", "32"],
}


@pytest.mark.parametrize("method", METHODS)
def test_method_end_to_end(embedded_gguf_path, tmp_path, method):
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    command = [sys.executable, "-m", "reasoning.cli", "crosswords", "run", "--method", method, "--games", "0,5,10",
               "--out", str(tmp_path), "--backend", "llamacpp", *METHODS[method]]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["idx"] for r in records) == [0, 5, 10]
    for record in records:
        assert record["model"] == "qwen2.5-coder-0.5b-instruct-q4_k_m"
        assert record["calls"] >= 1 and record["prompt_tokens"] > 0 and record["completion_tokens"] > 0
        assert len(record["output"]) == 5 and all(len(row) == 5 for row in record["output"])
        assert 0.0 <= record["letter"] <= 1.0 and 0.0 <= record["word"] <= 1.0
        if method == "tot-dfs":
            assert len(record["visited"]) <= 6
            assert record["stopped"] in ("exhausted", "max_visits")
            for visit in record["visited"]:
                assert set(visit["count"]) == {"sure", "maybe", "impossible"}
                assert visit["pruned"] == (visit["count"]["impossible"] > 0)
        else:
            assert record["text"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {"letter", "word", "game"} <= set(summary) and summary["games"] == 3
    html = (tmp_path / "report.html").read_text()
    assert html.count('class="game"') == 3 and "answer" in html
    # The same command again resumes: nothing is redone.
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert again.returncode == 0 and len((tmp_path / "results.jsonl").read_text().splitlines()) == 3
