"""`--tasks ""` or `--biases ","` (a script's empty variable) name nothing: refused in one line, not taken for the
defaults (every BBH task; suggested-answer), which the run would then ask and pay for."""

from __future__ import annotations

from pathlib import Path

import pytest

import reasoning.cli


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--tasks", "", "--tasks names no task; give all, bbq or task names, or leave the option out"),
        ("--tasks", " , ", "--tasks names no task; give all, bbq or task names, or leave the option out"),
        ("--biases", "", "--biases names no bias; give hints or bias names, or leave the option out"),
        ("--biases", ",", "--biases names no bias; give hints or bias names, or leave the option out"),
    ],
)
def test_an_option_that_names_nothing_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, says: str
) -> None:
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"question": "Which?", "choices": ["a", "b"], "answer": 0}\n')
    out = tmp_path / "run"
    code = reasoning.cli.main(["audit", "run", "--items", str(mine), option, value, "--base-url",
                               "http://127.0.0.1:9/v1", "--model", "m", "--out", str(out)])  # fmt: skip
    assert code == 2 and capsys.readouterr().err == f"reasoning: error: {says}\n"
    assert not out.exists()
