"""What an audit run's records add up to: `summary.json` (`summarize_run`) and the plain-text table the command
prints (`format_summary`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .metrics import ALL, summarize, summarize_bbq
from .options import RunInfo
from .records import BBQRecord, Entry, ProbeRecord, flipped, twins

__all__ = ["SUMMARY_VERSION", "format_summary", "summarize_run"]

SUMMARY_VERSION = 1


def _reason_kind(reason: str) -> str:
    """An unparsed reason without its particulars: "answer (E) is not one of the 3 choices" -> "answer (X) is not
    one of the N choices", "does not start with an answer letter: 'Yes'" -> "does not start with an answer letter"."""
    cut = " (cut off at max_tokens)"
    kind = re.sub(r": (['\"]).*\1$", "", reason.removesuffix(cut), flags=re.S)
    kind = re.sub(r"\d+", "N", re.sub(r"\([A-Z]\)(?:, \([A-Z]\))*", "(X)", kind))
    return kind + cut if reason.endswith(cut) else kind


def _mentions(entries: Sequence[Entry], bias: str, setting: str, task: str) -> dict[str, Any]:
    rows = [e for e in entries if isinstance(e.record, ProbeRecord) and e.record.bias == bias
            and e.record.setting == setting and task in (ALL, e.record.task)]  # fmt: skip
    checked = [e for e in rows if e.detection is not None]
    flips = [e for e in checked if isinstance(e.record, ProbeRecord) and flipped(e.record)]

    def judge_yes(group: list[Entry]) -> int:
        return sum(bool(e.detection and e.detection.judge and e.detection.judge.mentions) for e in group)

    return {
        "bias": bias, "setting": setting, "task": task, "checked": len(checked),
        "rule": sum(e.detection is not None and e.detection.rule is not None for e in checked),
        "judged": sum(e.detection is not None and e.detection.judge is not None for e in checked),
        "judge_yes": judge_yes(checked),
        "judge_unparsed": sum(bool(e.detection and e.detection.judge and e.detection.judge.unparsed)
                              for e in checked),
        "flipped": len(flips),
        "flipped_rule": sum(e.detection is not None and e.detection.rule is not None for e in flips),
        "flipped_judge_yes": judge_yes(flips),
    }  # fmt: skip


def summarize_run(entries: Sequence[Entry], info: RunInfo) -> dict[str, Any]:
    """`summary.json`: the options, the metrics per bias x setting x task (`summarize`, with `ALL` rows) and BBQ
    (`summarize_bbq`), the detector's counts aligned with the metric rows, unparsed answers by reason, and spend."""
    pairs = [e.record for e in entries if isinstance(e.record, ProbeRecord)]
    bbq = [e.record for e in entries if isinstance(e.record, BBQRecord)]
    groups = summarize(pairs)
    reasons: Counter[str] = Counter()
    unparsed = {"unbiased": 0, "biased": 0, "bbq": 0}
    # As if nothing were cached: the same for a resumed run as for an uninterrupted one.
    spend = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "dollars": 0.0}
    for e in entries:
        for side, twin in twins(e.record):
            if twin.asked and twin.answer is None:
                unparsed["bbq" if isinstance(e.record, BBQRecord) else side] += 1
                reasons[_reason_kind(twin.unparsed or "")] += 1
        for name in spend:
            spend[name] += getattr(e.record, name)
        judge = e.detection.judge if e.detection is not None else None
        if judge is not None:
            for name in ("calls", "prompt_tokens", "completion_tokens", "dollars"):
                spend[name] += getattr(judge, name)
    return {
        "version": SUMMARY_VERSION,
        "model": info.model,
        "options": info.model_dump(mode="json"),
        "records": {"pairs": len(pairs), "bbq": len(bbq)},
        "groups": [g.model_dump(mode="json") for g in groups],
        "mentions": [_mentions(entries, g.bias, g.setting, g.task) for g in groups],
        "bbq": [m.model_dump(mode="json") for m in summarize_bbq(bbq)],
        "unparsed": {**unparsed, "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))},
        "spend": spend,
    }


def _pct(p: dict[str, Any]) -> str:
    return "—" if p.get("value") is None else f"{100 * p['value']:.1f}%"


def format_summary(summary: dict[str, Any]) -> str:
    """The metric rows as a plain-text table (the report has the intervals)."""
    head = ("bias", "setting", "task", "pairs", "eval", "acc", "acc biased", "drop", "follows", "unparsed",
            "mentions")  # fmt: skip
    rows = [head]
    for g, m in zip(summary["groups"], summary["mentions"], strict=True):
        drop = "—" if g["drop"]["value"] is None else f"{100 * g['drop']['value']:+.1f}"
        mention = f"{m['rule']}/{m['checked']}" if m["checked"] else "—"
        rows.append((g["bias"], g["setting"], g["task"], str(g["pairs"]), str(g["evaluable"]),
                     _pct(g["acc_unbiased"]), _pct(g["acc_biased"]), drop, _pct(g["follows_biased"]),
                     f"{g['unparsed_unbiased']}+{g['unparsed_biased']}", mention))  # fmt: skip
    for b in summary["bbq"]:
        rows.append(("bbq", b["setting"], b["category"], str(b["pairs"]), str(b["pairs"] - b["unparsed"]),
                     "", "", "", "", str(b["unparsed"]), f"aligned {_pct(b['stereotype_aligned'])}"))  # fmt: skip
    if len(rows) == 1:
        return "no records"
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    spend = summary["spend"]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"calls {spend['calls']} | tokens {spend['prompt_tokens'] + spend['completion_tokens']} | "
                 f"${spend['dollars']:.4f}")  # fmt: skip
    return "\n".join(lines)
