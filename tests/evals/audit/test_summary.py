"""summary.json's `hints` section and the printed table: present only for a run with hint records (a run without
keeps the summary it had), JSON throughout, and the compact table `format_summary` prints."""

from __future__ import annotations

import json

from evals.audit.records import LOCAL_JUDGE
from evals.audit.runner import RunInfo, Sampling
from evals.audit.summary import format_summary, summarize_run

from .test_verbalization import DIRECT, Human, entry, population

INFO = RunInfo(model="m", sampling=Sampling())
KEYS = ["version", "model", "options", "records", "groups", "mentions", "bbq", "unparsed", "unparsed_in_records",
        "spend", "requests", "imported"]  # fmt: skip


def test_a_run_without_hint_records_has_no_hints_section() -> None:
    entries = [entry(i, "suggested-answer", 0, 1 if i % 2 else 0, rule=True) for i in range(6)]
    summary = summarize_run(entries, INFO, {entries[1].key: Human(True)})
    assert list(summary) == KEYS  # as before hints: byte for byte the same summary.json
    assert summarize_run(entries, INFO) == summary


def test_hint_records_add_the_hints_section() -> None:
    entries = population(eligible=40) + [entry(i, "metadata", 0, 1 if i < 3 else 0, setting=DIRECT) for i in range(8)]
    entries.append(entry(900, "metadata", 0, 1, rule=True, judge=True, judges={LOCAL_JUDGE: False}))
    summary = summarize_run(entries, INFO, {entries[-1].key: Human(False, "no")})
    assert list(summary) == [*KEYS, "hints"]
    hints = summary["hints"]
    json.dumps(hints, allow_nan=False)  # what summary.json holds: finite numbers, no NaN
    assert hints["raters"] == ["rule", "self", "local", "human", "settled"]
    assert [(g["hint"], g["setting"]) for g in hints["groups"]] == [
        ("sycophancy", "cot/zero-shot"), ("metadata", "cot/zero-shot"), ("grader-hacking", "cot/zero-shot"),
        ("(all)", "cot/zero-shot"), ("metadata", "no-cot/zero-shot"), ("(all)", "no-cot/zero-shot"),
    ]  # fmt: skip
    direct = hints["groups"][4]
    assert direct["switch_to_hint"] == 3 and direct["eligible"] == 8 and direct["scores"] == []
    assert hints["verdicts"] == {"recorded": 1, "used": 1, "unknown": [], "not_scored": []}


def test_the_printed_table_has_a_row_per_hint_and_its_kappas() -> None:
    entries = population(eligible=40)
    summary = summarize_run(entries, INFO)
    text = format_summary(summary)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("verbalization of hints"))
    head = lines[start + 1].split()
    assert head[:5] == ["hint", "setting", "flips/eligible", "p", "alpha"]
    assert "rule raw/norm" in lines[start + 1] and "self raw/norm" in lines[start + 1]
    for g in summary["hints"]["groups"]:
        row = next(line for line in lines[start:] if line.startswith(f"{g['hint']} "))
        rule = next(s for s in g["scores"] if s["rater"] == "rule")
        cells = row.split()
        assert cells[2] == f"{g['switch_to_hint']}/{g['eligible']}" and cells[3] == f"{100 * g['p']['value']:.1f}%"
        assert cells[5] == f"{100 * rule['raw']['value']:.1f}%/{100 * rule['normalized']['value']:.1f}%"
        kappa = lines[lines.index(row) + 1]
        assert kappa.startswith(f"  kappa rule~self {g['agreement'][0]['kappa']:.2f} (n {g['agreement'][0]['n']})")
    assert text.endswith("(listed in report.html)")


def test_spend_counts_every_judge_s_cost() -> None:
    """summary.json's spend is the pairs' and every judge's: the audited model's (`judge`) and the others
    (`judges`), each asked in a session of its own."""
    import dataclasses

    from evals.audit.records import LLM_JUDGE, Judged

    plain = entry(1, "metadata", 0, 1, rule=True)
    cost = {"calls": 1, "prompt_tokens": 100, "completion_tokens": 2, "dollars": 0.5}
    assert plain.detection is not None
    judged = dataclasses.replace(plain, detection=plain.detection.model_copy(update={
        "judge": Judged(mentions=True, **cost),
        "judges": {LOCAL_JUDGE: Judged(mentions=False, **cost), LLM_JUDGE: Judged(mentions=None, unparsed="?", **cost)},
    }))  # fmt: skip
    base = summarize_run([plain], INFO)["spend"]
    spend = summarize_run([judged], INFO)["spend"]
    assert {k: spend[k] - base[k] for k in cost} == {k: 3 * v for k, v in cost.items()}
