"""Reading a model's grid as the paper's test_output does, and `reasoning crosswords score`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.crosswords.data import Game
from evals.crosswords.score import read_grid, score_output
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
ANSWER = "AGENDMOTORARTSYSALLESLEER"
GAME = Game(0, tuple(f"clue {i}" for i in range(10)), tuple(ANSWER))
SPACED = "\n".join(" ".join(ANSWER[r * 5 : r * 5 + 5]) for r in range(5))
needs_data = pytest.mark.skipif(not (SHARED_DATA / "tot" / "crosswords" / "mini0505.json").is_file(),
                                reason="the crosswords data is not there")  # fmt: skip


def test_the_rows_after_the_last_output_are_read():
    text = f"Output:\nX X X X X\n\nThoughts: ...\nOutput:\n{SPACED}\n"
    assert score_output(GAME, text).__dict__ == {"letter": 1.0, "word": 1.0, "game": True}
    # Unspaced rows read too (the first 5 pieces are joined); only the last 5 lines count.
    unspaced = "Output:\npreamble\n" + "\n".join(ANSWER[r * 5 : r * 5 + 5] for r in range(5))
    assert score_output(GAME, unspaced).game


def test_short_rows_are_padded_and_long_rows_not_written():
    board = read_grid("Output:\nA G E\nMOTORS\nA R T S Y\n")
    assert board.grid() == "AGE__\n_____\nARTSY\n_____\n_____"
    scores = score_output(GAME, "Output:\nA G E\nMOTORS\nA R T S Y\n")
    assert scores.letter == 8 / 25 and scores.word == 1 / 10 and not scores.game
    assert score_output(GAME, "no grid at all").letter == 0.0


def score(lines: bytes) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    return subprocess.run([sys.executable, "-m", "reasoning.cli", "crosswords", "score"], input=lines,
                          capture_output=True, timeout=120, env=env, cwd=ROOT)  # fmt: skip


@needs_data
def test_score_answers_every_line_and_reports_the_bad_ones():
    games = json.loads((SHARED_DATA / "tot" / "crosswords" / "mini0505.json").read_text())
    answer = games[5][1]
    right = "Output:\n" + "\n".join(" ".join(answer[r * 5 : r * 5 + 5]) for r in range(5))
    lines = [
        json.dumps({"game": 5, "output": right}),
        json.dumps({"game": 5, "output": "Output:\n" + right.split("\n", 2)[2]}),  # rows 2-5 as rows 1-4
        json.dumps({"game": 999, "output": "x"}),
        json.dumps({"game": "5", "output": "x"}),
        json.dumps({"game": 5, "output": 3}),
        json.dumps({"output": "x"}),
        "not json",
        "",
    ]
    out = score(("\n".join(lines) + "\n").encode())
    assert out.returncode == 1
    verdicts = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert len(verdicts) == len(lines)
    assert verdicts[0] == {"letter": 1.0, "word": 1.0, "game": True}
    assert set(verdicts[1]) == {"letter", "word", "game"} and verdicts[1]["game"] is False
    assert verdicts[2]["error"].startswith('stdin line 3: "game" must be a game number from 0 to 155')
    assert verdicts[3]["error"].startswith('stdin line 4: "game" must be a game number')
    assert verdicts[4]["error"].startswith('stdin line 5: "output" must be a string')
    assert verdicts[5]["error"].startswith("stdin line 6: no 'game'")
    assert verdicts[6]["error"].startswith("stdin line 7: not JSON")
    assert verdicts[7]["error"] == "stdin line 8: empty line"
    assert out.stderr.decode().count("reasoning: error: stdin line") == 6
    good = score(json.dumps({"game": 5, "output": right}).encode())
    assert good.returncode == 0 and json.loads(good.stdout) == verdicts[0]
