"""The paper's mini crosswords (`tot/crosswords/mini0505.json`, 156 games) and its 20 test games.

A game is `[clues, answer]`: 10 clues (h1..h5, then v1..v5) and the 25 answer letters, row by row. Games are
numbered by their place in mini0505.json. The paper tests on `mini0505[0:100:5]` (games 0, 5, ..., 95); its
published logs number those 0..19 (log game i is game 5i here).
"""

from __future__ import annotations

import json
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
        games = [Game(i, tuple(clues), tuple(letter.upper() for letter in answer)) for i, (clues, answer) in
                 enumerate(raw)]  # fmt: skip
    except (ValueError, TypeError, AttributeError, RecursionError):
        raise ConfigurationError(f"{file} is not a list of [10 clues, 25 letters] games (mini0505.json)") from None
    for game in games:
        if len(game.clues) != 10 or len(game.answer) != 25 or not all(isinstance(c, str) for c in game.clues):
            raise ConfigurationError(f"{file}: game {game.idx} is not [10 clues, 25 letters]")
    return games


def parse_games(text: str, count: int) -> list[int]:
    """Game numbers from "0,5,10", "0-9" (inclusive), "0-95:5" (every 5th) or "test" (the 20 test games), each
    below `count`; `ConfigurationError` saying what is wrong otherwise."""
    form = 'games are "test", numbers "0,5,10", a range "0-9" or a stepped range "0-95:5"'
    if text.strip() == "test":
        picked = list(TEST_GAMES)
    else:
        picked = []
        try:
            for part in text.split(","):
                span, _, step = part.strip().partition(":")
                start, dash, end = span.partition("-")
                first, last = int(start), int(end) if dash else int(start)
                stride = int(step) if step else 1
                if first < 0 or last < first or stride < 1:
                    raise ValueError
                picked.extend(range(first, last + 1, stride))
        except ValueError:
            raise ConfigurationError(f"--games {text}: {form}") from None
    over = [i for i in picked if i >= count]
    if over:
        raise ConfigurationError(f"--games {text}: game {over[0]} is past the file's {count} games (0-{count - 1})")
    return list(dict.fromkeys(picked))
