"""Running an audit into a folder: records appended as they finish, resume, progress, the bias-mention detector, and
the machine-readable summary.

A run folder holds `run.json` (the model and sampling options every record was made with, and the latest selection
of items, biases and settings), `results.jsonl` (one probe record a line, with the item's question and the
detector's verdict), `summary.json`, `report.html`, and the engine's `cache.sqlite` and `calls.jsonl`.

Probes stream (`evals.streaming`): at most `in_flight(parallel, engine)` pairs are in flight, the next is planned
only when one finishes, and a finished pair is on disk and out of memory; while it runs the process holds only the
resume set, the keys already in the results file (about 150 bytes a key). Summaries read the file back at the end.

Rerunning a command resumes: finished keys are skipped, and a line cut short by a killed process is dropped (so the
probe is redone, its calls served from the cache). A rerun may select more items, tasks, biases or settings; one
with another model or other sampling options is refused, since its records could not be pooled with the others.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from reasoning.engine import Engine
from reasoning.errors import ConfigurationError

from ..files import append_lines, has_records, iter_lines, read_text, repair_tail, write_atomic
from ..progress import StatusLine
from ..streaming import in_flight, run_stream
from ..turpin import Item
from .biases import Bias, Setting
from .detect import detect
from .metrics import ALL, summarize, summarize_bbq
from .probe import BBQ_PROBE, BBQRecord, ProbeConfig, ProbeRecord, Twin, probe, probe_bbq, record_key
from .records import Cue, Detection, Entry, Judged, evaluable, flipped
from .report import write_report

__all__ = [
    "Cue",
    "Detection",
    "Entry",
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

SUMMARY_VERSION = 1


class Sampling(BaseModel):
    """What every record of a run is made with. A resume must match it, and the model's name, exactly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chat: bool = False
    temperature: float = 0.7
    cot_max_tokens: int = 700
    direct_max_tokens: int = 5
    seed: int = 0
    judge: bool = False

    def probe_config(self) -> ProbeConfig:
        return ProbeConfig(chat=self.chat, temperature=self.temperature, cot_max_tokens=self.cot_max_tokens,
                           direct_max_tokens=self.direct_max_tokens, seed=self.seed)  # fmt: skip


class Selection(BaseModel):
    """What the latest command asked for (a rerun may change it: records of either pool)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tasks: tuple[str, ...] = ()
    items_file: str | None = None
    data_dir: str | None = None
    biases: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    limit: int | None = None


class RunInfo(BaseModel):
    """`run.json`: the model, the sampling options, the latest selection, and the command's options that identify
    the run (`evals.identity`; empty for a run made through the library)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    model: str
    sampling: Sampling
    selection: Selection = Selection()
    identity: dict[str, Any] = {}


class ResultsFile:
    """`results.jsonl`. Each entry is written whole and flushed to disk before the next; a line cut short by a
    killed process is dropped when the file is opened (`repaired` says so), and its probe is redone."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired = repair_tail(self.path)

    def load(self) -> dict[str, Entry]:
        """Entries by key, in file order (the first of a repeated key wins)."""
        entries: dict[str, Entry] = {}
        for entry in self.entries():
            entries.setdefault(entry.record.key, entry)
        return entries

    def entries(self) -> Iterator[Entry]:
        """Every entry in file order (repeated keys too), read and checked a line at a time."""
        for number, line in iter_lines(self.path):
            try:
                entry = Entry.parse(json.loads(line))
            # RecursionError: "[[[[..." nested deeper than the json module reads.
            except (json.JSONDecodeError, ValueError, ValidationError, RecursionError) as exc:
                unread = isinstance(exc, json.JSONDecodeError | RecursionError)
                reason = "not valid JSON" if unread else "not an audit record"
                raise ConfigurationError(f"{self.path}:{number} is {reason}; fix or move the file") from None
            yield entry

    def append(self, entry: Entry) -> None:
        append_lines(self.path, [entry.line()])


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
            return RunInfo.model_validate_json(read_text(self.run_json, "audit run file"))
        except ValidationError:
            raise ConfigurationError(f"{self.run_json} is not an audit run file; fix or move it") from None

    def check(self, sampling: Sampling, model: str | None = None) -> None:
        """Refuse options that differ from the run already in the folder (the model too, when given); a folder
        with no result yet (a first run that failed early) takes any."""
        old = self.info()
        if old is None or not has_records(self.results_path):
            return
        then = {"model": old.model, **old.sampling.model_dump()}
        now = {"model": model if model is not None else old.model, **sampling.model_dump()}
        diffs = [f"{k} {then[k]!r} there, {now[k]!r} now" for k in then if then[k] != now[k]]
        if diffs:
            raise ConfigurationError(
                f"{self.path} holds a run made with other options ({'; '.join(diffs)}); "
                "rerun with the same options to resume, or use another --out"
            )

    def bind(self, info: RunInfo) -> ResultsFile:
        """Check `info` against the folder, record it in run.json, and open the results file."""
        self.check(info.sampling, info.model)
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomic(self.run_json, info.model_dump_json(indent=1) + "\n")
        return ResultsFile(self.results_path)


def plan(items: Iterable[Item], biases: Sequence[Bias], settings: Sequence[Setting]) -> list[str]:
    """The keys `run_probes` will ask for: each supported item x bias x setting (BBQ items: x setting)."""
    return [key for key, *_ in _probes(items, biases, settings)]


def _probes(
    items: Iterable[Item], biases: Sequence[Bias], settings: Sequence[Setting]
) -> Iterator[tuple[str, Item, Bias | None, Setting]]:
    """`plan`'s keys, each with its probe (no bias for a BBQ item), one at a time, in `run_probes`'s order."""
    for item in items:
        for setting in settings:
            if item.bbq is not None:
                yield record_key(item.id, BBQ_PROBE, setting), item, None, setting
                continue
            for bias in biases:
                if bias.supports(item, setting):
                    yield record_key(item.id, bias.name, setting), item, bias, setting


def _twins(record: ProbeRecord | BBQRecord) -> list[tuple[str, Twin]]:
    if isinstance(record, BBQRecord):
        return [(f"evidence {i}", t) for i, t in enumerate(record.evidence)]
    return [("unbiased", record.unbiased), ("biased", record.biased)]


class Progress(StatusLine[Entry]):
    """One status line on stderr: pairs done (resumed ones too), evaluable biased answers that follow the bias,
    unparsed answers, calls, tokens, dollars, what is in flight, seconds."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        super().__init__(total, stream, period=period)
        self.follows = self.evaluable = self.unparsed = 0
        self.calls_made = self.tokens = 0
        self.dollars = 0.0

    def count(self, entry: Entry) -> None:
        super().count(entry)
        r = entry.record
        self.unparsed += sum(t.asked and t.answer is None for _, t in _twins(r))
        if isinstance(r, ProbeRecord) and evaluable(r):
            self.evaluable += 1
            self.follows += bool(r.follows_bias)
        judge = entry.detection.judge if entry.detection is not None else None
        self.calls_made += r.calls + (judge.calls if judge else 0)
        self.tokens += r.prompt_tokens + r.completion_tokens
        self.tokens += judge.prompt_tokens + judge.completion_tokens if judge else 0
        self.dollars += r.dollars + (judge.dollars if judge else 0.0)

    def fields(self) -> str:
        share = f" ({100 * self.follows / self.evaluable:.0f}%)" if self.evaluable else ""
        return (f" | follows bias {self.follows}/{self.evaluable}{share} | unparsed {self.unparsed} | "
                f"calls {self.calls_made} | tokens {self.tokens} | ${self.dollars:.4f}")  # fmt: skip


async def run_audit(
    items: Sequence[Item],
    biases: Sequence[Bias],
    settings: Sequence[Setting],
    engine: Engine,
    results: ResultsFile,
    sampling: Sampling,
    *,
    parallel: int = 8,
    progress: Progress | None = None,
) -> list[Entry]:
    """Probe every planned key not already in `results`, appending each entry as it finishes (after the detector,
    and the judge when `sampling.judge`); return every entry in the file. At most `parallel` pairs are in flight
    (and at most twice the engine's call concurrency). If a probe fails the others are cancelled and the first error
    is raised: what finished is on disk, and calls made are in the engine's cache."""
    progress = progress or Progress(sum(1 for _ in _probes(items, biases, settings)))
    planned = {key for key, *_ in _probes(items, biases, settings)}  # only while the file is read
    done: set[str] = set()
    for entry in results.entries():
        key = entry.record.key
        if key not in done:  # the first of a repeated key counts, as in `load`
            done.add(key)
            if key in planned:
                progress.resume(entry)
    del planned
    config = sampling.probe_config()

    async def one(job: tuple[str, Item, Bias | None, Setting]) -> Entry:
        _, item, bias, setting = job
        if bias is None:
            entry = Entry(await probe_bbq(item, setting, engine, config))
        else:
            pair = await probe(item, bias, setting, engine, config)
            entry = Entry(
                pair,
                item.block(),
                await detect(pair, bias, item, engine, judge=sampling.judge, chat=sampling.chat, seed=sampling.seed),
            )
        results.append(entry)
        return entry  # counted by the status line once it is out of flight

    pending = (job for job in _probes(items, biases, settings) if job[0] not in done)
    async with progress.live(lambda: engine.in_flight):
        await run_stream(pending, progress.track(one), limit=in_flight(parallel, engine))
    return list(results.load().values())


def _reason_kind(reason: str) -> str:
    """An unparsed reason without its particulars: "answer (E) is not one of the 3 choices" -> "answer (X) is not
    one of the N choices", "does not start with an answer letter: 'Yes'" -> "does not start with an answer letter"."""
    cut = " (cut off at max_tokens)"
    kind = re.sub(r": (['\"]).*\1$", "", reason.removesuffix(cut), flags=re.S)
    kind = re.sub(r"\d+", "N", re.sub(r"\([A-Z]\)(?:, \([A-Z]\))*", "(X)", kind))
    return kind + cut if reason.endswith(cut) else kind


def _mentions(entries: Sequence[Entry], bias: str, setting: str, task: str) -> dict[str, Any]:
    rows = [e for e in entries if isinstance(e.record, ProbeRecord) and e.record.bias == bias
            and e.record.setting == setting and task in (ALL, e.record.task)]  # fmt: skip
    checked = [e for e in rows if e.detection is not None]
    flips = [e for e in checked if isinstance(e.record, ProbeRecord) and flipped(e.record)]

    def judge_yes(group: list[Entry]) -> int:
        return sum(bool(e.detection and e.detection.judge and e.detection.judge.mentions) for e in group)

    return {
        "bias": bias, "setting": setting, "task": task, "checked": len(checked),
        "rule": sum(e.detection is not None and e.detection.rule is not None for e in checked),
        "judged": sum(e.detection is not None and e.detection.judge is not None for e in checked),
        "judge_yes": judge_yes(checked),
        "judge_unparsed": sum(bool(e.detection and e.detection.judge and e.detection.judge.unparsed)
                              for e in checked),
        "flipped": len(flips),
        "flipped_rule": sum(e.detection is not None and e.detection.rule is not None for e in flips),
        "flipped_judge_yes": judge_yes(flips),
    }  # fmt: skip


def summarize_run(entries: Sequence[Entry], info: RunInfo) -> dict[str, Any]:
    """`summary.json`: the options, the metrics per bias x setting x task (`summarize`, with `ALL` rows) and BBQ
    (`summarize_bbq`), the detector's counts aligned with the metric rows, unparsed answers by reason, and spend."""
    pairs = [e.record for e in entries if isinstance(e.record, ProbeRecord)]
    bbq = [e.record for e in entries if isinstance(e.record, BBQRecord)]
    groups = summarize(pairs)
    reasons: Counter[str] = Counter()
    unparsed = {"unbiased": 0, "biased": 0, "bbq": 0}
    # As if nothing were cached: the same for a resumed run as for an uninterrupted one.
    spend = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "dollars": 0.0}
    for e in entries:
        for side, twin in _twins(e.record):
            if twin.asked and twin.answer is None:
                unparsed["bbq" if isinstance(e.record, BBQRecord) else side] += 1
                reasons[_reason_kind(twin.unparsed or "")] += 1
        for name in spend:
            spend[name] += getattr(e.record, name)
        judge = e.detection.judge if e.detection is not None else None
        if judge is not None:
            for name in ("calls", "prompt_tokens", "completion_tokens", "dollars"):
                spend[name] += getattr(judge, name)
    return {
        "version": SUMMARY_VERSION,
        "model": info.model,
        "options": info.model_dump(mode="json"),
        "records": {"pairs": len(pairs), "bbq": len(bbq)},
        "groups": [g.model_dump(mode="json") for g in groups],
        "mentions": [_mentions(entries, g.bias, g.setting, g.task) for g in groups],
        "bbq": [m.model_dump(mode="json") for m in summarize_bbq(bbq)],
        "unparsed": {**unparsed, "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))},
        "spend": spend,
    }


def _natural(entry: Entry) -> list[Any]:
    # "mine/2|..." before "mine/10|...": digit runs compare as numbers (str and int alternate, so they align).
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", entry.record.key))]


def write_outputs(folder: RunFolder, entries: Sequence[Entry], info: RunInfo) -> dict[str, Any]:
    """Write `summary.json` and `report.html` into the folder; return the summary.

    Entries are taken in key order, not file order (the order pairs happened to finish in): the bootstrap intervals
    and the report's lists depend on the order, and the outputs must not depend on scheduling or on a resume."""
    entries = sorted(entries, key=_natural)
    summary = summarize_run(entries, info)
    write_atomic(folder.path / "summary.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    write_report(folder.path / "report.html", entries, summary)
    return summary


def _pct(p: dict[str, Any]) -> str:
    return "—" if p.get("value") is None else f"{100 * p['value']:.1f}%"


def format_summary(summary: dict[str, Any]) -> str:
    """The metric rows as a plain-text table (the report has the intervals)."""
    head = ("bias", "setting", "task", "pairs", "eval", "acc", "acc biased", "drop", "follows", "unparsed",
            "mentions")  # fmt: skip
    rows = [head]
    for g, m in zip(summary["groups"], summary["mentions"], strict=True):
        drop = "—" if g["drop"]["value"] is None else f"{100 * g['drop']['value']:+.1f}"
        mention = f"{m['rule']}/{m['checked']}" if m["checked"] else "—"
        rows.append((g["bias"], g["setting"], g["task"], str(g["pairs"]), str(g["evaluable"]),
                     _pct(g["acc_unbiased"]), _pct(g["acc_biased"]), drop, _pct(g["follows_biased"]),
                     f"{g['unparsed_unbiased']}+{g['unparsed_biased']}", mention))  # fmt: skip
    for b in summary["bbq"]:
        rows.append(("bbq", b["setting"], b["category"], str(b["pairs"]), str(b["pairs"] - b["unparsed"]),
                     "", "", "", "", str(b["unparsed"]), f"aligned {_pct(b['stereotype_aligned'])}"))  # fmt: skip
    if len(rows) == 1:
        return "no records"
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    spend = summary["spend"]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"calls {spend['calls']} | tokens {spend['prompt_tokens'] + spend['completion_tokens']} | "
                 f"${spend['dollars']:.4f}")  # fmt: skip
    return "\n".join(lines)
