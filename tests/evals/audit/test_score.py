"""`reasoning audit extract`: the audit's reader on your own completions, as a user runs it (in process through
`reasoning.cli.main`, and once as a real process reading a pipe)."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import reasoning.cli
from evals.audit.score import verdict

ROOT = Path(__file__).resolve().parents[3]


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, stdin: bytes = b""):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = reasoning.cli.main(["audit", "extract", *args])
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


def test_one_output_as_arguments(capsys, monkeypatch) -> None:
    code, verdicts, _ = cli(capsys, monkeypatch, "The best answer is: (A) or (B)", "--choices", "3")
    assert code == 0 and verdicts == [{"answer": None, "letter": None, "unparsed": "names two choices: (A), (B)"}]
    code, verdicts, _ = cli(capsys, monkeypatch, "The best answer is: (B) Paris, because (A) is in Texas.",
                            "--choices", "3")  # fmt: skip
    assert code == 0 and verdicts == [{"answer": 1, "letter": "B", "unparsed": None}]
    code, verdicts, _ = cli(capsys, monkeypatch, "A) or (B)", "--choices", "3", "--no-cot")
    assert code == 0 and verdicts[0]["unparsed"] == "names two choices: (A), (B)"
    code, verdicts, _ = cli(capsys, monkeypatch, "C) Unknown", "--choices", "3", "--no-cot")
    assert code == 0 and verdicts == [{"answer": 2, "letter": "C", "unparsed": None}]


def test_json_lines_on_stdin_are_read_as_the_audit_reads_them(capsys, monkeypatch) -> None:
    rows = [
        {"output": "The best answer to the question 'Who was bad at math?' is: (A) or (B)", "choices": 3},
        {"output": "So the best answer is: (C).", "choices": 3, "id": "kept out of the verdict"},
        {"output": "B) Paris", "choices": 2, "cot": False},
        {"output": "The best answer is: (D)", "choices": 3},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in rows)
    code, verdicts, err = cli(capsys, monkeypatch, stdin=stdin.encode())
    assert code == 0 and err == ""
    assert verdicts == [verdict(r["output"], r["choices"], cot=r.get("cot", True)) for r in rows]
    assert [v["letter"] for v in verdicts] == [None, "C", "B", None]
    assert verdicts[3]["unparsed"] == "answer (D) is not one of the 3 choices"


def test_a_blank_line_gets_its_own_error_so_outputs_stay_aligned_with_inputs(capsys, monkeypatch) -> None:
    # The reported case: blank lines were skipped, so output line N no longer answered input line N.
    good = json.dumps({"output": "The best answer is: (B)", "choices": 3})
    code, verdicts, err = cli(capsys, monkeypatch, stdin=f"{good}\n\n{good}\n  \n".encode())
    assert code == 1 and len(verdicts) == 4
    assert verdicts[0] == verdicts[2] == {"answer": 1, "letter": "B", "unparsed": None}
    assert verdicts[1] == {"error": "stdin line 2: empty line"} and verdicts[3] == {"error": "stdin line 4: empty line"}
    assert err.splitlines() == [
        "reasoning: error: stdin line 2: empty line",
        "reasoning: error: stdin line 4: empty line",
    ]
    # A final newline ends the last line; it is not another (empty) one.
    code, verdicts, err = cli(capsys, monkeypatch, stdin=f"{good}\n{good}".encode())
    assert code == 0 and len(verdicts) == 2 and err == ""


BAD = [
    (b"not json", "stdin line 2: not JSON"),
    (b'{"output": "(A)"}', "stdin line 2: no 'choices'"),
    (b'{"choices": 3}', "stdin line 2: no 'output'"),
    (b"[1, 2]", "stdin line 2: not a JSON object"),
    (b'{"output": 7, "choices": 3}', 'stdin line 2: "output" must be a string; got int'),
    (b'{"output": "x", "choices": 0}', 'stdin line 2: "choices" must be a whole number from 1 to 26; got 0'),
    (b'{"output": "x", "choices": 27}', '"choices" must be a whole number from 1 to 26; got 27'),
    (b'{"output": "x", "choices": "3"}', '"choices" must be a whole number from 1 to 26; got "3"'),
    (b'{"output": "x", "choices": true}', '"choices" must be a whole number from 1 to 26; got true'),
    (b'{"output": "x", "choices": 2.5}', '"choices" must be a whole number from 1 to 26; got 2.5'),
    (b'{"output": "x", "choices": 3, "cot": "no"}', 'stdin line 2: "cot" must be true or false; got "no"'),
    (b'{"output": "caf\xe9", "choices": 3}', "stdin line 2: not UTF-8 text (byte 0xe9)"),
    (b"[" * 100_000, "stdin line 2: not JSON"),
]


@pytest.mark.parametrize(("line", "message"), BAD)
def test_a_bad_line_is_one_line_on_stderr_and_the_others_are_still_read(capsys, monkeypatch, line, message) -> None:
    good = json.dumps({"output": "The best answer is: (B)", "choices": 3}).encode()
    code, verdicts, err = cli(capsys, monkeypatch, stdin=good + b"\n" + line + b"\n" + good + b"\n")
    assert code == 1
    assert len(err.splitlines()) == 1 and message in err and err.startswith("reasoning: error: stdin line 2: ")
    assert verdicts[0] == verdicts[2] == {"answer": 1, "letter": "B", "unparsed": None}
    assert set(verdicts[1]) == {"error"} and message in verdicts[1]["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["(A)"], "give --choices with the output"),
        (["(A)", "--choices", "0"], "--choices must be a whole number from 1 to 26; got 0"),
        (["--choices", "3"], "--choices and --no-cot go with one output"),
        (["--no-cot"], "--choices and --no-cot go with one output"),
    ],
)
def test_bad_arguments_are_one_line(capsys, monkeypatch, args, message) -> None:
    code, verdicts, err = cli(capsys, monkeypatch, *args)
    assert code == 2 and verdicts == [] and len(err.splitlines()) == 1 and message in err


def test_as_a_process_reading_a_pipe() -> None:
    lines = json.dumps({"output": "A) or (B", "choices": 3, "cot": False}) + "\nnope\n"
    out = subprocess.run([sys.executable, "-m", "reasoning.cli", "audit", "extract"], input=lines, text=True,
                         capture_output=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert [json.loads(x) for x in out.stdout.splitlines()] == [
        {"answer": None, "letter": None, "unparsed": "names two choices: (A), (B)"},
        {"error": 'stdin line 2: not JSON; expected {"output": "...", "choices": K} (one JSON object a line, UTF-8)'},
    ]
