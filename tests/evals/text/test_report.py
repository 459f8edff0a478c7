"""The creative-writing report: a step whose votes tied at the cut is marked (the first is kept, as the paper's
stable sort), the summary table has readable labels and the printed summary's rounding, and model text is
escaped."""

from evals.text.record import Record, StepLog
from evals.text.report import TIE, render_report, tie_of

HOSTILE = '</title><script>document.title="pwned"</script><img src=x onerror=alert(1)>'


def record(steps, *, passage="Passage:\nA passage."):
    return Record(key="0", idx=0, sentences="One. Two.", method="tot-bfs", outputs=[f"Plan:\nplan\n\n{passage}"],
                  plan="plan", steps=steps, stopped="exhausted", calls=4, prompt_tokens=0, completion_tokens=0,
                  dollars=0.0, spend={}, paid={}, requests={}, seconds=0.0)  # fmt: skip


TIED = StepLog(candidates=["Plan:\na", "Plan:\nb", "Plan:\nc"], votes=[1.0, 2.0, 2.0], selected=[1])
CLEAR = StepLog(candidates=["Plan:\nb\nPassage:\nx", "Plan:\nb\nPassage:\ny"], votes=[3.0, 2.0], selected=[0])
SUMMARY = {"method": "tot-bfs", "model": "gpt-4-replay", "tasks": 1, "coherency": "not judged",
           "paper_gpt4_coherency": 7.56, "replay_kept_as_logged": 1, "tasks_without_output": 0,
           "calls_per_task": 4.0, "prompt_tokens_per_task": 12.6, "completion_tokens_per_task": 0.0,
           "dollars": 0.0}  # fmt: skip


def test_a_tie_at_the_cut_is_found():
    assert tie_of([1.0, 2.0, 2.0], [1]) == [2]
    assert tie_of([3.0, 2.0], [0]) == []
    assert tie_of([0.0, 0.0], [0]) == [1]
    assert tie_of([2.0, 2.0, 1.0], [0, 1]) == []  # both tied candidates kept: nothing settled by order
    assert tie_of([], []) == []


def test_a_step_whose_votes_tied_for_first_is_marked():
    html = render_report([record([TIED, CLEAR])], SUMMARY, {})
    assert TIE.replace("'", "&#x27;") in html
    assert html.count("tie: the first is kept") == 1  # the second step had one clear winner
    assert "Step 1: plans <span" in html and "2 votes (tied, not kept)" in html
    assert "★ 2 votes</b>" in html


def test_the_summary_table_has_readable_labels_and_one_rounding():
    html = render_report([record([CLEAR])], SUMMARY, {})
    assert "replay_kept_as_logged" not in html.split('<table id="tasks">')[0]
    assert "<th>replay: tasks whose output is the published run&#x27;s</th><td>1 of 1</td>" in html
    assert "<th>model calls / task</th><td>4.0</td>" in html
    assert "<th>prompt tokens / task</th><td>13</td>" in html
    assert "<th>dollars (all tasks)</th><td>0.0000</td>" in html
    assert "<th>the paper&#x27;s coherency (GPT-4 judging GPT-4)</th><td>7.56</td>" in html


def test_model_text_is_escaped():
    hostile = StepLog(candidates=[HOSTILE, HOSTILE], votes=[1.0, 1.0], selected=[0])
    html = render_report([record([hostile], passage=HOSTILE)], {**SUMMARY, "model": HOSTILE}, {})
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html
