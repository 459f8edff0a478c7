"""`reasoning audit run --biases hints`: the six hints of Chen et al. (2025) by one name or each by its own, the
few-shot-only visual pattern refused alone and left out (with a note) of a zero-shot run of them all, BBQ items
hinted; and `reasoning audit verdict`, a human verdict on a flipped hinted pair, then the outputs rebuilt."""

import json
import re
from pathlib import Path

import pytest

import reasoning.cli
from evals.audit import HINT_NAMES
from evals.audit.records import ProbeRecord, flipped
from evals.audit.runner import ResultsFile
from reasoning import GenerationRequest, ScriptedModel

from .conftest import cli, lend_model, write_hint_items
from .test_runner import text_of

NAMES = ("sycophancy", "consistency", "visual-pattern", "metadata", "grader-hacking", "unethical-information")
# Where each hint names its letter (the visual pattern's mark follows the hinted choice's line).
HINTED = re.compile(r"indicates the answer is \(([A-Z])\)|The answer is \(([A-Z])\)\.|<answer>([A-Z])</answer>|"
                    r'return answer == "([A-Z])"|The correct answer is \(([A-Z])\)|\(([A-Z])\) [^\n]* ■\n'
                    r"(?![\s\S]*■)")  # fmt: skip


def follows_hints(request: GenerationRequest, _: int) -> str:
    """Unbiased: the gold answer of "Question i" (i % 3), or (A). Hinted: items with i % 4 == 0 follow the hint and
    say so ("the hint"), i % 4 == 1 follow it silently, the rest keep the gold answer."""
    text = text_of(request)
    found = re.search(r"Question (\d+):", text)
    i = int(found.group(1)) if found else 0
    gold = "ABC"[i % 3] if found else "A"
    hint = HINTED.search(text)
    letter = next((g for g in hint.groups() if g), None) if hint else None
    if letter is None or i % 4 > 1:
        return f"Plainly. So the best answer is: ({gold})."
    said = "Going by the hint, " if i % 4 == 0 else "Weighing it up, "
    return f"{said}it is {letter}. So the best answer is: ({letter})."


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    scripted = ScriptedModel(follows_hints)

    lend_model(monkeypatch, scripted)
    return scripted


@pytest.fixture
def items_file(tmp_path: Path) -> Path:
    return write_hint_items(tmp_path)


def keys(out: Path) -> set[str]:
    return set(ResultsFile(out / "results.jsonl").load())


def test_the_six_hint_names_are_the_hints_module_s() -> None:
    assert HINT_NAMES == NAMES


def test_hints_expands_to_the_six_and_a_zero_shot_run_leaves_out_the_visual_pattern(
    model, items_file, tmp_path, capsys
) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = cli(capsys, "run", "--items", str(items_file), "--biases", "hints", "--out", str(out))
    assert code == 0, stderr
    assert "note: visual-pattern needs few-shot prompts, so this run does not ask it (add --shots few or both to " \
           "ask it)" in stderr  # fmt: skip
    asked = [n for n in NAMES if n != "visual-pattern"]
    assert json.loads((out / "run.json").read_text())["selection"]["biases"] == asked
    assert keys(out) == {f"mine/{i}|{name}|cot/zero-shot" for i in range(8) for name in asked}
    for name in asked:
        assert name in stdout
    # Items 1 and 5 follow every hint silently, 0 and 4 say so: each hint's pairs flip on those four.
    entries = ResultsFile(out / "results.jsonl").load().values()
    moved = {(e.record.bias, e.record.item_id) for e in entries if isinstance(e.record, ProbeRecord)
             and flipped(e.record)}  # fmt: skip
    assert moved == {(name, f"mine/{i}") for name in asked for i in (0, 1, 4, 5)}


@pytest.mark.parametrize("name", [n for n in NAMES if n != "visual-pattern"])
def test_each_hint_runs_alone(model, items_file, tmp_path, capsys, name) -> None:
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--biases", name, "--limit", "2", "--out",
                          str(out))  # fmt: skip
    assert code == 0, stderr
    assert keys(out) == {f"mine/{i}|{name}|cot/zero-shot" for i in range(2)} and "note:" not in stderr


def test_visual_pattern_alone_needs_few_shot(model, items_file, tmp_path, capsys) -> None:
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--biases", "visual-pattern", "--out",
                          str(tmp_path / "run"))  # fmt: skip
    assert code == 2 and stderr.strip() == ("reasoning: error: visual-pattern needs few-shot prompts: add --shots few "
                                            "(or both)")  # fmt: skip
    # Named beside other hints, alone all the same: refused.
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--biases", "metadata,visual-pattern", "--out",
                          str(tmp_path / "run"))  # fmt: skip
    assert code == 2 and "visual-pattern needs few-shot prompts" in stderr
    assert model.calls == []


def test_unknown_bias_lists_the_hints_and_the_group(model, items_file, tmp_path, capsys) -> None:
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--biases", "hint", "--out", str(tmp_path))
    assert code == 2 and "unknown bias 'hint'" in stderr and all(n in stderr for n in (*NAMES, "hints"))


def test_the_help_lists_the_hints(capsys) -> None:
    with pytest.raises(SystemExit):
        reasoning.cli.main(["audit", "run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "or hints for the six of Chen et al. (2025) (" + ", ".join(NAMES) + ")" in text
    assert "through hints, visual-pattern is then not asked" in text


def test_hints_on_bbh_and_bbq_items_few_shot_too(model, turpin_dir, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--data", str(turpin_dir), "--tasks", "snarks,bbq", "--biases", "hints",
                          "--shots", "both", "--limit", "1", "--out", str(out))  # fmt: skip
    assert code == 0, stderr
    assert "note:" not in stderr
    found = keys(out)
    bbq = {k for k in found if k.startswith("bbq/")}
    # BBQ's own paired-evidence probe, and each hint as a pair of its own (visual pattern few-shot only).
    assert {k.split("|")[1] for k in bbq} == {"weak-evidence", *NAMES}
    assert {k.split("|")[2] for k in bbq if "|visual-pattern|" in k} == {"cot/few-shot"}
    assert sum("|visual-pattern|" in k for k in found) == 2  # snarks and bbq, few-shot
    assert len([k for k in found if k.startswith("bbh/snarks/")]) == 5 * 2 + 1  # zero- and few-shot


def test_bbq_with_hints_zero_shot(model, turpin_dir, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--data", str(turpin_dir), "--tasks", "bbq", "--biases", "hints", "--limit",
                          "2", "--out", str(out))  # fmt: skip
    assert code == 0, stderr
    assert {k.split("|")[1] for k in keys(out)} == {"weak-evidence", *(n for n in NAMES if n != "visual-pattern")}
    # A hinted BBQ pair's question, as results.jsonl and the report show it, starts with the ambiguous context.
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    hinted = [r for r in lines if r.get("bias") == "metadata"]
    data = json.loads((turpin_dir / "bbq" / "data.json").read_text())
    context = {f"bbq/{row['category']}/{row['example_id']}": row["context"] for row in data}
    assert len(hinted) == 2
    assert all(r["question"].startswith(context[r["item_id"]] + "\n\n") and "Answer choices:" in r["question"]
               for r in hinted)  # fmt: skip


def test_the_local_judge_asks_of_flipped_hinted_pairs_about_the_hint(model, items_file, tmp_path, capsys,
                                                                     monkeypatch) -> None:  # fmt: skip
    import evals.audit.judges

    asked: list[str] = []

    def judge(request: GenerationRequest, _: int) -> str:
        text = text_of(request)
        asked.append(text)
        return "Yes" if "Going by the hint" in text else "No"

    monkeypatch.setattr(evals.audit.judges, "embedded_model", lambda: ScriptedModel(judge))
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--biases", "metadata", "--local-judge", "--out",
                          str(out))  # fmt: skip
    assert code == 0, stderr
    entries = ResultsFile(out / "results.jsonl").load().values()
    said = {e.record.item_id: e.detection.judges["local"].mentions for e in entries
            if e.detection is not None and e.detection.judges}  # fmt: skip
    assert said == {"mine/0": True, "mine/1": False, "mine/4": True, "mine/5": False}
    # The judge is shown the hint as the prompt had it.
    assert len(asked) == 4 and all("<question-metadata>" in text for text in asked)


def test_a_human_verdict_round_trip(model, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert cli(capsys, "run", "--items", str(items_file), "--biases", "metadata", "--out", str(out))[0] == 0
    report = (out / "report.html").read_text()
    assert json.loads((out / "summary.json").read_text())["hints"]["verdicts"]["recorded"] == 0
    key = "mine/1|metadata|cot/zero-shot"  # switched to the hint silently
    code, stdout, stderr = cli(capsys, "verdict", str(out), key, "no", "--note", "says nothing of it")
    assert code == 0, stderr
    assert f"recorded: {key} does not verbalize the hint" in stderr and f"report: {out / 'report.html'}" in stderr
    assert "human verdicts: 1 scored of 1" in stdout  # the summary table, as `audit report` prints it
    lines = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [(v["key"], v["verbalized"], v["note"]) for v in lines] == [(key, False, "says nothing of it")]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hints"]["verdicts"]["recorded"] == summary["hints"]["verdicts"]["used"] == 1
    rebuilt = (out / "report.html").read_text()
    assert "rule ~ human" in rebuilt and "rule ~ human" not in report  # the human beside the classifiers
    # Changed by recording another; `audit report` reads the same.
    assert cli(capsys, "verdict", str(out), key, "yes")[0] == 0
    assert len((out / "verdicts.jsonl").read_text().splitlines()) == 2
    before = (out / "summary.json").read_text()
    assert cli(capsys, "report", str(out))[0] == 0 and (out / "summary.json").read_text() == before


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("mine/2|metadata|cot/zero-shot", "did not switch to the hint's answer"),
        ("mine/99|metadata|cot/zero-shot", "is not a record of"),
    ],
)
def test_a_verdict_on_a_pair_that_takes_none_is_one_line(model, items_file, tmp_path, capsys, key, message) -> None:
    out = tmp_path / "run"
    assert cli(capsys, "run", "--items", str(items_file), "--biases", "metadata", "--out", str(out))[0] == 0
    before = (out / "summary.json").read_bytes()
    code, _, stderr = cli(capsys, "verdict", str(out), key, "yes")
    assert code == 2 and stderr.startswith("reasoning: error: ") and message in stderr
    assert len(stderr.strip().splitlines()) == 1 and not (out / "verdicts.jsonl").exists()
    assert (out / "summary.json").read_bytes() == before


def test_verdict_needs_yes_or_no_and_a_run_folder(model, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        reasoning.cli.main(["audit", "verdict", str(tmp_path), "k", "maybe"])
    assert info.value.code == 2 and "invalid choice: 'maybe'" in capsys.readouterr().err
    code, _, stderr = cli(capsys, "verdict", str(tmp_path / "none"), "k", "yes")
    assert code == 2 and stderr.strip() == f"reasoning: error: no such folder: {tmp_path / 'none'}"
