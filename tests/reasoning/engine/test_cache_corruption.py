"""A damaged cache file is reported (`CacheError`, naming the file and what to do), never trusted, never taken
for misses and never overwritten: garbage over pages, a truncated file, a damaged index, a flipped byte in a row,
hand edits, a `samples` table of another schema, another program's database, errors in later queries. Old cache
files (before row checksums) are migrated in place."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reasoning import CacheError, Completion, ConfigurationError, Engine, ReasoningError, ResponseCache, ScriptedModel
from reasoning.engine import cache as cache_module

ADVICE = "move it away or delete it"
OLD_SCHEMA = """
CREATE TABLE samples (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    completion_tokens INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
)
"""


def key(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


KEYS = [key(i) for i in range(1000)]


def filled(path: Path, count: int = 200) -> bytes:
    """A closed cache file of `count` rows (about 100 KB at 200); its bytes."""
    cache = ResponseCache(path)
    for start in range(0, count, 20):
        rows = [(KEYS[i], Completion(text=f"text {i} " + "x" * 300, finish_reason="stop", completion_tokens=3))
                for i in range(start, min(count, start + 20))]  # fmt: skip
        cache.put_many("m", rows, 5)
    cache.close()
    return path.read_bytes()


def refused(path: Path, match: str) -> CacheError:
    """Opening `path` fails with a CacheError that names it and says what to do; the file is left as it was."""
    before = path.read_bytes()
    with pytest.raises(CacheError, match=match) as info:
        ResponseCache(path)
    assert str(path) in str(info.value) and info.value.path == str(path)
    assert isinstance(info.value, ConfigurationError)  # what callers caught before CacheError existed
    assert path.read_bytes() == before
    return info.value


def page_of(path: Path, name: str) -> tuple[int, int]:
    """The byte range of the root page of table or index `name`."""
    with sqlite3.connect(path) as db:
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    return (root - 1) * size, root * size


MIDDLE = 50_000
DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "garbage-page": lambda d: d[:MIDDLE] + os.urandom(4096) + d[MIDDLE + 4096 :],
    "garbage-100-bytes": lambda d: d[:MIDDLE] + bytes(range(100)) + d[MIDDLE + 100 :],
    "truncated-to-half": lambda d: d[: len(d) // 2],
    "truncated-mid-page": lambda d: d[: len(d) // 2 + 123],
    "header-garbage": lambda d: d[:16] + b"\xff" * 84 + d[100:],
    "not-sqlite": lambda d: b"this is not a database" * 100,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_is_refused_at_open(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(DAMAGE[damage](filled(path)))
    error = refused(path, "damaged|not a usable SQLite database|integrity check")
    assert ADVICE in str(error)


def test_a_damaged_key_index_is_not_taken_for_misses(tmp_path: Path) -> None:
    """Garbling one key in the primary-key index leaves the file's structure sound (quick_check passes), but the
    row could no longer be found: a silent miss. The open-time integrity check compares index and table."""
    path = tmp_path / "cache.sqlite"
    data = bytearray(filled(path, count=20))
    start, end = page_of(path, "sqlite_autoindex_samples_1")
    at = data.find(KEYS[7].encode(), start, end)
    assert at > 0
    data[at + 60 : at + 64] = b"0000" if data[at + 60 : at + 64] != b"0000" else b"1111"
    path.write_bytes(bytes(data))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    db.close()
    assert "missing from index" in str(refused(path, "damaged"))


def test_a_flipped_byte_in_a_row_fails_its_checksum_when_read(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    data = filled(path)
    at = data.find(b"text 57 ")
    path.write_bytes(data[:at] + b"TEXT" + data[at + 4 :])  # the structure is intact: only the text differs
    before = path.read_bytes()
    cache = ResponseCache(path)
    assert len(cache.get_many(KEYS[:50])) == 50  # other rows read as before
    with pytest.raises(CacheError, match=f"{path}.*fails its checksum.*{ADVICE}"):
        cache.get_many(KEYS[50:60])
    cache.close()
    assert path.read_bytes()[:at] == before[:at] and b"TEXT 57 " in path.read_bytes()  # not repaired, not dropped


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE samples SET text = 'edited' WHERE key = '{k}'",
        "UPDATE samples SET prompt_tokens = 999 WHERE key = '{k}'",
        "UPDATE samples SET finish_reason = 'length' WHERE key = '{k}'",
        # Two rows' contents swapped between their keys: each row is well-formed, but answers the other request.
        "UPDATE samples SET key = 'tmp' WHERE key = '{k}'; UPDATE samples SET key = '{k}' WHERE key = '{k2}'; "
        "UPDATE samples SET key = '{k2}' WHERE key = 'tmp'",
    ],
    ids=["text", "tokens", "finish", "swapped-keys"],
)
def test_a_hand_edited_row_fails_its_checksum(tmp_path: Path, edit: str) -> None:
    path = tmp_path / "cache.sqlite"
    filled(path, count=20)
    with sqlite3.connect(path) as db:
        db.executescript(edit.format(k=KEYS[3], k2=KEYS[4]))
    db.close()
    cache = ResponseCache(path)
    with pytest.raises(CacheError, match="fails its checksum"):
        cache.get_many([KEYS[3]])
    cache.close()


@pytest.mark.parametrize(
    "schema",
    [
        "CREATE TABLE samples (key TEXT PRIMARY KEY, value TEXT)",
        OLD_SCHEMA.replace("completion_tokens INTEGER", "completion_tokens TEXT"),
        OLD_SCHEMA.replace("key TEXT PRIMARY KEY", "key TEXT"),
        OLD_SCHEMA.replace("created REAL", "extra TEXT, created REAL"),
        OLD_SCHEMA.replace("created REAL NOT NULL DEFAULT (julianday('now'))", "created REAL, checksum BLOB"),
    ],
    ids=["other-columns", "column-type", "no-primary-key", "extra-column", "checksum-type"],
)
def test_a_samples_table_of_another_schema_is_refused(tmp_path: Path, schema: str) -> None:
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(schema)
    db.close()
    assert ADVICE in str(refused(path, "`samples` table of another schema"))


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('ada')")
    db.close()
    refused(path, "another program's SQLite database .tables: users.")
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["users"]  # no table added
    db.close()


def old_cache(path: Path, count: int) -> None:
    """A cache file as versions before row checksums wrote it."""
    with sqlite3.connect(path) as db:
        db.execute(OLD_SCHEMA)
        db.executemany(
            "INSERT INTO samples (key, model, text, finish_reason, completion_tokens, prompt_tokens) "
            "VALUES (?,?,?,?,?,?)",
            [(KEYS[i], "m", f"old {i}", "stop", 2, 7) for i in range(count)],
        )
    db.close()


def test_an_old_cache_file_is_migrated_and_then_protected(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    old_cache(path, 30)
    cache = ResponseCache(path)
    hits = cache.get_many(KEYS[:30])
    assert [hits[k][0].text for k in KEYS[:30]] == [f"old {i}" for i in range(30)] and hits[KEYS[0]][1] == 7
    cache.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM samples WHERE checksum IS NULL").fetchone() == (0,)
        db.execute("UPDATE samples SET text = 'edited' WHERE key = ?", (KEYS[5],))
        # A row as an older version of the toolkit, sharing the file, writes it: no checksum.
        db.execute("INSERT INTO samples (key, model, text, finish_reason, completion_tokens, prompt_tokens) "
                   "VALUES (?, 'm', 'from an old version', 'stop', 1, 1)", (KEYS[40],))  # fmt: skip
    db.close()
    cache = ResponseCache(path)
    assert cache.get_many([KEYS[40]])[KEYS[40]][0].text == "from an old version"  # given its checksum at open
    with pytest.raises(CacheError, match="fails its checksum"):
        cache.get_many([KEYS[5]])
    cache.close()


def test_processes_opening_an_old_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    old_cache(path, 500)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        try:
            barrier.wait()
            cache = ResponseCache(path)
            assert len(cache.get_many(KEYS[:100])) == 100
            cache.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


class FailingDb:
    """Stands in for the SQLite connection of an open cache whose file goes bad (or is locked) afterwards."""

    def __init__(self, error: sqlite3.Error) -> None:
        self.error = error
        self.in_transaction = False

    def execute(self, *args: Any) -> Any:
        raise self.error

    executemany = execute

    def close(self) -> None:
        pass


def test_errors_in_later_queries_are_cache_errors(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path)
    real = cache._db
    cache._db = FailingDb(sqlite3.DatabaseError("database disk image is malformed"))  # type: ignore[assignment]
    row = [(KEYS[0], Completion(text="a", finish_reason="stop"))]
    for call in (lambda: cache.get_many(KEYS[:2]), lambda: cache.put_many("m", row, 1), lambda: len(cache)):
        with pytest.raises(CacheError, match=f"{path} could not be (read|written): database disk image is malformed; "
                                             f"{ADVICE}"):  # fmt: skip
            call()
    # A locked file is not a damaged one: no advice to delete it.
    cache._db = FailingDb(sqlite3.OperationalError("database is locked"))  # type: ignore[assignment]
    with pytest.raises(CacheError, match=r"database is locked$"):
        cache.get_many(KEYS[:2])
    cache._db = real
    cache.close()


def test_the_engine_and_the_cli_report_a_damaged_cache_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(DAMAGE["garbage-page"](filled(path)))
    before = path.read_bytes()
    with pytest.raises(CacheError):
        Engine(ScriptedModel(lambda r, i: "x"), cache=path)
    out = subprocess.run([sys.executable, "-m", "reasoning.cli", "generate", "hi", "--base-url",
                          "http://127.0.0.1:9/v1", "--model", "m", "--cache", str(path)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"reasoning: error: response cache {path} is damaged") and ADVICE in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and path.read_bytes() == before


def test_cache_error_is_exported_and_in_the_hierarchy() -> None:
    import reasoning.errors

    assert "CacheError" in reasoning.errors.__all__ and issubclass(CacheError, ReasoningError)
    assert "CacheError" in (reasoning.errors.__doc__ or "")
    assert cache_module.CacheError is CacheError
