"""`evals.game24.runner.ResultsFile`: reading makes nothing; appending makes the file and its folders."""

from __future__ import annotations

import json
from pathlib import Path

from evals.game24.runner import ResultsFile


def test_reading_a_missing_results_file_makes_nothing(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "no" / "run" / "results.jsonl")  # once made tmp_path/no/run
    assert list(results.records("r")) == [] and results.load("r") == {} and results.done("r") == set()
    assert list(tmp_path.iterdir()) == []


def test_appending_makes_the_file_and_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "no" / "run" / "results.jsonl"
    ResultsFile(path).append({"idx": 3, "run": "r"})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"idx": 3, "run": "r"}]
