"""User mistakes on the command line: unknown subcommands and options, bad option values, and malformed, missing or
odd game-of-24 data. Each exits non-zero with one clear line on stderr and never a traceback; no model is loaded
(the data errors come first, and --base-url points at a closed port)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reasoning.cli import main
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
CLOSED = ["--base-url", "http://127.0.0.1:9/v1", "--model", "m"]


def run(capsys, *argv: str) -> tuple[int, str]:
    """The exit status (argparse's SystemExit too) and everything printed."""
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    return int(code or 0), captured.out + captured.err


def assert_one_line(code: int, output: str, message: str) -> None:
    assert code == 2, output
    assert "Traceback" not in output
    assert output.strip().count("\n") == 0, output
    assert output.startswith("reasoning: error: "), output
    assert message in output, output


# -- argparse: unknown subcommands and options, values of the wrong type ---------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: command"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["game24", "frobnicate"], "invalid choice: 'frobnicate'"),
        (["audit", "frobnicate"], "invalid choice: 'frobnicate'"),
        (["supericl", "frobnicate"], "invalid choice: 'frobnicate'"),
        (["generate"], "the following arguments are required: prompt"),
        (["generate", "hi", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["game24", "run", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["audit", "run", "--frobnicate", "1"], "unrecognized arguments: --frobnicate 1"),
        (["supericl", "run", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["generate", "hi", "--backend", "gpt5"], "argument --backend: invalid choice: 'gpt5'"),
        (["game24", "run", "--backend", "gpt5"], "argument --backend: invalid choice: 'gpt5'"),
        (["audit", "run", "--backend", "replay"], "argument --backend: invalid choice: 'replay'"),
        (["supericl", "run", "--backend", ""], "argument --backend: invalid choice: ''"),
        (["generate", "hi", "--concurrency", "many"], "argument --concurrency: invalid int value: 'many'"),
        (["game24", "run", "--method", "magic"], "argument --method: invalid choice: 'magic'"),
        (["game24", "run", "--temperature", "hot"], "argument --temperature: invalid float value: 'hot'"),
        (["audit", "run", "--cot", "maybe"], "argument --cot: invalid choice: 'maybe'"),
        (["supericl", "run", "--shots", "1.5"], "argument --shots: invalid int value: '1.5'"),
    ],
)
def test_usage_errors(capsys, argv, message):
    code, output = run(capsys, *argv)
    assert code == 2 and "Traceback" not in output
    # One line: the (sub)command, the mistake, where the usage is (the reported case printed the usage block first).
    assert len(output.strip().splitlines()) == 1, output
    assert output.startswith("reasoning") and ": error: " in output and message in output, output
    assert output.rstrip().endswith(" --help'"), output


# -- values argparse takes but that cannot work ---------------------------------------------------------------------
COMMANDS = [["generate", "hi"], ["game24", "run", "--puzzle", "4 5 6 10"], ["audit", "run", "--items", "x.jsonl"],
            ["supericl", "run"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--concurrency", "0"], "--concurrency must be at least 1; got 0"),  # waited forever before
        (["--concurrency", "-3"], "--concurrency must be at least 1; got -3"),  # a ValueError traceback before
        (["--block", "0"], "--block must be at least 1"),
        (["--max-dollars", "-1"], "--max-dollars must be 0 or more; got -1.0"),
        (["--max-dollars", "nan"], "--max-dollars must be 0 or more; got nan"),
        (["--max-tokens-budget", "-5"], "--max-tokens-budget must be 0 or more"),
        (["--request-timeout", "0"], "--request-timeout must be a number of seconds above 0; got 0"),
        (["--request-timeout", "-1"], "--request-timeout must be a number of seconds above 0; got -1"),
        (["--request-timeout", "nan"], "--request-timeout must be a number of seconds above 0; got nan"),
    ],
)
def test_shared_model_options_are_checked_first(capsys, tmp_path, command, option, message):
    code, output = run(capsys, *command, "--out" if command[0] != "generate" else "--log", str(tmp_path / "o"),
                       *option, *CLOSED)  # fmt: skip
    assert_one_line(code, output, message)


@pytest.mark.parametrize("command", COMMANDS[1:], ids=lambda c: c[0])
def test_out_that_is_a_file(capsys, tmp_path, command):
    (tmp_path / "taken").write_text("mine\n")
    code, output = run(capsys, *command, "--out", str(tmp_path / "taken"), *CLOSED)  # FileExistsError before
    assert_one_line(code, output, f"--out {tmp_path / 'taken'} is a file")
    assert (tmp_path / "taken").read_text() == "mine\n"


def test_a_file_system_error_is_one_line(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    code, output = run(capsys, "generate", "hi", "--cache", str(tmp_path / "file" / "cache.sqlite"), *CLOSED)
    assert code == 2 and "Traceback" not in output and output.startswith("reasoning: error: ")


@pytest.mark.parametrize("command", ["audit", "supericl"])
def test_a_run_folder_whose_run_json_is_not_text(capsys, tmp_path, command):
    # The run folder's reader (runner.py) does not name the file yet; main still makes it one line, no traceback.
    (tmp_path / "run.json").write_bytes(b"\xff\xfe\x00")
    code, output = run(capsys, command, "report", str(tmp_path))
    assert_one_line(code, output, "not UTF-8 text")


# -- game-of-24 data: the puzzle file, literal puzzles, the replay log, stdin of `check` ------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "puzzles.txt holds no puzzles"),
        (b"# only a comment\n\n", "puzzles.txt holds no puzzles"),
        (bytes(range(128, 256)), "puzzles.txt:1: not UTF-8 text (byte 0x80)"),
        (b"4 5 6 10\ncaf\xe9 1 2 3\n", "puzzles.txt:2: not UTF-8 text (byte 0xe9)"),
        (b"4 5 6 10\n1 2 3\n", "puzzles.txt:2: puzzle 1: a puzzle is four whole numbers"),
        (b"1 2 3 4 5\n", "puzzles.txt:1: puzzle 0: a puzzle is four whole numbers"),
        (b"a b c d\n", "puzzles.txt:1: puzzle 0: a puzzle is four whole numbers"),
        (b"1.5 2 3 4\n", "puzzles.txt:1: puzzle 0: a puzzle is four whole numbers"),
        (b"-1 2 3 4\n", "puzzles.txt:1: puzzle 0: a puzzle is four whole numbers"),
        ("２ 4 6 8\n".encode(), "puzzles.txt:1: puzzle 0: a puzzle is four whole numbers"),
        (b"4 5 6 10\x00\n", "puzzles.txt:1: puzzle 0: a puzzle is four whole numbers"),
        (b"1 1 1 " + b"9" * 5000 + b"\n", "puzzles.txt:1: puzzle 0: a puzzle is four whole numbers of up to 6 digits"),
        (b"Rank,Puzzles\n1,4 5 6 10\n2\n", "puzzles.txt:3: puzzle 1: a puzzle is four whole numbers"),
        (b"Rank,Puzzles\n1,\n", "puzzles.txt:2: puzzle 0: a puzzle is four whole numbers"),
        (b"Rank,Puzzles\n1," + b"x" * 200_000 + b"\n", "puzzles.txt:2: not a CSV row"),
    ],
)
def test_malformed_puzzle_file(capsys, tmp_path, content, message):
    path = tmp_path / "puzzles.txt"
    path.write_bytes(content)
    code, output = run(capsys, "game24", "run", "--puzzles-file", str(path), "--range", "0-1",
                       "--out", str(tmp_path / "o"), *CLOSED)  # fmt: skip
    assert_one_line(code, output, message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--puzzles-file", "{folder}"], "is a folder, not a file"),
        (["--puzzles-file", "{missing}"], "puzzle file not found: "),
        (["--puzzles-file", "{good}", "--range", "5"], "good.txt has rows 0-0 (1 puzzle)"),
        (["--puzzles-file", "{good}", "--range", "-3"], "a range is START-END"),
        (["--puzzles-file", "{good}", "--range", "3-1"], "--range 3-1: start 3 is after end 1"),
        (["--puzzle", "4 5 6"], "a puzzle is four whole numbers"),
        (["--puzzle", "4 5 6 10 11"], "a puzzle is four whole numbers"),
        (["--puzzle", "² 5 6 10"], "a puzzle is four whole numbers"),  # went on to the model before
        (["--puzzle", "4 5 6 10", "--parallel", "0"], "--parallel must be at least 1"),
        (["--puzzle", "4 5 6 10", "--samples", "-1"], "--samples must be at least 1"),
        (["--backend", "replay", "--replay-log", "{missing}", "--range", "900"], "replay log not found"),
        (["--backend", "replay", "--replay-log", "{good}", "--range", "900"], "is not a replay log"),
        (["--backend", "replay", "--replay-log", "{list}", "--range", "900"], "is not a replay log"),
        (["--backend", "replay", "--replay-log", "{nosteps}", "--range", "900"], "missing field 'steps'"),
        (["--backend", "replay", "--replay-log", "{empty_log}", "--range", "900"], "the replay covers no puzzle"),
    ],
)
def test_bad_puzzle_options(capsys, tmp_path, monkeypatch, args, message):
    (tmp_path / "good.txt").write_text("4 5 6 10\n")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "nosteps.json").write_text(json.dumps([{"idx": 900}]))
    (tmp_path / "empty_log.json").write_text("[]")
    (tmp_path / "folder").mkdir()
    names = ("good.txt", "list.json", "nosteps.json", "empty_log.json", "folder", "missing.csv")
    paths = {name.split(".")[0]: tmp_path / name for name in names}
    # The replay's puzzles are the paper's file: a tiny one stands in, so the test needs no shared data.
    monkeypatch.setenv("REASONING_SHARED_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "tot").mkdir(parents=True)
    (tmp_path / "data" / "tot" / "24.csv").write_text("Puzzles\n" + "1 1 4 6\n" * 1000)
    argv = [a.format(**paths) for a in args]
    code, output = run(capsys, "game24", "run", "--out", str(tmp_path / "o"), *argv, *CLOSED)
    assert_one_line(code, output, message)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"not json\n", "stdin line 1: not JSON; expected"),
        (b'{"puzzle": "4 5 6 10", "output": "x"}\n[1, 2]\n', "stdin line 2: not a JSON object; expected"),
        (b'{"puzzle": "4 5 6 10"}\n', "stdin line 1: no 'output'; expected"),
        (b'"a string"\n', "stdin line 1: not a JSON object; expected"),
        # A traceback before:
        (b'\n{"puzzle": "4 5 6 10", "output": "x"}\n\xff\xfe\n', "stdin line 3: not UTF-8 text (byte 0xff); expected"),
        (b"[" * 100_000 + b"\n", "stdin line 1: not JSON; expected"),  # a RecursionError traceback before
    ],
)  # fmt: skip
def test_check_reads_bad_stdin_as_a_clear_error(capsys, monkeypatch, stdin, message):
    # Each bad line is answered by its error (and a line on stderr), the good ones are graded, and the exit status
    # is 1 at the end (see evals.stdin).
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code, output = run(capsys, "game24", "check")
    assert code == 1 and "Traceback" not in output
    assert f"reasoning: error: {message}" in output and f'{{"error": "{message}' in output


def test_check_and_solve_refuse_hostile_puzzles_quickly(capsys):
    # "1e99999999" made Fraction build a hundred-million-digit number; twelve numbers made the solver run for ever.
    # Both commands take only a puzzle a run could ask (four whole numbers), refused before any arithmetic.
    for argv in (["check", "1e99999999 1 1 1", "Answer: 24"], ["solve", "1 2 3 4 5 6 7 8 9 10 11 12"],
                 ["solve", "1e99999999 1 1 1"], ["check", "1 2 3 4 5 6 7 8 9 10 11 12", "Answer: 24"]):  # fmt: skip
        code, output = run(capsys, "game24", *argv)
        assert_one_line(code, output, "a puzzle is four whole numbers")


# -- the real console script: no traceback reaches the terminal -------------------------------------------------------
def test_the_console_script_prints_no_traceback(tmp_path):
    script = Path(sys.executable).parent / "reasoning"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "reasoning.cli"]
    (tmp_path / "bad.bin").write_bytes(bytes(range(128, 256)) * 16)
    env = dict(os.environ, REASONING_SHARED_DATA=str(tmp_path))
    for argv in (
        ["game24", "run", "--puzzles-file", str(tmp_path / "bad.bin"), "--out", str(tmp_path / "o"), *CLOSED],
        ["audit", "run", "--items", str(tmp_path / "bad.bin"), "--out", str(tmp_path / "o"), *CLOSED],
        ["supericl", "run", "--train-file", str(tmp_path / "bad.bin"), "--test-file", str(tmp_path / "bad.bin"),
         "--out", str(tmp_path / "o"), *CLOSED],
        ["generate", "hi", "--concurrency", "0", *CLOSED],
    ):  # fmt: skip
        out = subprocess.run(command + argv, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stdout + out.stderr
        assert out.stderr.strip().count("\n") == 0 and out.stderr.startswith("reasoning: error: "), out.stderr
        assert ("bad.bin:1: not UTF-8" in out.stderr) or ("--concurrency" in out.stderr), out.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "hi", "--model", "other"],
         "--model names a model on an OpenAI-compatible server; --backend auto"),
        (["generate", "hi", "--backend", "llamacpp", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"],
         "--model and --base-url name a model on an OpenAI-compatible server; --backend llamacpp"),
        (["serve", "--backend", "torch", "--model", "m"], "--backend torch runs the embedded model: drop --model"),
    ],
)  # fmt: skip
def test_a_servers_options_on_a_local_backend_are_refused_not_ignored(capsys, tmp_path, argv, message):
    # `--model other` without --base-url ran the embedded model and recorded its name: the option was silently lost.
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_an_eval_run_with_a_server_option_on_the_embedded_model_writes_no_record(capsys, tmp_path):
    out = tmp_path / "run"
    code = main(["game24", "run", "--method", "io", "--puzzle", "4 5 6 10", "--model", "other", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--model names a model" in err, err
    assert not (out / "results.jsonl").exists() or not (out / "results.jsonl").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["game24", "run", "--threshold", "nan"], "--threshold must be a finite number; got nan"),
        (["game24", "run", "--accept", "inf"], "--accept must be a finite number; got inf"),
        (["game24", "run", "--puzzle", "4 5 6 10", "--max-dollars", "inf"], "--max-dollars must be a finite number"),
        (["game24", "run", "--temperature", "5"], "--temperature must be between 0 and 2; got 5"),
        (["audit", "run", "--temperature", "-0.5"], "--temperature must be between 0 and 2; got -0.5"),
        (["generate", "hi", "--temperature", "nan"], "--temperature must be between 0 and 2; got nan"),
        (["game24", "run", "--out", ""], "--out is empty; give a folder"),
    ],
)  # fmt: skip
def test_a_float_that_is_no_number_or_out_of_range_is_refused_by_its_flag(capsys, tmp_path, monkeypatch, argv,
                                                                          message):  # fmt: skip
    # `--threshold nan` ran, and the identical rerun was refused as "other options" (NaN != NaN); `--temperature 5`
    # failed mid-run with a pydantic dump blaming the data file.
    monkeypatch.chdir(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.skipif(not (SHARED_DATA / "tot").is_dir(), reason="the published ToT run is not in the shared data")
@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "sigint-ignored"])
def test_sigterm_stops_a_run_like_ctrl_c_with_its_partial_outputs(tmp_path, sigint_ignored):
    # SIGTERM (timeout, docker stop, a cancelled CI job) killed a run at once: records kept, no summary, no report.
    # A run started with SIGINT ignored (`nohup ... &`, a background job of a script) did not stop at all: SIGTERM
    # was passed on as a SIGINT the process ignores (a benchmark ran on for minutes after `kill`).
    script = Path(sys.executable).parent / "reasoning"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "reasoning.cli"]
    out = tmp_path / "run"
    argv = ["game24", "run", "--backend", "replay", "--range", "900-999", "--parallel", "1", "--out", str(out)]
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    proc = subprocess.Popen([*command, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=env, preexec_fn=_ignore_sigint if sigint_ignored else None)  # fmt: skip
    try:
        results = out / "results.jsonl"
        while proc.poll() is None and not (results.exists() and results.read_text().count("\n") >= 2):
            time.sleep(0.05)  # waiting on a condition: the first records are on disk
        at_signal = results.read_text().count("\n") if results.exists() else 0
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    if proc.returncode == 0 and at_signal == 100:
        pytest.skip("the run finished before the signal")
    assert proc.returncode == 143 and err.rstrip().endswith("reasoning: terminated"), err[-2000:]
    assert "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["puzzles"] == results.read_text().count("\n") >= 2  # the outputs say what is on disk
