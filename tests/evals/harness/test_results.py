"""`ResultsFile`: opening and reading a results file never creates anything; writing makes what it needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import reasoning.cli
from evals.harness import ResultsFile


def _file(path: Path) -> ResultsFile[dict[str, Any]]:
    return ResultsFile(path, read=lambda obj: obj, write=json.dumps, key=lambda r: str(r["key"]), what="a toy record")


def test_reading_a_file_in_a_missing_folder_makes_nothing(tmp_path: Path) -> None:
    # Opening one made its folder (and every folder above it), so a report on a mistyped path left one behind.
    path = tmp_path / "no" / "such" / "results.jsonl"
    results = _file(path)
    assert not results.repaired
    assert list(results.records()) == [] and results.load() == {} and results.done() == set()
    assert list(tmp_path.iterdir()) == []


def test_writing_makes_the_folders_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "run" / "results.jsonl"
    results = _file(path)
    results.append({"key": 1})
    results.append([{"key": 2}, {"key": 1}])
    assert path.read_text() == '{"key": 1}\n{"key": 2}\n{"key": 1}\n'
    assert list(_file(path).load()) == ["1", "2"]


@pytest.mark.parametrize(
    "argv",
    [
        ["game24", "compare", "{missing}"],
        ["game24", "compare", "{missing}", "{missing}2"],
        ["game24", "report", "{missing}"],
        ["audit", "report", "{missing}"],
        ["supericl", "report", "{missing}"],
        ["text", "report", "{missing}"],
        ["crosswords", "report", "{missing}"],
        ["export", "{missing}"],
        ["export", "{missing}", "--out", "{missing}/log.eval"],
    ],
)
def test_a_command_that_only_reads_leaves_no_folder_for_a_missing_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    missing = tmp_path / "no" / "run"
    assert reasoning.cli.main([arg.format(missing=missing) for arg in argv]) == 2
    assert capsys.readouterr().err == f"reasoning: error: no such folder: {missing}\n"
    assert list(tmp_path.iterdir()) == []
