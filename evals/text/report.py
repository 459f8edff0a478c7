"""The creative-writing report, in the one report shell (`evals.harness.page`: self-contained, no script, the shared
stylesheet): the summary (readable labels, `LABELS`), the run's configuration, a row per task, and each task's
sentences, search steps (every candidate with its votes, the kept one marked ★, a step whose votes tied at the cut
marked "tie"), output and the judge's scores. All model and data text is escaped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reasoning._words import counted

from ..harness import escape, page
from .record import Record
from .task import passage_of

__all__ = ["LABELS", "render_report", "tie_of"]

# The summary's keys as the report's table names them (a key not here is shown with its underscores as spaces).
LABELS = {
    "method": "method",
    "model": "model",
    "tasks": "tasks",
    "coherency": "coherency (1-10), mean over the tasks scored",
    "coherency_low": "coherency: 95% interval, low",
    "coherency_high": "coherency: 95% interval, high",
    "tasks_scored": "tasks scored",
    "outputs_unscored": "outputs the judge could not score",
    "paper_gpt4_coherency": "the paper's coherency (GPT-4 judging GPT-4)",
    "replay_kept_as_logged": "replay: tasks whose output is the published run's",
    "tasks_without_output": "tasks without output",
    "calls_per_task": "model calls / task",
    "prompt_tokens_per_task": "prompt tokens / task",
    "completion_tokens_per_task": "completion tokens / task",
    "dollars": "dollars (all tasks)",
}
# Each figure rounded as `reasoning text run` prints it (`evals.text.eval.format_summary`).
_DIGITS = {
    "coherency": 2,
    "coherency_low": 2,
    "coherency_high": 2,
    "calls_per_task": 1,
    "prompt_tokens_per_task": 0,
    "completion_tokens_per_task": 0,
    "dollars": 4,
}
TIE = "tie: the first is kept, as the paper's stable sort"


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _scores(scores: list[int | None]) -> str:
    return "[" + ", ".join("?" if s is None else str(s) for s in scores) + "]"


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def _figure(key: str, value: Any, tasks: Any) -> str:
    if key in ("tasks_scored", "replay_kept_as_logged") and isinstance(value, int):
        return f"{value} of {tasks}"
    if key in _DIGITS and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{_DIGITS[key]}f}"
    return "-" if value is None else _shown(value)


def tie_of(votes: Sequence[float], selected: Sequence[int]) -> list[int]:
    """The candidates (indices) that were not kept though they had as many votes as the last one kept: a tie at the
    cut, settled by candidate order (the paper's stable sort keeps the first). Empty when nothing tied."""
    if not selected:
        return []
    cut = min(votes[i] for i in selected)
    return [i for i, v in enumerate(votes) if v == cut and i not in selected]


def _steps(record: Record) -> str:
    parts = []
    for k, step in enumerate(record.steps):
        kept = set(step.selected)
        tied = set(tie_of(step.votes, step.selected))
        # A passage's candidates all continue the kept plan: show what each adds.
        previous = record.steps[k - 1] if k else None
        prefix = previous.candidates[previous.selected[0]] if previous and previous.selected else ""
        items = "".join(
            f'<li class="{"sel" if i in kept else ""}"><b>{"★ " if i in kept else ""}{_shown(votes)} '
            f"{'vote' if votes == 1 else 'votes'}{' (tied, not kept)' if i in tied else ''}</b>"
            f"<pre>{escape(text.removeprefix(prefix).strip())}</pre></li>"
            for i, (text, votes) in enumerate(zip(step.candidates, step.votes, strict=True))
        )
        tie = f' <span class="tie note">— {escape(TIE)}</span>' if tied else ""
        parts.append(f"<h3>Step {k + 1}: {'plans' if k == 0 else 'passages'}{tie}</h3><ol>{items}</ol>")
    return "".join(parts)


def _task(record: Record) -> str:
    idx = escape(record.idx)
    outputs = "".join(
        f"<li><pre>{escape(passage_of(o) if record.plan else o.strip())}</pre>"
        + (f'<p class="note">judge: {escape(_scores(record.scores[i]))}</p>' if i < len(record.scores) else "")
        + "</li>"
        for i, o in enumerate(record.outputs)
    )
    plan = f"<h3>Kept plan</h3><pre>{escape(record.plan.strip())}</pre>" if record.plan else ""
    score = "not judged" if not record.judged else _shown(record.coherency) if record.coherency is not None else "-"
    return (
        f'<div class="puzzle" id="t{idx}"><h2>Task {idx} — coherency {escape(score)}</h2>'
        f"<p>{escape(record.sentences)}</p>"
        f'<p class="note">{escape(counted(record.calls, "call"))}, {escape(record.prompt_tokens)} prompt + '
        f"{escape(record.completion_tokens)} completion tokens; stopped: {escape(record.stopped)}</p>"
        f"{_steps(record)}{plan}<h3>{'Passage' if record.plan else 'Outputs'}</h3>"
        f"<ol>{outputs}</ol></div>"
    )


def _judge_note(summary: dict[str, Any]) -> str:
    score = summary.get("coherency")
    if not isinstance(score, str):  # a number, or None: the judge ran
        return ""
    return f'<p class="note"><b>Coherency {escape(score)}.</b></p>'


def render_report(records: Sequence[Record], summary: dict[str, Any], config: dict[str, Any]) -> str:
    """The whole report.html from the records, the summary (its table, in its order) and the method's config."""
    tasks = summary.get("tasks")
    summary_rows = "".join(
        f"<tr><th>{escape(_label(k))}</th><td>{escape(_figure(k, v, tasks))}</td></tr>" for k, v in summary.items()
    )
    rows = "".join(
        f'<tr><td><a href="#t{escape(r.idx)}">{escape(r.idx)}</a></td><td>{escape(_short(r.sentences))}</td>'
        f'<td class="n">{escape(_shown(r.coherency) if r.coherency is not None else "-")}</td>'
        f'<td class="n">{escape(r.calls)}</td><td class="n">{escape(r.prompt_tokens + r.completion_tokens)}</td></tr>'
        for r in records
    )
    method, model = summary.get("method", ""), summary.get("model", "")
    body = f"""<h1>Creative writing — {escape(method)} on {escape(model)}</h1>
<p class="note">The coherency score (1-10) is a model's judgement, averaged over its samples, a task's outputs and
the tasks (Yao et al., 2023, Section 4.2: GPT-4 judging GPT-4, ToT 7.56, CoT 6.93, IO 6.19).</p>
{_judge_note(summary)}<table id="summary">{summary_rows}</table>
<details><summary>Run configuration</summary><pre>{escape(json.dumps(config, indent=1))}</pre></details>
<h2>Tasks</h2>
<table id="tasks"><tr><th>#</th><th>sentences</th><th>coherency</th><th>calls</th><th>tokens</th></tr>{rows}</table>
{"".join(_task(r) for r in records)}"""
    return page(f"Creative writing — {method}", body)
