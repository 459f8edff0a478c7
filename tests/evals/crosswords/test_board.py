"""The board's fill and status rules and its rendering, against the paper's environment."""

import json

import pytest

from evals.crosswords.board import CHANGED, FILLED, UNFILLED, Board, Fill, parse_fill
from reasoning.errors import ConfigurationError
from tests.conftest import SHARED_DATA

CROSSWORDS = SHARED_DATA / "tot" / "crosswords"


def test_a_fill_writes_its_word_and_marks_its_clue_filled():
    board = Board().fill(parse_fill("h2. motor"))
    assert board.grid() == "_____\nMOTOR\n_____\n_____\n_____"
    assert board.steps == 1 and board.status == (UNFILLED, FILLED) + (UNFILLED,) * 8
    assert board.words[5:] == ("_M___", "_O___", "_T___", "_O___", "_R___")
    board = board.fill(Fill("v3", "sting"))
    assert board.words[2] == "__I__" and board.words[1] == "MOTOR" and board.status[7] == FILLED


def test_changing_a_letter_marks_the_crossing_clue_changed():
    board = Board().fill(parse_fill("h2. motor")).fill(parse_fill("v1. amass"))
    assert not board.changed  # v1's M is h2's M
    changed = board.fill(parse_fill("v2. pilot"))  # v2 writes I over h2's O
    assert changed.changed and changed.status[1] == CHANGED and changed.status[6] == FILLED


def test_rewriting_a_word_with_itself_changes_nothing_but_counts_a_step():
    board = Board().fill(parse_fill("h2. motor"))
    again = board.fill(parse_fill("h2. motor"))
    assert again.cells == board.cells and again.status == board.status and again.steps == 2


def test_scores_against_the_answer():
    answer = tuple("AGENDMOTORARTSYSALLESLEER")
    board = Board().fill(parse_fill("h2. motor")).fill(parse_fill("h1. tasks"))
    assert board.scores(answer) == (5 / 25, 1 / 10, False)
    full = Board(cells=answer)
    assert full.scores(answer) == (1.0, 1.0, True)


@pytest.mark.parametrize("text", ["h6. motor", "h2 motor", "h2. moto", "x1. motor", "h2. mo tor"])
def test_a_malformed_fill_is_one_clear_error(text):
    with pytest.raises(ConfigurationError, match="a fill is a clue and a 5-letter word"):
        parse_fill(text)


@pytest.mark.skipif(not (CROSSWORDS / "env_cache.json").is_file(), reason="the crosswords data is not there")
def test_the_rendering_is_the_papers_byte_for_byte():
    games = json.loads((CROSSWORDS / "mini0505.json").read_text())
    cache = json.loads((CROSSWORDS / "env_cache.json").read_text())
    clues = games[0][0]
    assert Board().render(clues) in cache
    board = Board()
    for fill in ("h2. motor", "h1. tasks", "v3. sting"):
        board = board.fill(parse_fill(fill))
    assert board.render(clues) in cache
    assert board.render(clues).startswith("Current Board:\nTASKS\nMOTOR\n__I__\n__N__\n__G__\n\nUnfilled:\nh3. ")
