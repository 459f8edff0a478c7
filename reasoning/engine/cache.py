"""A response cache on disk, one row per *sample*.

The key is the model, the whole request less `n`, and the sample index: asking for 30 samples stores 30 rows, and
a later request for 5 samples of the same prompt reads the first 5. Sampled calls never collapse into one.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..types import Completion, GenerationRequest

__all__ = ["ResponseCache", "sample_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    completion_tokens INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
)
"""


def sample_key(model: str, request: GenerationRequest, index: int) -> str:
    """The cache key of sample `index` of `request` on `model`."""
    blob = json.dumps(
        {"model": model, "request": request.sampling_key(), "sample": index},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """SQLite-backed sample cache. `path=":memory:"` keeps it in memory (tests, benchmarks).

    Writes go through one transaction per call, so a killed run leaves whole rows or none. A file that is not a
    valid SQLite database is reported, never trusted or overwritten.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.execute("SELECT key FROM samples LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(f"response cache {self.path} is not a usable SQLite database: {exc}") from exc

    def get_many(self, keys: list[str]) -> dict[str, tuple[Completion, int]]:
        """The cached completions (with the prompt token count) among `keys`."""
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        with self._lock:
            rows = self._db.execute(
                f"SELECT key, text, finish_reason, completion_tokens, prompt_tokens FROM samples "
                f"WHERE key IN ({marks})",
                keys,
            ).fetchall()
        return {
            key: (Completion(text=text, finish_reason=fr, completion_tokens=ct), pt) for key, text, fr, ct, pt in rows
        }

    def put_many(self, model: str, items: list[tuple[str, Completion]], prompt_tokens: int) -> None:
        rows: list[tuple[Any, ...]] = [
            (key, model, c.text, c.finish_reason, c.completion_tokens, prompt_tokens) for key, c in items
        ]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO samples "
                    "(key, model, text, finish_reason, completion_tokens, prompt_tokens) VALUES (?,?,?,?,?,?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM samples").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
