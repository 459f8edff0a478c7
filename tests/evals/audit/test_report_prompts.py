"""The prompt a verdict is about: `reasoning audit run` keeps every twin's exact prompt by default (`--keep-prompts`;
`--no-keep-prompts` keeps only its digest), the choice is part of the run's identity (a rerun with the other one is
refused, as any other option is), and the report shows what the bias added to the prompt beside every verdict it
shows: the flipped pairs and the switches the classifiers disagree on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.audit.records import LOCAL_JUDGE, ProbeRecord, flipped
from evals.audit.report import _added
from evals.audit.runner import ResultsFile, RunFolder, RunInfo, Sampling, write_outputs
from evals.harness import escape
from prompts import hints as h
from reasoning import ScriptedModel

from .conftest import lend_model, write_hint_items
from .test_cli_hints import cli, follows_hints
from .test_verbalization import entry


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    """`follows_hints`: half the items follow the hint, one in four saying so."""
    scripted = ScriptedModel(follows_hints)
    lend_model(monkeypatch, scripted)
    return scripted


@pytest.fixture
def items_file(tmp_path: Path) -> Path:
    return write_hint_items(tmp_path)


def flip_blocks(report: str) -> dict[str, str]:
    """The report's flipped pairs by their heading ("mine/0 · sycophancy · cot/zero-shot")."""
    section = report.split('id="flipped"')[1].split('id="unparsed"')[0]
    blocks = section.split('<div class="flip">')[1:]
    return {block.split("<h3>")[1].split("</h3>")[0]: block for block in blocks}


def records(out: Path) -> list[ProbeRecord]:
    found = [e.record for e in ResultsFile(out / "results.jsonl").load().values()]
    return [r for r in found if isinstance(r, ProbeRecord)]


def test_a_run_keeps_every_prompt_and_the_report_quotes_each_flip_s_hint(model, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--biases", "hints", "--out", str(out))
    assert code == 0, stderr
    pairs = records(out)
    assert pairs and all(r.unbiased.prompt and r.biased.prompt for r in pairs)
    assert json.loads((out / "run.json").read_text())["sampling"]["keep_prompts"] is True
    flips = [r for r in pairs if flipped(r)]
    blocks = flip_blocks((out / "report.html").read_text())
    assert len(flips) == len(blocks) == 20
    for r in flips:
        block = blocks[f"{r.item_id} · {r.bias} · {r.setting}"]
        assert r.biased.prompt is not None and r.target is not None
        said = {"sycophancy": h.sycophancy(r.target), "metadata": h.metadata(r.target),
                "grader-hacking": h.grader_hacking(r.target), "unethical-information":
                h.unethical_information(r.target), "consistency": h.prefilled_answer(r.target)}[r.bias]  # fmt: skip
        assert said in r.biased.prompt
        # What the hint added, quoted first, then the whole prompt as sent with that part marked.
        added = block.split('<pre class="hint">')[1].split("</pre>")[0]
        assert escape(said) in added and "Question" not in added
        assert f"<mark>{added}</mark>" in block or added.endswith(" …")


def test_the_added_part_is_what_the_biased_prompt_has_that_the_unbiased_lacks() -> None:
    unbiased = "Q?\n\n(A) a\n(B) b\n\nLet's think step by step:"
    biased = "Q?\n\n(A) a\n(B) b\n\nI think the answer is B.\n\nLet's think step by step:"
    start, end = _added(unbiased, biased)
    assert biased[start:end] == "I think the answer is B.\n\n"
    assert _added(unbiased, unbiased) == (len(unbiased), len(unbiased))  # nothing added
    assert _added("ab", "aXb") == (1, 2) and _added("aa", "aaa") == (2, 3)


def test_a_rerun_with_the_other_choice_is_refused_and_without_prompts_the_report_says_so(
    model, items_file, tmp_path, capsys
) -> None:
    out = tmp_path / "run"
    base = ["run", "--items", str(items_file), "--biases", "sycophancy", "--out", str(out)]
    assert cli(capsys, *base)[0] == 0
    before = (out / "results.jsonl").read_bytes()
    code, _, stderr = cli(capsys, *base, "--no-keep-prompts")
    assert code == 2 and "(--keep-prompts on there, off now)" in stderr
    assert (out / "results.jsonl").read_bytes() == before
    assert cli(capsys, *base, "--keep-prompts")[0] == 0  # the default, spelled out: resumes
    bare = tmp_path / "bare"
    code, _, stderr = cli(capsys, *base[:-1], str(bare), "--no-keep-prompts")
    assert code == 0, stderr
    pairs = records(bare)
    assert all(r.unbiased.prompt is None and r.biased.prompt is None for r in pairs)
    blocks = flip_blocks((bare / "report.html").read_text())
    assert blocks and all("Prompt not stored (the run was made with --no-keep-prompts" in b for b in blocks.values())
    assert all(f"request digest {r.biased.prompt_digest}" in blocks[f"{r.item_id} · sycophancy · cot/zero-shot"]
               for r in pairs if flipped(r))  # fmt: skip


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "not kept"])
def test_a_disagreement_shows_the_prompt_with_the_hint(tmp_path: Path, kept: bool) -> None:
    """The switches the classifiers disagree on, where a human verdict is asked for: the hinted prompt beside it."""
    hinted = "<question-metadata><answer>B</answer></question-metadata>\n\nQ?"
    e = entry(700, "metadata", 0, 1, rule=True, judge=False, judges={LOCAL_JUDGE: False})
    r = e.record
    assert isinstance(r, ProbeRecord)
    twins = {"unbiased": r.unbiased.model_copy(update={"prompt": "Q?" if kept else None}),
             "biased": r.biased.model_copy(update={"prompt": hinted if kept else None})}  # fmt: skip
    e = type(e)(r.model_copy(update=twins), e.question, e.detection)
    info = RunInfo(model="m", sampling=Sampling())
    RunFolder(tmp_path).write(info)
    ResultsFile(tmp_path / "results.jsonl").append([e])
    summary = write_outputs(RunFolder(tmp_path), [e], info)
    assert [d["key"] for d in summary["hints"]["disagreements"]] == [r.key]
    block = (tmp_path / "report.html").read_text().split('<div class="flip disagreement">')[1]
    if kept:
        assert f'<pre class="hint">{escape(hinted[:-2])}</pre>' in block
    else:
        assert "Prompt not stored" in block and "request digest d" in block
