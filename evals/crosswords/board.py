"""A 5x5 mini-crossword board and its fills, with the semantics of Yao et al. (2023)'s environment.

A board is 25 cells, row by row, each an upper-case letter or "_" (empty). Its 10 words are the 5 rows (h1..h5) and
the 5 columns (v1..v5), in that order. A fill ("h2. motor") writes a 5-letter word into one row or column; a later
fill may overwrite letters. Each clue has a status: 0 unfilled, 1 filled (a fill wrote it), 2 changed (a later fill
changed one of its letters that was not empty). `steps` counts fills, each one, even one that rewrites a word with
itself. The status rule and the renderings follow the paper's code (`src/tot/tasks/crosswords.py`); the code is ours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reasoning.errors import ConfigurationError

__all__ = [
    "CHANGED",
    "CLUE_NAMES",
    "EMPTY",
    "FILLED",
    "UNFILLED",
    "Board",
    "Fill",
    "clue_index",
    "parse_fill",
    "words_of",
]

SIZE = 5
EMPTY = "_"
UNFILLED, FILLED, CHANGED = 0, 1, 2
CLUE_NAMES = tuple(f"h{i}" for i in range(1, 6)) + tuple(f"v{i}" for i in range(1, 6))
_FILL = re.compile(r"^([hv][1-5])\. ([A-Za-z]{5})$")


@dataclass(frozen=True)
class Fill:
    """One thought: `clue` "h1".."v5" and a 5-letter lower-case `word`; written as "h2. motor"."""

    clue: str
    word: str

    def __str__(self) -> str:
        return f"{self.clue}. {self.word}"


def clue_index(name: str) -> int:
    """0..9 for "h1".."h5", "v1".."v5"."""
    return CLUE_NAMES.index(name)


def parse_fill(text: str) -> Fill:
    """ "h2. motor" as a `Fill` (the word lower-cased); `ConfigurationError` for anything else."""
    match = _FILL.match(text.strip())
    if match is None:
        raise ConfigurationError(f'a fill is a clue and a 5-letter word, e.g. "h2. motor"; got {text[:40]!r}')
    return Fill(match.group(1).lower(), match.group(2).lower())


def words_of(cells: Sequence[str]) -> tuple[str, ...]:
    """The 10 words of 25 cells: rows h1..h5, then columns v1..v5."""
    rows = ["".join(cells[r * SIZE : (r + 1) * SIZE]) for r in range(SIZE)]
    cols = ["".join(cells[c::SIZE]) for c in range(SIZE)]
    return tuple(rows + cols)


@dataclass(frozen=True)
class Board:
    """The cells (25, row by row, "_" empty), the clues' statuses (10: 0 unfilled, 1 filled, 2 changed) and the
    number of fills made (`steps`)."""

    cells: tuple[str, ...] = (EMPTY,) * 25
    status: tuple[int, ...] = (UNFILLED,) * 10
    steps: int = 0

    @property
    def words(self) -> tuple[str, ...]:
        return words_of(self.cells)

    def fill(self, fill: Fill) -> Board:
        """The board after `fill`: its letters written (upper case), `steps` + 1, the filled clue's status 1, and
        every other clue one of whose non-empty letters changed marked 2 (changed), as the paper's env.step.
        `ConfigurationError` for a word that is not 5 letters once upper-cased ("ß" becomes "SS")."""
        cells = list(self.cells)
        k = clue_index(fill.clue)
        positions = range(k * SIZE, (k + 1) * SIZE) if k < SIZE else range(k - SIZE, 25, SIZE)
        letters = fill.word.upper()
        if len(letters) != SIZE:
            raise ConfigurationError(f"a fill writes 5 letters; {str(fill)[:40]!r} writes {len(letters)}")
        for pos, letter in zip(positions, letters, strict=True):
            cells[pos] = letter
        old, new = self.words, words_of(cells)
        status = [
            CHANGED if any(a != b and a != EMPTY for a, b in zip(before, after, strict=True)) else s
            for s, before, after in zip(self.status, old, new, strict=True)
        ]
        status[k] = FILLED
        return Board(tuple(cells), tuple(status), self.steps + 1)

    @property
    def changed(self) -> bool:
        """Whether a fill changed a letter already on the board (some clue's status is 2)."""
        return CHANGED in self.status

    def grid(self, sep: str = "") -> str:
        """The 5 rows, one a line, letters joined by `sep`."""
        return "\n".join(sep.join(self.cells[r * SIZE : (r + 1) * SIZE]) for r in range(SIZE))

    def render(self, clues: Sequence[str]) -> str:
        """The board as the propose prompt shows it (the paper's format, byte for byte: its replay keys on it):
        "Current Board:" and the rows, then the clues with their letters under "Unfilled:", "Filled:" and
        "Changed:" by status."""
        words = self.words

        def section(status: int) -> str:
            return "".join(
                f"{name}. {clue}: {word}\n"
                for name, clue, word, s in zip(CLUE_NAMES, clues, words, self.status, strict=True)
                if s == status
            )

        return (
            f"Current Board:\n{self.grid()}\n\nUnfilled:\n{section(UNFILLED)}\nFilled:\n{section(FILLED)}"
            f"\nChanged:\n{section(CHANGED)}"
        )

    def scores(self, answer: Sequence[str]) -> tuple[float, float, bool]:
        """(letter, word, game) against the 25 answer letters: the fraction of cells right, of the 10 words right,
        and whether the whole board is."""
        letters = sum(a == b for a, b in zip(self.cells, answer, strict=True))
        right = sum(a == b for a, b in zip(self.words, words_of(answer), strict=True))
        return letters / 25, right / 10, tuple(self.cells) == tuple(answer)
