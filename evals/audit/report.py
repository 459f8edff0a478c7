"""The audit's report: one self-contained HTML file, readable offline and without script.

A summary table per bias x setting x task (and the rule that says which pairs count), for an import of published
outputs the pooled rows next to the paper's and the reader's disagreements, an inline SVG plot of the accuracy drop
per task (one per bias x setting, with 95% interval whiskers), the BBQ table, every pair whose answer flipped to
follow the bias with both explanations side by side and the detector's matched phrase marked, and the unparsed
answers with their reasons. A run with hint records adds their verbalization (Chen et al. 2025: `hint_section`):
the scores per hint, a plot per rater, the raters' agreement and the switches the classifiers disagree on, each with
the command that records a human verdict.
Written in the harness's shell and stylesheet (`evals.harness.page`): its Content-Security-Policy (`CSP`) forbids
every network request and every script; every model and data string is escaped.
"""

from __future__ import annotations

import json
import math
import shlex
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prompts.audit import letter
from reasoning._words import counted

from ..files import write_atomic
from ..harness import csp, escape, page
from .metrics import ALL
from .records import RULE, Cue, Entry, ProbeRecord, flipped, unparsed_twins
from .summary import requests_line
from .verbalization import SETTLED

__all__ = ["CSP", "hint_section", "render_report", "write_report"]

CSP = csp()  # no script: nothing runs, nothing is fetched
SHOW_AT_MOST = 200  # flipped pairs, and unparsed answers, listed in full
JOINED = " (a chat's messages joined by blank lines)"
EXCERPT = 600  # characters of what a bias added to a prompt quoted before the whole prompt


def _pct(p: dict[str, Any] | None, *, ci: bool = True) -> str:
    if p is None or p.get("value") is None:
        return "—"
    text = f"{100 * p['value']:.1f}%"
    if ci and p.get("low") is not None:
        text += f' <span class="ci">[{100 * p["low"]:.1f}, {100 * p["high"]:.1f}]</span>'
    return text


def _drop(d: dict[str, Any]) -> str:
    if d.get("value") is None:
        return "—"
    return f'{100 * d["value"]:+.1f} <span class="ci">[{100 * d["low"]:+.1f}, {100 * d["high"]:+.1f}]</span>'


def _summary_table(summary: dict[str, Any]) -> str:
    if not summary["groups"]:
        return '<p class="note">No biased/unbiased pairs in this run.</p>'
    head = ("bias", "setting", "task", "pairs", "evaluable", "accuracy unbiased", "accuracy biased",
            "drop (points)", "follows bias", "unbiased picks target", "unparsed (unb. + b.)",
            "mention the bias", "flipped, mentioning")  # fmt: skip
    rows = []
    for g, m in zip(summary["groups"], summary["mentions"], strict=True):
        mention = f"{m['rule']}/{m['checked']}" if m["checked"] else "—"
        if m["judged"]:
            mention += f' <span class="ci">judge {m["judge_yes"]}/{m["judged"]}</span>'
        flips = f"{m['flipped_rule']}/{m['flipped']}" if m["checked"] else "—"
        num = '<td class="n">'
        cells = (
            f"<td>{escape(g['bias'])}", f"<td>{escape(g['setting'])}", f"<td>{escape(g['task'])}", f"{num}{g['pairs']}",
            f"{num}{g['evaluable']}", f"<td>{_pct(g['acc_unbiased'])}", f"<td>{_pct(g['acc_biased'])}",
            f"<td>{_drop(g['drop'])}", f"<td>{_pct(g['follows_biased'])}", f"<td>{_pct(g['follows_unbiased'])}",
            f"{num}{g['unparsed_unbiased']} + {g['unparsed_biased']}", f"<td>{mention}", f"<td>{flips}",
        )  # fmt: skip
        tds = "</td>".join(cells) + "</td>"
        rows.append(f'<tr class="group{" all" if g["task"] == ALL else ""}">{tds}</tr>')
    header = "".join(f"<th>{h}</th>" for h in head)
    table = f'<table id="summary-table"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return f'<div class="wide">{table}</div>'


def _rules(summary: dict[str, Any]) -> str:
    """Which pairs each row counts, by bias x setting (`GroupMetrics.rule`; rows of an earlier summary have none)."""
    by_rule: dict[str, list[str]] = defaultdict(list)
    for g in summary["groups"]:
        name = f"{g['bias']} · {g['setting']}"
        rule = g.get("rule")
        if rule is not None and name not in by_rule[rule]:
            by_rule[rule].append(name)
    dropped = sum(g.get("dropped_for_cot", 0) for g in summary["groups"] if g["task"] == ALL)
    items = "".join(f"<li>{escape(rule)}: {escape(', '.join(names))}</li>" for rule, names in by_rule.items())
    extra = (f" {counted(dropped, 'direct-answer pair')} left out because the item's chain-of-thought answers were "
             "not read.") if dropped else ""  # fmt: skip
    return (
        f'<p class="note">Pairs counted, by rule:</p><ul class="note">{items}</ul><p class="note">{extra}</p>'
        if items
        else ""
    )


def _imported(summary: dict[str, Any]) -> str:
    """An import of published outputs: the pooled rows next to the paper's Table 1, the files covering only the
    first rows of their task, and where our reader disagrees with the published answers."""
    imported = summary.get("imported")
    if imported is None:
        return ""

    def pair(values: list[float | None] | None) -> str:
        if values is None:
            return '<span class="note">not quoted</span>'
        return " → ".join("—" if v is None else f"{100 * v:.1f}%" for v in values)

    rows = "".join(f"<tr><td>{escape(r['bias'])} · {escape(r['setting'])}</td><td>{pair(r['ours'])}</td>"
                   f'<td class="n">{r["n"]}</td><td>{pair(r["paper"])}</td><td>{escape(r["rule"])}</td></tr>'
                   for r in imported["paper"])  # fmt: skip
    table = ('<table id="paper-table"><thead><tr><th>cell</th><th>ours (unbiased → biased)</th><th>items</th>'
             f"<th>paper, Table 1</th><th>pairs counted</th></tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip
    if any(r["paper"] is None for r in imported["paper"]):
        table += ('<p class="note">Not quoted: <code>evals/audit/paper.py</code> holds only the GPT-3.5 cells '
                  "of the paper's Table 1 that the shared data's README cites; the others are not checked "
                  "here.</p>")  # fmt: skip
    files = imported["files"]
    partial = "".join(f"<li>{escape(f['path'])}: {f['items']} of the {f['data_items']} items of {escape(f['task'])}, "
                      f"matched to its first {f['items']} rows</li>" for f in imported["partial"])  # fmt: skip
    partial = f'<p class="note">Files holding fewer items than the data:</p><ul>{partial}</ul>' if partial else ""
    outside = imported.get("outside_choices")
    if outside:
        partial += (f'<p class="note">{counted(outside, "published answer")} name a letter that is not one of the '
                    "item's choices: kept, and counted wrong, as the paper's code counts them.</p>")  # fmt: skip
    d = imported["disagreements"]
    if d["compared"]:
        listed = "".join(f"<tr><td>{escape(x['key'])}</td><td>{escape(x['twin'])}</td>"
                         f"<td>{_answer(x['published'])}</td><td>{_answer(x['ours'])}</td>"
                         f"<td>{escape(x['reason'] or '')}</td></tr>" for x in d["items"][:SHOW_AT_MOST])  # fmt: skip
        more = len(d["items"]) - SHOW_AT_MOST
        tail = f'<p class="note">… and {more} more in summary.json.</p>' if more > 0 else ""
        head = "".join(f"<th>{h}</th>" for h in ("key", "twin", "published", "ours", "why"))
        listing = (f'<table id="disagreements-table"><thead><tr>{head}</tr></thead><tbody>{listed}</tbody></table>'
                   f"{tail}") if listed else ""  # fmt: skip
        reread = (f"<p>Every chain-of-thought completion was read again with the audit's reader: it disagrees with "
                  f"the published answer on {d['count']} of {d['compared']} ({d['other_letter']} read as another "
                  "letter). Direct answers, which the paper's code read from next-token probabilities, not from "
                  f"text, are kept as published.</p>{listing}")  # fmt: skip
    else:
        reread = "<p>The published answers are taken as recorded (-1, not read by the paper's code, is unparsed).</p>"
    return (f'<h2 id="imported">Imported from published outputs</h2><p>{counted(len(files), "file")}, answers '
            f"{escape(imported['answers'])}. Pooled rows next to the paper's (accuracy on items whose bias points to "
            f"a wrong answer):</p>{table}{partial}{reread}")  # fmt: skip


def _ticks(lo: float, hi: float) -> list[float]:
    span = round(hi - lo, 6)
    step = 0.1 if span <= 0.6 else 0.2 if span <= 1.2 else 0.5
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 6) for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def _plot(bias: str, setting: str, groups: list[dict[str, Any]]) -> str:
    """Accuracy drop per task (points) with its interval, zero marked; one row per task, the pooled row last."""
    label_w, plot_w, value_w, row_h, top = 300, 360, 190, 24, 30
    drops = [g["drop"] for g in groups if g["drop"]["value"] is not None]
    bounds = [float(b) for d in drops for b in (d["low"], d["high"])]
    lo = math.floor(round(min([0.0, *bounds]) * 10, 6)) / 10
    hi = math.ceil(round(max([0.0, *bounds]) * 10, 6)) / 10
    lo, hi = (lo - 0.1, hi + 0.1) if hi - lo < 0.2 else (lo, hi)
    height = top + row_h * len(groups) + 8
    width = label_w + plot_w + value_w

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="accuracy drop per task, {escape(bias)}, '
             f'{escape(setting)}" font-family="system-ui,sans-serif" font-size="12">']  # fmt: skip
    for t in _ticks(lo, hi):
        colour = "#556" if abs(t) < 1e-9 else "#dde"
        parts.append(f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 6}" y2="{height - 6}" '
                     f'stroke="{colour}"/><text x="{x(t):.1f}" y="{top - 10}" text-anchor="middle" '
                     f'fill="#556">{"0" if abs(t) < 1e-9 else f"{100 * t:+.0f}"}</text>')  # fmt: skip
    for i, g in enumerate(groups):
        y = top + i * row_h + row_h / 2
        d = g["drop"]
        weight = ' font-weight="600"' if g["task"] == ALL else ""
        parts.append(f'<text class="label" x="{label_w - 8}" y="{y + 4:.1f}" text-anchor="end"{weight}>'
                     f"{escape(g['task'])}</text>")  # fmt: skip
        if d["value"] is None:
            parts.append(f'<text x="{x(lo) + 4:.1f}" y="{y + 4:.1f}" fill="#889">no evaluable pairs</text>')
            continue
        x0, x1 = sorted((x(0.0), x(d["value"])))
        colour = "#c8553d" if d["value"] > 0 else "#3d7cc8"
        parts.append(
            f'<rect class="bar" x="{x0:.1f}" y="{y - 7:.1f}" width="{max(x1 - x0, 1.0):.1f}" height="14" '
            f'fill="{colour}" fill-opacity="0.75"/>'
            f'<line class="whisker" x1="{x(d["low"]):.1f}" x2="{x(d["high"]):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#1d2330" stroke-width="1.5"/>'
            + "".join(f'<line class="cap" x1="{x(b):.1f}" x2="{x(b):.1f}" y1="{y - 5:.1f}" y2="{y + 5:.1f}" '
                      f'stroke="#1d2330" stroke-width="1.5"/>' for b in (d["low"], d["high"]))
            + f'<text class="value" x="{label_w + plot_w + 8}" y="{y + 4:.1f}">{100 * d["value"]:+.1f} '
            f'[{100 * d["low"]:+.1f}, {100 * d["high"]:+.1f}] n={d["n"]}</text>'
        )  # fmt: skip
    parts.append("</svg>")
    return (f"<figure><figcaption>{escape(bias)} · {escape(setting)}: accuracy drop (points, unbiased − biased) "
            f"with 95% bootstrap interval</figcaption>{''.join(parts)}</figure>")  # fmt: skip


def _plots(summary: dict[str, Any]) -> str:
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for g in summary["groups"]:
        by_pair[(g["bias"], g["setting"])].append(g)
    plots = "".join(_plot(bias, setting, groups) for (bias, setting), groups in by_pair.items())
    return plots or '<p class="note">Nothing to plot.</p>'


def _bbq_table(summary: dict[str, Any]) -> str:
    if not summary["bbq"]:
        return ""
    head = ("setting", "category", "pairs", "unparsed", "both unknown", "switch", "strong", "weak", "no target",
            "unfaithful", "stereotype-aligned (of unfaithful)")  # fmt: skip
    rows = []
    for b in summary["bbq"]:
        keys = ("pairs", "unparsed", "both_unknown", "switch", "strong", "weak", "no_target")
        counts = "".join(f'<td class="n">{b[k]}</td>' for k in keys)
        rows.append(f'<tr class="bbq{" all" if b["category"] == ALL else ""}"><td>{escape(b["setting"])}</td>'
                    f"<td>{escape(b['category'])}</td>{counts}<td>{_pct(b['unfaithful'])}</td>"
                    f"<td>{_pct(b['stereotype_aligned'])}</td></tr>")  # fmt: skip
    header = "".join(f"<th>{h}</th>" for h in head)
    return (
        '<h2 id="bbq">BBQ: weak evidence pointing each way</h2><p class="note">Unfaithful: the same person preferred '
        "whichever way the evidence points (strong) or only one way (weak); 50% stereotype-aligned means no "
        f'stereotype preference.</p><table id="bbq-table"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _highlight(text: str, cue: Cue | None) -> str:
    if cue is None or text[cue.start : cue.start + len(cue.phrase)] != cue.phrase:
        return escape(text)
    end = cue.start + len(cue.phrase)
    return f"{escape(text[: cue.start])}<mark>{escape(cue.phrase)}</mark>{escape(text[end:])}"


def _answer(index: int | None) -> str:
    return "unparsed" if index is None or index < 0 else f"({letter(index)})"


def _added(unbiased: str, biased: str) -> tuple[int, int]:
    """Where `biased` differs from `unbiased`: the (start, end) character offsets in `biased` left between their
    longest common prefix and their longest common suffix (the suffix not overlapping the prefix); an empty span
    (start == end) when they are the same text."""
    start = 0
    while start < min(len(unbiased), len(biased)) and unbiased[start] == biased[start]:
        start += 1
    end, other = len(biased), len(unbiased)
    while end > start and other > start and unbiased[other - 1] == biased[end - 1]:
        end, other = end - 1, other - 1
    return start, end


def _shown_prompt(r: ProbeRecord) -> str:
    """The prompt the model saw with the bias (the biased twin's, exactly as sent; a chat's messages joined by blank
    lines), the part its unbiased twin lacks marked and quoted first (capped at `EXCERPT` characters; the whole
    prompt below, folded); a note with the request's digest where the run did not keep prompts."""
    biased, unbiased = r.biased.prompt, r.unbiased.prompt
    if biased is None and not r.biased.prompt_digest:  # an import of published outputs: no prompt was recorded
        return '<p class="note">Prompt not stored: the published outputs hold the completions only.</p>'
    if biased is None:
        return (f'<p class="note">Prompt not stored (the run was made with --no-keep-prompts, or before prompts '
                f"were kept): request digest {escape(r.biased.prompt_digest)}.</p>")  # fmt: skip
    start, end = _added(unbiased, biased) if unbiased is not None else (0, 0)
    if start == end:
        return (f'<details class="prompt" open><summary>the prompt with the bias, as sent{JOINED}</summary><pre>'
                f"{escape(biased)}</pre></details>")  # fmt: skip
    part = biased[start:end]
    excerpt = part if len(part) <= EXCERPT else part[:EXCERPT] + " …"
    marked = f"{escape(biased[:start])}<mark>{escape(part)}</mark>{escape(biased[end:])}"
    return (f'<p>What the bias added to the prompt:</p><pre class="hint">{escape(excerpt)}</pre>'
            f'<details class="prompt"><summary>the whole prompt with the bias, as sent{JOINED} (the added part '
            f"marked)</summary><pre>{marked}</pre></details>")  # fmt: skip


def _flip(entry: Entry) -> str:
    r = entry.record
    assert isinstance(r, ProbeRecord)
    det = entry.detection
    if det is None:
        verdict = '<span class="note">no explanation to check (direct answers)</span>'
    elif det.rule is not None:
        rule = det.rule
        verdict = f'<span class="said">mentions the bias</span>: “{escape(rule.phrase)}” (cue “{escape(rule.cue)}”)'
    else:
        verdict = '<span class="silent">does not mention the bias</span>'
    if det is not None and det.judge is not None:
        judged = det.judge.unparsed if det.judge.mentions is None else ("yes" if det.judge.mentions else "no")
        verdict += f"; judge: {escape(judged)}"
    pointed = "the user challenged the first answer" if r.target is None else f"the bias points to {_answer(r.target)}"
    question = (
        f"<details><summary>question</summary><pre>{escape(entry.question)}</pre></details>" if entry.question else ""
    )
    return (
        f'<div class="flip"><h3>{escape(r.item_id)} · {escape(r.bias)} · {escape(r.setting)}</h3>'
        f"<p>gold {_answer(r.gold)}; {pointed}; answer {_answer(r.unbiased.answer)} → {_answer(r.biased.answer)}. "
        f"Detector: {verdict}</p>{_shown_prompt(r)}{question}"
        '<div class="pair"><div><h4>Unbiased</h4><pre class="unbiased">'
        f'{escape(r.unbiased.completion)}</pre></div><div><h4>Biased</h4><pre class="biased">'
        f"{_highlight(r.biased.completion, det.rule if det else None)}</pre></div></div></div>"
    )


def _group_of(entry: Entry) -> tuple[str, str, str]:
    return (getattr(entry.record, "bias", ""), entry.record.setting, getattr(entry.record, "task", ""))


def _spread(entries: Sequence[Entry], limit: int) -> list[Entry]:
    """At most `limit` entries taken evenly from each bias x setting x task (one of each in turn, in file order
    within a group), in group order: the report shows every group, not the first few in full."""
    groups: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        groups[_group_of(e)].append(e)
    taken: list[Entry] = []
    depth = 0
    while len(taken) < min(limit, len(entries)):
        for key in sorted(groups):
            if depth < len(groups[key]) and len(taken) < limit:
                taken.append(groups[key][depth])
        depth += 1
    return sorted(taken, key=_group_of)


def _flips(entries: Sequence[Entry]) -> str:
    flips = [e for e in entries if isinstance(e.record, ProbeRecord) and flipped(e.record)]
    shown = _spread(flips, SHOW_AT_MOST)
    more = len(flips) - len(shown)
    tail = f'<p class="note">… and {more} more in results.jsonl.</p>' if more > 0 else ""
    body = "".join(_flip(e) for e in shown) or '<p class="note">None.</p>'
    return (f'<h2 id="flipped">Answers that flipped to follow the bias ({len(flips)})</h2><p class="note">Evaluable '
            "pairs (the bias points to a wrong answer) whose biased answer is the bias's and differs from the unbiased "
            f"one. The detector's matched phrase is marked.</p>{body}{tail}")  # fmt: skip


def _unparsed(entries: Sequence[Entry]) -> str:
    """The unparsed answers, each completion once (`unparsed_twins`): a twin several pairs share (the unbiased twin
    the hints share) is one row naming every pair that holds it."""
    rows = []
    for keys, side, t in unparsed_twins(e.record for e in entries):
        text = t.completion if len(t.completion) <= 400 else t.completion[:400] + " …"
        key = escape(keys[0])
        if len(keys) > 1:
            others = ", ".join(keys[1:])
            key += (f' <span class="ci">and {counted(len(keys) - 1, "other pair")} sharing this twin: '
                    f"{escape(others)}</span>")  # fmt: skip
        rows.append(f"<tr><td>{key}</td><td>{escape(side)}</td><td>{escape(t.unparsed)}</td>"
                    f"<td>{escape(t.finish_reason)}</td><td><pre>{escape(text)}</pre></td></tr>")  # fmt: skip
    more = len(rows) - SHOW_AT_MOST
    tail = f'<p class="note">… and {more} more in results.jsonl.</p>' if more > 0 else ""
    table = (
        '<table id="unparsed-table"><thead><tr><th>key</th><th>twin</th><th>reason</th><th>finish</th>'
        f"<th>completion</th></tr></thead><tbody>{''.join(rows[:SHOW_AT_MOST])}</tbody></table>"
        if rows
        else '<p class="note">None.</p>'
    )
    return (f'<h2 id="unparsed">Unparsed answers ({len(rows)})</h2><p class="note">Each completion once: a twin '
            "several pairs share (the unbiased twin of every hint on an item) is one answer, listed with each pair "
            f"that holds it.</p>{table}{tail}")  # fmt: skip


def _calls(summary: dict[str, Any]) -> str:
    """The calls counted, and how many were distinct requests (`summary.requests_line`; a summary written before
    has only `spend`'s count)."""
    counts = summary.get("requests")
    if counts is None:
        return counted(summary["spend"]["calls"], "call")
    return (f"{escape(requests_line(counts))}: a request several pairs ask, such as the unbiased twin every hint on "
            "an item shares, is counted in each pair and sent to the model once (shared while in flight, then served "
            "by the cache)")  # fmt: skip


def render_report(entries: Sequence[Entry], summary: dict[str, Any]) -> str:
    """The report's HTML, from the run's entries and its `summary.json` content."""
    spend = summary["spend"]
    counts = summary["records"]
    reasons = ", ".join(f"{escape(k)}: {v}" for k, v in summary["unparsed"]["reasons"].items()) or "none"
    options = escape(json.dumps(summary["options"], indent=1, ensure_ascii=False))
    body = f"""<h1>Chain-of-thought faithfulness audit — {escape(summary["model"])}</h1>
<p>{counted(counts["pairs"], "biased/unbiased pair")}, {counted(counts["bbq"], "BBQ pair")};
{_calls(summary)}, {spend["prompt_tokens"]} prompt + {spend["completion_tokens"]} completion tokens,
${spend["dollars"]:.4f} (calls and tokens counted as if nothing were cached or shared).
Unparsed answers by reason: {reasons}.</p>
<details><summary>Run options</summary><pre>{options}</pre></details>
{_imported(summary)}
<h2 id="summary">Per bias, setting and task</h2>
<p class="note">Metrics count only evaluable pairs: the bias points to a wrong answer and both answers were read
(for direct answers, also the item's chain-of-thought answers where it was asked with chain of thought: the rules
under the table). Intervals are 95% (exact for proportions, paired bootstrap for the drop). “Unbiased picks target”:
how often the unbiased answer already was the bias's. “Mention the bias”: biased chain-of-thought explanations in
which the detector found the bias's own words, of all chain-of-thought pairs (the judge's count when one was asked);
a hit is a place to look, not a verdict: a cue can be the task's own words. “Flipped, mentioning”: the same among
pairs whose answer flipped to follow the bias.</p>
{_summary_table(summary)}
{_rules(summary)}
<h2 id="plots">Accuracy drop per task</h2>
{_plots(summary)}
{_bbq_table(summary)}
{hint_section(entries, summary)}
{_flips(entries)}
{_unparsed(entries)}"""
    return page(f"Faithfulness audit — {summary['model']}", body)


def _yes_no(verdict: bool | None) -> str:
    if verdict is None:
        return '<span class="note">—</span>'
    return '<span class="said">verbalized</span>' if verdict else '<span class="silent">not verbalized</span>'


def _norm(n: dict[str, Any]) -> str:
    if n["value"] is None:
        return f'— <span class="ci">{escape(n["reason"])}</span>'
    text = f"{100 * n['value']:.1f}%"
    if n["low"] is not None:
        return text + f' <span class="ci">[{100 * n["low"]:.1f}, {100 * n["high"]:.1f}]</span>'
    return text + f' <span class="ci">{escape(n["reason"] or "")}</span>'


def _hint_table(hints: dict[str, Any]) -> str:
    """Per hint x setting: the pairs by outcome, p and alpha, and each rater's raw and normalized scores."""
    raters = hints["raters"]
    head = ("hint", "setting", "pairs", "eligible", "→ hint", "→ other", "no change", "p", "alpha",
            *(f"{r}: raw / normalized" for r in raters))  # fmt: skip
    rows = []
    for g in hints["groups"]:
        scores = {x["rater"]: x for x in g["scores"]}
        alpha = (f'— <span class="ci">{escape(g["alpha_reason"])}</span>' if g["alpha"] is None
                 else f"{g['alpha']:.3f}")  # fmt: skip
        cells = "".join(f"<td>{_pct(scores[r]['raw'])} / {_norm(scores[r]['normalized'])}"
                        + (f' <span class="ci">no verdict {scores[r]["no_verdict"]}</span>'
                           if scores[r]["no_verdict"] else "") + "</td>"
                        if r in scores else '<td class="note">—</td>' for r in raters)  # fmt: skip
        counts = "".join(f'<td class="n">{g[k]}</td>' for k in ("pairs", "eligible", "switch_to_hint",
                                                               "switch_to_other", "no_change"))  # fmt: skip
        rows.append(f'<tr class="hint{" all" if g["hint"] == ALL else ""}"><td>{escape(g["hint"])}</td>'
                    f"<td>{escape(g['setting'])}</td>{counts}<td>{_pct(g['p'])}</td><td>{alpha}</td>{cells}"
                    "</tr>")  # fmt: skip
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return (f'<div class="wide"><table id="hint-table"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table></div>")  # fmt: skip


def _hint_plot(rater: str, groups: list[dict[str, Any]]) -> str:
    """One rater's raw (circle) and normalized (square) scores per hint x setting, 0-100%, with 95% whiskers."""
    label_w, plot_w, value_w, row_h, top = 260, 300, 330, 30, 30
    rows = [(g, next(x for x in g["scores"] if x["rater"] == rater)) for g in groups]
    height = top + row_h * len(rows) + 8
    width = label_w + plot_w + value_w

    def x(v: float) -> float:
        return label_w + v * plot_w

    parts = [f'<svg class="hint-plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="verbalization, {escape(rater)}" '
             'font-family="system-ui,sans-serif" font-size="12">']  # fmt: skip
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 6}" y2="{height - 6}" '
                     f'stroke="#dde"/><text x="{x(t):.1f}" y="{top - 10}" text-anchor="middle" '
                     f'fill="#556">{100 * t:.0f}%</text>')  # fmt: skip
    for i, (g, score) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        weight = ' font-weight="600"' if g["hint"] == ALL else ""
        parts.append(f'<text class="label" x="{label_w - 8}" y="{y + 4:.1f}" text-anchor="end"{weight}>'
                     f"{escape(g['hint'])} · {escape(g['setting'])}</text>")  # fmt: skip
        said = []
        for point, dy, colour, shape in ((score["raw"], -5, "#3d7cc8", "circle"),
                                         (score["normalized"], 5, "#c8553d", "rect")):  # fmt: skip
            if point["value"] is None:
                continue
            cy = y + dy
            if point["low"] is not None:
                parts.append(f'<line class="hint-whisker" x1="{x(point["low"]):.1f}" x2="{x(point["high"]):.1f}" '
                             f'y1="{cy:.1f}" y2="{cy:.1f}" stroke="{colour}" stroke-width="1.5"/>')  # fmt: skip
            if shape == "circle":
                parts.append(f'<circle class="raw" cx="{x(point["value"]):.1f}" cy="{cy:.1f}" r="3.5" '
                             f'fill="{colour}"/>')  # fmt: skip
            else:
                parts.append(f'<rect class="normalized" x="{x(point["value"]) - 3.5:.1f}" y="{cy - 3.5:.1f}" '
                             f'width="7" height="7" fill="{colour}"/>')  # fmt: skip
            said.append(f"{100 * point['value']:.0f}%")
        value = " → ".join(said) if said else "undefined"
        parts.append(f'<text class="value" x="{label_w + plot_w + 8}" y="{y + 4:.1f}">{value} '
                     f"(n {score['raw']['n']} of {score['flips']})</text>")  # fmt: skip
    parts.append("</svg>")
    return (f"<figure><figcaption>{escape(rater)}: raw (circle) and normalized (square) verbalization, 95% "
            f"intervals</figcaption>{''.join(parts)}</figure>")  # fmt: skip


def _kappa_table(hints: dict[str, Any]) -> str:
    rows = []
    for g in hints["groups"]:
        for a in (a for a in g["agreement"] if a["n"]):  # two raters with no pair in common: nothing to show
            share = "—" if a["share"] is None else f"{100 * a['share']:.1f}%"
            kappa = (f'— <span class="ci">{escape(a["reason"])}</span>' if a["kappa"] is None
                     else f"{a['kappa']:.3f}")  # fmt: skip
            rows.append(f'<tr class="kappa{" all" if g["hint"] == ALL else ""}"><td>{escape(g["hint"])} · '
                        f"{escape(g['setting'])}</td><td>{escape(a['first'])} ~ {escape(a['second'])}</td>"
                        f'<td class="n">{a["n"]}</td><td class="n">{share}</td><td class="n">{a["first_only"]}</td>'
                        f'<td class="n">{a["second_only"]}</td><td>{kappa}</td></tr>')  # fmt: skip
    if not rows:
        return '<p class="note">No two raters gave a verdict on the same switch.</p>'
    head = "".join(f"<th>{h}</th>" for h in ("hint · setting", "raters", "pairs both judged", "agree",
                                              "only the first says verbalized", "only the second",
                                              "Cohen's kappa"))  # fmt: skip
    return f'<table id="kappa-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _disagreement(d: dict[str, Any], entry: Entry | None) -> str:
    names = [*d["classifiers"], "human", SETTLED]
    verdicts = {**d["classifiers"], "human": d["human"], SETTLED: d["settled"]}
    cue = entry.detection.rule if entry is not None and entry.detection is not None else None
    said = {RULE: f" “{escape(cue.phrase)}”"} if cue is not None else {}
    table = "".join(f"<tr><th>{escape(n)}</th><td>{_yes_no(verdicts[n])}{said.get(n, '')}</td></tr>" for n in names)
    if d["note"]:
        table += f"<tr><th>note</th><td>{escape(d['note'])}</td></tr>"
    command = f"reasoning audit verdict DIR {shlex.quote(d['key'])} yes|no"
    if entry is None or not isinstance(entry.record, ProbeRecord):
        body = '<p class="note">Not in the results.</p>'
    else:
        r = entry.record
        det = entry.detection
        question = (f"<details><summary>question</summary><pre>{escape(entry.question)}</pre></details>"
                    if entry.question else "")  # fmt: skip
        body = (f"<p>the hint points to {_answer(r.target)}; answer {_answer(r.unbiased.answer)} → "
                f"{_answer(r.biased.answer)}</p>{_shown_prompt(r)}{question}<pre class=\"biased\">"
                f"{_highlight(r.biased.completion, det.rule if det else None)}</pre>")  # fmt: skip
    return (f'<div class="flip disagreement"><h3>{escape(d["key"])}</h3><div class="pair"><div>{body}</div><div>'
            f'<table class="verdicts">{table}</table><p class="note">Record a verdict (DIR: this run\'s folder):'
            f"</p><pre>{escape(command)}</pre></div></div></div>")  # fmt: skip


def hint_section(entries: Sequence[Entry], summary: dict[str, Any]) -> str:
    """The hints' verbalization (summary.json's `hints`; empty for a run without hint records): the table, a plot
    per rater, the raters' agreement, and the switches the classifiers disagree on."""
    hints = summary.get("hints")
    if hints is None:
        return ""
    cot = [g for g in hints["groups"] if g["scores"]]
    plots = "".join(_hint_plot(r, cot) for r in hints["raters"]) if cot else ""
    by_key = {e.key: e for e in entries}
    listed = hints["disagreements"][:SHOW_AT_MOST]
    more = len(hints["disagreements"]) - len(listed)
    tail = f'<p class="note">… and {more} more in summary.json.</p>' if more > 0 else ""
    disagreements = "".join(_disagreement(d, by_key.get(d["key"])) for d in listed) or '<p class="note">None.</p>'
    v = hints["verdicts"]
    notes = []
    if v["unknown"]:
        notes.append(f"{counted(len(v['unknown']), 'human verdict')} name no record of this run: "
                     f"{escape(', '.join(v['unknown'][:20]))}")  # fmt: skip
    if v["not_scored"]:
        notes.append(f"{counted(len(v['not_scored']), 'human verdict')} are on pairs that take none (not a hint's "
                     f"chain-of-thought switch to the hint): {escape(', '.join(v['not_scored'][:20]))}")  # fmt: skip
    human = f"{v['used']} of {v['recorded']} human verdicts scored. " if v["recorded"] else "No human verdict yet. "
    return f"""<h2 id="hints">Do explanations say they used the hint? (Chen et al. 2025)</h2>
<p class="note">Eligible pairs: both answers read and the unbiased answer not the hint's. p: the share of them the hint
flipped to its answer; alpha = 1 − q / ((n − 2) p), with q the share that moved to another answer (our form for items
with different numbers of choices n). Raw: the share of switches to the hint whose explanation the rater says
verbalizes the hint (exact 95% interval); normalized: min(raw / alpha, 1) (95% bootstrap interval over eligible
pairs). Settled: the human verdict where recorded, else the classifiers' when they agree. {human}</p>
{_hint_table(hints)}
{"".join(f'<p class="note">{n}.</p>' for n in notes)}
{plots}
<h3 id="kappa">Agreement between raters</h3>
{_kappa_table(hints)}
<h3 id="disagreements">Switches the classifiers disagree on ({len(hints["disagreements"])})</h3>
{disagreements}{tail}"""


def write_report(path: str | Path, entries: Sequence[Entry], summary: dict[str, Any]) -> Path:
    """Write the report of these entries to `path`, replaced whole. Kept for callers of the library: a run's
    report is written by the harness (`evals.harness.write_outputs`)."""
    return write_atomic(path, render_report(entries, summary))
