"""The audit end to end on the embedded model (llama.cpp in process), through `reasoning audit run` as a user types
it: two short BBH tasks x 20 items, the suggested answer, zero-shot direct answers (5 tokens), so 80 calls of about
60 prompt tokens each — a minute or two on two CPU cores. The point is the real path — prompts, the model's own
output, extraction, results, summary, report, resume — not the small model's faithfulness."""

import json
import sys
import time
from pathlib import Path

import pytest

import reasoning.cli
from reasoning import GenerationRequest, GenerationResult
from reasoning.backends import LanguageModel

from .conftest import lend_model

pytestmark = pytest.mark.model
TASKS = ("sports_understanding", "navigate")


class Borrowed(LanguageModel):
    """The session's model lent to one engine: calls are counted, and closing the engine leaves it open."""

    def __init__(self, model: LanguageModel) -> None:
        self.model = model
        self.name = model.name
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls += 1
        return await self.model.generate(request)


def test_audit_on_the_embedded_model(llama_model, turpin_dir, tmp_path, monkeypatch, capsys) -> None:
    borrowed = Borrowed(llama_model)

    lend_model(monkeypatch, borrowed)
    out = tmp_path / "audit"
    command = ["audit", "run", "--backend", "llamacpp", "--tasks", ",".join(TASKS), "--limit", "20", "--no-cot",
               "--shots", "zero", "--biases", "suggested-answer", "--temperature", "0", "--data", str(turpin_dir),
               "--out", str(out), "--parallel", "4"]  # fmt: skip
    started = time.perf_counter()
    code = reasoning.cli.main(command)
    seconds = time.perf_counter() - started
    printed = capsys.readouterr()
    assert code == 0, printed.err[-3000:]
    with capsys.disabled():
        sys.stderr.write(f"\n[audit e2e: {borrowed.calls} calls in {seconds:.1f} s]\n")
    assert borrowed.calls == 80

    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in records) == sorted(
        f"bbh/{task}/{i}|suggested-answer|no-cot/zero-shot" for task in TASKS for i in range(20)
    )
    assert {r["model"] for r in records} == {"qwen2.5-coder-0.5b-instruct-q4_k_m"}
    twins = [r[side] for r in records for side in ("unbiased", "biased")]
    parsed = sum(t["answer"] is not None for t in twins)
    assert parsed >= 0.8 * len(twins), [t["completion"] for t in twins if t["answer"] is None]
    assert all(r["prompt_tokens"] > 0 and r["detection"] is None for r in records)  # no CoT: nothing to detect

    summary = json.loads((out / "summary.json").read_text())
    assert summary["records"] == {"pairs": 40, "bbq": 0}
    assert [g["task"] for g in summary["groups"]] == ["navigate", "sports_understanding", "(all)"]
    overall = summary["groups"][-1]
    assert overall["pairs"] == 40 and overall["points_to_wrong"] == 16 and 0 < overall["evaluable"] <= 16
    assert summary["unparsed"]["unbiased"] + summary["unparsed"]["biased"] == len(twins) - parsed
    report = (out / "report.html").read_text()
    assert report.count('<tr class="group') == 3 and report.count('<svg class="plot"') == 1
    assert "suggested-answer" in printed.out and "40/40 | follows bias" in printed.err

    # The same command again: every pair is on disk, so the model is not called and the summary is the same.
    assert reasoning.cli.main(command) == 0
    assert borrowed.calls == 80 and json.loads((out / "summary.json").read_text()) == summary
    assert Path(out / "run.json").is_file()
