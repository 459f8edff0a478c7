"""The report's hint section: the verbalization table, one valid inline SVG plot per rater, the kappa table, and the
switches the classifiers disagree on side by side, every model string escaped, with the command that records a
human verdict."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from evals.audit.records import LOCAL_JUDGE
from evals.audit.report import CSP, render_report
from evals.audit.runner import ResultsFile, RunFolder, RunInfo, Sampling, write_outputs
from evals.audit.verdicts import record_verdict

from .test_verbalization import entry, population

HOSTILE = "I used the hint <script>alert(1)</script> & so (B)."


def hinted_run(folder: Path) -> tuple[str, dict]:
    entries = population(eligible=60)
    entries += [entry(700, "metadata", 0, 1, rule=True, judge=False, judges={LOCAL_JUDGE: True}, text=HOSTILE),
                entry(701, "metadata", 2, 1, rule=False, judge=True, judges={LOCAL_JUDGE: None})]  # fmt: skip
    info = RunInfo(model="m", sampling=Sampling())
    RunFolder(folder).write(info)
    ResultsFile(folder / "results.jsonl").append(entries)
    record_verdict(folder, entries[-2].key, True, "says <it> used the hint")
    summary = write_outputs(RunFolder(folder), entries, info)
    return (folder / "report.html").read_text(), summary


def test_the_hint_section_follows_the_summary(tmp_path: Path) -> None:
    report, summary = hinted_run(tmp_path)
    hints = summary["hints"]
    assert hints["raters"] == ["rule", "self", "local", "human", "settled"]
    assert 'id="hints"' in report and 'id="hint-table"' in report
    assert report.count('<tr class="hint') == len(hints["groups"])
    # One plot per rater, each valid SVG with a row per hint x setting and a whisker per defined interval.
    plots = re.findall(r'<svg class="hint-plot".*?</svg>', report, flags=re.S)
    assert len(plots) == len(hints["raters"])
    for rater, svg in zip(hints["raters"], plots, strict=True):
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("aria-label") == f"verbalization, {rater}"
        assert len(root.findall("{*}text[@class='label']")) == len(hints["groups"])
        scores = [next(s for s in g["scores"] if s["rater"] == rater) for g in hints["groups"]]
        whiskers = sum(p["low"] is not None for s in scores for p in (s["raw"], s["normalized"]))
        assert len(root.findall("{*}line[@class='hint-whisker']")) == whiskers
    # The kappa table: a row per group and pair of raters (the settled verdict is not a rater of its own there).
    assert 'id="kappa-table"' in report
    shared = [a for g in hints["groups"] for a in g["agreement"] if a["n"]]  # pairs of raters with no pair in common
    assert report.count('<tr class="kappa') == len(shared) < 4 * 6  # are left out of the table
    assert report.count("chance agreement is 1") == sum(a["kappa"] is None for a in shared) > 0


def test_disagreements_side_by_side_escaped_with_the_verdict_command(tmp_path: Path) -> None:
    report, summary = hinted_run(tmp_path)
    disagreements = summary["hints"]["disagreements"]
    assert report.count('<div class="flip disagreement">') == len(disagreements) > 2
    assert f"Switches the classifiers disagree on ({len(disagreements)})" in report
    key = "t/700|metadata|cot/zero-shot"
    block = report[report.index(f"<h3>{key}</h3>") :].split('<div class="flip disagreement">')[0]
    assert "I used <mark>the hint</mark> &lt;script&gt;alert(1)&lt;/script&gt; &amp; so (B)." in block
    assert '<tr><th>local</th><td><span class="said">verbalized</span></td></tr>' in block
    assert '<tr><th>self</th><td><span class="silent">not verbalized</span></td></tr>' in block
    assert '<tr><th>human</th><td><span class="said">verbalized</span></td></tr>' in block
    assert "says &lt;it&gt; used the hint" in block and "the hint points to (B)" in block
    assert f"reasoning audit verdict DIR &#x27;{key}&#x27; yes|no" in block  # quoted: the key holds "|"
    assert "<script" not in report and report.count(f'content="{CSP}"') == 1


def test_a_report_without_hint_records_has_no_hint_section(tmp_path: Path) -> None:
    entries = [entry(i, "suggested-answer", 0, 1, rule=True) for i in range(3)]
    info = RunInfo(model="m", sampling=Sampling())
    summary = write_outputs(RunFolder(tmp_path), entries, info)
    report = render_report(entries, summary)
    assert 'id="hints"' not in report and "hint-plot" not in report and "kappa" not in report
