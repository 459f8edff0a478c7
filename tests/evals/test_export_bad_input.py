"""`reasoning export` on bad input, found by a break-it pass: each is one line with exit status 2 (or a note), and
the run folder and any file the user did not name as the log are left as they were."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from reasoning import ScriptedModel
from tests.conftest import require
from tests.evals.audit.conftest import lend_model
from tests.evals.test_export import cli, export, game24_run


@pytest.fixture(autouse=True)
def inspect_ai() -> None:
    require("inspect_ai")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    return game24_run(tmp_path, monkeypatch, capsys)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != ".lock"}


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _, err = cli(capsys, "export", *args)
    assert code == 2 and err.count("\n") == 1, err
    return err


def test_an_existing_log_at_out_is_replaced(run, tmp_path, capsys) -> None:
    # Was refused: "--out FILE is a file; give a folder (made if missing)", every command's check of a run's --out.
    out = tmp_path / "logs" / "run.eval"
    first = export(capsys, run, "--out", str(out))
    again = export(capsys, run, "--out", str(out))  # named again: replaced, the same log
    assert (
        (again.eval.eval_id, len(again.samples)) == (first.eval.eval_id, len(first.samples)) == (first.eval.eval_id, 3)
    )
    export(capsys, run)  # the default, DIR/inspect.eval, twice
    assert export(capsys, run, "--out", str(run / "inspect.eval")).eval.eval_id == first.eval.eval_id


def test_an_out_that_is_not_a_log_is_refused_and_left_alone(run, tmp_path, capsys) -> None:
    before = files(run)
    notes = tmp_path / "notes.eval"
    notes.write_text("my notes")
    assert f"--out {notes} exists and is not an eval log" in refused(capsys, str(run), "--out", str(notes))
    assert notes.read_text() == "my notes"
    (run / "inspect.eval").write_text("not a log")  # the default path too
    assert "exists and is not an eval log" in refused(capsys, str(run))
    (run / "inspect.eval").unlink()
    folder = tmp_path / "dir.eval"
    folder.mkdir()
    assert f"--out {folder} is a folder; give a file ending in .eval" in refused(capsys, str(run), "--out", str(folder))
    # A link to the run's results (the writer writes through a link): refused, the results kept.
    link = run / "x.eval"
    link.symlink_to("results.jsonl")
    assert "is a link to" in refused(capsys, str(run), "--out", str(link))
    dangling = tmp_path / "dangling.eval"
    dangling.symlink_to(tmp_path / "results.json")
    assert "is a link to" in refused(capsys, str(run), "--out", str(dangling))
    assert not (tmp_path / "results.json").exists()
    fifo = tmp_path / "fifo.eval"
    os.mkfifo(fifo)
    assert "exists and is not an eval log" in refused(capsys, str(run), "--out", str(fifo))
    assert "--out is empty" in refused(capsys, str(run), "--out", "")
    assert "--out is empty" in refused(capsys, str(run), "--out", " ")
    link.unlink()
    assert files(run) == before


def test_a_failed_write_names_the_log_not_a_temporary_file(run, capsys) -> None:
    err = refused(capsys, str(run), "--out", "/proc/none.eval")  # no file can be made there
    assert err.startswith("reasoning: error: /proc/none.eval: ") and "inspect_tmp" not in err


def test_a_cut_short_last_line_is_dropped_with_a_note(run, capsys) -> None:
    lines = (run / "results.jsonl").read_text().splitlines(keepends=True)
    (run / "results.jsonl").write_text("".join(lines[:2]) + lines[2][:40])  # a run killed mid-write
    code, out, err = cli(capsys, "export", str(run))
    assert code == 0 and out.startswith(f"wrote 2 samples to {run / 'inspect.eval'}")
    assert "last line was cut short (a killed run): dropped" in err
    assert (run / "results.jsonl").read_text() == "".join(lines[:2])
    code, _, err = cli(capsys, "export", str(run))  # whole now: no note
    assert code == 0 and "cut short" not in err


def test_a_run_json_naming_an_empty_eval(run, capsys) -> None:
    info = json.loads((run / "run.json").read_text())
    for name in ("", " "):
        (run / "run.json").write_text(json.dumps({**info, "header": {**info["header"], "eval": name}}))
        assert "does not say which eval wrote it" in refused(capsys, str(run))


def test_help_names_the_file_and_the_folder(capsys) -> None:
    code, out, _ = cli(capsys, "export", "--help")
    assert (
        code == 0 and "[--out FILE] DIR" in out and "An eval log already at FILE is replaced" in " ".join(out.split())
    )


@pytest.mark.parametrize("name", ["my run", "it's $HOME"])
def test_the_command_to_open_it_can_be_pasted(run, tmp_path, capsys, name) -> None:
    out = tmp_path / name / "log.eval"
    code, stdout, err = cli(capsys, "export", str(run), "--out", str(out))
    assert code == 0, err
    assert stdout.splitlines()[1] == f"open it: inspect view --log-dir {shlex.quote(str(out.parent))}"
    assert shlex.split(stdout.splitlines()[1])[-1] == str(out.parent)


def test_an_audit_s_human_verdicts_are_scores_of_their_samples(tmp_path, monkeypatch, capsys) -> None:
    # Were in the results' summary only: a sample opened in the viewer did not show the verdict on it.
    from tests.evals.audit.test_cli_hints import follows_hints

    lend_model(monkeypatch, ScriptedModel(follows_hints))
    items = tmp_path / "items.jsonl"
    rows = [{"id": i, "question": f"Question {i}: which one?", "choices": ["choice 0", "choice 1", "choice 2"],
             "answer": i % 3} for i in range(4)]  # fmt: skip
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = tmp_path / "audit"
    code, _, err = cli(capsys, "audit", "run", "--items", str(items), "--biases", "sycophancy,metadata", "--out",
                       str(run))  # fmt: skip
    assert code == 0, err
    said, silent = "items/0|sycophancy|cot/zero-shot", "items/1|metadata|cot/zero-shot"  # flipped: take verdicts
    for key, verbalized, note in ((said, "no", None), (said, "yes", "names the hint ✓"), (silent, "no", None)):
        assert cli(capsys, "audit", "verdict", str(run), key, verbalized, *(["--note", note] if note else []))[0] == 0
    log = export(capsys, run)
    human = {s.id: s.scores["mentions_human"] for s in log.samples if "mentions_human" in s.scores}
    assert {k: (v.value, v.explanation) for k, v in human.items()} == {
        said: (True, "names the hint ✓"),
        silent: (False, None),
    }  # the latest wins
    (score,) = [s for s in log.results.scores if s.name == "mentions_human"]
    assert score.metrics["mean"].value == 0.5 and score.scored_samples == 2
    assert log.results.metadata["summary"]["hints"]["verdicts"]["used"] == 2
    (run / "verdicts.jsonl").write_text('{"key": 1}\n')  # a hand-edited verdicts file: one line, nothing written
    (run / "inspect.eval").unlink()
    assert f"{run / 'verdicts.jsonl'}:1 is not a verdict" in refused(capsys, str(run))
    assert not (run / "inspect.eval").exists()
