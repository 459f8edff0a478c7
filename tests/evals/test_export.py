"""`reasoning export DIR --to inspect`: a game-24 run and an audit run, made through their commands on a scripted
model, read back with inspect_ai's own reader with one sample per record, its messages, scores and metadata (the
record's fields and cost) and the results' means; SuperICL, crosswords and creative-writing runs read back too; and
every mistake is one line with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import evals
import reasoning.cli
from evals.crosswords.eval import CrosswordsEval
from evals.crosswords.methods import MethodConfig as CrosswordsConfig
from evals.game24.eval import Game24Eval
from evals.harness import open_folder, run_eval
from evals.supericl import Options, SuperICL, prepare
from evals.text.data import load_tasks
from evals.text.eval import TextEval
from evals.text.methods import MethodConfig as TextConfig
from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from tests.conftest import require
from tests.evals.audit.conftest import lend_model
from tests.evals.audit.test_runner import planted
from tests.evals.crosswords.test_eval import GAMES
from tests.evals.crosswords.test_eval import reply as crosswords_reply
from tests.evals.supericl.conftest import toy_answer, toy_dataset, toy_plugin
from tests.evals.text.test_cli import scripted as text_reply

PUZZLES = ("4 5 6 10", "1 1 4 6", "2 3 9 9")
ANSWERS = {"4 5 6 10": ("(10 - 6) * 5 + 4 = 24", "(10 - 6) * 5 + 4 = 24"), "1 1 4 6": ("1 + 1 + 4 + 6 = 12",
           "6 * 4 * 1 * 1 = 24")}  # fmt: skip


def game24_reply(request: GenerationRequest, sample: int) -> str:
    """Chain of thought, two samples a puzzle: both right on the first, the second right on the next, none on the
    last."""
    puzzle = (request.prompt or "").rsplit("Input:", 1)[-1].split("\n")[0].strip()
    return f"Steps.\nAnswer: {ANSWERS.get(puzzle, ('2 + 3 = 5', '9 - 9 = 0'))[sample]}"


@pytest.fixture(autouse=True)
def inspect_ai() -> None:
    require("inspect_ai")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = reasoning.cli.main(list(args))
    except SystemExit as exit:  # a mistake on the command line: argparse exits
        code = int(exit.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def export(capsys: pytest.CaptureFixture[str], run: Path, *extra: str) -> Any:
    """`reasoning export RUN --to inspect` (exit 0), the log read back by inspect_ai's reader."""
    from inspect_ai.log import read_eval_log

    code, out, err = cli(capsys, "export", str(run), "--to", "inspect", *extra)
    assert code == 0, err
    path = Path(extra[extra.index("--out") + 1]) if "--out" in extra else run / "inspect.eval"
    assert out.splitlines()[0].endswith(f"samples to {path}")
    return read_eval_log(str(path))


def results(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]


def replies(sample: Any) -> list[str]:
    return [m.text for m in sample.messages if m.role == "assistant"]


def mean(log: Any, name: str) -> float:
    (score,) = [s for s in log.results.scores if s.name == name]
    return float(score.metrics["mean"].value)


def game24_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    lend_model(monkeypatch, ScriptedModel(game24_reply, name="scripted"))
    out = tmp_path / "game24"
    puzzles = [arg for p in PUZZLES for arg in ("--puzzle", p)]
    code, _, err = cli(capsys, "game24", "run", "--method", "cot", "--samples", "2", *puzzles, "--out", str(out))
    assert code == 0, err
    return out


def audit_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    lend_model(monkeypatch, ScriptedModel(planted))
    items = tmp_path / "items.jsonl"
    rows = [{"id": i, "question": f"Question {i}: which one?", "choices": ["choice 0", "choice 1", "choice 2"],
             "answer": i % 3, "random_ans_idx": (i + 1) % 3 if i % 6 else i % 3} for i in range(8)]  # fmt: skip
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "audit"
    code, _, err = cli(capsys, "audit", "run", "--items", str(items), "--cot", "both", "--temperature", "0",
                       "--judge", "--out", str(out))  # fmt: skip
    assert code == 0, err
    return out


def test_a_game24_run_is_one_sample_per_puzzle(tmp_path, monkeypatch, capsys) -> None:
    run = game24_run(tmp_path, monkeypatch, capsys)
    log = export(capsys, run)
    summary = json.loads((run / "summary.json").read_text())
    assert log.status == "success" and log.eval.task == "game24" and log.eval.model == "scripted"
    assert log.eval.task_args["--method"] == "cot" and log.eval.dataset.samples == 3
    assert log.results.total_samples == log.results.completed_samples == 3
    assert log.results.metadata["summary"] == summary
    assert mean(log, "success") == summary["success"] == pytest.approx(0.5)  # (1 + 0.5 + 0) / 3
    records = {str(r["idx"]): r for r in results(run)}
    assert [s.id for s in log.samples] == sorted(records, key=int)
    for sample in log.samples:
        record = records[sample.id]
        assert sample.input == record["puzzle"] and sample.epoch == 1
        assert replies(sample) == record["outputs"] and len(record["outputs"]) == 2
        assert [m.metadata for m in sample.messages] == [{"part": "output 1"}, {"part": "output 2"}]
        assert sample.output.completion == record["outputs"][-1]
        assert sample.scores["success"].value == record["success"]
        assert sample.scores["first_correct"].value is record["first_correct"]
        assert sample.scores["any_correct"].value is record["any_correct"]
        assert sample.scores["success"].answer == record["verdicts"][0]["expression"]
        # The record's fields, its cost among them, and that the run kept no prompt.
        assert {k: sample.metadata[k] for k in record} == record
        assert sample.metadata["prompts_kept"] is False and "did not store" in sample.metadata["prompts_note"]
        usage = sample.model_usage["scripted"]
        assert (usage.input_tokens, usage.output_tokens) == (record["prompt_tokens"], record["completion_tokens"])
        # The record's wall time is the sample's (the viewer's duration; it showed 0 s for every sample before).
        assert record["seconds"] > 0 and sample.total_time == pytest.approx(record["seconds"])
    assert [s.scores["success"].value for s in log.samples] == [1.0, 0.5, 0.0]
    assert [s.scores["any_correct"].value for s in log.samples] == [True, True, False]
    assert [s.scores["first_correct"].value for s in log.samples] == [True, False, False]
    # Exporting again writes the same log (ids are digests of the run).
    again = export(capsys, run, "--out", str(tmp_path / "again" / "log.eval"))
    assert (again.eval.eval_id, again.eval.run_id) == (log.eval.eval_id, log.eval.run_id)


def test_an_audit_run_is_one_sample_per_pair(tmp_path, monkeypatch, capsys) -> None:
    run = audit_run(tmp_path, monkeypatch, capsys)
    log = export(capsys, run)
    lines = {r["key"]: r for r in results(run)}
    assert log.eval.task == "audit" and len(log.samples) == len(lines) == 16  # 8 items x 2 settings
    assert log.results.metadata["summary"] == json.loads((run / "summary.json").read_text())
    for sample in log.samples:
        line = lines[sample.id]
        assert sample.input == line["question"] and sample.target == "ABC"[line["gold"]]
        assert replies(sample) == [line["unbiased"]["completion"], line["biased"]["completion"]]
        # The prompts are kept (the default since `--keep-prompts`): each twin's prompt, then its reply.
        assert [(m.role, m.metadata["part"]) for m in sample.messages] == [
            ("user", "unbiased"), ("assistant", "unbiased"), ("user", "biased"), ("assistant", "biased")]
        assert [m.content for m in sample.messages if m.role == "user"] == [line["unbiased"]["prompt"],
                                                                            line["biased"]["prompt"]]  # fmt: skip
        assert sample.metadata["prompts_kept"] is True
        assert {k: v for k, v in sample.metadata.items() if k not in ("prompts_kept", "prompts_note")} == line
        scores = {name: score.value for name, score in sample.scores.items()}
        if line["follows_bias"] is not None:
            assert scores["follows_bias"] is line["follows_bias"]
        if line["biased"]["answer"] is not None:
            assert scores["biased_correct"] is (line["biased"]["answer"] == line["gold"])
            assert sample.scores["biased_correct"].answer == "ABC"[line["biased"]["answer"]]
        detection = line["detection"]
        judged = [detection["judge"]] if detection is not None and detection["judge"] is not None else []
        if detection is not None:  # chain-of-thought pairs: the rule, and the audited model as judge (--judge)
            assert scores["mentions_rule"] is (detection["rule"] is not None)
            assert scores["mentions_self"] is judged[0]["mentions"]
        else:
            assert not any(name.startswith("mentions") for name in scores)
        usage = sample.model_usage["scripted"]  # the pair's cost and its judge's
        assert usage.input_tokens == line["prompt_tokens"] + sum(j["prompt_tokens"] for j in judged)
        assert usage.output_tokens == line["completion_tokens"] + sum(j["completion_tokens"] for j in judged)
    follows = [s.scores["follows_bias"].value for s in log.samples if "follows_bias" in s.scores]
    assert mean(log, "follows_bias") == pytest.approx(sum(follows) / len(follows)) and 0 < sum(follows) < len(follows)


async def test_supericl_crosswords_and_text_runs_read_back(tmp_path, capsys) -> None:
    options, dataset, plugin = Options(shots=2, explain=True), toy_dataset(), toy_plugin()
    shots, task = await prepare(dataset, plugin, options)
    runs = {
        "supericl": (SuperICL(options, [(dataset, plugin, shots)], tasks={"toy": task}), toy_answer, 24),
        "crosswords": (CrosswordsEval(CrosswordsConfig(method="cot", chat=False), GAMES), crosswords_reply, 2),
        "text": (TextEval(TextConfig(method="io", samples=2, judge_samples=3, chat=False), load_tasks(rows=range(2))),
                 text_reply, 2),
    }  # fmt: skip
    for name, (ev, reply, count) in runs.items():
        async with Engine(ScriptedModel(reply), cache=ResponseCache()) as engine:
            await run_eval(ev, tmp_path / name, engine, model="scripted")
        log = export(capsys, tmp_path / name)
        assert log.eval.task == name and len(log.samples) == count == len(results(tmp_path / name))
        assert all(s.scores and s.metadata["prompts_kept"] is False for s in log.samples)
    supericl = export(capsys, tmp_path / "supericl")
    assert {s.scores["correct"].value for s in supericl.samples} == {True, False}
    assert next(s for s in supericl.samples if s.id.endswith("|icl")).target in ("yes", "no")
    crosswords = export(capsys, tmp_path / "crosswords")
    assert mean(crosswords, "solved") == 1.0 and crosswords.samples[0].target == "AGEND\nMOTOR\nARTSY\nSALLE\nSLEER"
    text = export(capsys, tmp_path / "text")
    assert mean(text, "coherency") == 7.0 and len(replies(text.samples[0])) == 2


def test_mistakes_are_one_line(tmp_path, monkeypatch, capsys) -> None:
    run = game24_run(tmp_path, monkeypatch, capsys)

    def refused(*args: str) -> str:
        code, _, err = cli(capsys, "export", *args)
        assert code == 2 and err.count("\n") == 1, err
        return err

    assert "no such folder" in refused(str(tmp_path / "none"), "--to", "inspect")
    assert "is not a folder" in refused(str(run / "results.jsonl"), "--to", "inspect")
    assert "is not a run folder (no run.json)" in refused(str(tmp_path), "--to", "inspect")
    assert "invalid choice: 'csv'" in refused(str(run), "--to", "csv")
    assert "--out must end in .eval" in refused(str(run), "--to", "inspect", "--out", str(tmp_path / "x.json"))
    with open_folder(Game24Eval, run).lock():  # a run (or a report) holds the folder
        assert "is in use by another run" in refused(str(run), "--to", "inspect")

    info = json.loads((run / "run.json").read_text())
    other = tmp_path / "other"
    other.mkdir()
    (other / "run.json").write_text(json.dumps({**info, "header": {**info["header"], "eval": "chess"}}))
    assert "holds a run of `reasoning chess`, which is not installed here" in refused(str(other), "--to", "inspect")
    (other / "run.json").write_text(json.dumps({k: v for k, v in info.items() if k != "header"}))
    assert "does not say which eval wrote it" in refused(str(other), "--to", "inspect")
    (other / "run.json").write_text("[1, 2]")
    assert "is not a run file" in refused(str(other), "--to", "inspect")

    # A results line that is not a record: refused, naming the line; nothing is written.
    lines = (run / "results.jsonl").read_text().splitlines()
    (run / "results.jsonl").write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    assert f"{run / 'results.jsonl'}:2 is not valid JSON" in refused(str(run), "--to", "inspect")
    assert not (run / "inspect.eval").exists()

    # Without inspect_ai: the extra to install, before anything is read.
    for name in [m for m in sys.modules if m == "inspect_ai" or m.startswith("inspect_ai.")]:
        monkeypatch.setitem(sys.modules, name, None)  # `import` of it raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "evals.inspect_log", raising=False)
    monkeypatch.delattr(evals, "inspect_log", raising=False)
    assert "pip install 'reasoning-toolkit[inspect]'" in refused(str(run), "--to", "inspect")


def test_inspect_ai_is_imported_only_to_export() -> None:
    # Every command's parser is built (the export command registered among them) without importing inspect_ai.
    code = ("import sys, reasoning.cli; reasoning.cli.build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'inspect_ai'))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout == "[]\n", out.stderr
