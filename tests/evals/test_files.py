"""`write_atomic` never leaves a half-written file: a write that fails midway, a process killed before the rename
and a reader racing the writers all see the old content or the new, whole."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import evals.files
from evals.files import write_atomic

OLD = "old report\n" * 1000
NEW = "new report, much longer\n" * 50_000


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    assert write_atomic(target, OLD) == target and target.read_text() == OLD
    write_atomic(str(target), NEW)
    assert target.read_text() == NEW and leftovers(target.parent) == []


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: Any) -> None:
    target = tmp_path / "summary.json"
    write_atomic(target, OLD)
    real_open = open

    class DiskFull:
        """The file object of a disk that fills up half way through the text."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.file = real_open(*args, **kwargs)

        def __enter__(self) -> DiskFull:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, text: str) -> int:
            self.file.write(text[: len(text) // 2])
            self.file.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.file, name)

    monkeypatch.setattr(evals.files, "open", DiskFull, raising=False)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, NEW)
    assert target.read_text() == OLD and leftovers(tmp_path) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failure_before_the_rename_leaves_the_old_file(tmp_path: Path, monkeypatch: Any, step: str) -> None:
    target = tmp_path / "run.json"
    write_atomic(target, OLD)

    def broken(*args: object) -> None:
        raise OSError(errno.EIO, f"{step} failed")

    monkeypatch.setattr(evals.files.os, step, broken)
    with pytest.raises(OSError, match=f"{step} failed"):
        write_atomic(target, NEW)
    monkeypatch.undo()
    assert target.read_text() == OLD and leftovers(tmp_path) == []


def test_a_process_killed_before_the_rename_leaves_the_old_file(tmp_path: Path) -> None:
    """Killed (SIGKILL: no cleanup runs) right after the new text is on disk, before the rename."""
    target = tmp_path / "report.html"
    write_atomic(target, OLD)
    script = (
        "import os, signal, sys\n"
        "import evals.files\n"
        "evals.files.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "evals.files.write_atomic(sys.argv[1], 'new' * 100000)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, timeout=60)
    assert out.returncode == -9
    assert target.read_text() == OLD
    # The temporary file is all that is left: hidden, and never read as the report.
    assert [name.startswith(".report.html.") for name in leftovers(tmp_path)] == [True]


def test_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    write_atomic(target, OLD)
    target.chmod(0o600)
    write_atomic(target, NEW)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    fresh = write_atomic(tmp_path / "fresh.html", OLD)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_pipe_or_device_is_written_into_not_replaced(tmp_path: Path) -> None:
    # `--html /dev/stdout`, or /dev/full: renaming over it replaced the device with a regular file (as root, for
    # every other process too), and a full device's error went unsaid.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert write_atomic(pipe, "a page\n") == pipe
        assert stat.S_ISFIFO(pipe.stat().st_mode) and not leftovers(tmp_path)
        assert os.read(reader, 100) == b"a page\n"
    finally:
        os.close(reader)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_device_is_an_os_error_naming_it() -> None:
    if not stat.S_ISCHR(os.stat("/dev/full").st_mode):
        pytest.skip("/dev/full is not a device here")
    with pytest.raises(OSError, match=r"No space left on device.*/dev/full") as caught:
        write_atomic("/dev/full", "a page\n")
    assert caught.value.errno == errno.ENOSPC and stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_readers_racing_two_writers_see_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    texts = ("A" * 300_000, "B" * 200_000)
    write_atomic(target, texts[0])
    stop = threading.Event()
    seen: set[str] = set()

    def writer(text: str) -> None:
        while not stop.is_set():
            write_atomic(target, text)

    threads = [threading.Thread(target=writer, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    try:
        for _ in range(300):
            content = target.read_text()
            seen.add("A" if content == texts[0] else "B" if content == texts[1] else f"partial {len(content)}")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert seen <= {"A", "B"}, seen
    assert leftovers(tmp_path) == []


# -- where the shared data is looked for ---------------------------------------------------------------------------
CHECKOUT_DATA = Path(evals.files.__file__).resolve().parents[2] / "shared" / "data"


def test_the_default_shared_data_is_beside_the_checkout_not_the_current_directory(monkeypatch, tmp_path) -> None:
    # The reported case: from any folder but the repository, the default resolved to `../shared/data` of the
    # current directory (`/tmp/shared/data/tot/24.csv` from /tmp) and the puzzles were "not found".
    monkeypatch.delenv(evals.files.SHARED_DATA_ENV, raising=False)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert evals.files.shared_data_dir() == CHECKOUT_DATA
    monkeypatch.setenv(evals.files.SHARED_DATA_ENV, str(tmp_path / "mine"))
    assert evals.files.shared_data_dir() == tmp_path / "mine"  # the variable wins


def test_a_default_data_file_not_found_names_the_variable(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(evals.files.SHARED_DATA_ENV, raising=False)
    error = evals.files.missing_shared_data("puzzle file", tmp_path / "24.csv", "give --puzzles-file or --puzzle")
    assert str(error) == (f"puzzle file not found: {tmp_path / '24.csv'} (give --puzzles-file or --puzzle, or set "
                          "$REASONING_SHARED_DATA to the shared data folder)")  # fmt: skip
    monkeypatch.setenv(evals.files.SHARED_DATA_ENV, "/nowhere")
    error = evals.files.missing_shared_data("puzzle file", Path("/nowhere/tot/24.csv"), "give --puzzle")
    assert str(error).endswith("(give --puzzle, or point $REASONING_SHARED_DATA (now /nowhere) at the shared data "
                               "folder)")  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["game24", "run", "--backend", "replay", "--range", "900-901"],
         "puzzle file not found: {data}/tot/24.csv (give --puzzles-file or --puzzle, or point "
         "$REASONING_SHARED_DATA (now {data}) at the shared data folder)"),
        (["game24", "run", "--backend", "replay", "--puzzle", "4 5 6 10"],
         "replay log not found: {data}/tot/gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json (give "
         "--replay-log, or point $REASONING_SHARED_DATA (now {data}) at the shared data folder)"),
        (["audit", "run", "--tasks", "navigate"],
         "Turpin et al. data folder not found: {data}/turpin (give --data, or --items without --tasks, or point "
         "$REASONING_SHARED_DATA (now {data}) at the shared data folder)"),
        (["supericl", "run"],
         "Turpin et al. data folder not found: {data}/turpin (give --data, or --train-file and --test-file, or "
         "point $REASONING_SHARED_DATA (now {data}) at the shared data folder)"),
    ],
    ids=["game24-puzzles", "game24-replay-log", "audit", "supericl"],
)  # fmt: skip
def test_every_eval_says_where_its_default_data_was_looked_for(monkeypatch, tmp_path, capsys, argv, message) -> None:
    import reasoning.cli

    data = tmp_path / "no-data"
    monkeypatch.setenv(evals.files.SHARED_DATA_ENV, str(data))
    monkeypatch.chdir(tmp_path)
    assert reasoning.cli.main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"reasoning: error: {message.format(data=data)}\n"
