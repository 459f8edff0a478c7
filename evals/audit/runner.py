"""Running an audit into a folder: the audit as an `evals.harness.Eval` (`Audit`), its status line (`Progress`), and
the names earlier code calls (`run_audit`, `RunFolder`, `ResultsFile`, `write_outputs`), kept as thin wrappers over
the harness.

Each probe (`evals.audit.probe.probes`) is one sample of the harness: asked in the session the harness opens for it
(tagged `audit/<key>`; `probe`, `probe_bbq`), its biased explanation checked by the detector (`detect`: the rule;
the audited model as judge on every chain-of-thought pair with `--judge`; the `Audit.judges`, the embedded model and
a model at a URL, on flipped pairs only; each judge in a session of its own), and its `Entry` appended to
`results.jsonl` as it finishes. A run folder holds `run.json`
(`RunInfo`: the model and sampling options every record was made with, the latest selection of items, biases and
settings, the identity, and the harness's header), `results.jsonl`, `summary.json` and `report.html` (rebuilt from
every entry in the file, in key order, so they do not depend on the order pairs finished in or on a resume), and
the engine's `cache.sqlite` and `calls.jsonl` (and each judge engine's, under its own names: `evals.audit.judges`).

Rerunning a command resumes: finished keys are skipped, and a line cut short by a killed process is dropped (so the
probe is redone, its calls served from the cache). A rerun may select more items, tasks, biases or settings; one
with another model or other options, or whose options resolve to another prompt format (`Audit.identity`: `chat`), is
refused by the harness's identity rule (`RunFolder.check`), since its records could not be pooled.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from reasoning.engine import Engine
from reasoning.errors import ConfigurationError
from reasoning.session import Session

from .. import harness
from ..progress import StatusLine
from ..turpin import Item
from .biases import Bias, Setting
from .detect import Judge, detect
from .log_sample import log_sample
from .options import RunInfo, Sampling, Selection
from .probe import Probe, probe, probe_bbq, probes
from .records import (
    LLM_JUDGE,
    LOCAL_JUDGE,
    Cue,
    Detection,
    Entry,
    Judged,
    ProbeRecord,
    evaluable,
    flipped,
    twin_id,
    twins,
)
from .report import render_report
from .summary import format_summary, summarize_run
from .verdicts import Verdict, read_verdicts

__all__ = [
    "Audit",
    "Cue",
    "Detection",
    "Entry",
    "Judge",
    "Judged",
    "Progress",
    "ResultsFile",
    "RunFolder",
    "RunInfo",
    "Sampling",
    "Selection",
    "evaluable",
    "flipped",
    "format_summary",
    "plan",
    "run_audit",
    "summarize_run",
    "write_outputs",
]


class Progress(StatusLine[Entry]):
    """One status line on stderr: pairs done (resumed ones too), evaluable biased answers that follow the bias,
    unparsed answers (each completion once, `twin_id`: the unbiased twin the hints share counts once), calls,
    tokens, dollars, what is in flight, seconds."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        super().__init__(total, stream, period=period)
        self.follows = self.evaluable = self.unparsed = 0
        self._unparsed_seen: set[tuple[str, ...]] = set()
        self.calls_made = self.tokens = 0
        self.dollars = 0.0

    def count(self, entry: Entry) -> None:
        super().count(entry)
        r = entry.record
        for side, t in twins(r):
            seen = twin_id(r, side, t)
            if t.asked and t.answer is None and seen not in self._unparsed_seen:
                self._unparsed_seen.add(seen)
                self.unparsed += 1
        if isinstance(r, ProbeRecord) and evaluable(r):
            self.evaluable += 1
            self.follows += bool(r.follows_bias)
        self.calls_made += r.calls
        self.tokens += r.prompt_tokens + r.completion_tokens
        self.dollars += r.dollars
        for judge in _verdicts(entry.detection):
            self.calls_made += judge.calls
            self.tokens += judge.prompt_tokens + judge.completion_tokens
            self.dollars += judge.dollars

    def fields(self) -> str:
        share = f" ({100 * self.follows / self.evaluable:.0f}%)" if self.evaluable else ""
        return (f" | follows bias {self.follows}/{self.evaluable}{share} | unparsed {self.unparsed} | "
                f"calls {self.calls_made} | tokens {self.tokens} | ${self.dollars:.4f}")  # fmt: skip


def _verdicts(detection: Detection | None) -> list[Judged]:
    """Every judge's verdict on a pair: the audited model's, then `Detection.judges`'."""
    if detection is None:
        return []
    return ([detection.judge] if detection.judge is not None else []) + list(detection.judges.values())


def _key(entry: Entry) -> str:
    return entry.key


def _natural(entry: Entry) -> list[Any]:
    # "mine/2|..." before "mine/10|...": digit runs compare as numbers (str and int alternate, so they align).
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", entry.record.key))]


class Audit(harness.Eval[Probe, Entry, RunInfo]):
    """The audit on the harness: its samples are the probes of `items` x `biases` x `settings` (`probes`), each
    solved into an `Entry` in its session with `sampling`'s options; `selection` is what run.json records the
    command asked for. `judges` are the classifier models beside the audited one, asked on flipped pairs (`detect`):
    one for each that `sampling` names (`local_judge`: `LOCAL_JUDGE`; `judge_model`: `LLM_JUDGE`), their engines
    the caller's to close (`reasoning audit run` makes them with the run's engine: `evals.audit.judges`).
    `evals.harness.run_eval(Audit(...), out, engine, model=...)` runs one into a folder."""

    name = "audit"
    what = "an audit record"
    info_type = RunInfo
    info_what = "an audit run file"
    folder: Path | None = None  # the run folder, once `write_outputs` attaches it: its human verdicts are read
    _verdicts: Mapping[str, Verdict] = {}  # `log_sample`'s: the verdicts of the folder `_verdicts_of` (replaced)
    _verdicts_of: Path | None = None

    def __init__(
        self,
        items: Sequence[Item],
        biases: Sequence[Bias],
        settings: Sequence[Setting],
        sampling: Sampling,
        selection: Selection | None = None,
        judges: Sequence[Judge] = (),
    ) -> None:
        self.items, self.biases, self.settings = items, biases, settings
        self.sampling = sampling
        self.selection = selection or Selection()
        self.config = sampling.probe_config()
        self.judges = tuple(judges)
        # What the pairs this process solved count (`summary.process_calls`): calls as if nothing were cached or
        # shared (their judges' too), and the twins whose call the engine shared in flight with another pair.
        self.counted_calls = self.shared_calls = 0

    def samples(self) -> Iterator[Probe]:
        return probes(self.items, self.biases, self.settings)

    def key(self, sample: Probe) -> str:
        return sample.key

    def planned(self) -> Collection[str]:
        return _keys(self.samples()).keys()  # in order, and `in` at once

    async def solve(self, sample: Probe, session: Session) -> Entry:
        item, bias, setting = sample.item, sample.bias, sample.setting
        if bias is None:
            return self._counted(Entry(await probe_bbq(item, setting, session, self.config)))
        pair = await probe(item, bias, setting, session, self.config)
        s = self.sampling
        detection = await detect(pair, bias, item, session.engine, judge=s.judge, chat=s.chat, seed=s.seed,
                                 judges=self.judges)  # fmt: skip
        return self._counted(Entry(pair, _question(item), detection))

    def _counted(self, entry: Entry) -> Entry:
        """`entry`, its calls added to `counted_calls` and its twins the engine shared in flight to `shared_calls`
        (a judge's calls, each in a session of its own, count as shared where its `spend` exceeds its `paid`)."""
        self.counted_calls += entry.record.calls
        self.shared_calls += sum(t.shared for _, t in twins(entry.record))
        for judge in _verdicts(entry.detection):
            self.counted_calls += judge.calls
            self.shared_calls += max(0, judge.spend.calls - judge.paid.calls - judge.paid.cached_samples)
        return entry

    def read(self, raw: Any) -> Entry:
        return Entry.parse(raw)

    def write(self, record: Entry) -> str:
        return record.line()

    def record_key(self, record: Entry) -> str:
        return _key(record)

    def identity(self) -> dict[str, Any]:
        """Whether twins are asked as chat messages, which `--prompt-format auto` resolves by the backend and the
        server's URL (a chat and a raw-text prompt make different records)."""
        return {"chat": self.sampling.chat}

    def info(self, model: str, identity: dict[str, Any], previous: RunInfo | None) -> RunInfo:
        if previous is not None and previous.source is not None:
            raise ConfigurationError("the --out folder holds an import of published outputs, which a run cannot add "
                                     "to; use another --out")  # fmt: skip
        named = {LOCAL_JUDGE: self.sampling.local_judge, LLM_JUDGE: self.sampling.judge_model is not None}
        wanted, given = sorted(n for n, on in named.items() if on), sorted(j.name for j in self.judges)
        if wanted != given:  # a judge the options record but nobody asks, or one they do not record
            raise ConfigurationError(f"the sampling options name the judges {wanted}, but the audit was given "
                                     f"{given}")  # fmt: skip
        return RunInfo(model=model, sampling=self.sampling, selection=self.selection, identity=identity)

    def select(self, records: dict[str, Entry]) -> list[Entry]:
        """Every entry in the file, in key order (the bootstrap intervals and the report's lists depend on it)."""
        return sorted(records.values(), key=_natural)

    @classmethod
    def for_report(cls, info: RunInfo) -> Audit:
        return cls((), (), (), info.sampling or Sampling(), info.selection)

    def progress(self, total: int) -> Progress:
        return Progress(total)

    def attach(self, folder: Path) -> None:
        self.folder = folder

    def summarize(self, records: Sequence[Entry], info: RunInfo) -> dict[str, Any]:
        """`summarize_run`, with the human verdicts of the attached folder (`verdicts.jsonl`, read afresh)."""
        return summarize_run(records, info, read_verdicts(self.folder) if self.folder is not None else None)

    def render(self, records: Sequence[Entry], summary: dict[str, Any], info: RunInfo) -> str:
        return render_report(records, summary)

    def format_summary(self, summary: dict[str, Any]) -> str:
        return format_summary(summary)

    def log_sample(self, record: Entry, info: RunInfo) -> harness.LogSample:
        """The entry as an eval-log sample: its question, twins, scores and cost (`evals.audit.log_sample`), with
        the human verdict on it where the attached folder's `verdicts.jsonl` holds one."""
        if self.folder is not None and self._verdicts_of != self.folder:  # read once a folder, not once a sample
            self._verdicts, self._verdicts_of = read_verdicts(self.folder), self.folder
        return log_sample(record, self._verdicts.get(record.key) if self.folder is not None else None)


def _question(item: Item) -> str:
    """What the report shows as a pair's question: the question and its choices, after the context for a BBQ item
    (its hints ask the ambiguous context without weak evidence)."""
    return item.block() if item.bbq is None else f"{item.bbq.context}\n\n{item.block()}"


def plan(items: Sequence[Item], biases: Sequence[Bias], settings: Sequence[Setting]) -> list[str]:
    """The keys an audit of `items` x `biases` x `settings` asks for (`probes`); `ConfigurationError` when two items
    share an id (`_keys`)."""
    return list(_keys(probes(items, biases, settings)))


def _keys(jobs: Iterable[Probe]) -> dict[str, None]:
    """The probes' keys in order; `ConfigurationError` (one line) when two items share an id (an --items id that is
    also one of the data's, "bbh/snarks/0"): each pair would be asked twice, both records written, one counted."""
    keys: dict[str, None] = {}
    for job in jobs:
        if job.key in keys:
            raise ConfigurationError(f"two items have the id {job.item.id!r}: each would be asked as the pair "
                                     f"{job.key!r} and only one counted; give every item an id of its own")  # fmt: skip
        keys[job.key] = None
    return keys


class ResultsFile(harness.ResultsFile[Entry]):
    """`results.jsonl` of an audit (`evals.harness.ResultsFile` of `Entry`s). Kept for existing callers; a run opens
    it through the harness."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, read=Entry.parse, write=Entry.line, key=_key, what=Audit.what_record())

    def entries(self) -> Iterator[Entry]:
        """Every entry in file order (`records`)."""
        return self.records()


class RunFolder(harness.RunFolder[RunInfo]):
    """An audit's run folder (`evals.harness.RunFolder` of `RunInfo`). `check` takes the identity (the harness's
    rule) or, as earlier callers did, `Sampling` options and the model's name; `bind` is the library's way to start
    a run without `run_eval`."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, RunInfo, eval_name=Audit.name, what=Audit.what_info())

    def check(self, options: Mapping[str, Any] | Sampling, model: str | None = None) -> None:
        """Refuse options that differ from the run already in the folder: an identity (by flag, `evals.identity`),
        or `Sampling` options (and the model, when given). A folder with no result yet takes any."""
        if not isinstance(options, Sampling):
            super().check(dict(options))
            return
        old = self.info()
        if old is None or not self.has_records():
            return
        if old.sampling is None:
            raise ConfigurationError(f"{self.path} holds an import of published outputs; use another folder")
        then = {"model": old.model, **old.sampling.model_dump()}
        now = {"model": model if model is not None else old.model, **options.model_dump()}
        diffs = [f"{k} {then[k]!r} there, {now[k]!r} now" for k in then if then[k] != now[k]]
        if diffs:
            raise ConfigurationError(
                f"{self.path} holds a run made with other options ({'; '.join(diffs)}); "
                "rerun with the same options to resume, or use another --out"
            )

    def bind(self, info: RunInfo) -> ResultsFile:
        """Check `info` against the folder, record it in run.json, and open the results file."""
        if info.sampling is None:
            raise ConfigurationError("an import of published outputs is written by evals.audit.import_published")
        self.check(info.sampling, info.model)
        self.write(info)
        return ResultsFile(self.results_path)


async def run_audit(
    items: Sequence[Item],
    biases: Sequence[Bias],
    settings: Sequence[Setting],
    engine: Engine,
    results: harness.ResultsFile[Entry],
    sampling: Sampling,
    *,
    parallel: int = 8,
    progress: StatusLine[Entry] | None = None,
) -> list[Entry]:
    """Probe every planned key not already in `results`, appending each entry as it finishes (after the detector,
    and the judge when `sampling.judge`); return every entry in the file, in file order. Kept for existing callers:
    the harness's loop (`evals.harness.run_samples`) over `Audit`'s samples; a whole run into a folder is
    `evals.harness.run_eval(Audit(...), ...)`. At most `parallel` pairs are in flight (and at most twice the engine's
    call concurrency). If a probe fails the others are cancelled and the first error is raised: what finished is on
    disk, and calls made are in the engine's cache."""
    ev = Audit(items, biases, settings, sampling)
    planned = ev.planned()
    await harness.run_samples(ev.samples(), ev.solve, results, engine=engine, key=ev.key, name=ev.name,
                              progress=progress or ev.progress(len(planned)), parallel=parallel,
                              planned=planned)  # fmt: skip
    return list(results.load().values())


def write_outputs(folder: harness.RunFolder[RunInfo], entries: Sequence[Entry], info: RunInfo) -> dict[str, Any]:
    """Write `summary.json` and `report.html` into the folder from `entries`, taken in key order; return the
    summary. Kept for existing callers: `evals.harness.write_outputs` with `Audit`."""
    return harness.write_outputs(Audit.for_report(info), folder, sorted(entries, key=_natural), info)
