"""The game-24 report as a reader needs it: the summary under the printed table's names, each output with its line
breaks, the first answer as the checker read it, and the checker's reason in words."""

from __future__ import annotations

import dataclasses
import html
import re

from evals.game24.arith import check_answer
from evals.game24.eval import format_summary, summarize
from evals.game24.report import render_report, summary_rows

PUZZLE = "4 5 6 10"
COT = "4 + 5 = 9 (left: 6 9 10)\n10 - 6 = 4 (left: 4 9)\nAnswer: (10 - 6) * 5 + 4 = 24\nHope this helps!"
RIGHT = "Steps:\n10 - 6 = 4 (left: 4 4 5)\nAnswer: (10 - 6) * 5 + 4 = 24"


def record(idx: int, outputs: list[str]) -> dict[str, object]:
    verdicts = [dataclasses.asdict(check_answer(PUZZLE, o)) for o in outputs]
    correct = [v["correct"] for v in verdicts]
    return {"idx": idx, "puzzle": PUZZLE, "method": "cot", "model": "m", "outputs": outputs, "verdicts": verdicts,
            "success": sum(correct) / len(correct), "any_correct": any(correct), "first_correct": correct[0],
            "calls": 1, "prompt_tokens": 100, "completion_tokens": 40, "dollars": 0.0, "stopped": "done"}  # fmt: skip


def test_the_summary_outputs_and_answers_read_as_a_reader_needs() -> None:
    records = [record(900, [COT, RIGHT]), record(901, [RIGHT])]
    summary = summarize(records)
    page = render_report(records, summary, {})
    # The summary table under the names the printed summary uses, not summary.json's keys.
    printed = format_summary(summary).splitlines()
    for (name, value), line in zip(summary_rows(summary), printed, strict=True):
        assert f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>" in page
        assert line.split() == [*name.split(), *value.split()]
    table = page[page.index('<table id="summary">') : page.index("</table>")]
    assert "calls_per_puzzle" not in table and "any_correct" not in table and "solved (any output)" in table
    # Each output keeps its line breaks; the reason is in words; a solved output says so.
    assert f"<pre>{html.escape(COT)}</pre>not arithmetic (the last line has no &#x27;Answer:&#x27;)" in page
    assert f"<pre>{html.escape(RIGHT)}</pre>solved</li>" in page
    # The first answer as the checker read it: the expression, not the trailing line it failed on.
    rows = re.findall(r'<tr class="(?:ok|no)">(.*?)</tr>', page)
    assert "<td><code>Hope this helps!</code></td>" in rows[0]
    assert "<td><code>(10 - 6) * 5 + 4</code></td>" in rows[1]
