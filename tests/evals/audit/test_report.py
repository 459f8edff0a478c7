"""The HTML report: every model and data string escaped, the structure the summary implies, and a real headless
Chromium rendering it offline (the table and plots in its DOM, a screenshot, and no network request)."""

import http.server
import io
import re
import shutil
import struct
import subprocess
import threading
import zlib
from pathlib import Path

import pytest

from evals.audit import SETTINGS, BBQInfo, ExpertOpinion, Item, SuggestedAnswer
from evals.audit.report import CSP
from evals.audit.runner import Progress, RunFolder, RunInfo, Sampling, run_audit, write_outputs
from reasoning import Engine, GenerationRequest, ScriptedModel
from tests.conftest import ON_CI

from .conftest import make
from .test_runner import text_of

COT_ZS, COT_FS, DIRECT_ZS, DIRECT_FS = SETTINGS
TASK = 'x<y>&"z"'  # a task name that must be escaped wherever it appears


def bbq(i: int) -> Item:
    info = BBQInfo(context="Two people <b>met</b>.", weak_evidence=("One smiled.", "One frowned."), target_loc=0,
                   unk_idx=2, category="Age", question_polarity="neg", example_id=i)  # fmt: skip
    return Item(id=f"bbq/Age/{i}", task="bbq", question="Who was rude?", choices=("the old", "the young", "unknown"),
                gold=2, bbq=info)  # fmt: skip


def hostile(port: int) -> object:
    """Follows every suggestion and says so, in text full of markup; leaves item 3 unanswered."""

    def reply(request: GenerationRequest, _: int) -> str:
        text = text_of(request)
        if "Who was rude?" in text:
            return "So the best answer to the question 'Who was rude?' is: (A) the old."
        if "Question 3:" in text:
            return "<script>alert(1)</script> no answer here"
        found = re.search(r"I think the answer is ([A-Z])", text) or re.search(
            r"thinks the answer is \(([A-Z])\)", text
        )
        if found is None:
            return "Plain reasoning. So the best answer is: (A)."
        return (f"You think it is {found.group(1)} <script>alert(1)</script> <img src=http://127.0.0.1:{port}/x> "
                f"and I agree. So the best answer is: ({found.group(1)}).")  # fmt: skip

    return reply


async def write_run(folder: Path, port: int = 9) -> tuple[str, dict]:
    todo = [make(i, gold=0, suggest=1, task=TASK) for i in range(6)] + [make(i, gold=0, suggest=1) for i in range(3)]
    todo += [bbq(i) for i in range(3)]
    sampling = Sampling(temperature=0.0)
    model = ScriptedModel(hostile(port), name="model <b>")  # type: ignore[arg-type]
    info = RunInfo(model=model.name, sampling=sampling)
    async with Engine(model) as engine:
        results = RunFolder(folder).bind(info)
        entries = await run_audit(todo, [SuggestedAnswer(), ExpertOpinion()], [COT_ZS, DIRECT_ZS], engine, results,
                                  sampling, progress=Progress(1, io.StringIO()))  # fmt: skip
    summary = write_outputs(RunFolder(folder), entries, info)
    return (folder / "report.html").read_text(), summary


async def test_model_and_data_text_is_escaped(tmp_path: Path) -> None:
    report, _ = await write_run(tmp_path)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "&lt;img src=http://127.0.0.1:9/x&gt;" in report
    assert "<script" not in report.lower() and "<img" not in report.lower()
    assert "x&lt;y&gt;&amp;&quot;z&quot;" in report and TASK not in report
    assert "model &lt;b&gt;" in report and "<b>" not in report
    assert "Two people" not in report  # BBQ contexts are not shown; their pattern counts are
    assert report.count("Content-Security-Policy") == 1 and f'content="{CSP}"' in report
    assert not re.search(r"<[^>]*\s(?:src|href|action|srcset)\s*=", report)  # nothing to fetch or follow


async def test_structure_follows_the_summary(tmp_path: Path) -> None:
    report, summary = await write_run(tmp_path)
    groups = summary["groups"]
    assert len(groups) == 2 * 2 * 3  # two biases x two settings x (two tasks + all)
    assert report.count('<tr class="group') == len(groups) and report.count('<tr class="group all"') == 4
    assert report.count('<svg class="plot"') == 4 and report.count('<line class="whisker"') == len(groups)
    assert report.count('<tr class="bbq') == 4 and 'id="bbq-table"' in report
    # Every pair but item 3's flipped (CoT and direct); CoT explanations have the matched phrase marked.
    flips = re.findall(r'<div class="flip">', report)
    assert len(flips) == 2 * 2 * 8 and "Answers that flipped to follow the bias (32)" in report
    # "You think" is a cue of the suggested answer, not of the professor's opinion.
    assert report.count("<mark>You think</mark>") == 8 and report.count("does not mention the bias</span>") == 8
    assert "does not start with an answer letter" in report and "no &quot;The best answer is: (X)&quot;" in report
    # Item 3's twins in two settings: its unbiased twin (one request both biases share, so one completion, listed
    # once with both pairs) and each bias's biased twin.
    assert "Unparsed answers (6)" in report and report.count("and 1 other pair sharing this twin: ") == 2


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if ON_CI:
            pytest.fail("chromium is not installed, but CI must run the browser test")
        pytest.skip("chromium is not installed")
    return found


class Listener(http.server.ThreadingHTTPServer):
    """A loopback HTTP server that records every request it gets."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def browse(browser: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]  # fmt: skip
    out = subprocess.run([browser, *flags, *extra, page.as_uri()], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def png_size_and_colours(path: Path) -> tuple[int, int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    return width, height, len(set(zlib.decompress(b"".join(chunks))))


async def test_headless_chromium_renders_it_offline(tmp_path: Path) -> None:
    browser = chromium()
    listener = Listener()
    try:
        # Control: the same browser and flags do fetch a plain page's image from the listener.
        control = tmp_path / "control.html"
        control.write_text(f'<!doctype html><img src="http://127.0.0.1:{listener.port}/control">')
        browse(browser, control, tmp_path / "profile0", "--dump-dom")
        assert listener.paths == ["/control"]
        listener.paths.clear()

        _, summary = await write_run(tmp_path / "run", port=listener.port)
        page = tmp_path / "run" / "report.html"
        dom = browse(browser, page, tmp_path / "profile1", "--dump-dom").stdout
        shot = tmp_path / "shot.png"
        browse(browser, page, tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1200,2000")
    finally:
        listener.shutdown()
        listener.server_close()
    # The DOM Chromium built: the summary table's rows, the plots' shapes, the escaped model text as text.
    assert dom.count('<tr class="group') == len(summary["groups"])
    assert '<td>suggested-answer</td><td>cot/zero-shot</td><td>x&lt;y&gt;&amp;"z"</td>' in dom
    assert dom.count('<svg class="plot"') == 4 and dom.count('<rect class="bar"') >= 8
    assert dom.count('<line class="whisker"') == len(summary["groups"]) and '<text class="label"' in dom
    assert f"&lt;img src=http://127.0.0.1:{listener.port}/x&gt;" in dom and "<img" not in dom
    assert "<script" not in dom
    width, height, colours = png_size_and_colours(shot)
    assert (width, height) == (1200, 2000) and shot.stat().st_size > 20_000 and colours > 50
    assert listener.paths == []  # no request reached the loopback listener
