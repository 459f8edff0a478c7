"""Structured JSONL log of every engine call."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO, Any

__all__ = ["CallLog"]


class CallLog:
    """Appends one JSON object per call: request hash, tag, latency, tokens, cache hits, attempts, error, and how each
    sample was decoded where the backend says (`decoding`: `DecodingStats` fields, e.g. batch size, lookahead steps).

    It is given only the fields the engine chooses; requests' text, headers and API keys never reach it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
