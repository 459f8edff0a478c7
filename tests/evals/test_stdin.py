"""JSON lines on stdin: one line out for every line in, in order, a bad line answered by its error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evals.stdin import answer_lines
from reasoning.errors import ConfigurationError


def answer(item: dict[str, Any]) -> dict[str, Any]:
    if item["n"] < 0:
        raise ConfigurationError('"n" must be 0 or more')
    return {"double": 2 * item["n"]}


@pytest.mark.parametrize(
    ("text", "out"),
    [
        (b"", []),
        (b'{"n": 1}', [{"double": 2}]),
        (b'{"n": 1}\n', [{"double": 2}]),  # a final newline is not a line
        (b'{"n": 1}\n\n', [{"double": 2}, {"error": "stdin line 2: empty line"}]),
        (b'\n{"n": 1}\r\n \n{"n": -1}\n{"m": 1}\n{"n": 2}',
         [{"error": "stdin line 1: empty line"}, {"double": 2}, {"error": "stdin line 3: empty line"},
          {"error": 'stdin line 4: "n" must be 0 or more'}, {"error": "stdin line 5: no 'n'; expected {\"n\": N}"},
          {"double": 4}]),
    ],
)  # fmt: skip
def test_every_line_in_gets_one_line_out(capsys, text, out) -> None:
    code = answer_lines(answer, '{"n": N}', ("n",), text.splitlines(keepends=True))
    captured = capsys.readouterr()
    assert [json.loads(line) for line in captured.out.splitlines()] == out
    errors = [v["error"] for v in out if "error" in v]
    assert captured.err.splitlines() == [f"reasoning: error: {e}" for e in errors]
    assert code == (1 if errors else 0)
