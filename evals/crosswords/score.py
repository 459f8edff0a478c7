"""Reading a model's final crossword from its text and scoring it, as the paper's `test_output` does.

The grid is read from the text after the last "Output:" line break: its last 5 lines (after stripping the text)
are rows h1..h5, each split on spaces, its first 5 pieces joined (so "A B C D E" and "ABCDE" both read as ABCDE);
a row shorter than 5 letters is padded with "_", and a row longer than 5 is not written (the paper's env refuses
that fill), nor one that case mapping makes longer ("ß" upper-cases to "SS"). The scores: the fraction of the 25
cells right (letter), of the 10 words right (word), and whether the whole grid is right (game).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from reasoning.errors import ConfigurationError

from .board import EMPTY, Board, Fill
from .data import Game

__all__ = ["Scores", "read_grid", "score_board", "score_output"]


@dataclass(frozen=True)
class Scores:
    """letter: the fraction of 25 cells right; word: of the 10 words; game: the whole grid right."""

    letter: float
    word: float
    game: bool


def read_grid(text: str) -> Board:
    """The board a model's output writes (see the module docstring)."""
    board = Board()
    rows = text.split("Output:\n")[-1].strip().split("\n")[-5:]
    for i, line in enumerate(rows, start=1):
        word = "".join(line.split(" ")[:5])
        word = word + EMPTY * (5 - len(word))
        if len(word) == 5:
            with contextlib.suppress(ConfigurationError):  # a case mapping that changes the length
                board = board.fill(Fill(f"h{i}", word.lower()))
    return board


def score_board(game: Game, board: Board) -> Scores:
    letter, word, solved = board.scores(game.answer)
    return Scores(letter, word, solved)


def score_output(game: Game, text: str) -> Scores:
    """The scores of a model's output text for `game`."""
    return score_board(game, read_grid(text))
