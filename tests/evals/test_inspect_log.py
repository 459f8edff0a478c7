"""Exported runs open in inspect's viewer: a game-24 run and an audit run, made through their commands on a scripted
model and exported (`reasoning export`), go in one log folder; `inspect view bundle` writes the static viewer for
it; a loopback server serves that (with byte ranges, which the viewer reads a `.eval` file by) and headless Chromium
renders it. The page must list both logs, show every puzzle and the audit's pairs with their scores, and a sample's
messages (the model's replies, each named by its part)."""

from __future__ import annotations

import functools
import http.server
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

from tests.evals.audit.test_report import chromium
from tests.evals.devtools import Browser
from tests.evals.test_export import PUZZLES, audit_run, export, game24_run

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
