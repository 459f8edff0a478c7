"""`reasoning audit verdict` on what users really hand it: a folder that is no audit run (nothing may be left in
it), a file for a folder, and a verdicts.jsonl edited by hand (its last line without a newline, or a line that is
not a verdict): a verdict is never glued onto another line, nor added to a file no report can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import reasoning.cli
from evals.audit.verdicts import VERDICTS_FILE, read_verdicts, record_verdict
from reasoning.errors import ConfigurationError

from .test_verdicts import AT, run_folder


def test_a_folder_that_is_no_audit_run_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigurationError, match=r"is not an audit run folder \(no run.json\)"):
        record_verdict(tmp_path, "a|metadata|cot/zero-shot", True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no .lock, no verdicts.jsonl


def test_a_file_is_not_called_a_missing_folder(tmp_path: Path) -> None:
    file = tmp_path / "results.jsonl"
    file.write_text("")
    with pytest.raises(ConfigurationError) as caught:
        record_verdict(file, "a", True)
    assert str(caught.value) == f"{file} is not a folder; give the --out folder of an audit run"
    with pytest.raises(ConfigurationError, match=r"^no such folder: "):
        record_verdict(tmp_path / "absent", "a", True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]


def test_the_command_on_a_folder_that_is_no_run_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = reasoning.cli.main(["audit", "verdict", str(tmp_path), "a|metadata|cot/zero-shot", "yes"])
    err = capsys.readouterr().err
    assert code == 2 and err == f"reasoning: error: {tmp_path} is not an audit run folder (no run.json)\n"
    assert list(tmp_path.iterdir()) == []


def test_a_hand_written_last_line_without_its_newline_keeps_its_own_line(tmp_path: Path) -> None:
    entries, _ = run_folder(tmp_path)
    by_hand = {"key": entries[1].key, "verbalized": True, "note": "typed in an editor", "at": AT}
    (tmp_path / VERDICTS_FILE).write_text(json.dumps(by_hand))  # no final newline, as many editors save
    recorded = record_verdict(tmp_path, entries[0].key, False)
    found = read_verdicts(tmp_path)
    assert found[entries[0].key] == recorded and found[entries[1].key].note == "typed in an editor"
    assert (tmp_path / VERDICTS_FILE).read_text().count("\n") == 2


def test_a_verdict_is_not_added_to_a_file_that_no_report_can_read(tmp_path: Path) -> None:
    entries, _ = run_folder(tmp_path)
    broken = '{"key": "x", "verbalized": "yes", "at": "2025-06-01"}\n'
    (tmp_path / VERDICTS_FILE).write_text(broken)
    with pytest.raises(ConfigurationError, match=rf"{VERDICTS_FILE}:1 is not a verdict \(verbalized: "):
        record_verdict(tmp_path, entries[0].key, True)
    assert (tmp_path / VERDICTS_FILE).read_text() == broken


def test_a_run_into_a_folder_whose_verdicts_no_report_can_read_is_refused_before_it_asks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Else every pair is asked and paid for, and the run fails at its summary.
    out = tmp_path / "run"
    out.mkdir()
    (out / VERDICTS_FILE).write_text("{not json\n")
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"question": "Which?", "choices": ["a", "b"], "answer": 0}\n')
    code = reasoning.cli.main(["audit", "run", "--items", str(mine), "--biases", "metadata", "--base-url",
                               "http://127.0.0.1:9/v1", "--model", "m", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err == f"reasoning: error: {out / VERDICTS_FILE}:1 is not valid JSON; fix or delete the line\n"
    assert sorted(p.name for p in out.iterdir()) == [VERDICTS_FILE]
