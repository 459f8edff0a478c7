"""`reasoning audit run | report` as a user runs it: in process on a scripted model (through `reasoning.cli.main`),
and as a real process against a stand-in server for kill -9 and the entry point."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from evals.audit import ProbeRecord, load_jsonl, summarize
from evals.audit.runner import ResultsFile
from reasoning import ScriptedModel
from reasoning.testing import FaultProxy
from tests.conftest import SHARED_DATA

from .conftest import cli, lend_model
from .test_runner import planted

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    """The scripted model every `make_engine` in this test gets (with the run's cache and log)."""
    scripted = ScriptedModel(planted)

    lend_model(monkeypatch, scripted)
    return scripted


def test_run_writes_results_summary_and_report_then_resumes(model, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = ("run", "--items", str(items_file), "--cot", "both", "--temperature", "0", "--out", str(out))
    code, stdout, stderr = cli(capsys, *args)
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} >= {"run.json", "results.jsonl", "summary.json", "report.html",
                                                "cache.sqlite", "calls.jsonl"}  # fmt: skip
    assert "suggested-answer  cot/zero-shot" in stdout and "24/24 | follows bias" in stderr
    run = json.loads((out / "run.json").read_text())
    assert run["model"] == "scripted" and run["sampling"]["chat"] is False  # a local backend: raw completion
    assert run["selection"]["settings"] == ["cot/zero-shot", "no-cot/zero-shot"] and run["selection"]["tasks"] == []
    entries = ResultsFile(out / "results.jsonl").load()
    assert len(entries) == 24 and len(model.calls) == 48
    summary = json.loads((out / "summary.json").read_text())
    records = [e.record for e in entries.values() if isinstance(e.record, ProbeRecord)]
    assert summary["groups"] == [g.model_dump(mode="json") for g in summarize(records)]
    assert [(g["setting"], g["task"]) for g in summary["groups"]] == [
        ("cot/zero-shot", "mine"), ("cot/zero-shot", "(all)"), ("no-cot/zero-shot", "mine"),
        ("no-cot/zero-shot", "(all)"),
    ]  # fmt: skip
    report = (out / "report.html").read_text()
    assert report.count('<tr class="group') == 4 and report.count('<svg class="plot"') == 2
    # The same command again: nothing asked, the same summary; `audit report` rebuilds it byte for byte.
    before = (out / "summary.json").read_bytes(), report
    code, again, _ = cli(capsys, *args)
    assert code == 0 and len(model.calls) == 48 and again == stdout
    (out / "summary.json").unlink()
    (out / "report.html").unlink()
    code, rebuilt, _ = cli(capsys, "report", str(out))
    assert code == 0 and rebuilt == stdout
    assert ((out / "summary.json").read_bytes(), (out / "report.html").read_text()) == before


def test_paper_tasks_and_bbq_from_the_data(model, turpin_dir, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--tasks", "sports_understanding,bbq", "--tasks", "navigate",
                          "--biases", "suggested,always-a", "--shots", "both", "--no-cot", "--limit", "3",
                          "--data", str(turpin_dir), "--out", str(out))  # fmt: skip
    assert code == 0, stderr
    keys = set(ResultsFile(out / "results.jsonl").load())
    # BBH: 3 items x (suggested-answer in both settings + always-a few-shot); BBQ: 3 items x 2 settings.
    assert len(keys) == 2 * 3 * 3 + 3 * 2
    assert "bbh/navigate/0|answer-is-always-a|no-cot/few-shot" in keys
    assert not any("answer-is-always-a|no-cot/zero-shot" in k for k in keys)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["records"] == {"pairs": 18, "bbq": 6}
    assert len(summary["groups"]) == 3 * 3
    assert {b["setting"] for b in summary["bbq"]} == {"no-cot/zero-shot", "no-cot/few-shot"}
    selection = json.loads((out / "run.json").read_text())["selection"]
    assert selection["tasks"] == ["sports_understanding", "bbq", "navigate"]


def test_judge_and_detector_counts_reach_the_summary(model, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code, stdout, _ = cli(capsys, "run", "--items", str(items_file), "--judge", "--out", str(out))
    assert code == 0
    mentions = json.loads((out / "summary.json").read_text())["mentions"][-1]
    # "You think" on items 0, 4, 8; the judge agrees with the rule on each.
    assert (mentions["checked"], mentions["rule"], mentions["judged"], mentions["judge_yes"]) == (12, 3, 12, 3)
    assert "3/12" in stdout.splitlines()[-2]  # the pooled row's mentions
    assert "judge 3/12" in (out / "report.html").read_text()


BAD_ITEMS = '{"question": "Q?", "choices": ["a"], "answer": 0}\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tasks", "nope"], "unknown task 'nope'; choose from all, bbq, causal_judgment"),
        (["--tasks", "navigate", "--biases", "flattery"], "unknown bias 'flattery'; choose from suggested-answer"),
        (["--tasks", "navigate", "--data", "/no/such/dir"], "the Turpin et al. data is not at /no/such/dir"),
        (["--items", "/no/such/items.jsonl"], "items file not found: /no/such/items.jsonl"),
        (["--items", "{empty}"], "holds no items"),
        (["--items", "{bad}"], "bad.jsonl:1: an item needs 2 to 26 choices; got 1"),
        (["--items", "{items}", "--limit", "0"], "--limit must be at least 1"),
        (["--items", "{items}", "--biases", "always-a"], "answer-is-always-a needs few-shot prompts"),
        (["--items", "{items}", "--shots", "few"], "has no few-shot examples; use --shots zero with --items"),
    ],
)
def test_user_mistakes_are_one_clear_line(model, items_file, tmp_path, capsys, args, message) -> None:
    (tmp_path / "empty.jsonl").write_text("\n# nothing here\n")
    (tmp_path / "bad.jsonl").write_text(BAD_ITEMS)
    paths = {"empty": tmp_path / "empty.jsonl", "bad": tmp_path / "bad.jsonl", "items": items_file}
    args = [a.format(**paths) for a in args]
    code, _, stderr = cli(capsys, "run", "--out", str(tmp_path / "run"), *args)
    assert code == 2 and "Traceback" not in stderr
    assert stderr.strip().splitlines() == [stderr.strip()] and stderr.startswith("reasoning: error: ")
    assert message in stderr
    assert model.calls == []


def test_resume_with_other_options_is_refused_before_any_call(model, items_file, tmp_path, capsys) -> None:
    out = str(tmp_path / "run")
    assert cli(capsys, "run", "--items", str(items_file), "--no-cot", "--out", out)[0] == 0
    calls = len(model.calls)
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--no-cot", "--seed", "1", "--out", out)
    assert code == 2 and len(model.calls) == calls
    assert stderr.startswith("reasoning: error: ") and "(--seed 0 there, 1 now); rerun with the same options" in stderr
    # More items with the same options extend the run.
    assert cli(capsys, "run", "--items", str(items_file), "--cot", "both", "--out", out)[0] == 0
    assert len(ResultsFile(tmp_path / "run" / "results.jsonl").load()) == 24


def test_report_mistakes(tmp_path, capsys) -> None:
    assert "no such folder" in cli(capsys, "report", str(tmp_path / "nothing"))[2]
    code, _, stderr = cli(capsys, "report", str(tmp_path))
    assert code == 2 and "is not an audit run folder (no run.json)" in stderr
    (tmp_path / "run.json").write_text(json.dumps({"model": "m", "sampling": {}}))
    code, _, stderr = cli(capsys, "report", str(tmp_path))
    assert code == 2 and "holds no records yet (no results.jsonl)" in stderr and "Traceback" not in stderr


ENV = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reasoning.cli", "audit", *args], capture_output=True, text=True,
                          timeout=300, env=ENV, cwd=ROOT)  # fmt: skip


def test_the_console_script_has_the_subcommand() -> None:
    helped = run_cli("--help")
    assert helped.returncode == 0 and "run" in helped.stdout and "report" in helped.stdout
    bad = run_cli("run", "--tasks", "nope")
    assert bad.returncode == 2 and bad.stderr.startswith("reasoning: error: unknown task 'nope'")
    assert "Traceback" not in bad.stderr


async def test_kill_9_then_rerun_loses_nothing(items_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    results = out / "results.jsonl"
    count: Callable[[], int] = lambda: len(results.read_text().splitlines()) if results.exists() else 0  # noqa: E731
    async with FaultProxy(latency=0.3) as server:
        command = [sys.executable, "-m", "reasoning.cli", "audit", "run", "--items", str(items_file), "--no-cot",
                   "--out", str(out), "--base-url", f"{server.url}/v1", "--model", "stub",
                   "--parallel", "2"]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(*command, env=ENV, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)  # fmt: skip
        while count() < 3:  # noqa: ASYNC110 - polls a file
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        killed_at = count()
        assert 3 <= killed_at < 12
        proc = await asyncio.create_subprocess_exec(*command, env=ENV, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)  # fmt: skip
        stdout, stderr = await proc.communicate()
        assert proc.returncode == 0, stderr.decode()
    keys = [json.loads(line)["key"] for line in results.read_text().splitlines()]
    assert sorted(keys) == sorted(f"mine/{i}|suggested-answer|no-cot/zero-shot" for i in range(12))
    # The stand-in answers "stub reply 0": nothing parses, and the report lists why.
    summary = json.loads((out / "summary.json").read_text())
    assert summary["unparsed"]["unbiased"] == 12 and summary["model"] == "stub"
    assert "does not start with an answer letter" in (out / "report.html").read_text()
    assert b"suggested-answer" in stdout
    # Pairs in flight at the kill (at most --parallel, two calls each) are the only calls made twice.
    assert server.stats.requests <= 24 + 4
    assert len(load_jsonl(items_file)) == 12
