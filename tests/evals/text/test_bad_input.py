"""Hostile input to `reasoning text`: each mistake is one line and exit status 2, never a traceback, and a refused
replay writes no run; a judge's score with decimals is not read as its first digit."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.text.data import load_tasks
from evals.text.replay import load_log
from prompts.text import read_score
from reasoning.errors import ConfigurationError
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
ENV = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
LOG = SHARED_DATA / "tot" / "text" / "gpt-4_1.0_generate_sample_select_greedy_sample5_start0_end100.json"
needs_log = pytest.mark.skipif(not LOG.is_file(), reason="the published creative-writing run is not in the shared data")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reasoning.cli", "text", *args], capture_output=True, text=True,
                          timeout=300, env=ENV, cwd=ROOT)  # fmt: skip


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The stderr of a refused command: exactly one line, no traceback."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in lines[0], done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("text", "score"),
    [("The coherency score is 10.0", None), ("coherency score is 10.5", None), ("coherency score is 7", 7),
     ("coherency score is 10.", 10), ("coherency score is 100", None)],
)  # fmt: skip
def test_a_score_with_decimals_is_not_read_as_its_first_digit(text, score):
    assert read_score(text) == score


# -- --range and --tasks-file ----------------------------------------------------------------------------------------
def test_a_huge_range_is_one_line(tmp_path):
    tasks = tmp_path / "tasks.txt"
    tasks.write_text("a. b. c. d.\n")
    with pytest.raises(ConfigurationError, match="has rows 0-0"):
        load_tasks(file=tasks, rows=range(0, 10**20))
    line = one_line(cli("run", "--range", "0-99999999999999999999", "--tasks-file", str(tasks), "--out",
                        str(tmp_path / "out")))  # fmt: skip
    assert "--range 0-99999999999999999999" in line


def test_an_empty_range_is_refused_not_read_as_every_row(tmp_path):
    line = one_line(cli("run", "--backend", "replay", "--range", "", "--out", str(tmp_path / "out")))
    assert "--range" in line and not (tmp_path / "out" / "run.json").exists()


# -- the replay log ----------------------------------------------------------------------------------------------
def spoiled(change):
    records = json.loads(LOG.read_text())
    records = copy.deepcopy(records)
    change(records[0])
    return records


def _set(key, value, step=None):
    def change(record):
        (record if step is None else record["steps"][step])[key] = value

    return change


def _drop(key, step):
    def change(record):
        del record["steps"][step][key]

    return change


BAD_RECORDS = [
    _set("steps", []),
    _set("idx", [0]),
    _set("idx", True),
    _drop("ys", 0),
    _set("ys", None, 0),
    _set("new_ys", [1, 2, 3, 4, 5], 0),
    _set("values", [None] * 5, 0),
    _set("values", [1.5, 0, 0, 0, 0], 0),
    _set("values", [9, 9, 9, 9, 9], 0),  # more votes than the 5 asked
    _set("values", [-1, 0, 0, 0, 0], 0),
]


@needs_log
@pytest.mark.parametrize("change", BAD_RECORDS)
def test_a_log_record_of_another_shape_is_refused(tmp_path, change):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(spoiled(change)))
    with pytest.raises(ConfigurationError, match="is not a replay log of the published creative-writing run"):
        load_log(path)


@needs_log
@pytest.mark.parametrize("change", BAD_RECORDS[:3])
def test_a_replay_of_a_spoiled_log_is_one_line_and_writes_no_run(tmp_path, change):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(spoiled(change)))
    out = tmp_path / "out"
    one_line(cli("run", "--backend", "replay", "--replay-log", str(path), "--range", "0-1", "--out", str(out)))
    assert not (out / "run.json").exists()


@needs_log
def test_a_replay_of_other_sentences_is_refused_before_the_run_starts(tmp_path):
    tasks = tmp_path / "tasks.txt"
    tasks.write_text("a. b. c. d.\n")
    out = tmp_path / "out"
    line = one_line(cli("run", "--backend", "replay", "--tasks-file", str(tasks), "--out", str(out)))
    assert "the log has" in line and not (out / "run.json").exists()


def test_rows_are_the_files_lines_cut_at_line_breaks_only(tmp_path):
    # str.splitlines would also cut at U+2028, form feed, U+0085...: row numbers would not be the file's lines.
    tasks = tmp_path / "tasks.txt"
    tasks.write_text("one\u2028two\r\nthree\x0cfour\x85five\n\nsix\n", encoding="utf-8", newline="")
    assert [(t.idx, t.text) for t in load_tasks(file=tasks)] == [
        (0, "one\u2028two"),
        (1, "three\x0cfour\x85five"),
        (3, "six"),
    ]
    with pytest.raises(ConfigurationError, match="has rows 0-3"):
        load_tasks(file=tasks, rows=range(4, 5))


@needs_log
def test_an_empty_replay_log_is_not_read_as_the_default(tmp_path):
    out = tmp_path / "out"
    line = one_line(cli("run", "--backend", "replay", "--range", "0", "--replay-log", "", "--out", str(out)))
    assert "replay log" in line and not (out / "run.json").exists()
