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


def test_a_byte_order_mark_before_the_first_line_is_not_part_of_it(capsys) -> None:
    # Windows editors start UTF-8 files with one; a second one, mid-file, is still an error.
    code = answer_lines(answer, '{"n": N}', ("n",), [b'\xef\xbb\xbf{"n": 1}\n', b'\xef\xbb\xbf{"n": 2}\n'])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0] == {"double": 2} and "error" in out[1] and code == 1


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path) -> None:
    # `reasoning audit extract < big.jsonl | head -1`: the command stops quietly with a shell's SIGPIPE status.
    import subprocess
    import sys

    lines = tmp_path / "many.jsonl"
    lines.write_text((json.dumps({"output": "The best answer is: (B)", "choices": 3}) + "\n") * 100_000)
    with lines.open("rb") as stdin:
        proc = subprocess.Popen([sys.executable, "-m", "reasoning.cli", "audit", "extract"], stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader leaves
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=300)
    assert json.loads(first) == {"answer": 1, "letter": "B", "unparsed": None}
    assert (code, err) == (141, "")
