"""Hostile input to `reasoning crosswords`: each mistake is one line and exit status 2 (for `score`, an error line per
bad stdin line, the rest still answered, exit status 1), never a traceback, and a refused replay writes no run."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evals.crosswords.board import Board, Fill
from evals.crosswords.data import load_games, parse_games
from evals.crosswords.score import read_grid
from reasoning.errors import ConfigurationError
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
DATA = SHARED_DATA / "tot" / "crosswords"
ENV = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
needs_data = pytest.mark.skipif(not (DATA / "infoss_dfs_no_prune.json").is_file(),
                                reason="the published crosswords logs are not in the shared data")  # fmt: skip
CLUES = [f"clue {i}" for i in range(10)]
LETTERS = list("AGENDMOTORARTSYSALLESLEER")


def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "reasoning.cli", "crosswords", *args], input=stdin,
                          capture_output=True, timeout=300, env=ENV, cwd=ROOT)  # fmt: skip


def one_line(done: subprocess.CompletedProcess[bytes]) -> str:
    """The stderr of a refused command: exactly one line, no traceback."""
    lines = [line for line in done.stderr.decode().splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in lines[0], done.stderr.decode()
    return lines[0]


# -- reading a model's grid: case mapping may change a row's length ---------------------------------------------------
@pytest.mark.parametrize("row", ["ßABCD", "İABCD", "ﬁABCD"])
def test_a_row_whose_case_mapping_is_not_5_letters_is_not_written(row):
    board = read_grid(f"Output:\n{row}\nMOTOR\n")
    assert board.grid().split("\n")[:2] == ["_____", "MOTOR"]


def test_a_fill_that_does_not_write_5_cells_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="5 letters"):
        Board().fill(Fill("h1", "ßabcd"))


@pytest.mark.skipif(not (DATA / "mini0505.json").is_file(), reason="the crosswords data is not there")
def test_score_answers_every_hostile_line_without_a_traceback():
    lines = [
        {"game": 5, "output": "Output:\nßABCD\nİABCD\n"},
        {"game": "5", "output": "x"},
        {"game": True, "output": "x"},
        {"game": None, "output": "x"},
        {"game": 5, "output": "Output:\nOutput:\n" + "A B C D E\n" * 1000},
    ]
    done = cli("score", stdin="".join(json.dumps(line) + "\n" for line in lines).encode())
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert done.returncode == 1 and len(out) == 5 and "Traceback" not in done.stderr.decode()
    assert set(out[0]) == {"letter", "word", "game"} and set(out[4]) == {"letter", "word", "game"}
    # The game number is quoted as JSON: the string "5" is not the number 5.
    assert [o["error"].split("; got ")[1] for o in out[1:4]] == ['"5"', "true", "null"]


# -- --games and --games-file --------------------------------------------------------------------------------------
def test_a_huge_range_of_games_is_refused_before_it_is_listed():
    with pytest.raises(ConfigurationError, match="past the file's 156 games"):
        parse_games("0-99999999999999", 156)
    with pytest.raises(ConfigurationError, match="past the file's 156 games"):
        parse_games("0-99999999999999:1,5", 156)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "holds no games"),
        ("{}", "is not a list of"),
        (json.dumps([["cccccccccc", LETTERS]]), "is not \\[10 clues, 25 letters A-Z\\]"),  # a string is not 10 clues
        (json.dumps([[CLUES, "".join(LETTERS)]]), "is not \\[10 clues, 25 letters A-Z\\]"),
        (json.dumps([[CLUES, ["AB", *LETTERS[1:]]]]), "is not \\[10 clues, 25 letters A-Z\\]"),
        (json.dumps([[CLUES, ["_", *LETTERS[1:]]]]), "is not \\[10 clues, 25 letters A-Z\\]"),
        (json.dumps([[CLUES, ["<", *LETTERS[1:]]]]), "is not \\[10 clues, 25 letters A-Z\\]"),
    ],
)
def test_a_games_file_of_another_shape_is_refused(tmp_path, content, message):
    path = tmp_path / "games.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        load_games(path)


# -- the replay's files --------------------------------------------------------------------------------------------
def replay_dir(tmp_path: Path, log: str | None = None, cache: str | None = None) -> Path:
    folder = tmp_path / "replay"
    folder.mkdir()
    for name, content in (("infoss_dfs_prune.json", log), ("env_cache.json", cache)):
        if content is None:
            shutil.copy(DATA / name, folder / name)
        else:
            (folder / name).write_text(content)
    return folder


@needs_data
@pytest.mark.parametrize(
    ("log", "cache"),
    [
        ("{}", None),  # not a list of games
        ("[[]]", None),  # 1 game, not 20
        (json.dumps(list(range(20))), None),  # games that are not lists of states
        (json.dumps([[{"actions": "h1. agend", "count": {}}]] * 20), None),
        (json.dumps([[{"actions": ["h1. agend"], "count": {"sure": "1"}}]] * 20), None),
        (json.dumps([[{"actions": ["h9. agend"], "count": {"sure": 1, "maybe": 0, "impossible": 0}}]] * 20), None),
        (json.dumps([[{"actions": ["h1. agend"], "count": {"sure": 9, "maybe": 0, "impossible": 0}}]] * 20), None),
        (None, "[]"),  # a cache that is not board -> candidates
        (None, json.dumps({"board": {"h1. agend": "high"}})),
        (None, json.dumps({"board": {"h1. agend": 0.05}})),  # no sum of confidence words gives it
    ],
)
def test_replay_files_of_another_layout_are_one_line_and_write_no_run(tmp_path, log, cache):
    # The text eval's log in the crosswords place is one of these too.
    folder = replay_dir(tmp_path, log, cache)
    out = tmp_path / "out"
    line = one_line(cli("run", "--backend", "replay", "--games", "0,5", "--replay-dir", str(folder), "--out", str(out)))
    assert "replay" in line and not (out / "run.json").exists()


@needs_data
def test_replay_of_other_proposal_samples_than_the_papers_is_refused(tmp_path):
    # The logged proposals are the sums over the paper's 8 samples: the replay cannot say what 1 sample proposes.
    line = one_line(cli("run", "--backend", "replay", "--propose-samples", "1", "--out", str(tmp_path / "out")))
    assert "--propose-samples 8" in line


@needs_data
def test_an_empty_replay_dir_is_not_read_as_the_default(tmp_path):
    out = tmp_path / "out"
    line = one_line(cli("run", "--backend", "replay", "--games", "0", "--replay-dir", "", "--out", str(out)))
    assert "replay file not found" in line and not (out / "run.json").exists()
