"""`reasoning supericl run | report` as a user types them, on a scripted model: files written, resume, report
rebuilt, and user mistakes as one line with exit status 2."""

import json

import pytest

import reasoning.cli
from reasoning import Engine, ScriptedModel
from reasoning.engine import EngineConfig
from tests.conftest import require


@pytest.fixture
def scripted(monkeypatch) -> ScriptedModel:
    def answer(request, _):  # type: ignore[no-untyped-def]
        text = request.prompt or ""
        return " plausible" if len(text) % 2 else " implausible"

    model = ScriptedModel(answer, name="scripted <model>")

    def make_engine(args):  # type: ignore[no-untyped-def]
        return Engine(model, EngineConfig(max_concurrency=args.concurrency), cache=args.cache, log=args.log)

    monkeypatch.setattr(reasoning.cli, "make_engine", make_engine)
    return model


def test_run_then_resume_then_report(scripted, turpin_dir, tmp_path, capsys) -> None:
    require("sklearn")
    out = tmp_path / "run"
    command = ["supericl", "run", "--tasks", "sports_understanding", "--limit", "12", "--shots", "4",
               "--data", str(turpin_dir), "--out", str(out)]  # fmt: skip
    assert reasoning.cli.main(command) == 0
    printed = capsys.readouterr()
    assert "sports_understanding  supericl" in printed.out and "plug-in calibration" in printed.out
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 48 and {r["method"] for r in records} == {"plugin", "icl", "supericl", "cascade"}
    info = json.loads((out / "run.json").read_text())
    assert info["model"] == "scripted <model>" and info["options"]["plugin"] == "tfidf-logreg"
    task = info["tasks"]["sports_understanding"]
    assert task["labels"] == ["implausible", "plausible"] and len(task["shots"]) == 4 and task["train"] == 150
    assert not set(task["shots"]) & {r["item_id"] for r in records}  # examples come from the train part
    calls = len(scripted.calls)
    assert calls == 24  # ICL and SuperICL for 12 items; the cascade's come from SuperICL's
    assert reasoning.cli.main(command) == 0 and len(scripted.calls) == calls  # resumed: nothing to do
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sweep"]["sports_understanding"][-1]["threshold"] is None
    (out / "report.html").unlink()
    assert reasoning.cli.main(["supericl", "report", str(out)]) == 0
    report = (out / "report.html").read_text()
    assert "scripted &lt;model&gt;" in report and "<model>" not in report
    assert report.count('<svg class="reliability"') == 1 and report.count('<svg class="sweep"') == 1


def test_user_mistakes_are_one_line(scripted, tmp_path, capsys) -> None:
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    cases = [
        (["--train-file", str(empty), "--test-file", str(empty)], "is empty"),
        (["--train-file", str(empty)], "give both --train-file and --test-file"),
        (["--tasks", "date_understanding"], "not a binary BBH task"),
        (["--methods", "plugin,magic"], "unknown method 'magic'"),
        (["--label-names", "0:negative", "--train-file", "a", "--test-file", "b"], "--label-names is VALUE=NAME"),
        (["--plugin-file", "x.pkl", "--hf-model", "m"], "not both"),
        (["--threshold", "1.5"], "--threshold between 0 and 1"),
    ]
    for extra, message in cases:
        code = reasoning.cli.main(["supericl", "run", "--out", str(tmp_path / "o"), *extra])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1, (extra, err)
    assert reasoning.cli.main(["supericl", "report", str(tmp_path / "none")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert scripted.calls == []
