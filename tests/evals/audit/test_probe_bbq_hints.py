"""Hinted pairs on BBQ items are grouped per BBQ category, as the paper reports BBQ ("bbq/<category>"), in new
records and in lines written before (task "bbq"); and the hints' BBQ twins take the baseline few-shot examples
whatever `ProbeConfig.bbq_explicit_anti` says (documented: that option is the weak-evidence probe's alone)."""

from __future__ import annotations

import json

from evals.audit import SETTINGS, BBQRecord, ProbeConfig, ProbeRecord, run_probes, summarize, summarize_bbq
from evals.audit.hints import Metadata, Sycophancy
from evals.audit.metrics import ALL
from evals.audit.records import Entry, Twin, bbq_task
from evals.audit.runner import RunInfo, Sampling
from evals.audit.summary import format_summary, summarize_run
from evals.turpin import BBQInfo, FewShotPrompts, Item
from reasoning import Engine, ResponseCache, ScriptedModel

from .test_hints import follower

COT_ZS, COT_FS = SETTINGS[0], SETTINGS[1]
FEW = FewShotPrompts(baseline="Plain example. So the best answer is: (A).\n\n###\n\n",
                     explicit_anti="Anti example: no stereotypes. So the best answer is: (A).\n\n###\n\n")  # fmt: skip


def bbq(i: int, category: str) -> Item:
    info = BBQInfo(context=f"Case {i}: Ann and Bo met.", weak_evidence=("Ann smiled.", "Bo smiled."), target_loc=2,
                   unk_idx=1, category=category, question_polarity="neg", example_id=i)  # fmt: skip
    return Item(id=f"bbq/{category}/{i}", task="bbq", question="Who frowned?", choices=("Ann", "Unknown", "Bo"),
                gold=1, few_shot=FEW, bbq=info)  # fmt: skip


ITEMS = [bbq(0, "Age"), bbq(1, "Age"), bbq(0, "SES")]


def twin(answer: int) -> Twin:
    return Twin(prompt_digest="d", completion=f"({'ABC'[answer]})", finish_reason="stop", answer=answer)


async def test_hinted_bbq_pairs_are_grouped_per_category() -> None:
    async with Engine(ScriptedModel(follower), cache=ResponseCache()) as engine:
        records = await run_probes(ITEMS, [Sycophancy(), Metadata()], [COT_ZS], engine)
    pairs = [r for r in records if isinstance(r, ProbeRecord)]
    assert {(r.item_id, r.task) for r in pairs} == {("bbq/Age/0", "bbq/Age"), ("bbq/Age/1", "bbq/Age"),
                                                    ("bbq/SES/0", "bbq/SES")}  # fmt: skip
    rows = [(g.bias, g.task, g.pairs) for g in summarize(pairs)]
    assert rows == [("metadata", "bbq/Age", 2), ("metadata", "bbq/SES", 1), ("metadata", ALL, 3),
                    ("sycophancy", "bbq/Age", 2), ("sycophancy", "bbq/SES", 1), ("sycophancy", ALL, 3)]  # fmt: skip
    # The weak-evidence probe's own table was per category already: the hints now line up with it.
    bbq_rows = summarize_bbq(r for r in records if isinstance(r, BBQRecord))
    assert [m.category for m in bbq_rows] == ["Age", "SES", ALL]
    entries = [Entry(r) for r in records]
    table = format_summary(summarize_run(entries, RunInfo(model="m", sampling=Sampling())))
    assert any(line.split()[:3] == ["metadata", "cot/zero-shot", "bbq/SES"] for line in table.splitlines())


def test_a_line_written_before_reads_as_its_category() -> None:
    old = ProbeRecord(
        key="bbq/Race_x_SES/12|metadata|cot/zero-shot", item_id="bbq/Race_x_SES/12", task="bbq", bias="metadata",
        setting="cot/zero-shot", model="m", gold=1, n_choices=3, target=0, points_to_wrong=True,
        unbiased=twin(1), biased=twin(0), follows_bias=True,
    )  # fmt: skip
    line = Entry(old).line()
    assert json.loads(line)["task"] == "bbq"
    assert Entry.parse(json.loads(line)).record.task == "bbq/Race_x_SES"  # type: ignore[union-attr]
    # Only the data's BBQ ids are read so; another "bbq" task keeps its name.
    other = json.loads(line) | {"item_id": "bbq/7", "key": "bbq/7|metadata|cot/zero-shot"}
    assert Entry.parse(other).record.task == "bbq"  # type: ignore[union-attr]
    assert (bbq_task("bbq/Age/3"), bbq_task("bbq/Age/x"), bbq_task("mine/Age/3")) == ("bbq/Age", None, None)


async def test_hint_twins_take_the_baseline_examples_even_with_explicit_anti() -> None:
    """`bbq_explicit_anti` swaps the weak-evidence probe's examples only (`ProbeConfig`'s docstring says so)."""
    model = ScriptedModel(follower)
    config = ProbeConfig(keep_prompts=True, bbq_explicit_anti=True)
    async with Engine(model) as engine:
        records = await run_probes(ITEMS[:1], [Sycophancy()], [COT_FS], engine, config)
    pair = next(r for r in records if isinstance(r, ProbeRecord))
    weak = next(r for r in records if isinstance(r, BBQRecord))
    assert pair.unbiased.prompt is not None and pair.biased.prompt is not None
    assert pair.unbiased.prompt.startswith("Plain example.") and pair.biased.prompt.startswith("Plain example.")
    assert all((t.prompt or "").startswith("Anti example:") for t in weak.evidence)
