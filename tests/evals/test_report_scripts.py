"""Script planted in model output and in data never runs in an HTML report.

Every report (audit, SuperICL, game of 24) is built from a run whose model answers, item texts, task names, ids,
model and plug-in names carry payloads that, if the browser ran them, would change `document.title` or send a
request to a loopback listener: `<script>`, attribute break-outs (`"><script>`, `'><img onerror>`), `</script>`,
`</title>`, `</style>`, `<svg onload>`, `<svg><script>`, `]]>`, `javascript:` links, `<details ontoggle>`,
`<iframe>`, `<meta refresh>`, `<img>`, `<link>`, `@import`, `<base>`, `<!--`. A real headless Chromium then loads each
report, as written and with its Content-Security-Policy removed (so escaping alone is tested, not the CSP), and
its DOM must hold no injected element, handler or link, its title must be the report's own, and the listener must
hear nothing. A control page that does not escape the same payloads proves they do run.
"""

from __future__ import annotations

import asyncio
import html.parser
import io
import re
from pathlib import Path

from evals.audit import SETTINGS, SuggestedAnswer
from evals.audit.runner import Progress, RunFolder, RunInfo, Sampling, run_audit, write_outputs
from evals.game24 import report as game24_report
from evals.game24.data import Puzzle
from evals.game24.methods import MethodConfig, solve_puzzle
from evals.game24.runner import summarize
from evals.supericl import Dataset, Example, Options, prepare, run_supericl
from evals.supericl.runner import Progress as SuperICLProgress
from evals.supericl.runner import RunFolder as SuperICLFolder
from evals.supericl.runner import RunInfo as SuperICLInfo
from evals.supericl.runner import write_outputs as supericl_outputs
from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.plugins import FunctionPlugin
from tests.evals.audit.conftest import make
from tests.evals.audit.test_report import Listener, browse, chromium

PAYLOADS = {
    "script": '<script>document.title="pwned-script";fetch("{hit}/script")</script>',
    "attr-dq": '"><script>document.title="pwned-attr-dq"</script><x y="',
    "attr-sq": "'><img src=\"{hit}/attr-sq\" onerror=\"document.title='pwned-attr-sq'\"><x y='",
    "close-script": '</script><script>document.title="pwned-close-script";fetch("{hit}/close-script")</script>',
    "close-title": '</title><script>document.title="pwned-close-title"</script>',
    "close-style": '</style><script>document.title="pwned-close-style"</script>',
    "svg-onload": "<svg onload=\"document.title='pwned-svg-onload';fetch('{hit}/svg-onload')\"></svg>",
    "svg-script": '<svg><script>document.title="pwned-svg-script"</script></svg>',
    "cdata": ']]><script>document.title="pwned-cdata"</script>',
    "javascript-url": '<a id="js" href="javascript:document.title=\'pwned-javascript-url\'">x</a>',
    "toggle": "<details open ontoggle=\"document.title='pwned-toggle';fetch('{hit}/toggle')\"><summary>s</summary>",
    "iframe": '<iframe src="{hit}/iframe"></iframe>',
    "img": '<img src="{hit}/img">',
    "css": '<link rel="stylesheet" href="{hit}/css"><style>@import url("{hit}/import");</style>',
    "base": '<base href="{hit}/base/">',
    "refresh": '<meta http-equiv="refresh" content="0;url={hit}/refresh">',
    "comment": "<!--",  # last: left unescaped it would swallow the rest of the page
}
# Elements a payload would add. The reports' own markup uses none of them (game 24 has one script of its own).
INJECTED = {"x", "img", "iframe", "link", "base", "object", "embed", "frame", "audio", "video", "form", "input",
            "image", "use", "foreignobject", "animate", "set"}  # fmt: skip


def payload(port: int) -> str:
    hit = f"http://127.0.0.1:{port}"
    return " ".join(p.replace("{hit}", hit) for p in PAYLOADS.values())


class Dom(html.parser.HTMLParser):
    """What a page's DOM holds: its elements with their attributes, its title, its text and its style sheets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.title = ""
        self.text: list[str] = []
        self.styles: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._open = tag

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open == "title" and not any(t == "title" for t, _ in self.elements[:-1]):
            self.title += data
        if self._open == "style":
            self.styles.append(data)
        self.text.append(data)


def parse(dom: str) -> Dom:
    parsed = Dom()
    parsed.feed(dom)
    return parsed


def problems(dom: str, *, title: str, scripts: int = 0) -> list[str]:
    """Everything in a rendered DOM that a payload put there, as readable lines (empty: nothing)."""
    page = parse(dom)
    found = []
    if page.title != title:
        found.append(f"title {page.title!r}, expected {title!r}")
    tags = [t for t, _ in page.elements]
    found += [f"injected <{t}>" for t in tags if t in INJECTED]
    if tags.count("script") != scripts:
        found.append(f"{tags.count('script')} <script> elements, expected {scripts}")
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"<{tag} {name}=...>")
            if value.strip().lower().startswith("javascript:"):
                found.append(f"<{tag} {name}={value[:40]!r}>")
            if name == "href" and not value.startswith("#"):
                found.append(f"<{tag} href={value[:40]!r}> leaves the page")
        if tag == "meta" and "http-equiv" in attrs and attrs["http-equiv"].lower() != "content-security-policy":
            found.append(f"<meta http-equiv={attrs['http-equiv']!r}>")
    found += ["a style sheet that imports" for css in page.styles if "@import" in css]
    return found


def without_csp(page: Path) -> Path:
    """A copy of `page` without its Content-Security-Policy: only the escaping stands between payload and browser."""
    text, count = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
    assert count == 1
    bare = page.with_name("no-csp-" + page.name)
    bare.write_text(text)
    return bare


def check_in_browser(tmp_path: Path, page: Path, listener: Listener, *, title: str, scripts: int = 0) -> list[str]:
    """Load `page` as written and without its CSP; return each DOM and assert neither ran anything."""
    browser = chromium()
    doms = []
    for i, variant in enumerate((page, without_csp(page))):
        dom = browse(browser, variant, tmp_path / f"profile-{page.stem}-{i}", "--virtual-time-budget=2000",
                     "--dump-dom").stdout  # fmt: skip
        assert problems(dom, title=title, scripts=scripts) == [], variant.name
        assert "pwned-script" in "".join(parse(dom).text)  # the payload is there, as text
        doms.append(dom)
    assert listener.paths == []
    return doms


def test_the_payloads_run_in_a_page_that_does_not_escape_them(tmp_path: Path) -> None:
    listener = Listener()
    try:
        page = tmp_path / "control.html"
        page.write_text(f"<!doctype html><html><head><title>control</title></head><body><p>{payload(listener.port)}"
                        "</p><p>the rest of the page</p></body></html>")  # fmt: skip
        dom = browse(chromium(), page, tmp_path / "profile", "--virtual-time-budget=2000", "--dump-dom").stdout
    finally:
        listener.shutdown()
        listener.server_close()
    found = problems(dom, title="control")
    assert any(f.startswith("title 'pwned-") for f in found), found
    assert {"injected <img>", "injected <iframe>", "injected <x>"} <= set(found)
    assert any(" on" in f for f in found) and any("javascript:" in f for f in found)  # handlers, links
    assert {"/script", "/img", "/iframe", "/toggle"} <= set(listener.paths), listener.paths


def test_game24_csp_runs_the_reports_own_script_only(tmp_path: Path) -> None:
    """The hash in the CSP matches the report's script (it runs: the hidden buttons appear), and no other inline
    script runs under it."""
    records, summary, meta = asyncio.run(game24_run("clean"))
    report = game24_report.render_report(records, summary, meta)
    page = tmp_path / "report.html"
    page.write_text(report)
    extra = tmp_path / "extra.html"
    extra.write_text(report.replace("</body>", '<script>document.title="pwned-extra"</script></body>'))
    browser = chromium()
    dom = browse(browser, page, tmp_path / "p1", "--dump-dom").stdout
    assert '<p id="controls">' in dom  # no longer hidden: the report's script ran
    extra_dom = browse(browser, extra, tmp_path / "p2", "--dump-dom").stdout
    assert "pwned" not in parse(extra_dom).title and '<p id="controls">' in extra_dom
    assert "'unsafe-inline'" not in game24_report.CSP.split("script-src")[1]


# ---- the audit ----


async def audit_run(folder: Path, port: int) -> tuple[str, str]:
    bad = payload(port)
    task = f"task {bad}"
    items = [make(i, gold=0, suggest=1, task=task).model_copy(update={
        "id": f"{bad}/{i}", "question": f"Question {i}: {bad} which one?",
        "choices": (f"choice 0 {bad}", "choice 1", "choice 2")}) for i in range(4)]  # fmt: skip

    def reply(request: GenerationRequest, _: int) -> str:
        text = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages or ())
        if re.search(r"I think the answer is B", text):  # the suggestion: follow it and say so, in markup
            return f"You think it is B {bad} and I agree. So the best answer is: (B)."
        return f"Plain {bad} reasoning. So the best answer is: (A)."

    model = ScriptedModel(reply, name=f"model {bad}")
    sampling = Sampling(temperature=0.0)
    info = RunInfo(model=model.name, sampling=sampling)
    async with Engine(model) as engine:
        results = RunFolder(folder).bind(info)
        entries = await run_audit(items, [SuggestedAnswer()], list(SETTINGS[:1]) + list(SETTINGS[2:3]), engine,
                                  results, sampling, progress=Progress(1, io.StringIO()))  # fmt: skip
    summary = write_outputs(RunFolder(folder), entries, info)
    assert summary["groups"]
    return (folder / "report.html").read_text(), model.name


def test_audit_report_runs_nothing(tmp_path: Path) -> None:
    listener = Listener()
    try:
        report, model_name = asyncio.run(audit_run(tmp_path / "run", listener.port))
        assert 'class="flip"' in report and "Unparsed answers (" in report  # completions shown, both ways
        check_in_browser(tmp_path, tmp_path / "run" / "report.html", listener,
                         title=f"Faithfulness audit — {model_name}")  # fmt: skip
    finally:
        listener.shutdown()
        listener.server_close()


# ---- SuperICL ----


async def supericl_run(folder: Path, port: int) -> str:
    bad = payload(port)
    labels = ("no", "yes")
    task = f"task {bad}"
    train = tuple(Example(id=f"train/{i}", task=task, text=f"train {i} {bad}", label=labels[i % 2]) for i in range(4))
    test = tuple(Example(id=f"{bad}/{i}", task=task, text=f"item {i} {bad}", label=labels[i % 2]) for i in range(4))

    def plugin_fn(texts: list[str]) -> list[tuple[str, float]]:
        if any(t.startswith("item 3") for t in texts):
            raise ValueError(f"plug-in failed on {bad}")
        return [("yes", 0.7) for _ in texts]

    def answer(request: GenerationRequest, _: int) -> str:
        text = request.prompt or ""
        if "Explanation for overriding" in text[-80:]:
            return f"because {bad}"
        last = text.rsplit("Input: ", 1)[1]
        return f"maybe {bad}" if last.startswith("item 2") else " no"

    plugin = FunctionPlugin(plugin_fn, name=f"plug {bad}")
    options = Options(shots=2, explain=True, threshold=0.8)
    model = ScriptedModel(answer, name=f"model {bad}")
    shots, task_info = await prepare(Dataset(task, labels, train, test), plugin, options)
    info = SuperICLInfo(model=model.name, options=options, tasks={task: task_info})
    async with Engine(model, cache=ResponseCache()) as engine:
        results = SuperICLFolder(folder).bind(info)
        records = await run_supericl([(Dataset(task, labels, train, test), plugin, shots)], engine, results,
                                     options, progress=SuperICLProgress(16, io.StringIO()))  # fmt: skip
    supericl_outputs(SuperICLFolder(folder), records, info)
    return model.name


def test_supericl_report_runs_nothing(tmp_path: Path) -> None:
    listener = Listener()
    try:
        model_name = asyncio.run(supericl_run(tmp_path / "run", listener.port))
        report = (tmp_path / "run" / "report.html").read_text()
        assert 'id="overrides-table"' in report and 'id="problems-table"' in report  # explanations, failures
        check_in_browser(tmp_path, tmp_path / "run" / "report.html", listener, title=f"SuperICL — {model_name}")
    finally:
        listener.shutdown()
        listener.server_close()


# ---- game of 24 ----


async def game24_run(bad: str) -> tuple[list[dict], dict, dict]:
    """A tree-of-thought search whose proposals, values and answers carry `bad`, and a second record as a
    hand-edited results file could hold it: `bad` in its number, puzzle, outputs, reasons and stop reason."""

    def reply(request: GenerationRequest, _: int) -> str:
        text = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages or ())
        if "Evaluate" in text or "sure" in text[-300:]:
            return f"{bad}\nsure"
        if "Possible next steps" in text or "left:" in text[-200:]:
            return f"4 + 5 = 9 (left: 6 9 10) {bad}\n10 - 4 = 6 (left: 5 6 6)"
        return f"Answer: (10 - 4) * 5 - 6 = 24 {bad}"

    model = ScriptedModel(reply, name=f"model {bad}")
    async with Engine(model, cache=ResponseCache()) as engine:
        record = await solve_puzzle(Puzzle(0, "4 5 6 10"), engine, MethodConfig(method="tot-bfs", breadth=2, n_value=1))
    record["model"] = model.name
    assert record["tree"]["nodes"] and any(bad in n.get("thought", "") for n in record["tree"]["nodes"])
    edited = dict(record, idx=f"javascript:{bad}", puzzle=bad, stopped=bad, calls=bad, prompt_tokens=bad,
                  completion_tokens=bad, outputs=[bad], verdicts=[{"correct": False, "reason": bad}])  # fmt: skip
    records = [record, edited]
    summary = summarize([dict(record, method=bad)])
    meta = {"config": {"method": bad}, "model": model.name, "out": bad}
    return records, summary, meta


def test_game24_report_runs_nothing(tmp_path: Path) -> None:
    listener = Listener()
    try:
        records, summary, meta = asyncio.run(game24_run(payload(listener.port)))
        page = game24_report.write_report(tmp_path / "report.html", records, summary, meta)
        doms = check_in_browser(tmp_path, page, listener, title=f"Game of 24 — {summary['method']}", scripts=1)
        assert all('<p id="controls">' in dom for dom in doms)  # its own script still runs
    finally:
        listener.shutdown()
        listener.server_close()
