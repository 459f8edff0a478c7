"""A SuperICL run's summary (`summary.json`) and the table `reasoning supericl run | report` prints.

`summarize_run` reads only the records and run.json (never the cache, nor the order records finished in): per
task (and `all`) x method metrics, overrides, the plug-in's calibration, the cascade sweep, unparsed answers and
plug-in failures, and what the run's requests cost as if nothing were cached (`spend`: `requests`, every method's
own; `backend_requests`, once per item for a prompt two methods share; their tokens and dollars). All of it is the
same for a resumed run as for an uninterrupted one; what a process really paid is each record's `paid` and stderr.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from reasoning._words import counted

from .info import RunInfo
from .methods import METHODS, Record
from .metrics import by_task, calibration, method_metrics, overrides, sweep, thresholds

__all__ = ["SUMMARY_VERSION", "format_summary", "summarize_run"]

SUMMARY_VERSION = 1


def _unparsed(records: Sequence[Record]) -> dict[str, Any]:
    reasons: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for r in records:
        if r.outcome == "unparsed":
            counts[r.method] += 1
            reasons["empty answer" if r.reason == "empty answer" else "not one of the labels"] += 1
    return {"by_method": dict(counts), "reasons": dict(reasons)}


def summarize_run(records: Sequence[Record], info: RunInfo) -> dict[str, Any]:
    """`summary.json`: options and tasks, per task (and `all`) x method metrics, overrides, the plug-in's
    calibration, the cascade sweep, unparsed answers and plug-in failures, and what the run spent."""
    groups = by_task(records)
    grid = thresholds(info.options.threshold)
    to = info.options.cascade_to
    methods, over, calib, sweeps = [], [], [], {}
    for task, by_method in groups.items():
        for method in METHODS:
            if by_method.get(method):
                methods.append(method_metrics(task, method, by_method[method]).model_dump(mode="json"))
        for method in ("supericl", "cascade"):
            if by_method.get(method):
                over.append(overrides(task, method, by_method[method]).model_dump(mode="json"))
        if by_method.get("plugin"):
            calib.append(calibration(task, by_method["plugin"]).model_dump(mode="json"))
            if by_method.get(to):
                sweeps[task] = [row.model_dump(mode="json") for row in sweep(task, by_method["plugin"], by_method[to],
                                                                             grid)]  # fmt: skip
    new = [r for r in records if not r.cached]
    explained = [r.explanation for r in records if r.explanation is not None]
    spend = {
        "requests": sum(r.requests for r in records) + len(explained),
        "backend_requests": sum(r.requests - r.cached for r in records) + sum(1 - e.cached for e in explained),
        "prompt_tokens": sum(r.prompt_tokens for r in new) + sum(e.prompt_tokens for e in explained if not e.cached),
        "completion_tokens": sum(r.completion_tokens for r in new)
        + sum(e.completion_tokens for e in explained if not e.cached),
        "dollars": sum(r.dollars for r in new),
    }
    return {
        "version": SUMMARY_VERSION,
        "model": info.model,
        "options": info.options.model_dump(mode="json"),
        "tasks": {k: v.model_dump(mode="json") for k, v in info.tasks.items()},
        "records": len(records),
        "methods": methods,
        "overrides": over,
        "calibration": calib,
        "sweep": sweeps,
        "cascade_to": to,
        "unparsed": _unparsed(records),
        "plugin_failures": sum(r.method == "plugin" and r.outcome == "failed" for r in records),
        "spend": spend,
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def format_summary(summary: dict[str, Any]) -> str:
    """Accuracy, overrides and cost per task x method as a plain-text table, then the plug-in's ECE."""
    over = {(o["task"], o["method"]): o for o in summary["overrides"]}
    head = ("task", "method", "items", "accuracy", "unparsed", "failed", "override", "override right", "requests",
            "tokens")  # fmt: skip
    rows = [head]
    for m in summary["methods"]:
        o = over.get((m["task"], m["method"]))
        rows.append((m["task"], m["method"], str(m["items"]), _pct(m["accuracy"]["value"]), str(m["unparsed"]),
                     str(m["failed"]), _pct(o["rate"]["value"]) if o else "", _pct(o["right"]["value"]) if o else "",
                     str(m["requests"]), str(m["prompt_tokens"] + m["completion_tokens"])))  # fmt: skip
    if len(rows) == 1:
        return "no records"
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for c in summary["calibration"]:
        ece = "—" if c["ece"] is None else f"{c['ece']:.3f}"
        lines.append(
            f"plug-in calibration ({c['task']}): ECE {ece} over {counted(c['n'], 'item')}, {c['failed']} failed"
        )
    spend = summary["spend"]
    lines.append(f"model requests {spend['requests']} ({spend['backend_requests']} to ask) | tokens "
                 f"{spend['prompt_tokens'] + spend['completion_tokens']} | ${spend['dollars']:.4f}")  # fmt: skip
    return "\n".join(lines)
