"""Counts in messages agree with their number: "1 call", "2 calls"."""

from __future__ import annotations

import io

import pytest

import reasoning.cli
from evals.progress import StatusLine
from reasoning._words import counted


def test_counted() -> None:
    assert [counted(n, "call") for n in (0, 1, 2)] == ["0 calls", "1 call", "2 calls"]
    assert counted(1, "BBQ pair") == "1 BBQ pair" and counted(3, "child", "children") == "3 children"


def test_the_status_line_says_1_call() -> None:
    stream = io.StringIO()
    line: StatusLine[object] = StatusLine(1, stream)
    line.calls = lambda: 1
    line.show()
    assert "| in flight 0 (1 call) |" in stream.getvalue()


def test_game24_says_what_it_paid_for_in_the_singular(
    monkeypatch, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reported case: "this process paid for 1 calls".
    from tests.evals.test_identity import Models

    monkeypatch.setattr(reasoning.cli, "make_engine", Models().engine)
    argv = ["game24", "run", "--method", "io", "--puzzle", "4 5 6 10", "--out", str(tmp_path / "run")]
    assert reasoning.cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "this process paid for 1 call (" in err and " 0 samples came from the cache" in err, err
