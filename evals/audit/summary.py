"""What an audit run's records add up to: `summary.json` (`summarize_run`) and the plain-text table the command
prints (`format_summary`). A run with hint records adds `hints`, the verbalization metrics of Chen et al. 2025
(`evals.audit.verbalization`) with the human verdicts of the run folder; a run without leaves summary.json as it
was."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from reasoning._words import counted
from reasoning.engine import Spend

from .metrics import ALL, summarize, summarize_bbq
from .options import RunInfo
from .paper import PAPER_TABLE1
from .records import BBQRecord, Entry, ProbeRecord, flipped, twins, unparsed_twins
from .verbalization import HumanVerdict, summarize_hints

__all__ = [
    "SUMMARY_VERSION",
    "format_summary",
    "hint_lines",
    "process_calls",
    "requests",
    "requests_line",
    "summarize_run",
]

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


def _disagreements(entries: Sequence[Entry]) -> dict[str, Any]:
    """Twins whose answer differs from the one their published file recorded (`Twin.recorded`; -1 = not read)."""
    rows: list[dict[str, Any]] = []
    letters: list[tuple[int, int]] = []
    for e in entries:
        for side, twin in twins(e.record):
            ours = -1 if twin.answer is None else twin.answer
            if twin.recorded is not None and ours != twin.recorded:
                letters.append((ours, twin.recorded))
                rows.append({"key": e.record.key, "twin": side, "published": twin.recorded, "ours": ours,
                             "reason": twin.unparsed})  # fmt: skip
    compared = sum(t.recorded is not None for e in entries for _, t in twins(e.record))
    return {
        "compared": compared,
        "count": len(rows),
        "other_letter": sum(ours >= 0 and published >= 0 for ours, published in letters),
        "agreement": None if not compared else 1 - len(rows) / compared,
        "items": rows,
    }


def _imported(entries: Sequence[Entry], groups: list[dict[str, Any]], info: RunInfo) -> dict[str, Any] | None:
    """What an import of published outputs adds: its files (and those covering only the first rows of their task),
    where our reader disagrees with the published answers, and the pooled rows next to the paper's Table 1."""
    if info.source is None:
        return None
    paper = []
    for g in groups:
        if g["task"] != ALL:
            continue
        cell = PAPER_TABLE1.get((info.model, g["bias"], g["setting"]))
        paper.append({"bias": g["bias"], "setting": g["setting"], "n": g["evaluable"], "rule": g["rule"],
                      "ours": [g["acc_unbiased"]["value"], g["acc_biased"]["value"]],
                      "paper": None if cell is None else [round(c / 100, 4) for c in cell]})  # fmt: skip
    files = [f.model_dump(mode="json") for f in info.source.files]
    outside = sum(
        t.answer is not None and t.answer >= e.record.n_choices
        for e in entries
        if isinstance(e.record, ProbeRecord)
        for _, t in twins(e.record)
    )
    return {
        "answers": info.source.answers,
        "outside_choices": outside,
        "files": files,
        "partial": [f for f in files if f["items"] < f["data_items"]],
        "disagreements": _disagreements(entries),
        "paper": paper,
    }


def requests(entries: Sequence[Entry]) -> dict[str, int]:
    """The calls `summary.json`'s `spend` counts (every pair's requests and every judge's, as if nothing were cached
    or shared: `counted`), and how many of them were `distinct` requests: a twin whose request (`Twin.prompt_digest`)
    another pair also asked, such as the unbiased twin every hint on an item shares, is `repeated`. The engine asks a
    repeated request of the model once (it is shared while in flight, then served by the cache), so on a first run,
    in one process, "this process paid for N calls" is the distinct requests less what the cache already held.
    Counted from the records alone, the same on a rerun, a resume or a warm cache (what one process really paid is
    the run command's own line: `process_calls`)."""
    counted = repeated = 0
    seen: set[str] = set()
    for e in entries:
        counted += e.record.calls
        for _, twin in twins(e.record):
            if twin.asked and twin.prompt_digest:
                repeated += twin.prompt_digest in seen
                seen.add(twin.prompt_digest)
        if e.detection is not None:
            counted += sum(j.calls for j in (e.detection.judge, *e.detection.judges.values()) if j is not None)
    return {"counted": counted, "distinct": counted - repeated, "repeated": repeated}


def requests_line(counts: dict[str, Any]) -> str:
    """`requests` as one line: "46 calls = 30 distinct requests + 16 repeated (asked of the model once)"."""
    return (f"{counted(counts['counted'], 'call')} = {counts['distinct']} distinct requests + {counts['repeated']} "
            "repeated by another pair (asked of the model once)")  # fmt: skip


def process_calls(counted_calls: int, shared: int, paid: Spend) -> str:
    """What one process's calls were, reconciled with its "this process paid for" line: the `counted_calls` its
    finished pairs and verdicts count (as if nothing were cached or shared) = the calls it `paid` for + the samples
    its cache served (`paid.cached_samples`: one a call, as the audit asks one sample a request) + the calls `shared`
    in flight (the engine's in-flight de-duplication: `Twin.shared`). Calls paid for pairs that did not finish (a
    run stopped early) are said apart."""
    line = (f"this process's pairs count {counted(counted_calls, 'call')} = {paid.calls} paid + "
            f"{paid.cached_samples} from the cache + {shared} shared in flight")  # fmt: skip
    extra = paid.calls + paid.cached_samples + shared - counted_calls
    if extra:
        line += f" ({extra:+d}: calls of pairs that did not finish)"
    return line


def summarize_run(
    entries: Sequence[Entry], info: RunInfo, verdicts: Mapping[str, HumanVerdict] | None = None
) -> dict[str, Any]:
    """`summary.json`: the options, the metrics per bias x setting x task (`summarize`, with `ALL` rows, each naming
    the rule that drops pairs) and BBQ (`summarize_bbq`), the detector's counts aligned with the metric rows,
    unparsed answers by reason, and spend; for an import of published outputs, `imported` (`_imported`); for a run
    with hint records, `hints` (`evals.audit.verbalization.summarize_hints`, with the human `verdicts` by key)."""
    pairs = [e.record for e in entries if isinstance(e.record, ProbeRecord)]
    bbq = [e.record for e in entries if isinstance(e.record, BBQRecord)]
    groups = summarize(pairs)
    group_rows = [g.model_dump(mode="json") for g in groups]
    reasons: Counter[str] = Counter()
    unparsed = {"unbiased": 0, "biased": 0, "bbq": 0}
    # Each completion once: the unbiased twin the hints share is one answer, not one per hint.
    distinct = unparsed_twins(e.record for e in entries)
    for _, side, twin in distinct:
        unparsed["bbq" if side.startswith("evidence") else side] += 1
        reasons[_reason_kind(twin.unparsed or "")] += 1
    # As if nothing were cached: the same for a resumed run as for an uninterrupted one.
    spend = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "dollars": 0.0}
    for e in entries:
        for name in spend:
            spend[name] += getattr(e.record, name)
        if e.detection is not None:  # every judge's verdict, each asked in a session of its own
            judged = [e.detection.judge, *e.detection.judges.values()]
            for judge in (j for j in judged if j is not None):
                for name in ("calls", "prompt_tokens", "completion_tokens", "dollars"):
                    spend[name] += getattr(judge, name)
    summary: dict[str, Any] = {
        "version": SUMMARY_VERSION,
        "model": info.model,
        "options": info.model_dump(mode="json"),
        "records": {"pairs": len(pairs), "bbq": len(bbq)},
        "groups": group_rows,
        "mentions": [_mentions(entries, g.bias, g.setting, g.task) for g in groups],
        "bbq": [m.model_dump(mode="json") for m in summarize_bbq(bbq)],
        "unparsed": {**unparsed, "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))},
        "unparsed_in_records": sum(len(keys) for keys, _, _ in distinct),
        "spend": spend,
        "requests": requests(entries),
        "imported": _imported(entries, group_rows, info),
    }
    hints = summarize_hints(entries, verdicts)
    if hints is not None:  # only then: a run without hint records keeps the summary it had
        summary["hints"] = hints.model_dump(mode="json")
    return summary


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
    imported = summary.get("imported")
    if imported is None:
        calls = requests_line(summary["requests"]) if "requests" in summary else f"calls {spend['calls']}"
        lines.append(f"{calls} | tokens {spend['prompt_tokens'] + spend['completion_tokens']} | "
                     f"${spend['dollars']:.4f} (calls and tokens as if nothing were cached or shared)")  # fmt: skip
    else:
        lines += _imported_lines(imported)
    if summary.get("hints") is not None:
        lines += hint_lines(summary["hints"])
    return "\n".join(lines)


def _rate(p: dict[str, Any] | None) -> str:
    return "—" if p is None or p.get("value") is None else f"{100 * p['value']:.1f}%"


def hint_lines(hints: dict[str, Any]) -> list[str]:
    """What `format_summary` adds for hint records: per hint x setting, switches to the hint of eligible pairs, p,
    alpha, and each rater's raw/normalized verbalization score; under each group with raters, their Cohen's kappa."""
    raters = hints["raters"]
    head = ("hint", "setting", "flips/eligible", "p", "alpha", *(f"{r} raw/norm" for r in raters))
    rows: list[tuple[str, ...]] = [head]
    kappas: list[str | None] = [None]
    for g in hints["groups"]:
        scores = {s["rater"]: s for s in g["scores"]}
        cells = [f"{_rate(scores[r]['raw'])}/{_rate(scores[r]['normalized'])}" if r in scores else "—"
                 for r in raters]  # fmt: skip
        alpha = "—" if g["alpha"] is None else f"{g['alpha']:.2f}"
        rows.append((g["hint"], g["setting"], f"{g['switch_to_hint']}/{g['eligible']}", _rate(g["p"]), alpha, *cells))
        pairs = [f"{a['first']}~{a['second']} " + ("—" if a["kappa"] is None else f"{a['kappa']:.2f}")
                 + f" (n {a['n']})" for a in g["agreement"]]  # fmt: skip
        kappas.append("  kappa " + ", ".join(pairs) if pairs else None)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["verbalization of hints (Chen et al. 2025): p = switches to the hint of eligible pairs; raw/normalized "
             "share of switches whose explanation says it used the hint"]  # fmt: skip
    for row, kappa in zip(rows, kappas, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        lines += [kappa] if kappa else []
    v = hints["verdicts"]
    if v["recorded"]:
        lines.append(f"human verdicts: {v['used']} scored of {v['recorded']}"
                     + (f"; {len(v['unknown'])} name no record of this run" if v["unknown"] else "")
                     + (f"; {len(v['not_scored'])} on pairs that take none" if v["not_scored"] else ""))  # fmt: skip
    if hints["disagreements"]:
        lines.append(f"classifiers disagree on {counted(len(hints['disagreements']), 'switch', 'switches')} (listed "
                     "in report.html)")  # fmt: skip
    return lines


def _imported_lines(imported: dict[str, Any]) -> list[str]:
    """What `format_summary` adds for an import: the files, the reader's disagreements, the paper's cells."""
    files = imported["files"]
    lines = [f"imported from {len(files)} file{'s' * (len(files) != 1)} of published outputs, answers "
             f"{imported['answers']}"]  # fmt: skip
    for f in imported["partial"]:
        lines.append(f"  {f['path']}: holds {f['items']} of the {f['data_items']} items of {f['task']} (matched to "
                     f"its first {f['items']} rows)")  # fmt: skip
    if imported.get("outside_choices"):
        lines.append(f"{imported['outside_choices']} published answers name a letter that is not one of the item's "
                     "choices: kept, and counted wrong, as the paper's code counts them")  # fmt: skip
    if any(row["paper"] is None for row in imported["paper"]):
        lines.append("(not quoted: evals/audit/paper.py holds only the paper's GPT-3.5 cells the shared data cites)")
    d = imported["disagreements"]
    if d["compared"]:
        lines.append(f"our reader disagrees with the published answer on {d['count']} of {d['compared']} CoT "
                     f"completions ({d['other_letter']} read as another letter)")  # fmt: skip
    for row in imported["paper"]:
        ours = " -> ".join("—" if v is None else f"{100 * v:.1f}%" for v in row["ours"])
        paper = "not quoted" if row["paper"] is None else " -> ".join(f"{100 * v:.1f}%" for v in row["paper"])
        lines.append(f"{row['bias']} {row['setting']}: ours {ours} (n {row['n']}); paper Table 1 {paper}")
    return lines
