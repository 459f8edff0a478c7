"""`reasoning text` as a user runs it: the replay of the published run (100/100 kept as logged, no judge, said in
the summary and the report), resume, the report rebuilt, and mistakes in one line; every method with the judge on a
scripted model through the harness."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.harness import run_eval
from evals.text.data import load_tasks
from evals.text.eval import TextEval
from evals.text.methods import MethodConfig
from reasoning import Engine, ResponseCache
from reasoning.testing import ScriptedModel
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
ENV = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "reasoning.cli", "text", *args], capture_output=True, text=True,
                          timeout=300, env=ENV, cwd=ROOT)  # fmt: skip


def records(path):
    return [json.loads(line) for line in (path / "results.jsonl").read_text().splitlines()]


def test_replay_run_keeps_every_logged_output_and_says_the_judge_is_not_replayed(tmp_path):
    out = tmp_path / "run"
    first = cli("run", "--backend", "replay", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert "kept as logged (replay)   100" in first.stdout
    assert "the judge cannot be replayed" in first.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tasks"] == 100 and summary["replay_kept_as_logged"] == 100
    assert "cannot be replayed" in summary["coherency"] and summary["calls_per_task"] == 4.0
    done = records(out)
    assert all(r["as_logged"] and not r["judged"] and r["scores"] == [] for r in done)
    assert [len(s["candidates"]) for s in done[0]["steps"]] == [5, 5]
    report = (out / "report.html").read_text()
    assert "the judge cannot be replayed" in report and "Task 0" in report and "★" in report
    # Rerun: nothing redone; report rebuilt from the records alike.
    again = cli("run", "--backend", "replay", "--out", str(out))
    assert again.returncode == 0 and again.stdout == first.stdout and len(records(out)) == 100
    rebuilt = cli("report", str(out))
    assert rebuilt.returncode == 0 and (out / "report.html").read_text() == report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--judge", "model"], "the judge cannot be replayed"),
        (["--breadth", "2"], "made with --breadth 1; got --breadth 2"),
        (["--method", "cot"], "made with --method tot-bfs"),
        (["--range", "100"], "has rows 0-99"),
        (["--n-vote", "0"], "--n-vote must be at least 1"),
    ],
)
def test_mistakes_are_one_line(tmp_path, args, message):
    out = cli("run", "--backend", "replay", "--out", str(tmp_path / "run"), *args)
    assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def scripted(request, k):
    text = request.prompt if request.prompt is not None else request.messages[-1].content
    if "coherency score" in text:
        return f"Fine.\nThus the coherency score is {6 + k % 3}"
    if "Choice 1:" in text:
        return "The best choice is 1"
    if text.endswith("your passage\n"):
        return f"Plan:\nplan {k}\n"
    return f"Passage:\npassage {k}"


@pytest.mark.parametrize("method", ["io", "cot", "tot-bfs"])
async def test_every_method_is_judged_with_an_interval(tmp_path, method):
    config = MethodConfig(method=method, samples=2, n_generate=2, n_vote=3, judge_samples=3, chat=False)
    ev = TextEval(config, load_tasks(rows=range(0, 3)))
    model = ScriptedModel(scripted)
    async with Engine(model, cache=ResponseCache()) as engine:
        done, summary = await run_eval(ev, tmp_path, engine, model="scripted")
    assert [r.idx for r in done] == [0, 1, 2]
    assert all(r.judged and r.coherency == 7.0 for r in done)  # scores 6, 7, 8
    assert summary["coherency"] == 7.0 and (summary["coherency_low"], summary["coherency_high"]) == (7.0, 7.0)
    assert summary["tasks_scored"] == 3 and summary["paper_gpt4_coherency"] == {"io": 6.19, "cot": 6.93,
                                                                                "tot-bfs": 7.56}[method]  # fmt: skip
    record = done[0]
    if method == "tot-bfs":
        assert record.outputs == ["Plan:\nplan 0\nPassage:\npassage 0"] and record.plan == "Plan:\nplan 0\n"
        assert record.requests == {"expand": 2, "evaluate": 2, "judge": 1}
    else:
        assert len(record.outputs) == 2 and record.requests == {"answer": 1, "judge": 2}
    assert (tmp_path / "report.html").read_text().count('class="puzzle"') == 3


def test_replay_of_tasks_not_in_the_log_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("A. B. C. D.\n")
    out = cli("run", "--backend", "replay", "--tasks-file", str(tmp_path / "mine.txt"), "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "replay rows of the paper's tasks file" in out.stderr, out.stderr
