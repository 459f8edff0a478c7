"""The SuperICL report: one self-contained HTML file in the harness's shell (`evals.harness.page`), readable
offline and without script.

Per task: accuracy, overrides and cost of each method; the plug-in's reliability diagram (inline SVG) with its
expected calibration error; the cascade sweep as a table and an inline SVG plot (accuracy against the share of items
sent to the model); then the model's overrides of the plug-in with their explanations, unparsed answers and
plug-in failures. The Content-Security-Policy forbids every network request; every model and data string is
escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning._words import counted

from ..files import write_atomic
from ..harness import csp, page
from ..harness import escape as _e
from .methods import Record
from .metrics import ALL

__all__ = ["CSP", "render_report", "write_report"]

CSP = csp()  # the report's policy: no script, nothing fetched
SHOW_AT_MOST = 200


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _prop(p: dict[str, Any]) -> str:
    if p.get("value") is None:
        return "—"
    return (f'{100 * p["value"]:.1f}% <span class="ci">{p["k"]}/{p["n"]} '
            f'[{100 * p["low"]:.1f}, {100 * p["high"]:.1f}]</span>')  # fmt: skip


def _table(head: Sequence[str], rows: Sequence[str], ident: str) -> str:
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table id="{ident}"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _methods(summary: dict[str, Any]) -> str:
    over = {(o["task"], o["method"]): o for o in summary["overrides"]}
    rows = []
    for m in summary["methods"]:
        o = over.get((m["task"], m["method"]))
        num = '<td class="n">'
        cells = [f"<td>{_e(m['task'])}</td>", f"<td>{_e(m['method'])}</td>", f"{num}{m['items']}</td>",
                 f"<td>{_prop(m['accuracy'])}</td>", f"{num}{m['unparsed']}</td>", f"{num}{m['failed']}</td>",
                 f"{num}{m['plugin_answers']}</td>", f"<td>{_prop(o['rate']) if o else ''}</td>",
                 f"<td>{_prop(o['right']) if o else ''}</td>", f"{num}{o['fixed'] if o else ''}</td>",
                 f"{num}{o['broke'] if o else ''}</td>", f"{num}{m['requests']}</td>", f"{num}{m['cached']}</td>",
                 f"{num}{m['prompt_tokens']} + {m['completion_tokens']}</td>",
                 f"{num}{m['explanations']}</td>"]  # fmt: skip
        rows.append(f'<tr class="method{" all" if m["task"] == ALL else ""}">{"".join(cells)}</tr>')
    head = ("task", "method", "items", "accuracy", "unparsed", "plug-in failed", "plug-in answers", "override rate",
            "overrides right", "fixed", "broke", "model requests", "cached", "tokens (prompt + completion)",
            "explanations")  # fmt: skip
    return _table(head, rows, "methods-table") if rows else '<p class="note">No records.</p>'


def _reliability(c: dict[str, Any]) -> str:
    """Accuracy per confidence bin (bars, bin counts above), the diagonal of perfect calibration."""
    size, pad = 240, 40
    width, height = size + pad + 20, size + pad + 24

    def x(v: float) -> float:
        return pad + v * size

    def y(v: float) -> float:
        return 10 + (1 - v) * size

    parts = [f'<svg class="reliability" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="reliability diagram, {_e(c["task"])}" '
             f'font-family="system-ui,sans-serif" font-size="11">']  # fmt: skip
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{x(0)}" x2="{x(1)}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eef"/>'
            f'<text x="{pad - 4}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#556">{t:g}</text>'
            f'<text x="{x(t):.1f}" y="{y(0) + 14:.1f}" text-anchor="middle" fill="#556">{t:g}</text>'
        )
    for b in c["bins"]:
        if not b["n"]:
            continue
        bar_w = (b["high"] - b["low"]) * size
        parts.append(f'<rect class="bin" x="{x(b["low"]) + 1:.1f}" y="{y(b["accuracy"]):.1f}" width="{bar_w - 2:.1f}" '
                     f'height="{y(0) - y(b["accuracy"]):.1f}" fill="#3d7cc8" fill-opacity="0.7"/>'
                     f'<circle cx="{x(b["confidence"]):.1f}" cy="{y(b["confidence"]):.1f}" r="2.5" fill="#c8553d"/>'
                     f'<text x="{x(b["low"]) + bar_w / 2:.1f}" y="{y(b["accuracy"]) - 3:.1f}" text-anchor="middle" '
                     f'fill="#1d2330">{b["n"]}</text>')  # fmt: skip
    parts.append(f'<line class="diagonal" x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#556" '
                 f'stroke-dasharray="4 3"/><text x="{x(0.5)}" y="{height - 2}" text-anchor="middle">confidence</text>'
                 f'<text x="10" y="{y(0.5)}" transform="rotate(-90 10 {y(0.5)})" text-anchor="middle">accuracy</text>'
                 "</svg>")  # fmt: skip
    ece = "—" if c["ece"] is None else f"{c['ece']:.3f}"
    return (f"<figure><figcaption>{_e(c['task'])}: ECE {ece} ({counted(c['n'], 'item')}, {c['failed']} failed)"
            "</figcaption>"
            f"{''.join(parts)}</figure>")  # fmt: skip


def _sweep_plot(task: str, rows: list[dict[str, Any]], run_threshold: float) -> str:
    """Accuracy against the share of items sent to the model, one point per threshold."""
    size_x, size_y, pad = 320, 200, 44
    width, height = size_x + pad + 30, size_y + pad + 20
    points: list[tuple[float, float, float | None]] = [
        (r["llm_requests"] / r["items"], float(r["accuracy"]), r["threshold"]) for r in rows if r["items"]
    ]
    if not points:
        return ""
    lo = max(0.0, min(min(a for _, a, _ in points), 0.5) - 0.05)

    def x(v: float) -> float:
        return pad + v * size_x

    def y(v: float) -> float:
        return 10 + (1 - (v - lo) / (1 - lo)) * size_y

    parts = [f'<svg class="sweep" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="cascade sweep, {_e(task)}" '
             f'font-family="system-ui,sans-serif" font-size="11">']  # fmt: skip
    for tick in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{x(tick):.1f}" y="{y(lo) + 14:.1f}" text-anchor="middle" fill="#556">{tick:g}</text>')
    for v in (lo, (lo + 1) / 2, 1.0):
        parts.append(
            f'<line x1="{x(0)}" x2="{x(1)}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eef"/>'
            f'<text x="{pad - 4}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#556">{100 * v:.0f}%</text>'
        )
    ordered = sorted(points, key=lambda p: p[0])
    path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b, _ in ordered)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#3d7cc8" stroke-width="1.5"/>')
    for share, acc, t in points:
        colour = "#c8553d" if t == run_threshold else "#3d7cc8"
        label = "model" if t is None else f"{t:g}"
        parts.append(
            f'<circle class="point" cx="{x(share):.1f}" cy="{y(acc):.1f}" r="3" fill="{colour}">'
            f"<title>t={label}: {100 * acc:.1f}% accuracy, {100 * share:.0f}% to the model</title></circle>"
        )
    parts.append(f'<text x="{x(0.5)}" y="{height - 2}" text-anchor="middle">share of items sent to the model</text>'
                 "</svg>")  # fmt: skip
    return (f"<figure><figcaption>{_e(task)}: cascade accuracy against model requests (red: the run's threshold)"
            f"</figcaption>{''.join(parts)}</figure>")  # fmt: skip


def _sweeps(summary: dict[str, Any]) -> str:
    run_t = summary["options"]["threshold"]
    out = []
    for task, rows in summary["sweep"].items():
        body = []
        for r in rows:
            t = "model only" if r["threshold"] is None else f"{r['threshold']:g}"
            cls = ' class="run"' if r["threshold"] == run_t else ""
            body.append(f'<tr{cls}><td>{t}</td><td class="n">{r["plugin_items"]}</td><td class="n">'
                        f'{r["llm_requests"]}</td><td class="n">{_pct(r["requests_saved"])}</td><td class="n">'
                        f'{r["tokens"]}</td><td class="n">{_pct(r["tokens_saved"])}</td><td class="n">'
                        f'{_pct(r["accuracy"])}</td></tr>')  # fmt: skip
        head = ("threshold", "plug-in answers", "model requests", "requests saved", "tokens", "tokens saved",
                "accuracy")  # fmt: skip
        out.append(f"<h3>{_e(task)}</h3>{_sweep_plot(task, rows, run_t)}"
                   f"{_table(head, body, f'sweep-{_e(task)}')}")  # fmt: skip
    if not out:
        return '<p class="note">The sweep needs the plug-in records and those of the method escalated to.</p>'
    return "".join(out)


def _more(total: int) -> str:
    return f'<p class="note">… and {total - SHOW_AT_MOST} more in results.jsonl.</p>' if total > SHOW_AT_MOST else ""


def _overrides(records: Sequence[Record]) -> str:
    over = [r for r in records if r.method == "supericl" and r.override]
    rows = []
    for r in over[:SHOW_AT_MOST]:
        verdict = '<span class="right">right</span>' if r.correct else '<span class="wrong">wrong</span>'
        explanation = f"<pre>{_e(r.explanation.text)}</pre>" if r.explanation is not None else ""
        rows.append(f"<tr><td>{_e(r.item_id)}</td><td><pre>{_e(r.text)}</pre></td><td>{_e(r.plugin_label)} "
                    f"({r.plugin_confidence or 0:.2f})</td><td>{_e(r.answer)} {verdict}</td><td>{_e(r.gold)}</td>"
                    f"<td>{explanation}</td></tr>")  # fmt: skip
    more = _more(len(over))
    head = ("item", "input", "plug-in (confidence)", "model", "gold", "explanation")
    body = _table(head, rows, "overrides-table") if rows else '<p class="note">None.</p>'
    return f'<h2 id="overrides">SuperICL overrides of the plug-in ({len(over)})</h2>{body}{more}'


def _problems(records: Sequence[Record]) -> str:
    bad = [r for r in records if r.outcome != "answered"]
    rows = []
    for r in bad[:SHOW_AT_MOST]:
        completion = r.completion if r.completion is None or len(r.completion) <= 300 else r.completion[:300] + " …"
        rows.append(f"<tr><td>{_e(r.key)}</td><td>{_e(r.outcome)}</td><td>{_e(r.reason)}</td>"
                    f"<td><pre>{_e(completion or '')}</pre></td></tr>")  # fmt: skip
    more = _more(len(bad))
    body = _table(("key", "outcome", "reason", "completion"), rows, "problems-table") if rows else (
        '<p class="note">None.</p>')  # fmt: skip
    return f'<h2 id="problems">Unparsed answers and plug-in failures ({len(bad)})</h2>{body}{more}'


def write_report(path: str | Path, records: Sequence[Record], summary: dict[str, Any]) -> Path:
    """Write the report of these records to `path`, replaced whole. Kept for callers of the library: a run's
    report is written by the harness (`evals.harness.write_outputs`)."""
    return write_atomic(path, render_report(records, summary))


def render_report(records: Sequence[Record], summary: dict[str, Any], info: Any = None) -> str:
    """The report's HTML, from the run's records and its `summary.json` content (`info`, run.json, adds nothing the
    summary lacks)."""
    spend = summary["spend"]
    options = _e(json.dumps({"options": summary["options"], "tasks": summary["tasks"]}, indent=1, ensure_ascii=False))
    calib = "".join(_reliability(c) for c in summary["calibration"]) or '<p class="note">No plug-in records.</p>'
    to = _e(summary["cascade_to"])
    body = f"""<h1>SuperICL: a small plug-in and a large model — {_e(summary["model"])}</h1>
<p>{counted(summary["records"], "record")}; {counted(spend["requests"], "model request")}
({spend["backend_requests"]} to ask, the rest
shared between methods of an item), {spend["prompt_tokens"]} prompt + {spend["completion_tokens"]} completion
tokens, ${spend["dollars"]:.4f}, as if nothing were cached;
{counted(summary["plugin_failures"], "plug-in failure")}.</p>
<details><summary>Run options and tasks</summary><pre>{options}</pre></details>
<h2 id="methods">Methods</h2>
<p class="note">Accuracy over every test item (unparsed answers and plug-in failures count as wrong); 95% exact
intervals. Override rate: of the items where both the plug-in and the model gave a label, how often they differ;
fixed / broke: overrides that corrected a wrong plug-in label / replaced a right one. Costs are each method's own,
as if it ran alone; “cached” requests reused the answer another method of the item asked for.</p>
{_methods(summary)}
<h2 id="calibration">Plug-in calibration</h2>
<p class="note">Accuracy of the plug-in's label per confidence bin (bars, with counts); dots: the bin's mean
confidence; dashed: perfect calibration. ECE = Σ (bin items / items) × |accuracy − confidence|.</p>
{calib}
<h2 id="sweep">Cascade sweep</h2>
<p class="note">For each threshold t, items whose plug-in confidence is at least t take the plug-in's label, the
rest the model's ({to} prompt); computed from this run's records. Saved: against asking the model on every item.</p>
{_sweeps(summary)}
{_overrides(records)}
{_problems(records)}"""
    return page(f"SuperICL — {summary['model']}", body)
