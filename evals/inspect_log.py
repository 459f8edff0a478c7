"""A run folder's samples as an inspect_ai eval log, built from inspect_ai's own log types and written by its writer
(`inspect_ai.log.write_eval_log`). The one module of the toolkit that imports inspect_ai; `evals.export` imports it
only when it exports (the `[inspect]` extra).

The log: `EvalSpec` (the task is the eval's name, the model the run's, the task arguments the run's identity, the
run folder, its run.json and header in the metadata, the git revision and toolkit version the header records),
one `EvalSample` per `LogSample` (epoch 1; messages, the last reply as the output, scores, metadata, the cost as
`ModelUsage` under the model's name), and `EvalResults` (each numeric score's mean over the samples that have it;
the eval's own summary as metadata). Ids are digests of the run's run.json and its samples' ids, so exporting a run
again writes the same log.

The log's times (`EvalSpec.created`, `EvalStats.started_at` and `completed_at`) are the run's own, as far as the
folder records them (`run_times`); run.json and the records hold no clock time, so the start is read from the
folder's call log (`calls.jsonl`, where a run writes it unless `--log` named another file) and the end is when
results.jsonl was last written. Which is which is in the spec's metadata ("times").
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalRevision,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.scorer import Score

from reasoning.engine import Spend

from .harness import LogSample, RunHeader, Turn

__all__ = ["eval_log", "run_times", "write_log"]

NOT_KEPT = "this run did not store the prompts it sent: the messages are the model's replies only"
CALL_LOG = "calls.jsonl"  # the call log a run writes in its folder by default (`--log`)


def write_log(out: Path, log: EvalLog) -> None:
    """Write `log` (from `eval_log`) to `out`, a `.eval` file (its folder made)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    write_eval_log(log, str(out), format="eval")


def eval_log(
    *,
    eval_name: str,
    run: Path,
    info: Mapping[str, Any],
    header: RunHeader | None,
    samples: Sequence[LogSample],
    summary: Mapping[str, Any],
    changed: float,
) -> EvalLog:
    """The run as an `EvalLog` with status "success": `info` is run.json's content (less the header), `header`
    its header, `samples` the records as samples, `summary` the eval's summary, `changed` when the results file
    was last written (seconds since the epoch: the run's end). The log is created and started when the run started
    and completed when it ended (`run_times`: how each is known is in the spec's metadata, "times")."""
    identity = dict(info.get("identity") or {})
    model = str(info.get("model") or identity.get("--model") or "unknown")
    started, completed, times = run_times(run, samples, changed)
    digest = _digest(eval_name, info, samples)
    ids: list[str | int] = [s.id for s in samples]
    head = header.model_dump(mode="json") if header is not None else None
    spec = EvalSpec(
        eval_id=digest[:22],
        run_id=digest[22:44],
        created=_iso(started),
        task=eval_name,
        task_id=digest[44:],
        task_args=identity,
        dataset=EvalDataset(name=eval_name, location=str(run), samples=len(samples), sample_ids=ids),
        model=model,
        config=EvalConfig(),
        revision=_revision(header),
        packages={"reasoning-toolkit": header.toolkit_version} if header is not None else {},
        metadata={"run_folder": str(run), "run": dict(info), "header": head, "times": times},
    )
    usage = ModelUsage()
    exported = []
    for sample in samples:
        one = _sample(sample, model)
        exported.append(one)
        usage = usage + one.model_usage.get(model, ModelUsage())
    return EvalLog(
        status="success",
        eval=spec,
        plan=EvalPlan(steps=[EvalPlanStep(solver=eval_name, params={"run": str(run)})]),
        results=_results(exported, summary),
        stats=EvalStats(started_at=_iso(started), completed_at=_iso(completed), model_usage={model: usage}),
        samples=exported,
    )


def run_times(run: Path, samples: Sequence[LogSample], changed: float) -> tuple[float, float, dict[str, str]]:
    """When the run in folder `run` started and ended (seconds since the epoch), and how each is known (a short
    line each, under "started_at" and "completed_at").

    The end is `changed`, when results.jsonl was last written (its last record). The start is the earliest call
    in the folder's call log (`calls.jsonl`: each line's `ts`, when the call ended, less its `latency_s`), the
    first call of the first invocation of the run (a resumed run's log holds every invocation's calls). Where the
    folder has no call log (`--log` put it elsewhere) or none that starts before the end (a log of a later run that
    finished no record), the start is not recorded: it is taken as the end less the longest sample's own wall time
    (the records' `seconds`), the latest the run can have started, and said so; where no sample has one either,
    the start is the end (a span of 0 s, said so)."""
    first = _first_call(run / CALL_LOG)
    ended = "when results.jsonl was last written (its last record)"
    if first is not None and first <= changed:
        return first, changed, {"started_at": f"the start of the first call in {CALL_LOG}", "completed_at": ended}
    longest = max((s for s in (_seconds(x.metadata.get("seconds")) for x in samples) if s is not None), default=None)
    if longest is not None:
        how = "not recorded: the end less the longest sample's seconds (the latest the run can have started)"
        return changed - longest, changed, {"started_at": how, "completed_at": ended}
    return changed, changed, {"started_at": "not recorded: taken as the end", "completed_at": ended}


def _first_call(path: Path) -> float | None:
    """The earliest start (`ts - latency_s`, seconds since the epoch) of the calls in the call log at `path`; None
    when there is no such file or no line of it is a call with both numbers (lines that are not are skipped)."""
    try:
        file = path.open(encoding="utf-8", errors="replace")
    except OSError:  # missing, a folder, unreadable
        return None
    first: float | None = None
    with file:
        for line in file:
            try:
                call = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(call, dict):
                continue
            ts, latency = _seconds(call.get("ts")), _seconds(call.get("latency_s"))
            if ts is not None and latency is not None and (first is None or ts - latency < first):
                first = ts - latency
    return first


def _iso(when: float) -> str:
    """Seconds since the epoch as an ISO 8601 time in UTC, as inspect_ai writes its own."""
    return datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat()


def _sample(sample: LogSample, model: str) -> EvalSample:
    messages = [_message(turn, model) for turn in sample.messages]
    replies = [m for m in messages if isinstance(m, ChatMessageAssistant)]
    output = ModelOutput.from_content(model, replies[-1].text) if replies else ModelOutput(model=model)
    metadata = {**sample.metadata, "prompts_kept": sample.prompts_kept}
    if not sample.prompts_kept:
        metadata["prompts_note"] = NOT_KEPT
    scores = {name: Score(value=s.value, answer=s.answer, explanation=s.explanation)
              for name, s in sample.scores.items()}  # fmt: skip
    return EvalSample(
        id=sample.id,
        epoch=1,
        input=sample.input,
        target=sample.target,
        messages=messages,
        output=output,
        scores=scores or None,
        metadata=metadata,
        model_usage={model: _usage(sample.cost)} if sample.cost is not None else {},
        total_time=_seconds(sample.metadata.get("seconds")),
    )


def _seconds(value: Any) -> float | None:
    # The record's own wall time (its `seconds` field, as most evals' records carry), for the viewer's durations;
    # None where a record has none or a value that is not a finite number of seconds.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _message(turn: Turn, model: str) -> ChatMessage:
    meta = {"part": turn.part} if turn.part is not None else None
    if turn.role == "assistant":
        return ChatMessageAssistant(content=turn.content, model=model, source="generate", metadata=meta)
    if turn.role == "system":
        return ChatMessageSystem(content=turn.content, source="input", metadata=meta)
    return ChatMessageUser(content=turn.content, source="input", metadata=meta)


def _usage(cost: Spend) -> ModelUsage:
    return ModelUsage(input_tokens=cost.prompt_tokens, output_tokens=cost.completion_tokens,
                      total_tokens=cost.total_tokens, total_cost=cost.dollars)  # fmt: skip


def _results(samples: Sequence[EvalSample], summary: Mapping[str, Any]) -> EvalResults:
    """Each score whose values are numbers (a bool as 1 or 0) as its mean over the samples that have it; a score
    with a value of another kind (text) is in the samples only."""
    names = list(dict.fromkeys(name for s in samples for name in (s.scores or {})))
    scores = []
    for name in names:
        values = [s.scores[name].value for s in samples if s.scores and name in s.scores]
        numbers = [float(v) for v in values if isinstance(v, int | float)]  # a bool is an int: 1 or 0
        if not numbers or len(numbers) < len(values):
            continue
        mean = math.fsum(numbers) / len(numbers)
        scores.append(EvalScore(name=name, scorer=name, scored_samples=len(numbers),
                                unscored_samples=len(samples) - len(numbers),
                                metrics={"mean": EvalMetric(name="mean", value=mean)}))  # fmt: skip
    return EvalResults(total_samples=len(samples), completed_samples=len(samples), scores=scores,
                       metadata={"summary": dict(summary)})  # fmt: skip


def _revision(header: RunHeader | None) -> EvalRevision | None:
    if header is None or header.git_revision is None:
        return None
    commit, _, dirty = header.git_revision.partition("+")
    return EvalRevision(type="git", origin="", commit=commit, dirty=dirty == "dirty")


def _digest(eval_name: str, info: Mapping[str, Any], samples: Sequence[LogSample]) -> str:
    """64 hex digits naming this export: the eval, run.json's content and the samples' ids, in order."""
    text = json.dumps([eval_name, info, [s.id for s in samples]], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
