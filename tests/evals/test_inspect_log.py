"""Exported runs open in inspect's viewer: a game-24 run and an audit run, made through their commands on a scripted
model and exported (`reasoning export`), go in one log folder; `inspect view bundle` writes the static viewer for
it; a loopback server serves that (with byte ranges, which the viewer reads a `.eval` file by) and headless Chromium
renders it. The page must list both logs, show every puzzle and the audit's pairs with their scores, and a sample's
messages (the model's replies, each named by its part). And the log's times are the run's: its start and its end."""

from __future__ import annotations

import datetime
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from evals.harness import LogSample
from tests.conftest import require
from tests.evals.audit.test_report import chromium
from tests.evals.devtools import Browser
from tests.evals.test_export import PUZZLES, audit_run, export, game24_run, results

INSPECT = Path(sys.executable).with_name("inspect")  # inspect_ai's command, beside this Python


class Ranged(http.server.SimpleHTTPRequestHandler):
    """A folder's files, with one byte range (`Range: bytes=a-b`, `bytes=-n`) answered as 206; quiet."""

    def send_head(self) -> Any:
        found = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if found is None or found.groups() == ("", "") or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        start, end = found.groups()
        first, last = (size - int(end), size - 1) if not start else (int(start), min(int(end or size - 1), size - 1))
        if not 0 <= first <= last:
            self.send_error(416)
            return None
        with open(path, "rb") as file:
            file.seek(first)
            self.body = file.read(last - first + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        return None  # the body is written by do_GET below

    def do_GET(self) -> None:
        self.body = b""
        super().do_GET()
        if self.body:
            self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """`folder` on a loopback port; its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Ranged, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def shows(*texts: str) -> str:
    """A page condition: its text holds every one of `texts`."""
    return " && ".join(f"document.body.innerText.includes({text!r})" for text in texts)


def test_the_viewer_shows_the_exported_samples(tmp_path, monkeypatch, capsys) -> None:
    browser = chromium()
    logs = tmp_path / "logs"
    export(capsys, game24_run(tmp_path, monkeypatch, capsys), "--out", str(logs / "game24.eval"))
    audit = export(capsys, audit_run(tmp_path, monkeypatch, capsys), "--out", str(logs / "audit.eval"))
    site = tmp_path / "site"
    made = subprocess.run([str(INSPECT), "view", "bundle", "--log-dir", str(logs), "--output-dir", str(site)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert {p.name for p in (site / "logs").iterdir()} >= {"game24.eval", "audit.eval", "listing.json"}

    with serve(site) as url, Browser(browser, tmp_path / "profile") as page:

        def wait(route: str, *texts: str) -> None:
            page.goto(url + route)
            met = page.wait_for(shows(*texts), timeout=120)
            assert met, f"{route or 'the log list'} does not show {texts}:\n{page.evaluate('document.body.innerText')}"

        wait("", "game24", "audit", "scripted")  # the list of logs
        # The game-24 log: every puzzle, its scores' columns and values, and how many samples.
        wait("#/logs/game24.eval", *PUZZLES, "SUCCESS", "FIRST_CORRECT", "ANY_CORRECT", "(10 - 6) * 5 + 4", "3 rows")
        # One puzzle's messages: both chain-of-thought samples, each named.
        wait("#/logs/game24.eval/samples/sample/1/1", "1 1 4 6", "Answer: 1 + 1 + 4 + 6 = 12",
             "Answer: 6 * 4 * 1 * 1 = 24", "output 1", "output 2")  # fmt: skip
        # The audit log: its pairs (16 rows), their questions and scores.
        first, flipped = audit.samples[0], next(s for s in audit.samples if s.scores.get("flipped", None)
                                                and s.scores["flipped"].value)  # fmt: skip
        wait("#/logs/audit.eval", f"{len(audit.samples)} rows", "FOLLOWS_BIAS", "FLIPPED", "MENTIONS_RULE",
             first.input.splitlines()[0], first.id)  # fmt: skip
        # A flipped pair: the unbiased and the biased reply, each named by its twin.
        route = f"#/logs/audit.eval/samples/sample/{urllib.parse.quote(flipped.id, safe='')}/1"
        wait(route, flipped.input.splitlines()[0], *(m.text for m in flipped.messages), "unbiased", "biased")


END = 1_800_000_000.0  # when results.jsonl was last written: the run's end, seconds since the epoch


def iso(when: float) -> str:
    return datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat()


def written(run: Path, samples: list[LogSample]) -> Any:
    """`samples` of the run folder `run`, exported as a log and read back by inspect_ai's own reader."""
    require("inspect_ai")
    from inspect_ai.log import read_eval_log

    from evals.inspect_log import eval_log, write_log

    log = eval_log(eval_name="toy", run=run, info={"model": "m"}, header=None, samples=samples, summary={},
                   changed=END)  # fmt: skip
    write_log(run / "toy.eval", log)
    return read_eval_log(str(run / "toy.eval"))


def test_the_log_starts_at_the_run_s_first_call_and_ends_at_its_last_record(tmp_path: Path) -> None:
    # Both times were the results file's: the viewer showed every run as taking no time.
    calls = [{"ts": END - 500, "latency_s": 5.0}, {"ts": END - 900, "latency_s": 100.0}, {"ts": END - 10}, [1],
             {"ts": "soon", "latency_s": 1}]  # fmt: skip
    (tmp_path / "calls.jsonl").write_text("".join(json.dumps(c) + "\n" for c in calls) + "{not json\n")
    log = written(tmp_path, [LogSample(id="1", input="q", metadata={"seconds": 7.0})])
    assert log.stats.started_at == log.eval.created == iso(END - 1000)  # the earliest call's start, not its end
    assert log.stats.completed_at == iso(END)
    assert log.eval.metadata["times"] == {
        "started_at": "the start of the first call in calls.jsonl",
        "completed_at": "when results.jsonl was last written (its last record)",
    }


@pytest.mark.parametrize("calls", [None, [{"ts": END + 60, "latency_s": 1.0}]])  # none; or only after the end
def test_without_a_call_log_the_start_is_the_latest_the_records_allow(tmp_path: Path, calls: Any) -> None:
    if calls is not None:
        (tmp_path / "calls.jsonl").write_text("".join(json.dumps(c) + "\n" for c in calls))
    samples = [LogSample(id=str(i), input="q", metadata={"seconds": s}) for i, s in enumerate([30.0, 50.0, None])]
    log = written(tmp_path, samples)
    assert (log.stats.started_at, log.stats.completed_at) == (iso(END - 50), iso(END))
    assert log.eval.metadata["times"]["started_at"].startswith("not recorded: the end less the longest sample's")


def test_with_nothing_recorded_the_start_is_said_to_be_the_end(tmp_path: Path) -> None:
    log = written(tmp_path, [LogSample(id="1", input="q", metadata={"seconds": "n/a"})])
    assert log.stats.started_at == log.stats.completed_at == iso(END)
    assert log.eval.metadata["times"]["started_at"] == "not recorded: taken as the end"


def test_an_exported_run_spans_its_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require("inspect_ai")
    run = game24_run(tmp_path, monkeypatch, capsys)
    log = export(capsys, run)
    calls = [json.loads(line) for line in (run / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == len(results(run)) == len(PUZZLES)  # one chain-of-thought call (2 samples) a puzzle
    assert log.stats.started_at == iso(min(c["ts"] - c["latency_s"] for c in calls))
    assert log.stats.completed_at == iso((run / "results.jsonl").stat().st_mtime)
    assert log.stats.started_at < log.stats.completed_at
