"""A response cache on disk, one row per *sample*.

The key is the model, the whole request less `n`, and the sample index: asking for 30 samples stores 30 rows, and
a later request for 5 samples of the same prompt reads the first 5. Sampled calls never collapse into one.

A cache file is checked before it is trusted: at open, that it is SQLite, passes `PRAGMA integrity_check` (a
damaged key index would turn hits into silent misses; `quick_check` does not look there) and holds our `samples`
table (and no other tables); on every read, each row against its checksum. Any failure, there or in
a later query, is a `CacheError` that names the file and says what to do; the file is never rewritten to "fix" it
and a damaged row is never taken for a miss.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, NoReturn

from ..errors import CacheError
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
    created REAL NOT NULL DEFAULT (julianday('now')),
    checksum TEXT
)
"""
# Column -> declared type. `checksum` came later: files without it are migrated at open.
_COLUMNS = {
    "key": "TEXT",
    "model": "TEXT",
    "text": "TEXT",
    "finish_reason": "TEXT",
    "completion_tokens": "INTEGER",
    "prompt_tokens": "INTEGER",
    "created": "REAL",
    "checksum": "TEXT",
}
_ADVICE = "move it away or delete it (a new cache starts empty; its calls are made again)"
# integrity_check reads every page and checks every index against its table: ~0.2 s for 100k rows (80 MB). Above
# this size only the structure is checked (quick_check), so that opening a huge cache stays quick.
_FULL_CHECK_BYTES = 256 * 2**20


def sample_key(model: str, request: GenerationRequest, index: int) -> str:
    """The cache key of sample `index` of `request` on `model`."""
    blob = json.dumps(
        {"model": model, "request": request.sampling_key(), "sample": index},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _checksum(key: str, model: str, text: str, finish_reason: str, completion_tokens: int, prompt_tokens: int) -> str:
    """Binds a row's content to its key: a flipped byte, a hand edit or a row moved to another key shows.
    (It detects damage, not an adversary, who could recompute it.)"""
    blob = json.dumps([key, model, text, finish_reason, completion_tokens, prompt_tokens], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _damaged(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file itself is bad (rather than, say, locked or on a full disk)."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    text = str(exc).lower()
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or any(
        word in text for word in ("malformed", "not a database", "corrupt")
    )


class ResponseCache:
    """SQLite-backed sample cache. `path=":memory:"` keeps it in memory (tests, benchmarks).

    Writes go through one transaction per call, so a killed run leaves whole rows or none. A file that is not a
    valid SQLite database, is damaged, or holds anything but our table is reported (`CacheError`), never trusted
    or overwritten.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            self._fail("cannot be opened", exc)
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        try:
            # Checked before anything is written (the WAL switch, the table): a bad file is left exactly as found.
            file = Path(self.path)
            full = self.path == ":memory:" or not file.is_file() or file.stat().st_size <= _FULL_CHECK_BYTES
            check = "integrity_check" if full else "quick_check"
            verdict = [row[0] for row in self._db.execute(f"PRAGMA {check}").fetchall()]
        except sqlite3.Error as exc:
            if "not a database" in str(exc).lower():
                self._fail("is not a usable SQLite database", exc)
            if _damaged(exc):  # the check itself tripped over the damage: the same verdict as a failed check
                raise CacheError(
                    f"response cache {self.path} is damaged (integrity check: {exc}); {_ADVICE}", path=self.path
                ) from exc
            self._fail("failed its integrity check", exc)
        if verdict != ["ok"]:
            found = "; ".join(" ".join(str(v).split()) for v in verdict[:3])[:400]
            raise CacheError(f"response cache {self.path} is damaged ({found}); {_ADVICE}", path=self.path)
        try:
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            tables = {t for t in tables if not t.startswith("sqlite_")}
            if tables and "samples" not in tables:
                raise CacheError(
                    f"response cache {self.path} is another program's SQLite database (tables: "
                    f"{', '.join(sorted(tables)[:5])}), not a response cache; give another --cache path",
                    path=self.path,
                )
            if "samples" in tables:
                self._check_schema()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA cell_size_check=ON")  # a damaged page is an error when read, not garbage
            self._db.execute(_SCHEMA)
            self._migrate()
        except sqlite3.Error as exc:
            self._fail("could not be prepared", exc)

    def _check_schema(self) -> None:
        info = self._db.execute("PRAGMA table_info(samples)").fetchall()
        columns = {name: (kind.upper(), pk) for _, name, kind, _, _, pk in info}
        expected = {name: (kind, int(name == "key")) for name, kind in _COLUMNS.items()}
        if "checksum" not in columns:
            del expected["checksum"]  # a file from before checksums: migrated next
        wrong = sorted(n for n in columns.keys() | expected.keys() if columns.get(n) != expected.get(n))
        if wrong:
            raise CacheError(
                f"response cache {self.path} has a `samples` table of another schema (columns differ: "
                f"{', '.join(wrong)}); {_ADVICE}",
                path=self.path,
            )

    def _migrate(self) -> None:
        """Give rows without a checksum one: every row of a file from before checksums, and rows an older version
        of the toolkit added since. Checked again inside one write transaction, so that processes opening the
        same old file at once migrate it once; a file with nothing to do is not written to."""
        if self._migrated():
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if "checksum" not in self._columns():
                self._db.execute("ALTER TABLE samples ADD COLUMN checksum TEXT")
            rows = self._db.execute(
                "SELECT key, model, text, finish_reason, completion_tokens, prompt_tokens FROM samples "
                "WHERE checksum IS NULL"
            ).fetchall()
            self._db.executemany(
                "UPDATE samples SET checksum = ? WHERE key = ?", [(_checksum(*row), row[0]) for row in rows]
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _columns(self) -> set[str]:
        return {row[1] for row in self._db.execute("PRAGMA table_info(samples)")}

    def _migrated(self) -> bool:
        if "checksum" not in self._columns():
            return False
        return self._db.execute("SELECT 1 FROM samples WHERE checksum IS NULL LIMIT 1").fetchone() is None

    def _fail(self, what: str, exc: sqlite3.Error) -> NoReturn:
        """A `CacheError` for a failed SQLite call; a damaged file gets the advice, a locked or full one not."""
        advice = f"; {_ADVICE}" if _damaged(exc) else ""
        raise CacheError(f"response cache {self.path} {what}: {exc}{advice}", path=self.path) from exc

    def get_many(self, keys: list[str]) -> dict[str, tuple[Completion, int]]:
        """The cached completions (with the prompt token count) among `keys`."""
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        try:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT key, model, text, finish_reason, completion_tokens, prompt_tokens, checksum FROM samples "
                    f"WHERE key IN ({marks})",
                    keys,
                ).fetchall()
        except sqlite3.Error as exc:
            self._fail("could not be read", exc)
        found = {}
        for key, model, text, fr, ct, pt, checksum in rows:
            # NULL: written by an older version since this file was opened; filled at the next open.
            if checksum is not None and checksum != _checksum(key, model, text, fr, ct, pt):
                raise CacheError(
                    f"response cache {self.path}: the row for key {key[:16]}… fails its checksum (the file was "
                    f"damaged or edited); {_ADVICE}",
                    path=self.path,
                )
            found[key] = (Completion(text=text, finish_reason=fr, completion_tokens=ct), pt)
        return found

    def put_many(self, model: str, items: list[tuple[str, Completion]], prompt_tokens: int) -> None:
        rows: list[tuple[Any, ...]] = [
            (
                key,
                model,
                c.text,
                c.finish_reason,
                c.completion_tokens,
                prompt_tokens,
                _checksum(key, model, c.text, c.finish_reason, c.completion_tokens, prompt_tokens),
            )
            for key, c in items
        ]
        try:
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    self._db.executemany(
                        "INSERT OR IGNORE INTO samples (key, model, text, finish_reason, completion_tokens, "
                        "prompt_tokens, checksum) VALUES (?,?,?,?,?,?,?)",
                        rows,
                    )
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            self._fail("could not be written", exc)

    def __len__(self) -> int:
        try:
            with self._lock:
                (count,) = self._db.execute("SELECT COUNT(*) FROM samples").fetchone()
        except sqlite3.Error as exc:
            self._fail("could not be read", exc)
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
