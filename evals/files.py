"""What every eval's run folder needs from the file system: JSON-lines results that survive a kill, and files
replaced atomically.

A results file is appended one whole record at a time, each flushed to disk before the next; a process killed
mid-write leaves at most a partial last line, which `repair_tail` drops so a rerun redoes just that record.
Summaries and reports are replaced whole (`write_atomic`): a reader, or a rerun after a crash, sees the old file
or the new one, never a mix. Data files are read whole by `read_text`, which turns every way a file can be
wrong (missing, a folder, unreadable, not UTF-8) into one `ConfigurationError` naming it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from reasoning.errors import ConfigurationError

__all__ = [
    "SHARED_DATA_ENV",
    "append_lines",
    "has_records",
    "iter_lines",
    "missing_shared_data",
    "read_text",
    "repair_tail",
    "shared_data_dir",
    "text_lines",
    "write_atomic",
]

SHARED_DATA_ENV = "REASONING_SHARED_DATA"


def shared_data_dir() -> Path:
    """The project's shared data folder (`tot/24.csv`, the replay log, `turpin/`): `$REASONING_SHARED_DATA`, else
    `../shared/data` beside the checkout this package runs from, wherever the command is run from; else, for an
    installed copy with no checkout around it, `../shared/data` from the current directory."""
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"  # evals/ -> the checkout -> its parent
    here = Path.cwd().parent / "shared" / "data"
    return here if not beside.is_dir() and here.is_dir() else beside


def missing_shared_data(what: str, path: Path, instead: str) -> ConfigurationError:
    """The error for a default data file or folder that is not there: where it was looked for, and both ways out
    (`instead`, e.g. "give --puzzles-file or --puzzle"; or `$REASONING_SHARED_DATA`)."""
    env = os.environ.get(SHARED_DATA_ENV)
    fix = f"point ${SHARED_DATA_ENV} (now {env}) at" if env else f"set ${SHARED_DATA_ENV} to"
    return ConfigurationError(f"{what} not found: {path} ({instead}, or {fix} the shared data folder)")


def _regular(path: Path) -> None:
    """`ConfigurationError` for a pipe, a device or a socket where a file should be (reading one would wait forever,
    or never end); a folder is left to `open`'s own error."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise ConfigurationError(f"{path} is not a regular file (a pipe or a device?); move it")


def repair_tail(path: Path) -> bool:
    """Cut a partial last line (from a killed run) off `path`; whether there was one."""
    if not path.exists():
        return False
    _regular(path)
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    with path.open("r+b") as f:
        f.truncate(data.rfind(b"\n") + 1)
    return True


def append_lines(path: Path, lines: Iterable[str]) -> None:
    """Append whole lines (each without its newline) and flush them to disk before returning."""
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
        f.flush()
        os.fsync(f.fileno())


def write_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, then rename it over `path`: readers see old or new, whole.

    The temporary file has a name of its own (two writers never share one), is on disk (fsync) before the rename,
    keeps the mode of the file it replaces, and is removed if anything fails before the rename. Only a process
    killed between the write and the rename leaves one behind: `.NAME.PID.RANDOM.tmp`, hidden and never read.

    A pipe or a device (`/dev/stdout`, `/dev/null`) is written into, not replaced: a rename would put a regular file
    in its place. An error (`/dev/full`: ENOSPC) is an `OSError` naming `path`.
    """
    target = Path(path)
    if target.exists() and not target.is_file() and not target.is_dir():
        try:
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(target)) from None
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 less the umask, as open() gives
        with open(fd, "w", encoding="utf-8") as f:
            with contextlib.suppress(FileNotFoundError):
                os.fchmod(fd, stat.S_IMODE(target.stat().st_mode))  # a report the user made private stays so
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # else a crash soon after the rename can leave the new name on an empty file
        os.replace(tmp, target)
    except OSError as exc:  # named by the file the user knows, not the temporary one beside it
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_dir(target.parent)
    return target


def _sync_dir(folder: Path) -> None:
    """Make a rename durable; best effort, as some file systems cannot sync a directory."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_text(path: Path, what: str) -> str:
    """A data file's text, or a `ConfigurationError` naming the file (and the line, for bytes that are not UTF-8):
    missing, a folder, unreadable. A byte-order mark is dropped (spreadsheets and Windows editors write one)."""
    if path.is_dir():
        raise ConfigurationError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        raise ConfigurationError(f"{what} not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigurationError(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})") from None


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of `path` (none if it does not exist), numbered from 1, read one at a time.

    Lines end at "\n" only, as they are written and repaired (`str.splitlines` would also cut at U+2028 and other
    separators that JSON written with `ensure_ascii=False` keeps as they are). Bytes that are not UTF-8 are a
    `ConfigurationError` naming the file and line."""
    if not path.exists():
        return
    _regular(path)
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise ConfigurationError(f"{path}:{number}: not UTF-8 text; fix or move the file") from None
            if line.strip():
                yield number, line


def text_lines(text: str) -> list[str]:
    """A data file's text as its lines: cut at "\n" only, each line's "\r" dropped (a CRLF file), no empty line
    after a final "\n". `str.splitlines` would also cut at U+2028, U+0085, a form feed and other separators, so the
    line numbers and rows a user is told would not be the file's."""
    return [line.removesuffix("\r") for line in text.removesuffix("\n").split("\n")] if text else []


def has_records(path: Path) -> bool:
    """Whether the results file `path` holds a line (a run that failed before any item finished leaves none)."""
    return next(iter_lines(path), None) is not None
