"""Running the SuperICL eval into a folder: records appended as they finish, resume, progress, and the summary.

A run folder holds `run.json` (the model, the options every record was made with, each task's labels, train size,
in-context examples and plug-in, and the latest selection), `results.jsonl` (one record per test item x method),
`summary.json`, `report.html`, and the engine's `cache.sqlite` and `calls.jsonl`.

Items stream (`evals.streaming`): they are taken a chunk of `CHUNK` at a time (the plug-in asked once per chunk),
each method runs over the chunk with at most `in_flight(parallel, engine)` items in flight, and a finished record is
on disk and out of memory. While it runs the process holds the current chunk's item runs and the resume set, the
keys already in the results file (about 140 bytes a key: one per item and method); summaries read the file back at
the end.

Rerunning a command resumes: finished keys are skipped, and a line cut short by a killed process is dropped (its
item is redone, the model's answers served from the cache). A rerun may select more items, tasks or methods; one
with another model, other options, or a task whose labels, training data or examples changed is refused.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from prompts.supericl import Shot
from reasoning._words import counted
from reasoning.engine import Engine
from reasoning.errors import ConfigurationError
from reasoning.plugins import Plugin, Prediction, predict_safely

from ..files import append_lines, has_records, iter_lines, read_text, repair_tail, write_atomic
from ..progress import StatusLine
from ..streaming import in_flight, run_stream
from .data import Dataset
from .methods import METHODS, ItemRun, Options, Record, align, choose_shots, record_key
from .metrics import by_task, calibration, method_metrics, overrides, sweep, thresholds

__all__ = [
    "Progress",
    "ResultsFile",
    "RunFolder",
    "RunInfo",
    "Selection",
    "TaskInfo",
    "format_summary",
    "prepare",
    "run_supericl",
    "summarize_run",
    "write_outputs",
]

SUMMARY_VERSION = 1
# Test items whose methods run together: a chunk's plug-in predictions and shared model answers are what an item
# keeps between methods; method by method within a chunk keeps a local model's prompt prefix cached across items.
CHUNK = 256
PluginFor = Callable[[Dataset], Plugin]


class TaskInfo(BaseModel):
    """What a task's records depend on besides the options: its labels, training set size, examples, plug-in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    labels: tuple[str, ...]
    train: int
    shots: tuple[str, ...]
    plugin: str
    test: int = 0  # test items selected by the latest command (may change on a rerun)


class Selection(BaseModel):
    """What the latest command asked for (a rerun may change it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = "bbh"
    tasks: tuple[str, ...] = ()
    data: str | None = None
    limit: int | None = None
    methods: tuple[str, ...] = METHODS


class RunInfo(BaseModel):
    """`run.json`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    model: str
    options: Options
    tasks: dict[str, TaskInfo] = {}
    selection: Selection = Selection()
    identity: dict[str, Any] = {}  # the command's options that identify the run (`evals.identity`)


class ResultsFile:
    """`results.jsonl`. Each record is written whole and flushed before the next; a line cut short by a killed
    process is dropped when the file is opened (`repaired` says so), and its item is redone."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired = repair_tail(self.path)

    def load(self) -> dict[str, Record]:
        """Records by key, in file order (the first of a repeated key wins)."""
        records: dict[str, Record] = {}
        for record in self.records():
            records.setdefault(record.key, record)
        return records

    def records(self) -> Iterator[Record]:
        """Every record in file order (repeated keys too), read and checked a line at a time."""
        for number, line in iter_lines(self.path):
            try:
                record = Record.model_validate_json(line)
            except ValidationError as exc:
                bad_json = any(e["type"] == "json_invalid" for e in exc.errors())
                reason = "not valid JSON" if bad_json else "not a SuperICL record"
                raise ConfigurationError(f"{self.path}:{number} is {reason}; fix or move the file") from None
            yield record

    def append(self, records: Sequence[Record]) -> None:
        append_lines(self.path, [r.model_dump_json() for r in records])


class RunFolder:
    """A run's folder (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.run_json = self.path / "run.json"
        self.results_path = self.path / "results.jsonl"

    def info(self) -> RunInfo | None:
        if not self.run_json.is_file():
            if self.results_path.exists():
                raise ConfigurationError(f"{self.path} has results.jsonl but no run.json; use another folder")
            return None
        try:
            return RunInfo.model_validate_json(read_text(self.run_json, "SuperICL run file"))
        except ValidationError:
            raise ConfigurationError(f"{self.run_json} is not a SuperICL run file; fix or move it") from None

    def check(self, options: Options, model: str | None = None, tasks: dict[str, TaskInfo] | None = None) -> None:
        """Refuse options (the model, tasks' data) that differ from the run already in the folder; a folder with no
        result yet (a first run that failed early) takes any."""
        old = self.info()
        if old is None or not has_records(self.results_path):
            return
        then = {"model": old.model, **old.options.model_dump()}
        now = {"model": model if model is not None else old.model, **options.model_dump()}
        diffs = [f"{k} {then[k]!r} there, {now[k]!r} now" for k in then if then[k] != now[k]]
        for name, task in (tasks or {}).items():
            before = old.tasks.get(name)
            if before is not None and before.model_copy(update={"test": 0}) != task.model_copy(update={"test": 0}):
                diffs.append(f"task {name}: its labels, training data, examples or plug-in changed")
        if diffs:
            raise ConfigurationError(
                f"{self.path} holds a run made with other options ({'; '.join(diffs)}); "
                "rerun with the same options to resume, or use another --out"
            )

    def bind(self, info: RunInfo) -> ResultsFile:
        """Check `info` against the folder, record it (tasks merged) in run.json, and open the results file."""
        self.check(info.options, info.model, info.tasks)
        old = self.info() if has_records(self.results_path) else None
        merged = {**(old.tasks if old else {}), **info.tasks}
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomic(self.run_json, info.model_copy(update={"tasks": merged}).model_dump_json(indent=1) + "\n")
        return ResultsFile(self.results_path)


class Progress(StatusLine[Record]):
    """One status line on stderr: records done (resumed ones too), unparsed answers, plug-in failures, requests,
    tokens, what is in flight, seconds."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        super().__init__(total, stream, period=period)
        self.unparsed = self.failed = self.requests = self.tokens = 0

    def count(self, record: Record) -> None:
        super().count(record)
        self.unparsed += record.outcome == "unparsed"
        self.failed += record.plugin_error is not None and record.method == "plugin"
        self.requests += record.requests - record.cached
        self.tokens += 0 if record.cached else record.prompt_tokens + record.completion_tokens

    def fields(self) -> str:
        return (f" | unparsed {self.unparsed} | plug-in failures {self.failed} | model requests {self.requests} | "
                f"tokens {self.tokens}")  # fmt: skip


async def prepare(dataset: Dataset, plugin: Plugin, options: Options) -> tuple[list[Shot], TaskInfo]:
    """The task's in-context examples, each with the plug-in's prediction (left out where it failed)."""
    chosen = choose_shots(dataset, options.shots, seed=options.seed, max_chars=options.shot_max_chars)
    predictions = align(await predict_safely(plugin, [e.text for e in chosen]), dataset.labels)
    shots = [Shot(e.text, e.label, (p.label, p.confidence) if isinstance(p, Prediction) else None)
             for e, p in zip(chosen, predictions, strict=True)]  # fmt: skip
    info = TaskInfo(labels=dataset.labels, train=len(dataset.train), shots=tuple(e.id for e in chosen),
                    plugin=plugin.name, test=len(dataset.test))  # fmt: skip
    return shots, info


async def run_supericl(
    datasets: Sequence[tuple[Dataset, Plugin, Sequence[Shot]]],
    engine: Engine,
    results: ResultsFile,
    options: Options,
    *,
    methods: Sequence[str] = METHODS,
    parallel: int = 8,
    progress: Progress | None = None,
) -> list[Record]:
    """Run every method not already in `results` on every test item of each (dataset, plug-in, examples), a chunk
    of items at a time, one method after the other within a chunk, `parallel` items in flight (and at most twice
    the engine's call concurrency), appending each record as it finishes; return every record in the file.

    The plug-in is asked once per chunk for its pending items (failures recorded per item). If a model call fails
    for good, the other items are cancelled and the error raised: what finished is on disk, and calls made are in
    the engine's cache."""
    wanted = [m for m in METHODS if m in methods]
    progress = progress or Progress(sum(len(d.test) for d, _, _ in datasets) * len(wanted))
    planned = {record_key(e.id, m) for d, _, _ in datasets for e in d.test for m in wanted}  # while reading the file
    done: set[str] = set()
    for record in results.records():
        if record.key not in done:  # the first of a repeated key counts, as in `load`
            done.add(record.key)
            if record.key in planned:
                progress.resume(record)
    del planned
    limit = in_flight(parallel, engine)

    async def one(job: tuple[ItemRun, str]) -> Record:
        item_run, method = job
        record = await item_run.record(method)
        # The record holds its spend; the item's ledger entries would otherwise stay for the rest of the run.
        for asked in (*METHODS, "explain"):
            engine.ledger.by_tag.pop(f"supericl/{item_run.item.id}/{asked}", None)
        results.append([record])
        return record  # counted by the status line once it is out of flight

    async with progress.live(lambda: engine.in_flight):
        for dataset, plugin, shots in datasets:
            pending = (e for e in dataset.test if any(record_key(e.id, m) not in done for m in wanted))
            while chunk := list(itertools.islice(pending, CHUNK)):
                predictions = align(await predict_safely(plugin, [e.text for e in chunk]), dataset.labels)
                runs = [ItemRun(e, dataset, shots, plugin.name, p, engine, options)
                        for e, p in zip(chunk, predictions, strict=True)]  # fmt: skip
                # Method by method: a local model reuses its cached prompt prefix (the header and examples) from
                # one item to the next; the cascade then finds the SuperICL answers it needs already asked.
                for method in wanted:
                    jobs = ((r, method) for r in runs if record_key(r.item.id, method) not in done)
                    await run_stream(jobs, progress.track(one), limit=limit)
    return list(results.load().values())


def _unparsed(records: Sequence[Record]) -> dict[str, Any]:
    reasons: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for r in records:
        if r.outcome == "unparsed":
            counts[r.method] += 1
            reasons["empty answer" if r.reason == "empty answer" else "not one of the labels"] += 1
    return {"by_method": dict(counts), "reasons": dict(reasons)}


def summarize_run(records: Sequence[Record], info: RunInfo) -> dict[str, Any]:
    """`summary.json`: options and tasks, per task (and `all`) x method metrics, overrides, the plug-in's
    calibration, the cascade sweep, unparsed answers and plug-in failures, and what the run spent."""
    groups = by_task(records)
    grid = thresholds(info.options.threshold)
    to = info.options.cascade_to
    methods, over, calib, sweeps = [], [], [], {}
    for task, by_method in groups.items():
        for method in METHODS:
            if by_method.get(method):
                methods.append(method_metrics(task, method, by_method[method]).model_dump(mode="json"))
        for method in ("supericl", "cascade"):
            if by_method.get(method):
                over.append(overrides(task, method, by_method[method]).model_dump(mode="json"))
        if by_method.get("plugin"):
            calib.append(calibration(task, by_method["plugin"]).model_dump(mode="json"))
            if by_method.get(to):
                sweeps[task] = [row.model_dump(mode="json") for row in sweep(task, by_method["plugin"], by_method[to],
                                                                             grid)]  # fmt: skip
    new = [r for r in records if not r.cached]
    explained = [r.explanation for r in records if r.explanation is not None]
    spend = {
        "requests": sum(r.requests for r in records) + len(explained),
        "backend_requests": sum(r.requests - r.cached for r in records) + sum(1 - e.cached for e in explained),
        "prompt_tokens": sum(r.prompt_tokens for r in new) + sum(e.prompt_tokens for e in explained if not e.cached),
        "completion_tokens": sum(r.completion_tokens for r in new)
        + sum(e.completion_tokens for e in explained if not e.cached),
        "dollars": sum(r.dollars for r in new),
    }
    return {
        "version": SUMMARY_VERSION,
        "model": info.model,
        "options": info.options.model_dump(mode="json"),
        "tasks": {k: v.model_dump(mode="json") for k, v in info.tasks.items()},
        "records": len(records),
        "methods": methods,
        "overrides": over,
        "calibration": calib,
        "sweep": sweeps,
        "cascade_to": to,
        "unparsed": _unparsed(records),
        "plugin_failures": sum(r.method == "plugin" and r.outcome == "failed" for r in records),
        "spend": spend,
    }


def write_outputs(folder: RunFolder, records: Sequence[Record], info: RunInfo) -> dict[str, Any]:
    """Write `summary.json` and `report.html` into the folder; return the summary."""
    from .report import write_report

    summary = summarize_run(records, info)
    write_atomic(folder.path / "summary.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    write_report(folder.path / "report.html", records, summary)
    return summary


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def format_summary(summary: dict[str, Any]) -> str:
    """Accuracy, overrides and cost per task x method as a plain-text table, then the plug-in's ECE."""
    over = {(o["task"], o["method"]): o for o in summary["overrides"]}
    head = ("task", "method", "items", "accuracy", "unparsed", "failed", "override", "override right", "requests",
            "tokens")  # fmt: skip
    rows = [head]
    for m in summary["methods"]:
        o = over.get((m["task"], m["method"]))
        rows.append((m["task"], m["method"], str(m["items"]), _pct(m["accuracy"]["value"]), str(m["unparsed"]),
                     str(m["failed"]), _pct(o["rate"]["value"]) if o else "", _pct(o["right"]["value"]) if o else "",
                     str(m["requests"]), str(m["prompt_tokens"] + m["completion_tokens"])))  # fmt: skip
    if len(rows) == 1:
        return "no records"
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for c in summary["calibration"]:
        ece = "—" if c["ece"] is None else f"{c['ece']:.3f}"
        lines.append(
            f"plug-in calibration ({c['task']}): ECE {ece} over {counted(c['n'], 'item')}, {c['failed']} failed"
        )
    spend = summary["spend"]
    lines.append(f"model requests {spend['requests']} ({spend['backend_requests']} sent) | tokens "
                 f"{spend['prompt_tokens'] + spend['completion_tokens']} | ${spend['dollars']:.4f}")  # fmt: skip
    return "\n".join(lines)
