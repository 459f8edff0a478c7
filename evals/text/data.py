"""The creative-writing tasks: lines of four sentences, the paper's `tot/text/data_100_random_text.txt` (100 lines)
by 0-based row range, or a file of the user's, one task a line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reasoning._words import counted
from reasoning.errors import ConfigurationError

from ..files import missing_shared_data, read_text, shared_data_dir, text_lines
from ..rows import parse_range as parse_rows

__all__ = ["DATA_FILE", "Sentences", "default_data_file", "load_tasks", "parse_range"]

DATA_FILE = "data_100_random_text.txt"


@dataclass(frozen=True)
class Sentences:
    """One task: its row in the file (0-based) and its four sentences, one line of text without its newline."""

    idx: int
    text: str


def default_data_file() -> Path:
    """`tot/text/data_100_random_text.txt` in the shared data folder (`evals.files.shared_data_dir`)."""
    return shared_data_dir() / "tot" / "text" / DATA_FILE


def parse_range(text: str) -> range:
    """`evals.rows.parse_range` with the paper's 100 rows as its example."""
    return parse_rows(text, example="0-99")


def load_tasks(*, file: str | Path | None = None, rows: range | None = None) -> list[Sentences]:
    """The tasks of `file` (default: the paper's 100), one a line (blank lines are not tasks but keep their row
    number out: rows count the file's lines), those in `rows` (default: all). `ConfigurationError` for a missing
    or unreadable file, a file with no task, or rows past its end."""
    path = Path(file) if file is not None else default_data_file()
    if file is None and not path.is_file():
        raise missing_shared_data("creative-writing tasks", path, "give --tasks-file")
    # Lines end at "\n" only (a "\r" before it is stripped with the task): str.splitlines would also cut at U+2028,
    # a form feed and other separators, and rows would not be the file's lines.
    lines = text_lines(read_text(path, "tasks file"))
    if not any(line.strip() for line in lines):
        raise ConfigurationError(f"{path} holds no tasks (one line of sentences each)")
    wanted = rows if rows is not None else range(len(lines))
    # No len(wanted): a range of 10^20 rows is refused here, not an OverflowError.
    if wanted.start < wanted.stop and wanted[-1] >= len(lines):
        shown = f"{wanted[0]}-{wanted[-1]}" if wanted[-1] > wanted[0] else str(wanted[0])
        raise ConfigurationError(f"--range {shown}: {path} has rows 0-{len(lines) - 1} ({counted(len(lines), 'line')})")
    return [Sentences(idx, lines[idx].strip()) for idx in wanted if lines[idx].strip()]
