"""The harness on a toy eval: resume, the one identity rule, sessions released, outputs on interruption."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from evals.harness import Eval, RunHeader, escape, open_folder, page, run_eval
from evals.progress import StatusLine
from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.errors import ConfigurationError, InterfaceError
from reasoning.session import Session


class Info(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    identity: dict[str, Any] = {}


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    answer: str
    correct: bool
    calls: int


class Echo(Eval[tuple[str, str], Record, Info]):
    """Each sample is (question, gold); the record says whether the model's reply is the gold answer."""

    name = "echo"
    what = "an echo record"
    info_type = Info
    info_what = "an echo run file"

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self.items = items

    def samples(self) -> Iterable[tuple[str, str]]:
        return iter(self.items)

    def key(self, sample: tuple[str, str]) -> str:
        return sample[0]

    def planned(self) -> Collection[str]:
        return [q for q, _ in self.items]

    async def solve(self, sample: tuple[str, str], session: Session) -> Record:
        result = await session.generate(GenerationRequest(prompt=sample[0], max_tokens=4), kind="answer")
        return Record(key=sample[0], answer=result.text, correct=result.text == sample[1], calls=session.spend.calls)

    def read(self, raw: Any) -> Record:
        return Record.model_validate(raw)

    def write(self, record: Record) -> str:
        return record.model_dump_json()

    def record_key(self, record: Record) -> str:
        return record.key

    def info(self, model: str, identity: dict[str, Any], previous: Info | None) -> Info:
        return Info(model=model, identity=identity)

    def progress(self, total: int) -> StatusLine[Record]:
        return StatusLine(total)

    def summarize(self, records: Sequence[Record], info: Info) -> dict[str, Any]:
        return {"model": info.model, "n": len(records), "accuracy": sum(r.correct for r in records) / len(records)}

    def render(self, records: Sequence[Record], summary: dict[str, Any], info: Info) -> str:
        rows = "".join(f"<li>{escape(r.key)}: {escape(r.answer)}</li>" for r in sorted(records, key=lambda r: r.key))
        return page(f"echo — {info.model}", f"<ul>{rows}</ul>")

    def format_summary(self, summary: dict[str, Any]) -> str:
        return f"accuracy {summary['accuracy']:.2f}"


ITEMS = [(f"q{i}", f"a{i}") for i in range(6)]


def answer(request: GenerationRequest, k: int) -> str:
    assert request.prompt is not None
    return "a" + request.prompt[1:] if request.prompt != "q3" else "wrong"


async def test_a_run_writes_every_record_and_its_outputs_and_a_rerun_resumes(tmp_path: Path) -> None:
    model = ScriptedModel(answer)
    async with Engine(model, cache=ResponseCache(tmp_path / "cache.sqlite")) as engine:
        records, summary = await run_eval(Echo(ITEMS[:4]), tmp_path, engine, model="scripted", identity={"--x": 1})
        assert len(records) == 4 and summary == {"model": "scripted", "n": 4, "accuracy": 0.75}
        assert engine.ledger.by_tag == {}  # every sample's session released its tag
        records, summary = await run_eval(Echo(ITEMS), tmp_path, engine, model="scripted", identity={"--x": 1})
    assert len(model.calls) == 6  # the rerun asked only for the two new items
    assert summary == {"model": "scripted", "n": 6, "accuracy": 5 / 6}
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert "<li>q5: a5</li>" in (tmp_path / "report.html").read_text()
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["identity"] == {"--x": 1, "--model": "scripted"}
    header = RunHeader.model_validate(run["header"])
    assert header.eval == "echo" and header.toolkit_version


async def test_a_rerun_with_another_option_or_model_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    async with Engine(ScriptedModel(answer)) as engine:
        await run_eval(Echo(ITEMS[:2]), tmp_path, engine, model="scripted", identity={"--x": 1})
        before = files(tmp_path)
        with pytest.raises(ConfigurationError, match=r"\(--x 1 there, 2 now\)"):
            await run_eval(Echo(ITEMS), tmp_path, engine, model="scripted", identity={"--x": 2})
        with pytest.raises(ConfigurationError, match=r"\(--model 'scripted' there, 'other' now\)"):
            await run_eval(Echo(ITEMS), tmp_path, engine, model="other", identity={"--x": 1})
    assert files(tmp_path) == before


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


async def test_a_failing_sample_leaves_the_finished_ones_on_disk_and_reported(tmp_path: Path) -> None:
    def flaky(request: GenerationRequest, k: int) -> str:
        if request.prompt == "q4":
            raise ValueError("boom")
        return answer(request, k)

    async with Engine(ScriptedModel(flaky)) as engine:
        with pytest.raises(Exception, match="boom"):
            await run_eval(Echo(ITEMS), tmp_path, engine, model="scripted", parallel=1)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == 4  # q0..q3 finished before q4 failed; q5 never started


async def test_a_cancelled_run_still_writes_its_partial_outputs(tmp_path: Path) -> None:
    gate = asyncio.Event()

    async def slow(request: GenerationRequest, k: int) -> str:
        if request.prompt != "q0":
            await gate.wait()  # never set: only q0 finishes
        return answer(request, k)

    written = asyncio.Event()

    class Watched(Echo):
        def write(self, record: Record) -> str:
            written.set()  # the record's line is appended right after, with no await in between
            return super().write(record)

    async with Engine(ScriptedModel(slow)) as engine:
        task = asyncio.create_task(run_eval(Watched(ITEMS), tmp_path, engine, model="scripted", parallel=2))
        await written.wait()
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert json.loads((tmp_path / "summary.json").read_text())["n"] == 1


def test_a_run_json_of_another_kind_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text('{"identity": [1]}\n')
    with pytest.raises(
        ConfigurationError, match=r"run.json is not an echo run file \(model: field required\); fix or move it"
    ):
        open_folder(Echo, tmp_path).info()


async def test_a_folder_of_another_eval_is_refused_by_name(tmp_path: Path) -> None:
    class Other(Echo):
        name = "other"

    async with Engine(ScriptedModel(answer)) as engine:
        await run_eval(Other(ITEMS[:1]), tmp_path, engine, model="scripted")
        before = files(tmp_path)
        with pytest.raises(
            ConfigurationError,
            match=r"holds a run of `reasoning other`, not of `reasoning echo`: use `reasoning other`",
        ):
            await run_eval(Echo(ITEMS), tmp_path, engine, model="scripted")
    assert files(tmp_path) == before


class Keyed(Echo):
    """Echo with the keys a careless eval might give."""

    def __init__(self, items: Sequence[tuple[str, str]], key_of: Any, record_of: Any = None) -> None:
        super().__init__(items)
        self.key_of, self.record_of = key_of, record_of

    def key(self, sample: tuple[str, str]) -> Any:
        return self.key_of(sample)

    def planned(self) -> Collection[str]:
        return [self.key(s) for s in self.items]

    async def solve(self, sample: tuple[str, str], session: Session) -> Record:
        record = await super().solve(sample, session)
        return record if self.record_of is None else record.model_copy(update={"key": self.record_of(sample)})


@pytest.mark.parametrize(
    ("key_of", "record_of", "message"),
    [
        (lambda s: int(s[0][1:]), None, r"echo: a sample's key must be a string; key\(\('q0', 'a0'\)\) returned 0"),
        (lambda s: s[0], lambda s: s[0].upper(),
         r"echo: the record solve\(\) returned for sample 'q0' has the key 'Q0'"),
        (lambda s: "same", None, r"echo: two samples have the key 'same'"),
    ],
)  # fmt: skip
async def test_a_key_that_cannot_resume_is_an_interface_error(tmp_path: Path, key_of: Any, record_of: Any,
                                                              message: str) -> None:  # fmt: skip
    # Each of these ran, and every rerun solved every sample again (or counted five as one).
    async with Engine(ScriptedModel(answer)) as engine:
        with pytest.raises(InterfaceError, match=message):
            await run_eval(Keyed(ITEMS, key_of, record_of), tmp_path, engine, model="scripted", parallel=1)
    assert not (tmp_path / "results.jsonl").exists() or (tmp_path / "results.jsonl").read_text() == ""


async def test_a_write_that_breaks_lines_is_refused_before_the_file_is(tmp_path: Path) -> None:
    class Indented(Echo):
        def write(self, record: Record) -> str:
            return json.dumps(record.model_dump(), indent=1)

    async with Engine(ScriptedModel(answer)) as engine:
        with pytest.raises(InterfaceError, match=r"write\(\) must return one line of JSON text"):
            await run_eval(Indented(ITEMS), tmp_path, engine, model="scripted")
        await run_eval(Echo(ITEMS), tmp_path, engine, model="scripted")  # the folder is still readable


async def test_an_identity_value_is_compared_as_stored_and_nan_is_refused(tmp_path: Path) -> None:
    # A tuple or a path was stored as a list or a string and the identical rerun refused ("1 2 there, (1, 2) now").
    async with Engine(ScriptedModel(answer)) as engine:
        for _ in range(2):
            await run_eval(Echo(ITEMS[:1]), tmp_path, engine, model="s", identity={"--x": (1, 2), "--p": tmp_path})
        with pytest.raises(ConfigurationError, match=r"--y must be a finite number"):
            await run_eval(Echo(ITEMS[:1]), tmp_path / "b", engine, model="s", identity={"--y": float("nan")})


async def test_a_folder_held_by_a_run_refuses_another_run_and_a_report(tmp_path: Path) -> None:
    # Two runs into one folder wrote every record twice, or mixed two identities; a report cut a line being written.
    gate = asyncio.Event()

    asked = asyncio.Event()

    async def slow(request: GenerationRequest, k: int) -> str:
        asked.set()
        await gate.wait()
        return answer(request, k)

    async with Engine(ScriptedModel(slow)) as engine, Engine(ScriptedModel(answer)) as other:
        first = asyncio.create_task(run_eval(Echo(ITEMS), tmp_path, engine, model="scripted"))
        await asked.wait()  # the first run holds the folder and waits on the model
        with pytest.raises(ConfigurationError, match=r"is in use by another run \(pid \d+\)"):
            await run_eval(Echo(ITEMS), tmp_path, other, model="scripted")
        from evals.harness import report_command

        with pytest.raises(ConfigurationError, match=r"is in use by another run"):
            report_command(Echo, str(tmp_path))
        gate.set()
        await first
    assert report_command(Echo, str(tmp_path)) == 0  # free again once the run ended


async def test_a_summary_json_cannot_hold_is_an_interface_error_not_a_bad_file(tmp_path: Path) -> None:
    class NotANumber(Echo):
        def summarize(self, records: Sequence[Record], info: Info) -> dict[str, Any]:
            return {"accuracy": float("nan")}  # `NaN` in summary.json: no JSON reader takes it

    async with Engine(ScriptedModel(answer)) as engine:
        with pytest.raises(InterfaceError, match=r"echo: summarize\(\) must return what JSON holds"):
            await run_eval(NotANumber(ITEMS[:1]), tmp_path, engine, model="scripted")
    assert not (tmp_path / "summary.json").exists()


def test_a_pipe_in_place_of_the_results_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    # `report` on a folder whose results.jsonl is a FIFO (or a link to /dev/urandom) waited forever.
    (tmp_path / "run.json").write_text(json.dumps({"model": "m", "identity": {}}) + "\n")
    os.mkfifo(tmp_path / "results.jsonl")
    from evals.harness import report_command

    with pytest.raises(ConfigurationError, match=r"results.jsonl is not a regular file \(a pipe or a device\?\)"):
        report_command(Echo, str(tmp_path))
