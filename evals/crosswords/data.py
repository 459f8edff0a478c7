"""The paper's mini crosswords (`tot/crosswords/mini0505.json`, 156 games) and its 20 test games.

A game is `[clues, answer]`: 10 clues (h1..h5, then v1..v5) and the 25 answer letters, row by row. Games are
numbered by their place in mini0505.json. The paper tests on `mini0505[0:100:5]` (games 0, 5, ..., 95); its
published logs number those 0..19 (log game i is game 5i here).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reasoning.errors import ConfigurationError

from ..files import missing_shared_data, read_text, shared_data_dir

__all__ = ["TEST_GAMES", "Game", "crosswords_dir", "load_games", "parse_games"]

TEST_GAMES = tuple(range(0, 100, 5))  # the paper's 20 test games, as mini0505.json indices
GAMES_FILE = "mini0505.json"


@dataclass(frozen=True)
class Game:
    """Game `idx` of mini0505.json: its 10 clues (h1..h5, v1..v5) and its 25 answer letters (upper case, row by
    row)."""

    idx: int
    clues: tuple[str, ...]
    answer: tuple[str, ...]

    def clue_lines(self) -> str:
        """The clues as the prompts give them: "h1. clue" lines, h1..h5 then v1..v5."""
        names = [f"h{i}" for i in range(1, 6)] + [f"v{i}" for i in range(1, 6)]
        return "\n".join(f"{n}. {c}" for n, c in zip(names, self.clues, strict=True))


def crosswords_dir() -> Path:
    """`tot/crosswords/` in the shared data folder (`evals.files.shared_data_dir`)."""
    return shared_data_dir() / "tot" / "crosswords"


def load_games(path: str | Path | None = None) -> list[Game]:
    """Every game of mini0505.json (default: the shared data's), checked: 10 clues and 25 letters each;
    `ConfigurationError` naming the file otherwise."""
    file = Path(path) if path is not None else crosswords_dir() / GAMES_FILE
    if path is None and not file.is_file():
        raise missing_shared_data("crosswords file", file, "give --games-file")
    try:
        raw = json.loads(read_text(file, "crosswords file"))
        if not isinstance(raw, list):
            raise TypeError("not a list")
        pairs = [(clues, answer) for clues, answer in raw]
    except (ValueError, TypeError, RecursionError):
        raise ConfigurationError(f"{file} is not a list of [10 clues, 25 letters] games (mini0505.json)") from None
    if not pairs:
        raise ConfigurationError(f"{file} holds no games (mini0505.json is a list of [10 clues, 25 letters])")
    games = []
    for idx, (clues, answer) in enumerate(pairs):
        # Lists both (a string is not 10 clues, nor 25 letters); each answer cell one letter A-Z.
        letters = isinstance(answer, list) and len(answer) == 25 and all(map(_letter, answer))
        if not (isinstance(clues, list) and len(clues) == 10 and all(isinstance(c, str) for c in clues) and letters):
            raise ConfigurationError(f"{file}: game {idx} is not [10 clues, 25 letters A-Z]")
        games.append(Game(idx, tuple(clues), tuple(a.upper() for a in answer)))
    return games


def _letter(cell: object) -> bool:
    return isinstance(cell, str) and len(cell) == 1 and cell.isascii() and cell.isalpha()


def parse_games(text: str, count: int) -> list[int]:
    """Game numbers from "0,5,10", "0-9" (inclusive), "0-95:5" (every 5th) or "test" (the 20 test games), each
    below `count`; `ConfigurationError` saying what is wrong otherwise."""
    form = 'games are "test", numbers "0,5,10", a range "0-9" or a stepped range "0-95:5"'
    if text.strip() == "test":
        spans: list[Sequence[int]] = [TEST_GAMES]
    else:
        spans = []
        try:
            for part in text.split(","):
                span, _, step = part.strip().partition(":")
                start, dash, end = span.partition("-")
                first, last = int(start), int(end) if dash else int(start)
                stride = int(step) if step else 1
                if first < 0 or last < first or stride < 1:
                    raise ValueError
                spans.append(range(first, last + 1, stride))
        except ValueError:
            raise ConfigurationError(f"--games {text}: {form}") from None
    # Checked before any span is listed: "0-99999999999" names a game past the file, not a list of 10^11 numbers.
    over = [next(i for i in span if i >= count) for span in spans if span[-1] >= count]
    if over:
        raise ConfigurationError(f"--games {text}: game {over[0]} is past the file's {count} games (0-{count - 1})")
    return list(dict.fromkeys(i for span in spans for i in span))
