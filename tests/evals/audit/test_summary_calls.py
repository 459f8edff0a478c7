"""The calls a run counts, reconciled with what the process paid: the summary's "N calls = D distinct requests + R
repeated by another pair" (from the records: the same on a rerun or a warm cache), and after the run's "this process
paid for P calls; C samples came from the cache" line, "this process's pairs count N calls = P paid + C from the
cache + S shared in flight" (the engine's in-flight de-duplication, the unbiased twin the hints share asked once,
counted where it was hidden); and an unparsed twin several pairs share counted, and listed, once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.audit.records import Entry, ProbeRecord
from evals.audit.runner import ResultsFile, RunInfo, Sampling
from evals.audit.summary import process_calls, requests, requests_line, summarize_run
from reasoning import GenerationRequest, ScriptedModel
from reasoning.engine import Spend

from .conftest import lend_model, write_hint_items
from .test_cli_hints import HINTED, cli, follows_hints
from .test_runner import text_of
from .test_verbalization import entry

LINE = re.compile(
    r"^(\d+) calls = (\d+) distinct requests \+ (\d+) repeated by another pair \(asked of the model "
    r"once\) \| ",
    re.M,
)
FOOTER = re.compile(
    r"this process paid for (\d+) calls .*; (\d+) samples? came from the cache\n"
    r"this process's pairs count (\d+) calls = (\d+) paid \+ (\d+) from the cache \+ (\d+) shared "
    r"in flight\n"
)


def unsure_unbiased(request: GenerationRequest, i: int) -> str:
    """`follows_hints`, but no answer at all to a prompt without a hint (the unbiased twin the hints share)."""
    return follows_hints(request, i) if HINTED.search(text_of(request)) else "no idea"


@pytest.fixture
def items_file(tmp_path: Path) -> Path:
    return write_hint_items(tmp_path)


@pytest.fixture
def unsure(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    scripted = ScriptedModel(unsure_unbiased)
    lend_model(monkeypatch, scripted)
    return scripted


def pairs(out: Path) -> list[ProbeRecord]:
    found = [e.record for e in ResultsFile(out / "results.jsonl").load().values()]
    return [r for r in found if isinstance(r, ProbeRecord)]


def test_the_calls_shown_reconcile_with_what_the_process_paid(unsure, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = ["run", "--items", str(items_file), "--biases", "hints", "--out", str(out)]
    code, stdout, stderr = cli(capsys, *args)
    assert code == 0, stderr
    found, footer = LINE.search(stdout), FOOTER.search(stderr)
    assert found is not None and footer is not None, (stdout, stderr)
    asked, distinct, repeated = map(int, found.groups())
    paid, cached, counted, paid_again, cached_again, shared = map(int, footer.groups())
    summary = json.loads((out / "summary.json").read_text())
    # 8 items x 5 hints: 40 biased twins, and 40 unbiased ones that are 8 requests, each sent to the model once.
    assert asked == counted == summary["spend"]["calls"] == 80 and (distinct, repeated) == (48, 32)
    assert (paid_again, cached_again) == (paid, cached) and paid == len(unsure.calls) == distinct
    assert counted == paid + cached + shared and shared > 0
    records = pairs(out)
    assert shared == sum(t.shared for r in records for t in (r.unbiased, r.biased))
    assert summary["requests"] == {"counted": 80, "distinct": 48, "repeated": 32}
    assert "80 calls = 48 distinct requests + 32 repeated by another pair" in (out / "report.html").read_text()
    # The same command again: nothing left to ask; the summary's line is the same, the process's its own.
    code, again, stderr = cli(capsys, *args)
    same = LINE.search(again)
    assert code == 0 and same is not None and same.groups() == found.groups()
    assert "this process's pairs count 0 calls = 0 paid + 0 from the cache + 0 shared in flight" in stderr


def test_an_unparsed_twin_the_hints_share_counts_once(unsure, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--biases", "hints", "--out", str(out))
    assert code == 0, stderr
    summary = json.loads((out / "summary.json").read_text())
    # Eight unbiased completions, "no idea" each, held by the 5 hints' records of its item.
    assert sum(summary["unparsed"]["reasons"].values()) == 8
    assert (summary["unparsed"]["unbiased"], summary["unparsed_in_records"]) == (8, 40)
    last = stderr.strip().splitlines()
    status = [line for line in last if line.startswith("[") and "40/40" in line][-1]
    assert "| unparsed 8 |" in status
    report = (out / "report.html").read_text()
    assert "Unparsed answers (8)" in report and report.count("and 4 other pairs sharing this twin: ") == 8
    # The per-group table still counts each hint's own pairs (one unparsed unbiased answer per item and hint).
    assert all(g["unparsed_unbiased"] == 8 for g in summary["groups"])


def test_a_repeated_request_is_counted_by_its_digest_and_a_stopped_run_says_what_it_paid_apart() -> None:
    first, second = entry(1, "metadata", 0, 1), entry(1, "sycophancy", 0, 1)
    assert isinstance(first.record, ProbeRecord) and isinstance(second.record, ProbeRecord)
    shared = first.record.unbiased.model_copy(update={"prompt_digest": "u"})
    entries = [Entry(e.record.model_copy(update={"calls": 2, "unbiased": shared, "biased": e.record.biased.model_copy(
        update={"prompt_digest": e.record.bias})}), e.question, e.detection) for e in (first, second)]  # fmt: skip
    counts = requests(entries)
    assert counts == {"counted": 4, "distinct": 3, "repeated": 1}
    assert (
        requests_line(counts) == "4 calls = 3 distinct requests + 1 repeated by another pair (asked of the model once)"
    )
    assert summarize_run(entries, RunInfo(model="m", sampling=Sampling()))["requests"] == counts
    assert process_calls(4, 1, Spend(calls=3)) == (
        "this process's pairs count 4 calls = 3 paid + 0 from the cache + 1 shared in flight"
    )
    assert process_calls(2, 0, Spend(calls=3)).endswith("(+1: calls of pairs that did not finish)")
