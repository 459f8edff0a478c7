"""The status line every eval prints: it counts the records an earlier run wrote (and says how many), it is written
before the first item finishes, and it is kept alive while model calls are in flight, at most once per period."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import reasoning.cli
from evals.game24.data import Puzzle
from evals.game24.methods import MethodConfig
from evals.game24.runner import Progress, ResultsFile, run_eval, summarize
from evals.progress import StatusLine
from reasoning import Engine, GenerationRequest, ScriptedModel
from reasoning.engine import ResponseCache

from .test_identity import Models, audit, supericl, write_items, write_tsv

RIGHT = "Answer: (10 - 6) * 5 + 4 = 24"  # right for 4 5 6 10, wrong for any other puzzle


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    """Wait for `condition` (on a condition, not a clock: a slow machine only waits longer)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def status_lines(text: str) -> list[str]:
    return [line for line in text.replace("\r", "\n").splitlines() if line.startswith("[")]


async def test_game24_counts_resumed_puzzles_like_the_results_do(tmp_path: Path) -> None:
    # The reported case: a resumed run showed "10/10 success 30.0%" where its results say 80%.
    puzzles = [Puzzle(i, "4 5 6 10" if i < 8 else "1 1 4 6") for i in range(10)]
    results = ResultsFile(tmp_path / "results.jsonl")
    config = MethodConfig(method="io")
    async with Engine(ScriptedModel(lambda *_: RIGHT), cache=ResponseCache()) as engine:
        await run_eval(puzzles[:8], lambda _: engine, config, results, model="s",
                       progress=Progress(8, stream=io.StringIO()))  # fmt: skip
        stream = io.StringIO()
        records = await run_eval(puzzles, lambda _: engine, config, results, model="s",
                                 progress=Progress(10, stream=stream))  # fmt: skip
    assert summarize(records)["success"] == 0.8
    lines = status_lines(stream.getvalue())
    assert lines[0].startswith("[###################.....] 8/10 (8 resumed) success 100.0% |")
    assert lines[-1].startswith("[########################] 10/10 (8 resumed) success  80.0% |")


@pytest.mark.parametrize("name", ["audit", "supericl"])
def test_audit_and_supericl_say_how_many_records_were_resumed(monkeypatch, tmp_path, capsys, name) -> None:
    models = Models()
    monkeypatch.setattr(reasoning.cli, "make_engine", models.engine)
    if name == "audit":
        data = write_items(tmp_path)
        command = lambda limit: audit(tmp_path / "run", data, "--limit", limit)  # noqa: E731
    else:
        data = write_tsv(tmp_path)
        command = lambda limit: supericl(tmp_path / "run", data, "--limit", limit)  # noqa: E731
    assert reasoning.cli.main(command("2")) == 0
    capsys.readouterr()
    assert reasoning.cli.main(command("4")) == 0
    lines = status_lines(capsys.readouterr().err)
    assert lines[0].startswith("[############............] 2/4 (2 resumed) |"), lines
    assert lines[-1].startswith("[########################] 4/4 (2 resumed) |"), lines


async def test_the_line_is_written_at_once_and_kept_alive_while_calls_are_in_flight(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def slow(request: GenerationRequest, index: int) -> str:
        await release.wait()
        return RIGHT

    stream = io.StringIO()
    puzzles = [Puzzle(i, numbers) for i, numbers in enumerate(["4 5 6 10", "5 4 6 10", "6 5 4 10"])]  # 3 prompts
    async with Engine(ScriptedModel(slow), cache=ResponseCache()) as engine:
        progress = Progress(3, stream, period=0.02)
        run = asyncio.create_task(run_eval(puzzles, lambda _: engine, MethodConfig(method="io"),
                                           ResultsFile(tmp_path / "r.jsonl"), model="s", parallel=2, progress=progress,
                                           calls=lambda: engine.in_flight))  # fmt: skip
        # Before any puzzle finished: the first line at once, then the line again while two calls wait.
        await until(lambda: "in flight 2 (2 calls)" in stream.getvalue())
        lines = status_lines(stream.getvalue())
        assert lines[0].startswith("[........................] 0/3 success   0.0% |") and "| in flight 0" in lines[0]
        assert all(line.split("]")[1].startswith(" 0/3") for line in lines)
        release.set()
        await run
    assert status_lines(stream.getvalue())[-1].startswith("[########################] 3/3 success 100.0% |")


async def test_the_line_counts_the_calls_answered_before_any_item_finishes(tmp_path: Path) -> None:
    """A tree search's puzzle makes dozens of calls before its record counts any: with one engine shared by the run,
    the line says how many the engine has answered so far (a user saw "calls 0" for 48 minutes and thought it hung)."""
    release, asked = asyncio.Event(), []

    async def second_waits(request: GenerationRequest, index: int) -> str:
        asked.append(request)
        if len(asked) > 1:
            await release.wait()
        return RIGHT

    stream = io.StringIO()
    puzzles = [Puzzle(i, numbers) for i, numbers in enumerate(["4 5 6 10", "5 4 6 10"])]
    async with Engine(ScriptedModel(second_waits), cache=ResponseCache()) as engine:
        progress = Progress(2, stream, period=0.02)
        results = ResultsFile(tmp_path / "r.jsonl")
        run = asyncio.create_task(run_eval(puzzles, engine, MethodConfig(method="io"), results, model="s", parallel=2,
                                           progress=progress))  # fmt: skip
        await until(lambda: "in flight 1 (1 call, 1 answered)" in stream.getvalue())
        assert "in flight 0 (0 calls, 0 answered) |" in status_lines(stream.getvalue())[0]
        release.set()
        await run
    assert "| in flight 0 (0 calls, 2 answered) |" in status_lines(stream.getvalue())[-1]


def test_a_log_gets_a_line_at_most_every_30_seconds_a_terminal_every_2() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert StatusLine(1, io.StringIO()).period == 30.0
    assert StatusLine(1, Terminal()).period == 2.0


async def test_a_quiet_line_is_not_repeated_before_its_period(tmp_path: Path) -> None:
    stream = io.StringIO()
    line: StatusLine[object] = StatusLine(1, stream, period=3600.0)
    async with line.live():
        await asyncio.sleep(0.05)  # the ticker runs, finds the line fresh, and writes nothing
    assert len(status_lines(stream.getvalue())) == 1


def test_the_last_line_shows_nothing_in_flight_in_every_eval(monkeypatch, tmp_path, capsys) -> None:
    # The reported case: the line written for the last item said "in flight 1 (0 calls)" after all had finished.
    models = Models()
    monkeypatch.setattr(reasoning.cli, "make_engine", models.engine)
    commands = {
        "game24": ["game24", "run", "--method", "io", "--puzzle", "4 5 6 10", "--puzzle", "1 1 4 6", "--out",
                   str(tmp_path / "game24")],
        "audit": audit(tmp_path / "audit", write_items(tmp_path), "--limit", "2"),
        "supericl": supericl(tmp_path / "supericl", write_tsv(tmp_path), "--limit", "2"),
    }  # fmt: skip
    for name, argv in commands.items():
        assert reasoning.cli.main(argv) == 0, name
        lines = status_lines(capsys.readouterr().err)
        assert len(lines) >= 2 and "| in flight 0 (0 calls" in lines[-1], (name, lines)


async def test_a_record_is_counted_after_its_item_left_the_in_flight_count() -> None:
    stream = io.StringIO()
    line: StatusLine[str] = StatusLine(2, stream, period=3600.0)

    async def job(name: str) -> str:
        assert line.in_flight == 1
        return name

    async with line.live(lambda: 0):
        await line.track(job)("a")
        await line.track(job)("b")
    shown = status_lines(stream.getvalue())
    assert [s.split("] ")[1].split(" |")[0] for s in shown] == ["0/2", "1/2", "2/2"]
    assert all("| in flight 0 (0 calls) |" in s for s in shown)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_a_terminal_gets_a_bar_with_rate_eta_the_counts_and_what_is_in_flight() -> None:
    stream = Terminal()
    line = Progress(4, stream)  # game 24's: success so far, calls, tokens, dollars
    solved = {"success": 1.0, "calls": 2, "prompt_tokens": 10, "completion_tokens": 5, "dollars": 0.0}
    line.resume(solved)  # an earlier run's: counted, not in the rate

    async def job(record: dict[str, float]) -> dict[str, float]:
        return record

    async with line.live(lambda: 3):
        for record in (solved, {**solved, "success": 0.0}, solved):
            await line.track(job)(record)
    shown = stream.getvalue()
    first, last = shown.split("\r")[1], shown.rstrip("\n").split("\r")[-1]
    assert " 1/4 " in first and "?item/s" in first and "1 resumed" in first  # no rate before this run's first item
    assert "success 100.0% | calls 2 | tokens 15" in first and "in flight 0 (3 calls)" in first
    assert re.search(r"\| 4/4 \[\d\d:\d\d<00:00, +[\d.]+(item/s|s/item), 1 resumed \| success  75\.0% \|", last), last
    assert "in flight 0 (3 calls)" in last and shown.endswith("\n") and "\n" not in shown[:-1]  # redrawn in place


async def test_a_log_gets_one_plain_line_per_update() -> None:
    stream = io.StringIO()
    line: StatusLine[str] = StatusLine(3, stream, period=3600.0)

    async def job(name: str) -> str:
        return name

    async with line.live(lambda: 0):
        for name in "abc":
            await line.track(job)(name)
    shown = stream.getvalue()
    assert "\r" not in shown and len(shown.splitlines()) == 4 and shown.endswith("\n")  # at once, then per item
    assert shown.splitlines()[-1].startswith("[########################] 3/3 | in flight 0 (0 calls) |")


def _pty_stream(columns: int) -> tuple[int, io.TextIOWrapper]:
    """A real pseudo-terminal's reading end and its writing end as a text stream, `columns` wide (a new pty reports
    0 x 0, as `script`'s does)."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    reader, writer = pty.openpty()
    if columns:
        fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    return reader, io.TextIOWrapper(os.fdopen(writer, "wb", buffering=0), encoding="utf-8", write_through=True)


def _read_all(reader: int) -> str:
    import os
    import select

    chunks = []
    while select.select([reader], [], [], 0.5)[0]:
        try:
            chunk = os.read(reader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("columns", [0, 120])
def test_a_terminal_of_no_width_gets_the_plain_lines(columns: int) -> None:
    # Reported: under `script` (a pty of 0 x 0) a run showed no progress at all; tqdm drew its bar in 0 columns.
    reader, stream = _pty_stream(columns)
    try:
        line: StatusLine[int] = StatusLine(3, stream)
        assert line.tty is (columns > 0)
        for record in range(3):
            line.update(record)
        line.close()
        text = _read_all(reader)
    finally:
        stream.close()
        import os

        os.close(reader)
    if columns:
        assert "3/3" in text and status_lines(text) == []  # tqdm's bar ("100%|...| 3/3 [..."), no plain lines
    else:
        assert [line.split(" |")[0] for line in status_lines(text)] == [
            "[########................] 1/3",
            "[################........] 2/3",
            "[########################] 3/3",
        ]
