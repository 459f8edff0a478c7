"""`reasoning game24` end to end as a user runs it: replay runs, resume, kill -9 and rerun, check, bad input."""

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import reasoning.cli
from reasoning.testing import FaultProxy
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
ENV = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))


def cli(*args, input=None):
    return subprocess.run([sys.executable, "-m", "reasoning.cli", *args], capture_output=True, text=True,
                          timeout=600, input=input, env=ENV, cwd=ROOT)  # fmt: skip


def records(path):
    return [json.loads(line) for line in (path / "results.jsonl").read_text().splitlines()]


def test_replay_run_and_resume(tmp_path):
    out = tmp_path / "run"
    first = cli("game24", "run", "--backend", "replay", "--range", "900-909", "--out", str(out), "--paper-values")
    assert first.returncode == 0, first.stderr
    assert "solved (any output)" in first.stdout
    done = records(out)
    assert sorted(r["idx"] for r in done) == list(range(900, 910))
    report = (out / "report.html").read_text()
    assert "Puzzle 900: 4 5 6 10" in report and "<details" in report
    # The same command again: nothing redone, same summary.
    again = cli("game24", "run", "--backend", "replay", "--range", "900-909", "--out", str(out), "--paper-values")
    assert again.returncode == 0 and len(records(out)) == 10
    assert again.stdout == first.stdout  # summaries hold no wall time or cache-dependent spend
    assert (out / "report.html").read_text() == report
    # A wider range runs only the new puzzles.
    wider = cli("game24", "run", "--backend", "replay", "--range", "900-914", "--out", str(out), "--paper-values")
    assert wider.returncode == 0 and sorted(r["idx"] for r in records(out)) == list(range(900, 915))


def test_partial_last_line_is_dropped_and_redone(tmp_path):
    out = tmp_path / "run"
    assert cli("game24", "run", "--backend", "replay", "--range", "900-902", "--out", str(out)).returncode == 0
    path = out / "results.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])  # killed mid-write
    assert cli("game24", "run", "--backend", "replay", "--range", "900-902", "--out", str(out)).returncode == 0
    assert sorted(r["idx"] for r in records(out)) == [900, 901, 902]


async def test_kill_9_then_rerun_loses_nothing_and_repeats_no_call(tmp_path):
    out = tmp_path / "run"
    async with FaultProxy(latency=0.4) as server:
        command = [sys.executable, "-m", "reasoning.cli", "game24", "run", "--method", "io", "--range",
                   "900-909", "--out", str(out), "--base-url", server.url + "/v1", "--model", "stub",
                   "--parallel", "2"]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(*command, env=ENV, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)  # fmt: skip
        while not (out / "results.jsonl").exists() or len(records(out)) < 3:  # noqa: ASYNC110 - polls a file
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        killed_at = len(records(out))
        assert 3 <= killed_at < 10
        calls_before = server.stats.requests
        proc = await asyncio.create_subprocess_exec(*command, env=ENV, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)  # fmt: skip
        _, stderr = await proc.communicate()
        assert proc.returncode == 0, stderr.decode()
    done = records(out)
    assert sorted(r["idx"] for r in done) == list(range(900, 910))  # none lost, none twice
    # The rerun asked only for puzzles with no record: every finished puzzle's call came from the cache. Calls
    # in flight at the kill (at most --parallel) had no answer to keep, so they are the only ones made twice.
    assert server.stats.requests - calls_before <= 10 - killed_at
    assert server.stats.requests <= 10 + 2


def test_check_arguments_and_stdin():
    out = cli("game24", "check", "4 5 6 10", "Steps: ...\nAnswer: (10 - 6) * 5 + 4 = 24")
    assert out.returncode == 0 and json.loads(out.stdout)["correct"] is True
    items = [{"puzzle": "4 5 6 10", "output": "Answer: 4 + 5 + 6 + 10 = 24"},
             {"puzzle": "1 1 4 6", "output": "Answer: (1 + 1) * ... = 24"}]  # fmt: skip
    lines = "\n".join(json.dumps(x) for x in items)
    out = cli("game24", "check", input=lines)
    verdicts = [json.loads(line) for line in out.stdout.splitlines()]
    assert [v["correct"] for v in verdicts] == [False, False]
    assert verdicts[0]["reason"] == "equals 25, not 24"
    bad = cli("game24", "check", input="not json\n" + json.dumps(items[0]) + "\n")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "stdin line 1" in bad.stderr
    verdicts = [json.loads(line) for line in bad.stdout.splitlines()]
    assert verdicts[0]["error"].startswith("stdin line 1: not JSON") and verdicts[1]["reason"] == "equals 25, not 24"


def check_stdin(capsys, monkeypatch, stdin: bytes) -> tuple[int, list[dict], str]:
    """`reasoning game24 check` in process, reading `stdin`: exit status, the JSON lines out, stderr."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = reasoning.cli.main(["game24", "check"])
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


RIGHT = {"puzzle": "4 5 6 10", "output": "Answer: (10 - 6) * 5 + 4 = 24"}
WRONG = {"puzzle": "1 1 4 6", "output": "Answer: 1 + 1 + 4 + 6 = 24"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # The reported cases: a wrong type was turned into text and graded ("[4, 5, 6, 10]" and "24").
        (b'{"puzzle": [4, 5, 6, 10], "output": "Answer: (10 - 6) * 5 + 4 = 24"}',
         '"puzzle" must be a string, e.g. "4 5 6 10"; got array [4, 5, 6, 10]'),
        (b'{"puzzle": "4 5 6 10", "output": 24}', '"output" must be a string, e.g. "Answer: (10 - 6) * 5 + 4 = 24"; '
                                                 "got number 24"),
        (b'{"puzzle": null, "output": "x"}', '"puzzle" must be a string, e.g. "4 5 6 10"; got null'),
        (b'{"puzzle": "4 5 6 10"}', "no 'output'; expected {\"puzzle\""),
        (b"not json", 'not JSON; expected {"puzzle": "4 5 6 10", "output": "..."}'),
        (b"[1]", "not a JSON object"),
        (b'{"puzzle": "caf\xe9", "output": "x"}', "not UTF-8 text (byte 0xe9)"),
        (b"", "empty line"),
        (b"   \t", "empty line"),
    ],
)  # fmt: skip
def test_check_answers_every_stdin_line_a_bad_one_with_its_error(capsys, monkeypatch, line, message) -> None:
    # The reported case: the first bad line ended the command (exit 2) and the verdicts of the lines before it were
    # lost. Now one verdict a line, in order; the bad one gets its error there and on stderr; exit 1 at the end.
    stdin = b"\n".join([json.dumps(RIGHT).encode(), line, json.dumps(WRONG).encode()]) + b"\n"
    code, verdicts, err = check_stdin(capsys, monkeypatch, stdin)
    assert code == 1 and len(verdicts) == 3
    assert verdicts[0]["correct"] is True and verdicts[2]["correct"] is False
    assert verdicts[1] == {"error": f"stdin line 2: {message}"} or (
        set(verdicts[1]) == {"error"} and verdicts[1]["error"].startswith(f"stdin line 2: {message}")
    ), verdicts[1]
    assert err.count("\n") == 1 and err.startswith(f"reasoning: error: stdin line 2: {message}"), err


@pytest.mark.parametrize("stdin", [b"", b"%s\n%s\n", b"%s\n%s", b"%s\r\n%s\r\n"])
def test_check_a_final_newline_is_not_a_line(capsys, monkeypatch, stdin) -> None:
    if stdin:
        stdin = stdin % (json.dumps(RIGHT).encode(), json.dumps(WRONG).encode())
    code, verdicts, err = check_stdin(capsys, monkeypatch, stdin)
    assert code == 0 and err == "" and [v["correct"] for v in verdicts] == ([True, False] if stdin else [])


def test_solve():
    out = cli("game24", "solve", "4 5 6 10")
    assert json.loads(out.stdout)["solvable"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--puzzle", "4 5 x 10"], "four whole numbers"),
        (["--puzzles-file", "/no/such/file.csv"], "puzzle file not found"),
        (["--range", "nine-ten"], "a range is START-END"),
        (["--breadth", "0"], "--breadth must be at least 1"),
        (["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--puzzle", "4 5 6 10"], "connection failed"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    out = cli("game24", "run", "--out", str(tmp_path), *args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and message in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("reasoning: error:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--answer", "program", "--thoughts", "paper"], "--answer program writes the answer from lenient thoughts; "
                                                         "add --thoughts lenient or use --answer model"),
        # The replay's thoughts are the paper's (auto): a program answer needs them lenient.
        (["--backend", "replay", "--answer", "program"], "--answer program writes the answer from lenient thoughts"),
        (["--propose-samples", "0"], "--propose-samples must be at least 1"),
        (["--propose-samples", "-2"], "--propose-samples must be at least 1"),
    ],
)  # fmt: skip
def test_thoughts_and_answers_that_cannot_work_together_are_refused_in_one_line(tmp_path, args, message):
    out = cli("game24", "run", "--out", str(tmp_path / "run"), "--range", "900", *args)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"reasoning: error: {message}") and len(out.stderr.splitlines()) == 1, out.stderr
    assert not (tmp_path / "run" / "results.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # Each is the `n` of one request, at most 1024: 10**6 proposals started the run and failed at the first call
        # with the cache's "too many SQL variables"; --n-value 2000 reached the backend unchecked.
        (["--propose-samples", "1000000"], "--propose-samples must be at most 1024"),
        (["--n-value", "2000"], "--n-value must be at most 1024"),
        (["--method", "io", "--samples", "1025"], "--samples must be at most 1024"),
    ],
)  # fmt: skip
def test_a_sample_count_no_request_can_ask_for_is_refused_in_one_line(tmp_path, args, message):
    out = cli("game24", "run", "--out", str(tmp_path / "run"), "--range", "900", "--backend", "replay", *args)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"reasoning: error: {message} ") and len(out.stderr.splitlines()) == 1, out.stderr
    assert not (tmp_path / "run").exists()


def test_the_whole_replay_in_paper_mode_still_solves_69_of_100_62_first(tmp_path):
    # The published run, through the command a user types (README): --backend replay picks the paper's thoughts
    # and model-written answers (auto), so the lenient defaults of other backends change nothing here.
    out = tmp_path / "run"
    run = cli("game24", "run", "--backend", "replay", "--range", "900-999", "--paper-values", "--out", str(out))
    assert run.returncode == 0, run.stderr
    lines = dict(line.rsplit(None, 1) for line in run.stdout.splitlines() if line.startswith(("solved", "puzzles")))
    assert lines == {"puzzles": "100", "solved (any output)": "69", "solved (first output)": "62"}, run.stdout
    done = records(out)
    assert len(done) == 100 and sum(r["any_correct"] for r in done) == 69
    assert sum(r["first_correct"] for r in done) == 62
    config = json.loads((out / "run.json").read_text())["config"]
    assert (config["thoughts"], config["answer"], config["propose_samples"]) == ("paper", "model", 1)
    # The records' run key is the one this command wrote before these options existed (the same command run on
    # commit 435e6bf, in a `git worktree` of it, wrote records with run "965ca7a57530"): old folders resume.
    assert {r["run"] for r in done} == {"965ca7a57530"}


def test_unknown_method_is_a_usage_error(tmp_path):
    out = cli("game24", "run", "--method", "magic")
    assert out.returncode == 2 and "invalid choice" in out.stderr


@pytest.mark.skipif(not (ROOT.parent / "shared" / "data" / "tot" / "24.csv").is_file(), reason="no checkout data")
def test_the_default_puzzles_are_found_from_any_folder(tmp_path):
    # The reported case, from /tmp: "puzzle file not found: /tmp/shared/data/tot/24.csv".
    env = {k: v for k, v in os.environ.items() if k != "REASONING_SHARED_DATA"}
    out = subprocess.run([sys.executable, "-m", "reasoning.cli", "game24", "run", "--backend", "replay", "--range",
                          "900-901", "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=600,
                         env=env, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [r["idx"] for r in records(tmp_path / "run")] == [900, 901]


INSTEAD = "replay rows of tot/24.csv instead, without --puzzle: --range"


@pytest.mark.parametrize(
    ("puzzles", "message"),
    [
        # The reported case: "the replay covers puzzles 900-999; not [0]", though 4 5 6 10 is row 900.
        (["4 5 6 10"], "--puzzle numbers its puzzles by their place in the list given (here [0]), which the log has "
                       f"no run for: {INSTEAD} 900 (4 5 6 10 is row 900)"),
        (["4 5 6 10", "1 1 1 1"], f"(here [0, 1]), which the log has no run for: {INSTEAD} 900 (4 5 6 10 is row "
                                  "900; 1 1 1 1 is not logged)"),
        (["1 1 1 1"], f"(here [0]), which the log has no run for, and none of them is a logged puzzle: {INSTEAD} "
                      "900-999"),
    ],
)  # fmt: skip
def test_a_replay_of_literal_puzzles_says_what_their_numbers_are(monkeypatch, capsys, tmp_path, puzzles, message):
    monkeypatch.setenv("REASONING_SHARED_DATA", str(SHARED_DATA))
    argv = ["game24", "run", "--backend", "replay", "--out", str(tmp_path / "run")]
    assert reasoning.cli.main([*argv, *(x for p in puzzles for x in ("--puzzle", p))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reasoning: error: the replay covers puzzles 900-999, rows of tot/24.csv chosen with "
                          "--range; --puzzle numbers") and err.rstrip().endswith(message), err  # fmt: skip
    file = tmp_path / "mine.txt"  # a file's puzzles are numbered by their line too
    file.write_text("4 5 6 10\n")
    assert reasoning.cli.main([*argv, "--puzzles-file", str(file), "--range", "0"]) == 2
    assert (
        "--puzzles-file numbers its puzzles by their row in that file (here [0]), which the log has no run for: "
        "replay rows of tot/24.csv instead, without --puzzles-file: --range 900 (4 5 6 10 is row 900)"
        in capsys.readouterr().err
    )
    assert reasoning.cli.main([*argv, "--range", "900"]) == 0  # the suggestion works
