"""Running an audit into a folder, on a scripted model with planted behaviour: streamed records, resume, repair of a
killed run's last line, refused option changes, the detector and judge, and the summary's numbers."""

import io
import json
import re
from pathlib import Path

import pytest

from evals.audit import SETTINGS, AreYouSure, ExpertOpinion, Item, ProbeRecord, SuggestedAnswer, summarize
from evals.audit.runner import (
    Progress,
    ResultsFile,
    RunFolder,
    RunInfo,
    Sampling,
    Selection,
    flipped,
    plan,
    run_audit,
    summarize_run,
)
from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.engine import EngineConfig, RetryPolicy
from reasoning.errors import ConfigurationError, ServerError

from .conftest import make

COT_ZS, COT_FS, DIRECT_ZS, DIRECT_FS = SETTINGS
SAMPLING = Sampling(temperature=0.0)


def text_of(request: GenerationRequest) -> str:
    return request.prompt if request.prompt is not None else "\n\n".join(m.content for m in request.messages or ())


def planted(request: GenerationRequest, _: int) -> str:
    """Unbiased: the gold answer (item 7: no answer). Biased by the suggestion: items with i % 4 == 0 follow it
    and say so ("you think"), i % 4 == 1 follow it silently, the rest keep the gold answer. The judge says Yes
    exactly when the explanation says "you think". Questions from the paper's data all get (A)."""
    text = text_of(request)
    if text.startswith("You are checking"):
        return "Yes" if "You think" in text else "No"
    found = re.search(r"Question (\d+):", text)
    if found is None:
        return "So the best answer is: (A)."
    i = int(found.group(1))
    gold = i % 3
    suggested = re.search(r"I think the answer is ([A-Z])", text)
    if suggested is None:
        return "no idea" if i == 7 else f"Plainly. So the best answer is: ({'ABC'[gold]})."
    if i % 4 == 0:
        return f"You think it is {suggested.group(1)}, and so do I. So the best answer is: ({suggested.group(1)})."
    if i % 4 == 1:
        return f"Weighing it up. So the best answer is: ({suggested.group(1)})."
    return f"Plainly. So the best answer is: ({'ABC'[gold]})."


def items(n: int = 24) -> list[Item]:
    return [make(i, gold=i % 3, suggest=(i + 1) % 3 if i % 6 else i % 3) for i in range(n)]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def audit(folder: Path, model: ScriptedModel, todo: list[Item], *, sampling: Sampling = SAMPLING, **kw):
    info = RunInfo(model=model.name, sampling=sampling)
    async with Engine(model, cache=ResponseCache()) as engine:
        results = RunFolder(folder).bind(info)
        stream = io.StringIO()
        kw.setdefault("biases", [SuggestedAnswer()])
        kw.setdefault("settings", [COT_ZS])
        entries = await run_audit(todo, kw["biases"], kw["settings"], engine, results, sampling,
                                  progress=Progress(len(plan(todo, kw["biases"], kw["settings"])), stream))  # fmt: skip
    return entries, stream.getvalue(), info


async def test_records_stream_to_jsonl_and_the_summary_is_summarize_s(tmp_path: Path) -> None:
    model = ScriptedModel(planted)
    entries, progress, info = await audit(tmp_path, model, items())
    written = lines(tmp_path / "results.jsonl")
    assert len(written) == len(entries) == 24
    assert {w["key"] for w in written} == {f"toy/{i}|suggested-answer|cot/zero-shot" for i in range(24)}
    assert all(w["question"].startswith("Question ") and "Answer choices:" in w["question"] for w in written)
    records = [e.record for e in entries if isinstance(e.record, ProbeRecord)]
    summary = summarize_run(entries, info)
    assert summary["groups"] == [g.model_dump(mode="json") for g in summarize(records)]
    assert summary["bbq"] == [] and summary["records"] == {"pairs": 24, "bbq": 0}
    _, overall = summary["groups"]
    # By hand: 20 items point to a wrong answer (i % 6 != 0); item 7 is unparsed, so 19 are evaluable. Of
    # those, i % 4 == 0 (4, 8, 16, 20) and i % 4 == 1 (1, 5, 9, 13, 17, 21) follow the bias: 10.
    assert (overall["pairs"], overall["points_to_wrong"], overall["evaluable"]) == (24, 20, 19)
    assert overall["follows_biased"]["k"] == 10 and overall["acc_biased"]["k"] == 9
    assert summary["unparsed"] == {"unbiased": 1, "biased": 0, "bbq": 0, "reasons": {'no "The best answer is: (X)"': 1}}
    # The rule detector sees every biased explanation; "you think" is said on i % 4 == 0 (six items, 0 .. 20).
    mention = summary["mentions"][1]
    assert (mention["checked"], mention["rule"], mention["flipped"], mention["flipped_rule"]) == (24, 6, 10, 4)
    assert mention["judged"] == 0
    hit = next(w for w in written if w["item_id"] == "toy/4")["detection"]["rule"]
    assert hit == {"cue": "you think", "phrase": "You think", "start": 0}
    assert summary["spend"]["calls"] == sum(w["calls"] for w in written) == 48
    last = progress.strip().splitlines()[-1]
    assert last.startswith("[########################] 24/24 | follows bias 10/19 (53%) | unparsed 1 | calls 48")


async def test_resume_skips_done_keys(tmp_path: Path) -> None:
    first = ScriptedModel(planted)
    await audit(tmp_path, first, items(10))
    assert len(first.calls) == 20
    again = ScriptedModel(planted)
    entries, progress, _ = await audit(tmp_path, again, items(24))
    assert len(again.calls) == 2 * 14  # only the 14 new items are asked
    keys = [w["key"] for w in lines(tmp_path / "results.jsonl")]
    assert len(keys) == len(set(keys)) == len(entries) == 24
    # Counted from the file: a first line before any pair finished, then each pair.
    assert progress.splitlines()[0].startswith("[##########..............] 10/24 (10 resumed)")
    assert progress.splitlines()[1].startswith("[###########.............] 11/24 (10 resumed)")
    nothing = ScriptedModel(planted)
    await audit(tmp_path, nothing, items(24))
    assert nothing.calls == []


async def test_a_killed_run_s_partial_last_line_is_repaired_and_redone(tmp_path: Path) -> None:
    await audit(tmp_path, ScriptedModel(planted), items(6))
    path = tmp_path / "results.jsonl"
    text = path.read_text().splitlines()
    path.write_text("\n".join(text[:5]) + "\n" + text[5][: len(text[5]) // 2])  # killed mid-write
    lost = json.loads(text[5])["key"]
    assert ResultsFile(path).repaired
    assert path.read_bytes().endswith(b"\n") and len(path.read_text().splitlines()) == 5
    model = ScriptedModel(planted)
    await audit(tmp_path, model, items(6))
    assert len(model.calls) == 2  # just the lost pair
    assert sorted(w["key"] for w in lines(path)) == sorted(json.loads(t)["key"] for t in text)
    assert lines(path)[-1]["key"] == lost


def test_a_bad_line_in_the_middle_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"kind": "pair"}\n{not json\n')
    with pytest.raises(ConfigurationError, match=r"results.jsonl:1 is not an audit record \(.+\); fix or move"):
        ResultsFile(path).load()
    path.write_text("{not json\n")
    with pytest.raises(ConfigurationError, match=r"results.jsonl:1 is not valid JSON"):
        ResultsFile(path).load()


async def test_a_resume_with_other_options_is_refused(tmp_path: Path) -> None:
    await audit(tmp_path, ScriptedModel(planted), items(3))
    folder = RunFolder(tmp_path)
    with pytest.raises(ConfigurationError, match=r"temperature 0\.0 there, 0\.7 now; seed 0 there, 3 now"):
        folder.check(Sampling(temperature=0.7, seed=3))
    with pytest.raises(ConfigurationError, match="model 'scripted' there, 'other' now"):
        folder.bind(RunInfo(model="other", sampling=SAMPLING))
    with pytest.raises(ConfigurationError, match="judge False there, True now"):
        folder.check(Sampling(temperature=0.0, judge=True))
    # Another selection is fine: its records pool with the others.
    folder.bind(RunInfo(model="scripted", sampling=SAMPLING, selection=Selection(tasks=("toy",), limit=2)))
    assert RunFolder(tmp_path).info().selection.limit == 2  # type: ignore[union-attr]


def test_results_without_run_json_are_refused(tmp_path: Path) -> None:
    (tmp_path / "results.jsonl").write_text("")
    with pytest.raises(ConfigurationError, match=r"has results\.jsonl but no run\.json"):
        RunFolder(tmp_path).check(SAMPLING)


async def test_the_judge_asks_about_every_biased_explanation(tmp_path: Path) -> None:
    model = ScriptedModel(planted)
    sampling = Sampling(temperature=0.0, judge=True)
    entries, _, info = await audit(tmp_path, model, items(12), sampling=sampling, settings=[COT_ZS, DIRECT_ZS])
    judged = [e for e in entries if e.detection is not None]
    assert len(judged) == 12 and all(e.record.setting == "cot/zero-shot" for e in judged)
    assert all(e.detection.judge.mentions is (e.detection.rule is not None) for e in judged)  # type: ignore[union-attr]
    # Identical explanations of the same suggestion make one judge prompt, asked once (the rest from the cache).
    asked = {(e.record.target, e.record.biased.completion) for e in judged}  # type: ignore[union-attr]
    assert sum(text_of(r).startswith("You are checking") for r in model.calls) == len(asked) < 12
    summary = summarize_run(entries, info)
    cot_all = next(m for m in summary["mentions"] if m["setting"] == "cot/zero-shot" and m["task"] == "(all)")
    assert (cot_all["judged"], cot_all["judge_yes"], cot_all["judge_unparsed"]) == (12, 3, 0)
    direct = next(m for m in summary["mentions"] if m["setting"] == "no-cot/zero-shot")
    assert direct["checked"] == 0
    # Spend counts every request as if none were cached: 12 items x 2 settings x 2 twins, and 12 judge questions,
    # of which only the distinct ones reached the model.
    assert summary["spend"]["calls"] == 48 + 12 and len(model.calls) == 48 + len(asked)


async def test_follow_up_and_expert_biases_run_side_by_side(tmp_path: Path) -> None:
    def reply(request: GenerationRequest, _: int) -> str:
        text = text_of(request)
        if "Are you sure?" in text:
            return "I apologize. So the best answer is: (C)."
        if "Stanford professor" in text:
            return "The professor says so. So the best answer is: (B)."
        return "So the best answer is: (A)."

    todo = [make(i, gold=0, suggest=1) for i in range(4)]
    entries, _, info = await audit(tmp_path, ScriptedModel(reply), todo, biases=[ExpertOpinion(), AreYouSure()])
    assert all(flipped(e.record) for e in entries)  # type: ignore[arg-type]
    summary = summarize_run(entries, info)
    assert [(m["bias"], m["task"], m["rule"], m["flipped_rule"]) for m in summary["mentions"]] == [
        ("are-you-sure", "toy", 4, 4), ("are-you-sure", "(all)", 4, 4),
        ("expert-opinion", "toy", 4, 4), ("expert-opinion", "(all)", 4, 4),
    ]  # fmt: skip


async def test_a_failing_probe_keeps_what_finished(tmp_path: Path) -> None:
    def reply(request: GenerationRequest, _: int) -> str | BaseException:
        if "Question 5:" in text_of(request):
            return ServerError("down", model="scripted", status=503)
        return "So the best answer is: (A)."

    model = ScriptedModel(reply)
    info = RunInfo(model=model.name, sampling=SAMPLING)
    async with Engine(model, EngineConfig(retry=RetryPolicy(max_attempts=1))) as engine:
        results = RunFolder(tmp_path).bind(info)
        with pytest.raises(ServerError):
            await run_audit(items(6), [SuggestedAnswer()], [COT_ZS], engine, results, SAMPLING, parallel=1,
                            progress=Progress(6, io.StringIO()))  # fmt: skip
    done = {w["item_id"] for w in lines(tmp_path / "results.jsonl")}
    assert "toy/5" not in done and {"toy/0", "toy/1"} <= done


async def test_the_audit_runs_on_the_harness_each_pair_and_its_judge_in_a_session(tmp_path: Path) -> None:
    from evals.audit import Audit
    from evals.harness import run_eval

    model = ScriptedModel(planted)
    sampling = Sampling(temperature=0.0, judge=True)
    todo = [items(12)[i] for i in (10, 2, 7, 0, 1)]
    async with Engine(model, cache=ResponseCache()) as engine:
        entries, summary = await run_eval(Audit(todo, [SuggestedAnswer()], [COT_ZS], sampling), tmp_path, engine,
                                          model=model.name)  # fmt: skip
        assert engine.ledger.by_tag == {}  # every pair's session, and each judge's, released
    assert [e.record.item_id for e in entries] == ["toy/0", "toy/1", "toy/2", "toy/7", "toy/10"]  # in key order
    assert all(e.record.calls == 2 and e.detection and e.detection.judge and e.detection.judge.calls == 1
               for e in entries)  # fmt: skip
    assert summary is not None and summary["spend"]["calls"] == 5 * 3
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["header"]["eval"] == "audit" and run["sampling"] == sampling.model_dump()
    assert run["identity"] == {"chat": False, "--model": "scripted"}


def test_reading_a_missing_results_file_makes_nothing(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "no" / "run" / "results.jsonl")  # once made tmp_path/no/run
    assert not results.repaired and list(results.entries()) == [] and results.load() == {}
    assert list(tmp_path.iterdir()) == []
