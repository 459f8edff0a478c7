"""The report: self-contained, every model and data string escaped, its structure following the summary, and
rendered offline by a headless Chromium (no request leaves the page)."""

import io
import itertools
import re
from pathlib import Path

from evals.supericl import Dataset, Example, Options, prepare, run_supericl
from evals.supericl.report import CSP
from evals.supericl.runner import Progress, RunFolder, RunInfo, write_outputs
from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.plugins import FunctionPlugin
from tests.evals.audit.test_report import Listener, browse, chromium, png_size_and_colours

LABELS = ("no", "yes")


def hostile(port: int):  # type: ignore[no-untyped-def]
    def answer(request: GenerationRequest, _: int) -> str:
        text = request.prompt or ""
        if "Explanation for overriding" in text[-80:]:
            return f"<script>alert(1)</script><img src=http://127.0.0.1:{port}/x>"
        last = text.rsplit("Input: ", 1)[1]
        if "item 3" in last:
            return "<b>maybe</b>"
        return " no" if "plug <in>" in text else " yes"

    return answer


async def write_run(folder: Path, port: int = 9) -> tuple[str, dict]:
    train = tuple(Example(id=f"t/train/{i}", task="x<y>&\"z\"", text=f"train {i}", label=LABELS[i % 2])
                  for i in range(4))  # fmt: skip
    test = tuple(Example(id=f"t/{i}", task="x<y>&\"z\"", text=f"item {i} <img src=http://127.0.0.1:{port}/t>",
                         label=LABELS[i % 2]) for i in range(6))  # fmt: skip
    dataset = Dataset('x<y>&"z"', LABELS, train, test)

    def plugin_fn(texts: list[str]) -> list[tuple[str, float]]:
        if any("item 5" in t for t in texts):
            raise ValueError("<bad> input")
        return [("yes", 0.6 + 0.07 * (len(t) % 5)) for t in texts]

    plugin = FunctionPlugin(plugin_fn, name="plug <in>")
    options = Options(shots=2, explain=True, threshold=0.8)
    model = ScriptedModel(hostile(port), name="model <b>")
    shots, task = await prepare(dataset, plugin, options)
    info = RunInfo(model=model.name, options=options, tasks={dataset.name: task})
    async with Engine(model, cache=ResponseCache()) as engine:
        results = RunFolder(folder).bind(info)
        records = await run_supericl([(dataset, plugin, shots)], engine, results, options,
                                     progress=Progress(24, io.StringIO()))  # fmt: skip
    summary = write_outputs(RunFolder(folder), records, info)
    return (folder / "report.html").read_text(), summary


async def test_model_and_data_text_is_escaped(tmp_path: Path) -> None:
    report, _ = await write_run(tmp_path)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report and "&lt;b&gt;maybe&lt;/b&gt;" in report
    assert "item 1 &lt;img src=http://127.0.0.1:9/t&gt;" in report and "plug &lt;in&gt;" in report
    assert "<script" not in report.lower() and "<img" not in report.lower() and "<b>" not in report
    assert "x&lt;y&gt;&amp;&quot;z&quot;" in report and "&lt;bad&gt; input" in report
    assert report.count("Content-Security-Policy") == 1 and f'content="{CSP}"' in report
    assert not re.search(r"<[^>]*\s(?:src|href|action|srcset)\s*=", report)  # nothing to fetch or follow


async def test_structure_follows_the_summary(tmp_path: Path) -> None:
    report, summary = await write_run(tmp_path)
    assert report.count('<tr class="method') == len(summary["methods"]) == 4
    assert report.count('<svg class="reliability"') == 1 and report.count('<svg class="sweep"') == 1
    filled = sum(b["n"] > 0 for b in summary["calibration"][0]["bins"])
    assert report.count('<rect class="bin"') == filled > 0
    assert report.count('<circle class="point"') == len(summary["sweep"]['x<y>&"z"'])
    overrides = next(o for o in summary["overrides"] if o["method"] == "supericl")
    assert f"SuperICL overrides of the plug-in ({overrides['rate']['k']})" in report
    assert report.count("<td><pre>&lt;script&gt;") == overrides["rate"]["k"]  # each override's explanation
    bad = sum(m["unparsed"] + m["failed"] for m in summary["methods"])
    assert f"Unparsed answers and plug-in failures ({bad})" in report


async def test_headless_chromium_renders_it_offline(tmp_path: Path) -> None:
    browser = chromium()
    listener = Listener()
    try:
        _, summary = await write_run(tmp_path / "run", port=listener.port)
        page = tmp_path / "run" / "report.html"
        dom = browse(browser, page, tmp_path / "profile1", "--dump-dom").stdout
        shot = tmp_path / "shot.png"
        browse(browser, page, tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1200,1600")
    finally:
        listener.shutdown()
        listener.server_close()
    assert dom.count('<tr class="method') == len(summary["methods"])
    assert dom.count('<svg class="reliability"') == 1 and dom.count('<rect class="bin"') > 0
    assert f"&lt;img src=http://127.0.0.1:{listener.port}/t&gt;" in dom and "<img" not in dom
    assert "<script" not in dom
    width, height, colours = png_size_and_colours(shot)
    assert (width, height) == (1200, 1600) and colours > 50
    assert listener.paths == []  # no request reached the loopback listener


async def test_plots_side_by_side_keep_their_captions_apart(tmp_path: Path) -> None:
    """Calibration plots sit side by side; each caption stays over its own plot, with room before the next one (the
    captions ran together: "...0 failed)navigate: ECE ...")."""
    from tests.evals.devtools import Browser

    await write_run(tmp_path / "run")
    with Browser(chromium(), tmp_path / "profile") as page:
        page.goto((tmp_path / "run" / "report.html").as_uri())
        page.wait_for("document.querySelectorAll('figure').length > 0")
        # This run has one task, so one calibration plot: a second task's is its copy, put beside it.
        boxes = page.evaluate("(() => {const f = document.querySelector('figure'); f.after(f.cloneNode(true));"
                              " return [...document.querySelectorAll('figure')].map(f => {"
                              "const r = f.getBoundingClientRect(); return [r.left, r.right, r.top]})})()")  # fmt: skip
    rows: dict[int, list[tuple[float, float]]] = {}
    for left, right, top in boxes:
        rows.setdefault(round(top), []).append((left, right))
    pairs = [(a, b) for row in rows.values() for a, b in itertools.pairwise(sorted(row))]
    assert pairs, boxes  # at least two plots share a row
    assert all(b[0] - a[1] >= 16 for a, b in pairs), boxes
