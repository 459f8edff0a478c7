"""A self-contained HTML report: the success / cost table and each puzzle's search tree, browsable offline.

No network, no CDN: the tree is nested `<details>` elements (interactive without script); a few lines of inline
script add expand/collapse-all and a solved/unsolved filter. All model and data text is escaped, and the
Content-Security-Policy lets only that one script (by its hash) run: no event-handler attributes, no other script,
no network request.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from reasoning._words import counted

from ..files import write_atomic

__all__ = ["CSP", "render_report", "write_report"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccd;padding:3px 8px;text-align:left}
th{background:#eef1f6}tr.ok td:first-child{border-left:4px solid #2a9d55}
tr.no td:first-child{border-left:4px solid #c33}
.tree details{margin-left:18px;border-left:1px dotted #aab;padding-left:6px}
.tree summary{cursor:pointer;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12.5px}
.sel>summary{font-weight:600}.v{color:#555}.good{background:#e3f6e9}.dup{opacity:.55}
.puzzle{border-top:1px solid #dde;padding-top:6px}.bar{display:inline-block;height:10px;background:#4a7bd0}
button{margin-right:6px}
"""

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
_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_JS_HASH}'"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


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
            f'<details class="{" ".join(classes)}"{opened}><summary>{mark}{_e(label)}'
            f'<span class="v">{_e(meta)}</span></summary>{inner}</details>'
        )

    return f'<div class="tree">{render(0)}</div>' if 0 in nodes else ""


def render_report(records: list[dict[str, Any]], summary: dict[str, Any], meta: dict[str, Any]) -> str:
    rows = []
    for r in records:
        best = r["outputs"][0] if r["outputs"] else ""
        rows.append(
            f'<tr class="{"ok" if r["any_correct"] else "no"}"><td><a href="#p{_e(r["idx"])}">{_e(r["idx"])}</a></td>'
            f"<td>{_e(r['puzzle'])}</td><td>{r['success']:.2f}</td><td>{'yes' if r['first_correct'] else 'no'}</td>"
            f"<td><code>{_e(best.strip().splitlines()[-1] if best.strip() else '')}</code></td>"
            f"<td>{_e(r['calls'])}</td><td>{_e(r['prompt_tokens'])}</td><td>{_e(r['completion_tokens'])}</td>"
            f"<td>{r['dollars']:.4f}</td><td>{_e(r['stopped'])}</td></tr>"
        )
    sections = []
    for r in records:
        correct = {o for o, v in zip(r["outputs"], r["verdicts"], strict=True) if v["correct"]}
        outputs = "".join(
            f'<li class="{"good" if v["correct"] else ""}"><code>{_e(o.strip())}</code> — {_e(v["reason"])}</li>'
            for o, v in zip(r["outputs"], r["verdicts"], strict=True)
        )
        tree = _tree_html(r["tree"], correct) if r.get("tree") else ""
        sections.append(
            f'<div class="puzzle" id="p{_e(r["idx"])}" data-solved="{"yes" if r["any_correct"] else "no"}">'
            f"<h2>Puzzle {_e(r['idx'])}: {_e(r['puzzle'])} — {'solved' if r['any_correct'] else 'not solved'}</h2>"
            f"<p>{_e(counted(r['calls'], 'call'))}, {_e(r['prompt_tokens'])} prompt + "
            f"{_e(r['completion_tokens'])} completion tokens, stopped: {_e(r['stopped'])}</p>"
            f"<ol>{outputs}</ol>{tree}</div>"
        )
    summary_rows = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(f'{v:.4g}' if isinstance(v, float) else v)}</td></tr>" for k, v in summary.items()
    )
    meta_json = _e(json.dumps(meta, indent=1, default=str))
    rate = 100 * summary.get("success", 0.0)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Game of 24 — {_e(summary.get("method", ""))}</title>
<style>{_CSS}</style></head><body>
<h1>Game of 24 — {_e(summary.get("method", ""))} on {_e(summary.get("model", ""))}</h1>
<p>Success {rate:.1f}% <span class="bar" style="width:{rate * 3:.0f}px"></span></p>
<table id="summary">{summary_rows}</table>
<details><summary>Run configuration</summary><pre>{meta_json}</pre></details>
<h2>Puzzles</h2>
<p id="controls" hidden><button data-open="yes">expand all</button><button data-open="no">collapse all</button>
<button data-show="all">all</button><button data-show="yes">solved</button>
<button data-show="no">not solved</button></p>
<table id="puzzles"><tr><th>#</th><th>puzzle</th><th>success</th><th>first</th><th>first output</th><th>calls</th>
<th>prompt tok</th><th>compl tok</th><th>$</th><th>stopped</th></tr>{"".join(rows)}</table>
{"".join(sections)}
<script>{_JS}</script>
</body></html>
"""


def write_report(
    path: str | Path, records: list[dict[str, Any]], summary: dict[str, Any], meta: dict[str, Any]
) -> Path:
    return write_atomic(path, render_report(records, summary, meta))
