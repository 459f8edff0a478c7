"""The game-of-24 report: the success / cost table and each puzzle's search tree, in the one report shell
(`evals.harness.page`: self-contained, browsable offline, the shared stylesheet).

The tree is nested `<details>` elements (interactive without script); a few lines of inline script add
expand/collapse-all and a solved/unsolved filter. All model and data text is escaped, and the
Content-Security-Policy (`CSP`) lets only that one script (by its hash) run: no event-handler attributes, no other
script, no network request.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning._words import counted

from ..files import write_atomic
from ..harness import csp, escape, page

__all__ = ["CSP", "render_report", "summary_rows", "write_report"]

# Wired by data attributes, not onclick="...": inline handlers would need 'unsafe-inline' (or 'unsafe-hashes'),
# which would also let any markup that slipped through escaping run. The buttons stay hidden where script is off.
_JS = """
document.getElementById('controls').hidden=false;
document.querySelectorAll('button[data-open]').forEach(b=>b.addEventListener('click',()=>{
 document.querySelectorAll('.tree details').forEach(d=>{d.open=b.dataset.open==='yes'})}));
document.querySelectorAll('button[data-show]').forEach(b=>b.addEventListener('click',()=>{
 const which=b.dataset.show;document.querySelectorAll('.puzzle').forEach(p=>{
 p.style.display=(which==='all'||p.dataset.solved===which)?'':'none'})}));
"""
CSP = csp(_JS)  # the report's Content-Security-Policy: only `_JS` runs


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary as (label, value) pairs, in the order and rounding both the printed table and the report's show;
    none for a summary of no puzzles."""
    if not summary.get("puzzles"):
        return []
    return [
        ("method", str(summary["method"])),
        ("model", str(summary["model"])),
        ("puzzles", str(summary["puzzles"])),
        ("success", f"{100 * summary['success']:.1f}%"),
        ("solved (any output)", str(summary["any_correct"])),
        ("solved (first output)", str(summary["first_correct"])),
        ("calls / puzzle", f"{summary['calls_per_puzzle']:.1f}"),
        ("prompt tokens / puzzle", f"{summary['prompt_tokens_per_puzzle']:.0f}"),
        ("completion tokens / puzzle", f"{summary['completion_tokens_per_puzzle']:.0f}"),
        ("dollars", f"{summary['dollars']:.4f}"),
        *_valued_row(summary.get("states_valued")),
    ]


def _valued_row(valued: dict[str, int] | None) -> list[tuple[str, str]]:
    # "states valued  96 = 30 by rule + 50 by the plug-in + 16 escalated to the model" (a search's; none for IO/CoT).
    if not valued:
        return []
    words = {"rule": "by rule", "plug-in": "by the plug-in", "escalated": "escalated to the model",
             "evaluator": "by the evaluator"}  # fmt: skip
    parts = " + ".join(f"{n} {words.get(name, name)}" for name, n in valued.items())
    return [("states valued", f"{sum(valued.values())} = {parts}")]


def _tree_html(tree: dict[str, Any], correct_states: set[str]) -> str:
    nodes = {n["id"]: n for n in tree["nodes"]}
    children: dict[int, list[int]] = defaultdict(list)
    for parent, child in tree["edges"]:
        children[parent].append(child)

    def render(node_id: int) -> str:
        node = nodes[node_id]
        value = node.get("value")
        label = node.get("thought") or "(start)"
        classes = []
        if node.get("selected"):
            classes.append("sel")
        if node.get("state") in correct_states:
            classes.append("good")
        if node.get("duplicate"):
            classes.append("dup")
        meta = f" value={value:g}" if isinstance(value, int | float) else ""
        if node.get("values"):
            meta += " [" + ", ".join(f"{v:g}" for v in node["values"]) + "]"
        if node.get("tokens"):
            meta += f" tokens={node['tokens']}"
        mark = "★ " if node.get("selected") else ""
        inner = "".join(render(c) for c in children.get(node_id, []))
        opened = " open" if node.get("depth", 0) == 0 or node.get("selected") else ""
        return (
            f'<details class="{" ".join(classes)}"{opened}><summary>{mark}{escape(label)}'
            f'<span class="v">{escape(meta)}</span></summary>{inner}</details>'
        )

    return f'<div class="tree">{render(0)}</div>' if 0 in nodes else ""


def render_report(
    records: Sequence[dict[str, Any]], summary: dict[str, Any], meta: dict[str, Any], *, comparison: str = ""
) -> str:
    """The whole report.html: the summary table (in `summary`'s order), `meta` (the run's configuration, as JSON),
    `comparison` under its own heading when given (an HTML fragment, already escaped: `evals.game24.compare`'s
    `comparison_html` of this run beside others), a row per record and each record's outputs and search tree."""
    rows = []
    for r in records:
        # The first output's answer as the checker read it (its last line, after "Answer:"), not the raw line.
        verdicts = r.get("verdicts") or [{}]
        read = verdicts[0].get("expression") or "—"
        idx = escape(r["idx"])
        rows.append(
            f'<tr class="{"ok" if r["any_correct"] else "no"}"><td><a href="#p{idx}">{idx}</a></td>'
            f"<td>{escape(r['puzzle'])}</td><td>{r['success']:.2f}</td><td>{'yes' if r['first_correct'] else 'no'}</td>"
            f"<td><code>{escape(read)}</code></td>"
            f"<td>{escape(r['calls'])}</td><td>{escape(r['prompt_tokens'])}</td><td>{escape(r['completion_tokens'])}</td>"
            f"<td>{r['dollars']:.4f}</td><td>{escape(r['stopped'])}</td></tr>"
        )
    sections = []
    for r in records:
        correct = {o for o, v in zip(r["outputs"], r["verdicts"], strict=True) if v["correct"]}
        outputs = "".join(
            f'<li class="{"good" if v["correct"] else ""}"><pre>{escape(o.strip())}</pre>'
            f"{'solved' if v['correct'] else escape(v['reason'])}</li>"
            for o, v in zip(r["outputs"], r["verdicts"], strict=True)
        )
        tree = _tree_html(r["tree"], correct) if r.get("tree") else ""
        idx, solved = escape(r["idx"]), r["any_correct"]
        sections.append(
            f'<div class="puzzle" id="p{idx}" data-solved="{"yes" if solved else "no"}">'
            f"<h2>Puzzle {idx}: {escape(r['puzzle'])} — {'solved' if solved else 'not solved'}</h2>"
            f"<p>{escape(counted(r['calls'], 'call'))}, {escape(r['prompt_tokens'])} prompt + "
            f"{escape(r['completion_tokens'])} completion tokens, stopped: {escape(r['stopped'])}</p>"
            f"<ol>{outputs}</ol>{tree}</div>"
        )
    summary_html = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in summary_rows(summary))
    meta_json = escape(json.dumps(meta, indent=1, default=str))
    rate = 100 * summary.get("success", 0.0)
    compared = f"\n<h2>Compared with other runs</h2>\n{comparison}" if comparison else ""
    body = f"""<h1>Game of 24 — {escape(summary.get("method", ""))} on {escape(summary.get("model", ""))}</h1>
<p>Success {rate:.1f}% <span class="bar" style="width:{rate * 3:.0f}px"></span></p>
<table id="summary">{summary_html}</table>
<details><summary>Run configuration</summary><pre>{meta_json}</pre></details>{compared}
<h2>Puzzles</h2>
<p id="controls" hidden><button data-open="yes">expand all</button><button data-open="no">collapse all</button>
<button data-show="all">all</button><button data-show="yes">solved</button>
<button data-show="no">not solved</button></p>
<table id="puzzles"><tr><th>#</th><th>puzzle</th><th>success</th><th>first</th><th>first answer (as read)</th>
<th>calls</th><th>prompt tok</th><th>compl tok</th><th>$</th><th>stopped</th></tr>{"".join(rows)}</table>
{"".join(sections)}"""
    return page(f"Game of 24 — {summary.get('method', '')}", body, script=_JS)


def write_report(
    path: str | Path,
    records: Sequence[dict[str, Any]],
    summary: dict[str, Any],
    meta: dict[str, Any],
    *,
    comparison: str = "",
) -> Path:
    """`render_report` written to `path` (replaced whole)."""
    return write_atomic(path, render_report(records, summary, meta, comparison=comparison))
