"""SuperICL on the eval harness (`evals.harness`): a sample is one test item under one method, solved in the
session the harness gives it; `reasoning supericl run` runs it into a folder (see `cli`).

    shots, info = await prepare(dataset, plugin, options)
    ev = SuperICL(options, [(dataset, plugin, shots)], tasks={dataset.name: info})
    records, summary = await run_eval(ev, "runs/supericl", engine, model=engine.model.name)

Items are taken a chunk of `CHUNK` at a time: the plug-in is asked once for the chunk's pending items, then each
method runs over the chunk, the next method only once the last one's items have finished, so a local model reuses
its cached prompt prefix (the header and examples) from one item to the next, and the cascade finds the SuperICL
answers it needs already asked (`ItemRun` shares them). While it runs the process holds the current chunk's item
runs and the resume set, the keys already in the results file.

The run's identity is the command's options and what they resolved to (`identity`: the config's fields, the prompt
format, the plug-in's digest); a rerun may add items, tasks or methods, but one whose task was made from other data
(labels, training data, examples, plug-in) is refused (`info.check_tasks`).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import IO, Any

from prompts.supericl import Shot
from reasoning.engine import Engine, Spend
from reasoning.plugins import Plugin, Prediction, predict_safely
from reasoning.session import Session
from reasoning.tree import SearchContext

from ..harness import Eval, LogSample, Scored, Turn, as_fields
from ..progress import StatusLine
from .data import Dataset
from .info import RunInfo, Selection, TaskInfo, check_tasks
from .methods import METHODS, Explanation, ItemRun, Options, Record, align, choose_shots, record_key
from .report import render_report
from .summary import format_summary, summarize_run

__all__ = ["CHUNK", "Progress", "Sample", "SuperICL", "prepare"]

# Test items whose methods run together: a chunk's plug-in predictions and shared model answers are what an item
# keeps between methods; method by method within a chunk keeps a local model's prompt prefix cached across items.
CHUNK = 256
Sample = tuple[ItemRun, str]  # a test item's methods, and the method this sample runs
Prepared = tuple[Dataset, Plugin, Sequence[Shot]]  # a task's data, its plug-in and in-context examples


class Progress(StatusLine[Record]):
    """One status line on stderr: records done (resumed ones too), unparsed answers, plug-in failures, model requests
    and tokens (as the summary counts them: once per item for a prompt two methods share, explanations included),
    what is in flight, seconds."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        super().__init__(total, stream, period=period)
        self.unparsed = self.failed = self.requests = self.tokens = 0

    def count(self, record: Record) -> None:
        super().count(record)
        self.unparsed += record.outcome == "unparsed"
        self.failed += record.plugin_error is not None and record.method == "plugin"
        asked = record.explanation  # the follow-up an override's explanation took
        self.requests += record.requests - record.cached + (asked is not None)
        self.tokens += 0 if record.cached else record.prompt_tokens + record.completion_tokens
        self.tokens += asked.prompt_tokens + asked.completion_tokens if asked is not None else 0

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


class SuperICL(Eval[Sample, Record, RunInfo]):
    """The plug-in alone, ICL, SuperICL and the cascade (`methods`) on every test item of each prepared task
    (`datasets`: data, plug-in, examples), under `options`. `tasks` and `selection` are what run.json records."""

    name = "supericl"
    what = "a SuperICL record"
    info_what = "a SuperICL run file"
    record_type = Record
    info_type = RunInfo

    def __init__(
        self,
        options: Options,
        datasets: Sequence[Prepared] = (),
        *,
        tasks: Mapping[str, TaskInfo] | None = None,
        selection: Selection | None = None,
        methods: Sequence[str] | None = None,
        chunk: int = CHUNK,
    ) -> None:
        self.options = options
        self.datasets = datasets
        self.tasks = dict(tasks or {})
        self.selection = selection or Selection()
        wanted = self.selection.methods if methods is None else methods
        self.methods = [m for m in METHODS if m in wanted]
        self.chunk = chunk

    # -- samples and solving ---------------------------------------------------------------------------------------
    def samples(self) -> AsyncIterator[Sample]:
        return self.pending(())

    async def pending(self, done: Collection[str]) -> AsyncIterator[Sample]:
        """The samples whose key is not in `done`, a chunk of items at a time, method by method within a chunk
        (the next method once the last one's samples have finished)."""
        for dataset, plugin, shots in self.datasets:
            items = (e for e in dataset.test if any(record_key(e.id, m) not in done for m in self.methods))
            while chunk := list(itertools.islice(items, self.chunk)):
                predictions = align(await predict_safely(plugin, [e.text for e in chunk]), dataset.labels)
                runs = [ItemRun(e, dataset, shots, plugin.name, p, self.options)
                        for e, p in zip(chunk, predictions, strict=True)]  # fmt: skip
                for method in self.methods:
                    started = [r for r in runs if record_key(r.item.id, method) not in done]
                    for item_run in started:
                        yield item_run, method
                    for item_run in started:
                        await item_run.finished(method)

    def key(self, sample: Sample) -> str:
        return record_key(sample[0].item.id, sample[1])

    def planned(self) -> Collection[str]:
        return {record_key(e.id, m) for d, _, _ in self.datasets for e in d.test for m in self.methods}

    def session(self, engine: Engine, tag: str) -> SearchContext:
        """A sample's session: a `SearchContext`, which the cascade runs its `Cascade` in (`ItemRun.cascade_record`)."""
        return SearchContext(engine, tag=tag)

    async def solve(self, sample: Sample, session: Session) -> Record:
        item_run, method = sample
        try:
            return await item_run.record(method, session)
        finally:
            item_run.finish(method)

    # -- the run and its outputs -----------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """The options as run identity: each field keyed by the flag that sets it (`--threshold`), `chat` (what
        --prompt-format resolved to) and `plugin` (the plug-in's name, file digest or model) by name."""
        fields = self.options.model_dump(mode="json")
        return {(k if k in ("chat", "plugin") else "--" + k.replace("_", "-")): v for k, v in fields.items()}

    def info(self, model: str, identity: dict[str, Any], previous: RunInfo | None) -> RunInfo:
        """run.json: the model, options and identity, this command's selection, and its tasks merged into those
        the folder holds (`ConfigurationError` for a task made from other data: `check_tasks`)."""
        before = previous.tasks if previous is not None else {}
        check_tasks(before, self.tasks)
        return RunInfo(model=model, options=self.options, tasks={**before, **self.tasks}, selection=self.selection,
                       identity=identity)  # fmt: skip

    @classmethod
    def for_report(cls, info: RunInfo) -> SuperICL:
        return cls(info.options, tasks=info.tasks, selection=info.selection)

    # The status line, summary.json, report.html and the printed table.
    progress = staticmethod(Progress)
    summarize = staticmethod(summarize_run)
    render = staticmethod(render_report)
    format_summary = staticmethod(format_summary)

    def log_sample(self, record: Record, info: RunInfo) -> LogSample:
        """The test item's text as input, its gold label as target; the model's completion (and the explanation it
        gave for overriding the plug-in) as replies, where the method asked the model (the run keeps no prompts);
        `correct` as the score, the label read as its answer. The cost is the answer's and the explanation's."""
        said = [Turn("assistant", record.completion, "answer")] if record.completion is not None else []
        if record.explanation is not None:
            said.append(Turn("assistant", record.explanation.text, "explanation"))
        asked = record.explanation or Explanation(text="")  # no explanation: nothing to add
        cost = Spend(calls=record.requests + (record.explanation is not None), cached_samples=record.cached,
                     prompt_tokens=record.prompt_tokens + asked.prompt_tokens,
                     completion_tokens=record.completion_tokens + asked.completion_tokens,
                     dollars=record.dollars + asked.spend.dollars)  # fmt: skip
        return LogSample(id=record.key, input=record.text, target=record.gold, messages=tuple(said),
                         scores={"correct": Scored(record.correct, record.answer, record.reason)}, cost=cost,
                         metadata=as_fields(record))  # fmt: skip
