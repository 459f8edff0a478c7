"""Loading game-of-24 puzzles: the paper's 24.csv (by 0-based row range), a user's file, or literals."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from reasoning._words import counted
from reasoning.errors import ConfigurationError

from ..files import missing_shared_data, read_text, shared_data_dir, text_lines
from ..rows import parse_range as parse_rows
from .arith import ExpressionError
from .task import normalize_puzzle

__all__ = ["Puzzle", "default_data_dir", "load_puzzles", "parse_range"]


@dataclass(frozen=True)
class Puzzle:
    idx: int
    numbers: str


def default_data_dir() -> Path:
    """`$REASONING_SHARED_DATA`, else the project's `../shared/data` (`evals.files.shared_data_dir`)."""
    return shared_data_dir()


def parse_range(text: str) -> range:
    """`evals.rows.parse_range` with the paper's test rows as its example."""
    return parse_rows(text, example="900-999")


def _rows(path: Path, text: str) -> list[tuple[int, str]]:
    # (line number, puzzle text) for each puzzle of the file, in order.
    lines = text_lines(text)
    if lines and "Puzzles" in (c.strip() for c in lines[0].split(",")):
        reader = csv.DictReader(lines)
        try:
            # A short row has no Puzzles cell (None): the puzzle check reports it with its line.
            return [(reader.line_num, row["Puzzles"] or "") for row in reader]
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise ConfigurationError(f"{path}:{reader.reader.line_num}: not a CSV row ({exc})") from None
    return [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")]


def load_puzzles(
    *, literals: list[str] | None = None, file: str | Path | None = None, rows: range | None = None
) -> list[Puzzle]:
    """Literal puzzles win; else rows of a file: a CSV with a `Puzzles` column (the paper's), or one puzzle per
    line. Every puzzle is validated; a malformed one is a clear error naming its file and line."""
    if literals:
        try:
            return [Puzzle(i, normalize_puzzle(p)) for i, p in enumerate(literals)]
        except ExpressionError as exc:
            raise ConfigurationError(str(exc)) from None
    path = Path(file) if file is not None else default_data_dir() / "tot" / "24.csv"
    if file is None and not path.is_file():
        raise missing_shared_data("puzzle file", path, "give --puzzles-file or --puzzle")
    raw = _rows(path, read_text(path, "puzzle file"))
    if not raw:
        raise ConfigurationError(f"{path} holds no puzzles")
    wanted = rows if rows is not None else range(len(raw))
    out = []
    for idx in wanted:  # in order: a malformed puzzle before the range's end is named first
        if idx >= len(raw):
            first, last = wanted[0], wanted[-1]  # not len(wanted): a range of 10**20 rows has none
            rows_text = f"{first}-{last}" if last != first else str(first)
            count = counted(len(raw), "puzzle")
            raise ConfigurationError(f"--range {rows_text}: {path} has rows 0-{len(raw) - 1} ({count})")
        line, text = raw[idx]
        try:
            out.append(Puzzle(idx, normalize_puzzle(text)))
        except ExpressionError as exc:
            raise ConfigurationError(f"{path}:{line}: puzzle {idx}: {exc}") from None
    return out
