"""The six hints of Chen et al. (2025) end to end on the embedded model, through `reasoning audit run` as a user types
it: two BBH tasks, every hint, chain of thought few-shot (so visual-pattern runs too), temperature 0, the embedded
model as local judge (`--local-judge`) and again as an LLM judge behind `reasoning serve`'s OpenAI-compatible server
on loopback (`--judge-url`, `--judge-model`). Then summary.json's verbalization metrics, report.html rendered in
headless Chromium offline, a human verdict with `reasoning audit verdict`, and the same command again with no model
call. One llama.cpp model serves all three roles (each through its own counter), so it loads once.

The grid is the issue's: two BBH tasks x `LIMIT` = 20 items x the six hints, chain of thought few-shot. The two
tasks are the cheapest to ask so (3 examples, `evals.audit.hints`): sports_understanding (prompts of ~440 tokens,
~30 tokens written before the few-shot stop "###") and date_understanding (~900 and ~75; five or six choices, so a
hint can also move an answer elsewhere). Each item is 7 audited calls (its unbiased twin once, the engine's cache
answering the other five hints, and six hinted twins), and each flipped pair one call per judge. Measured on two CPU
cores, other tests sharing them for a few of its minutes (2026-11-30, AMD EPYC, avx512_bf16): 1509 s; 280 audited
calls, 274 of 280 answers read; 89 of 171 eligible pairs flipped to the hint (sycophancy 29/29, consistency 28/29,
unethical-information 22/26, metadata 5/29, grader-hacking 4/29, visual-pattern 1/29), so 89 + 89 judge calls;
Cohen's kappa over all hints: rule~local 0.04, rule~llm 0.04, local~llm 0.79 (one model, judged through two paths).
"""

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import evals.audit.judges
import reasoning.cli
from evals.audit.hints import HINT_NAMES
from evals.audit.metrics import ALL
from evals.audit.records import LLM_JUDGE, LOCAL_JUDGE, Entry, ProbeRecord, flipped
from reasoning.backends import LanguageModel
from reasoning.serve import ModelServer

from .conftest import lend_model
from .test_e2e import Borrowed
from .test_report import Listener, browse, chromium, png_size_and_colours

pytestmark = pytest.mark.model
TASKS = ("sports_understanding", "date_understanding")
LIMIT = 20
SETTING = "cot/few-shot"
JUDGE_NAME = "embedded-judge"  # the model's name on the loopback server


def entries(out: Path) -> list[Entry]:
    return [Entry.parse(json.loads(line)) for line in (out / "results.jsonl").read_text().splitlines()]


async def test_hints_on_the_embedded_model(
    llama_model: LanguageModel, turpin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    browser = chromium()  # first: on CI a missing browser fails before the slow part
    audited, local, served = Borrowed(llama_model), Borrowed(llama_model), Borrowed(llama_model)

    lend_model(monkeypatch, audited)
    monkeypatch.setattr(evals.audit.judges, "embedded_model", lambda: local)  # --local-judge: the same model, loaded
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "hints"
    async with ModelServer(served, served_name=JUDGE_NAME) as server:
        command = ["audit", "run", "--backend", "llamacpp", "--tasks", ",".join(TASKS), "--limit", str(LIMIT),
                   "--biases", "hints", "--cot", "on", "--shots", "few", "--temperature", "0", "--max-tokens", "160",
                   "--local-judge", "--judge-url", server.url, "--judge-model", JUDGE_NAME,
                   "--data", str(turpin_dir), "--out", str(out), "--parallel", "1"]  # fmt: skip
        # One pair at a time: the judges' calls (asked as each pair finishes) reach the one model at once rather
        # than queued behind audited calls past the URL judge's 60 s request timeout, and consecutive prompts share
        # their few-shot examples in llama.cpp's prefix cache.
        started = time.perf_counter()
        code = await asyncio.to_thread(reasoning.cli.main, command)  # the server answers on this test's loop
        seconds = time.perf_counter() - started
        printed = capsys.readouterr()
        assert code == 0, printed.err[-3000:]

        found = entries(out)
        records = [e.record for e in found if isinstance(e.record, ProbeRecord)]
        items = len(TASKS) * LIMIT
        unbiased = {(r.item_id, r.unbiased.prompt_digest): r.unbiased for r in records}
        twins = [*unbiased.values(), *(r.biased for r in records)]
        parsed = sum(t.answer is not None for t in twins)
        flips = [e for e in found if isinstance(e.record, ProbeRecord) and flipped(e.record)]
        by_hint = Counter(r.bias for r in records if flipped(r))
        summary = json.loads((out / "summary.json").read_text())
        hints = summary["hints"]
        kappas = {f"{a['first']}~{a['second']}": a["kappa"] for g in hints["groups"] if g["hint"] == ALL
                  for a in g["agreement"]}  # fmt: skip
        switches = ", ".join(f"{g['hint']} {g['switch_to_hint']}/{g['eligible']}" for g in hints["groups"])
        with capsys.disabled():
            sys.stderr.write(
                f"\n[audit hints e2e: {audited.calls} audited + {local.calls} local-judge + {served.calls} "
                f"llm-judge calls in {seconds:.1f} s; parsed {parsed}/{len(twins)}; flips {len(flips)} "
                f"(switches/eligible: {switches}); kappa (all) {kappas}]\n"
            )

        # Every planned pair, each hint pointing to a wrong answer; the unbiased twin asked once per item.
        assert sorted(r.key for r in records) == sorted(
            f"bbh/{task}/{i}|{hint}|{SETTING}" for task in TASKS for i in range(LIMIT) for hint in HINT_NAMES
        )
        assert all(r.target is not None and r.target != r.gold and r.points_to_wrong for r in records)
        assert {r.model for r in records} == {llama_model.name}
        assert len(unbiased) == items and audited.calls == items + len(records) == 7 * items
        assert parsed >= 0.7 * len(twins), [t.completion for t in twins if t.answer is None]  # measured: all read

        # The rule detector on every pair; the two judges on the flipped ones only, each a verdict or its reason.
        # A judge asked the same question twice (one hint, one target, one explanation) answers from its cache.
        paid = Counter(name for e in flips if e.detection for name, j in e.detection.judges.items() if j.paid.calls)
        assert local.calls == paid[LOCAL_JUDGE] and served.calls == server.requests == paid[LLM_JUDGE] <= len(flips)
        for e in found:
            assert e.detection is not None
            if e in flips:
                assert set(e.detection.judges) == {LOCAL_JUDGE, LLM_JUDGE}
                for judged in e.detection.judges.values():
                    assert (judged.mentions is None) == (judged.unparsed is not None) and judged.calls == 1
            else:
                assert e.detection.judges == {}

        # summary.json: the six hints and all of them pooled, p with its interval, kappa for each pair of raters.
        assert [(g["hint"], g["setting"]) for g in hints["groups"]] == [(h, SETTING) for h in (*HINT_NAMES, ALL)]
        for g in hints["groups"]:
            assert g["pairs"] == (len(records) if g["hint"] == ALL else items)
            assert g["switch_to_hint"] == (len(flips) if g["hint"] == ALL else by_hint[g["hint"]])
            if g["eligible"]:
                assert g["p"]["low"] <= g["p"]["value"] <= g["p"]["high"]
        if flips:
            assert hints["raters"] == ["rule", "local", "llm", "settled"]
            pooled = hints["groups"][-1]
            assert [(a["first"], a["second"]) for a in pooled["agreement"]] == [
                ("rule", "local"), ("rule", "llm"), ("local", "llm")
            ]  # fmt: skip
            assert all(a["kappa"] is not None or a["reason"] for a in pooled["agreement"])
            assert [s["rater"] for s in pooled["scores"]] == hints["raters"]
            assert all(s["flips"] == len(flips) for s in pooled["scores"])

        # report.html in headless Chromium: the hint section's table, plots and kappa table in its DOM; no request.
        report = out / "report.html"
        listener = Listener()
        try:
            dom = browse(browser, report, tmp_path / "profile1", "--dump-dom").stdout
            shot = tmp_path / "shot.png"
            browse(browser, report, tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1200,2000")
        finally:
            listener.shutdown()
            listener.server_close()
        assert 'id="hints"' in dom and 'id="hint-table"' in dom
        assert dom.count('<tr class="hint') == len(hints["groups"])
        assert dom.count('<svg class="hint-plot"') == len(hints["raters"])
        shared = [a for g in hints["groups"] for a in g["agreement"] if a["n"]]
        assert dom.count('<tr class="kappa') == len(shared) and ('id="kappa-table"' in dom) == bool(shared)
        assert "<script" not in dom
        width, height, colours = png_size_and_colours(shot)
        assert (width, height) == (1200, 2000) and colours > 20
        assert listener.paths == []

        # A human verdict on a flipped pair: summary.json and report.html rebuilt with it.
        if flips:
            key = flips[0].key
            assert reasoning.cli.main(["audit", "verdict", str(out), key, "yes"]) == 0
            after = json.loads((out / "summary.json").read_text())["hints"]
            assert after["verdicts"]["used"] == 1 and "human" in after["raters"]
            assert "1 of 1 human verdicts scored." in (out / "report.html").read_text()
        else:
            with capsys.disabled():
                sys.stderr.write("[audit hints e2e: no flipped pair, so no human verdict to record]\n")
        summary = json.loads((out / "summary.json").read_text())

        # The same command again: every pair and verdict on disk, so no model is called and the summary is the same.
        calls = (audited.calls, local.calls, served.calls, server.requests)
        assert await asyncio.to_thread(reasoning.cli.main, command) == 0
        assert (audited.calls, local.calls, served.calls, server.requests) == calls
        assert json.loads((out / "summary.json").read_text()) == summary
