"""SuperICL end to end on the embedded model (llama.cpp in process) as the large model, through `reasoning supericl
run` as a user types it: sports_understanding split in the test run, the TF-IDF + logistic regression plug-in
trained on its train part, k=4 short examples, 24 test items, a 3-token label call (greedy). ICL and SuperICL each
ask 24 prompts sharing a fixed prefix (the cascade reuses SuperICL's answers): about a minute on two CPU cores. The
point is the real path — plug-in, prompts, the model's own output, parsing, results, summary, report, resume — not
the small model's accuracy (which is printed)."""

import json
import sys
import time

import pytest

import reasoning.cli
from reasoning import Engine, GenerationRequest, GenerationResult
from reasoning.backends import LanguageModel
from reasoning.engine import EngineConfig
from tests.conftest import require

pytestmark = pytest.mark.model
ITEMS = 24


class Borrowed(LanguageModel):
    """The session's model lent to one engine: calls are counted, and closing the engine leaves it open."""

    def __init__(self, model: LanguageModel) -> None:
        self.model = model
        self.name = model.name
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls += 1
        return await self.model.generate(request)


def test_supericl_on_the_embedded_model(llama_model, turpin_dir, tmp_path, monkeypatch, capsys) -> None:
    require("sklearn")
    borrowed = Borrowed(llama_model)

    def make_engine(args):  # type: ignore[no-untyped-def]
        return Engine(borrowed, EngineConfig(max_concurrency=args.concurrency), cache=args.cache, log=args.log)

    monkeypatch.setattr(reasoning.cli, "make_engine", make_engine)
    out = tmp_path / "supericl"
    command = ["supericl", "run", "--backend", "llamacpp", "--tasks", "sports_understanding", "--limit", str(ITEMS),
               "--shots", "4", "--max-tokens", "3", "--threshold", "0.7", "--data", str(turpin_dir),
               "--out", str(out), "--parallel", "1"]  # fmt: skip
    started = time.perf_counter()
    code = reasoning.cli.main(command)
    seconds = time.perf_counter() - started
    printed = capsys.readouterr()
    assert code == 0, printed.err[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    with capsys.disabled():
        sys.stderr.write(f"\n[supericl e2e: {borrowed.calls} calls in {seconds:.1f} s]\n{printed.out}\n")
    assert borrowed.calls == 2 * ITEMS  # ICL and SuperICL; the cascade's escalations reuse SuperICL's answers

    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4 * ITEMS and len({r["key"] for r in records}) == 4 * ITEMS
    model_records = [r for r in records if r["source"] == "llm"]
    assert {r["method"] for r in model_records} >= {"icl", "supericl"}
    assert all(r["completion"] is not None and r["prompt_tokens"] > 100 for r in model_records)
    answered = [r for r in model_records if r["outcome"] == "answered"]
    assert len(answered) >= len(model_records) // 2  # the small model mostly answers with a label
    assert all(r["answer"] in ("plausible", "implausible") for r in answered)
    assert all(r["reason"] for r in model_records if r["outcome"] == "unparsed")
    methods = {m["method"]: m for m in summary["methods"]}
    assert set(methods) == {"plugin", "icl", "supericl", "cascade"}
    assert methods["plugin"]["requests"] == 0 and methods["supericl"]["requests"] == ITEMS
    assert methods["cascade"]["requests"] == ITEMS - methods["cascade"]["plugin_answers"]
    assert summary["calibration"][0]["n"] == ITEMS and summary["calibration"][0]["ece"] is not None
    run_row = next(r for r in summary["sweep"]["sports_understanding"] if r["threshold"] == 0.7)
    assert run_row["correct"] == methods["cascade"]["accuracy"]["k"]
    report = (out / "report.html").read_text()
    assert report.count('<svg class="reliability"') == 1 and report.count('<svg class="sweep"') == 1
    assert "qwen2.5-coder-0.5b-instruct-q4_k_m" in report

    # The same command again resumes: nothing is redone, no model call is made.
    assert reasoning.cli.main(command) == 0 and borrowed.calls == 2 * ITEMS
    assert len((out / "results.jsonl").read_text().splitlines()) == 4 * ITEMS
