"""What every eval's run folder needs from the file system: JSON-lines results that survive a kill, and files
replaced atomically.

A results file is appended one whole record at a time, each flushed to disk before the next; a process killed
mid-write leaves at most a partial last line, which `repair_tail` drops so a rerun redoes just that record.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["append_lines", "numbered_lines", "repair_tail", "write_atomic"]


def repair_tail(path: Path) -> bool:
    """Cut a partial last line (from a killed run) off `path`; whether there was one."""
    if not path.exists():
        return False
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    with path.open("r+b") as f:
        f.truncate(data.rfind(b"\n") + 1)
    return True


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of `path` (none if it does not exist), numbered from 1 for error messages."""
    if not path.exists():
        return
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            yield number, line


def append_lines(path: Path, lines: Iterable[str]) -> None:
    """Append whole lines (each without its newline) and flush them to disk before returning."""
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
        f.flush()
        os.fsync(f.fileno())


def write_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, then rename it over `path`: readers see old or new, whole."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target
