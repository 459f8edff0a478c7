"""The status line every eval prints while it runs."""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["StatusLine"]


class StatusLine:
    """`[####....] done/total<fields> | seconds`: rewritten in place on a terminal, one line per update otherwise
    (logs, CI). Subclasses count what their records hold and pass it as `fields`."""

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.perf_counter()

    def show(self, done: int, fields: str) -> None:
        width = 24
        filled = int(width * done / max(1, self.total))
        bar = "#" * filled + "." * (width - filled)
        line = f"[{bar}] {done}/{self.total}{fields} | {time.perf_counter() - self.started:6.1f}s"
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
