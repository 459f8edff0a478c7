"""Loading game-of-24 puzzles: the paper's 24.csv (by 0-based row range), a user's file, or literals."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from reasoning.errors import ConfigurationError

from .arith import ExpressionError
from .task import normalize_puzzle

__all__ = ["Puzzle", "default_data_dir", "load_puzzles", "parse_range"]


@dataclass(frozen=True)
class Puzzle:
    idx: int
    numbers: str


def default_data_dir() -> Path:
    """`$REASONING_SHARED_DATA`, else `../shared/data` (the project's layout)."""
    return Path(os.environ.get("REASONING_SHARED_DATA") or Path.cwd().parent / "shared" / "data")


def parse_range(text: str) -> range:
    """ "900-999" (inclusive) or "950"."""
    try:
        if "-" in text:
            start, end = (int(p) for p in text.split("-", 1))
        else:
            start = end = int(text)
    except ValueError:
        raise ConfigurationError(f"a range is START-END, e.g. 900-999; got {text!r}") from None
    if start < 0 or end < start:
        raise ConfigurationError(f"bad range {text!r}")
    return range(start, end + 1)


def load_puzzles(
    *, literals: list[str] | None = None, file: str | Path | None = None, rows: range | None = None
) -> list[Puzzle]:
    """Literal puzzles win; else rows of a file: a CSV with a `Puzzles` column (the paper's), or one puzzle per
    line. Every puzzle is validated; a malformed one is a clear error naming its line."""
    if literals:
        try:
            return [Puzzle(i, normalize_puzzle(p)) for i, p in enumerate(literals)]
        except ExpressionError as exc:
            raise ConfigurationError(str(exc)) from None
    path = Path(file) if file is not None else default_data_dir() / "tot" / "24.csv"
    if not path.is_file():
        raise ConfigurationError(f"puzzle file not found: {path} (give --puzzles-file or --puzzle)")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if lines and "Puzzles" in lines[0].split(","):
        raw = [row["Puzzles"] for row in csv.DictReader(lines)]
    else:
        raw = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    wanted = rows if rows is not None else range(len(raw))
    out = []
    for idx in wanted:
        if idx >= len(raw):
            raise ConfigurationError(f"{path} has {len(raw)} puzzles; row {idx} is out of range")
        try:
            out.append(Puzzle(idx, normalize_puzzle(raw[idx])))
        except ExpressionError as exc:
            raise ConfigurationError(f"{path}, puzzle {idx}: {exc}") from None
    return out
