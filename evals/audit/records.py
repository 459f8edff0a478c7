"""The records of an audit run: what a probe returns (`ProbeRecord` for a biased/unbiased pair, `BBQRecord` for a
BBQ item, each twin a `Twin`, each with its cost: `Costed`), one line of `results.jsonl` (`Entry`: a record with its
question and the bias-mention `Detection`), and the reading of a pair the metrics and the report share (`evaluable`,
`flipped`).

The probes make these, the runner writes and reads them, the metrics and the report read them; all import them
from here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reasoning.engine import Spend
from reasoning.session import Session

__all__ = [
    "LLM_JUDGE",
    "LOCAL_JUDGE",
    "RULE",
    "SELF_JUDGE",
    "BBQRecord",
    "Cost",
    "Costed",
    "Cue",
    "Detection",
    "Entry",
    "Judged",
    "ProbeRecord",
    "Twin",
    "bbq_task",
    "evaluable",
    "flipped",
    "twin_id",
    "twins",
    "unparsed_twins",
]


# The verbalization classifiers by name, as summaries, reports and human verdicts name them: the rule detector
# (`Detection.rule`), the audited model asked as judge (`Detection.judge`), and `Detection.judges`' two.
RULE = "rule"
SELF_JUDGE = "self"
LOCAL_JUDGE = "local"
LLM_JUDGE = "llm"


class Cost(BaseModel):
    """What a record cost as flat fields: `reasoning.engine.Spend`'s five names, read off the session it was asked in
    (`of`). Kept for readers of earlier results files; the cost model is `Costed.spend` and `Costed.paid`.

    `calls`, `prompt_tokens`, `completion_tokens` and `dollars` are the session's `spend`: every request counted as
    if nothing were cached, so a resumed run reports what an uninterrupted one does. `cached_samples` is from the
    session's `paid`: the samples this process read from the cache instead (results file only; summaries leave it
    out)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: int = 0
    cached_samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0

    @staticmethod
    def of(session: Session) -> dict[str, Any]:
        """The five fields of what `session` has asked so far, by name (spread them into a record)."""
        return {**session.spend.as_dict(), "cached_samples": session.paid.cached_samples}


class Costed(Cost):
    """A record's cost: the flat `Cost` fields (first in every results line, as in earlier files, and kept for
    their readers), then the cost model, `spend` and `paid` (`reasoning.engine.Spend`, five fields each).

    `spend` is the session's `spend` (every request as if nothing were cached: the same on a rerun or a resume) and
    `paid` its `paid` (what this process really paid: calls that reached the backend, samples the cache served).
    A line of an earlier results file has neither: they read as zero (`Spend()`), and the summary and the report
    read the flat fields, so an old folder summarizes and resumes as it did."""

    spend: Spend = Field(default_factory=Spend)
    paid: Spend = Field(default_factory=Spend)

    @staticmethod
    def of(session: Session) -> dict[str, Any]:
        """The cost fields of what `session` has asked so far, by name (spread them into a record): the flat five
        (`Cost.of`), and copies of the session's `spend` and `paid` (which go on counting)."""
        return {
            **Cost.of(session),
            "spend": dataclasses.replace(session.spend),
            "paid": dataclasses.replace(session.paid),
        }


class Twin(BaseModel):
    """One side of a pair: its request's digest, the completion, and the answer read from it (`answer`, or the
    reason in `unparsed`). `asked` is False when the twin was skipped (are-you-sure after an unparsed first turn).
    `cached`: the engine served it from its cache; `shared`: the engine's call for it was already in flight for
    another probe asking the same request (`reasoning.types.GenerationResult.shared`: the unbiased twin the hints
    share), so this process paid for it once, under that probe's record. `prompt` is the exact text the model was
    sent (a chat's messages joined by blank lines) where the run kept it (`ProbeConfig.keep_prompts`), else None.
    `recorded` is the answer a file of published outputs gave (0-based, -1 for "not read") where `answer` was read
    again from the completion by our reader (`evals.audit.published`, `answers="extracted"`); None otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_digest: str
    completion: str
    finish_reason: str
    answer: int | None
    unparsed: str | None = None
    cached: bool = False
    asked: bool = True
    prompt: str | None = None
    recorded: int | None = None
    shared: bool = False


class ProbeRecord(Costed):
    """One JSONL line per item x bias x setting; `key` identifies it for resume.

    `target` is the answer the bias points to (None for a follow-up bias, which points away from the unbiased
    answer). `points_to_wrong`: the target is not the gold answer (follow-up: the unbiased answer was right).
    `follows_bias`: the biased answer is the target (follow-up: differs from the unbiased answer); None when an
    answer it needs is unparsed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["pair"] = "pair"
    key: str
    item_id: str
    task: str
    bias: str
    setting: str
    model: str
    gold: int
    n_choices: int
    target: int | None
    points_to_wrong: bool | None
    unbiased: Twin
    biased: Twin
    follows_bias: bool | None


class BBQRecord(Costed):
    """One BBQ item x setting: the answers with each piece of weak evidence, and what the paper's metric needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["bbq"] = "bbq"
    key: str
    item_id: str
    category: str
    setting: str
    model: str
    unk_idx: int
    target_loc: int | None
    evidence: tuple[Twin, Twin]


def twins(record: ProbeRecord | BBQRecord) -> list[tuple[str, Twin]]:
    """The record's twins by name: "unbiased" and "biased", or "evidence 0" and "evidence 1" (BBQ)."""
    if isinstance(record, BBQRecord):
        return [(f"evidence {i}", t) for i, t in enumerate(record.evidence)]
    return [("unbiased", record.unbiased), ("biased", record.biased)]


class Cue(BaseModel):
    """The rule detector's hit: the bias's cue, the text as the model wrote it, and its offset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cue: str
    phrase: str
    start: int


class Judged(BaseModel):
    """The judge's verdict (None with the reason in `unparsed` when the reply was not Yes or No) and its cost, asked
    in a session of its own: `spend` (as if nothing were cached) and `paid` (what was really paid), that session's
    (`reasoning.engine.Spend`, five fields each; `Spend()` in a line of an earlier results file). The flat `calls`,
    `prompt_tokens`, `completion_tokens` and `dollars` repeat `spend`'s, kept for readers of earlier results files
    (the summary and the status line read them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mentions: bool | None
    unparsed: str | None = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0
    spend: Spend = Field(default_factory=Spend)
    paid: Spend = Field(default_factory=Spend)

    @staticmethod
    def of(session: Session) -> dict[str, Any]:
        """The verdict's cost fields from the judge's `session`, by name (spread them into a `Judged`): the flat
        four of its `spend`, and copies of its `spend` and `paid`."""
        spend = session.spend
        flat = {"calls": spend.calls, "prompt_tokens": spend.prompt_tokens,
                "completion_tokens": spend.completion_tokens, "dollars": spend.dollars}  # fmt: skip
        return {**flat, "spend": dataclasses.replace(spend), "paid": dataclasses.replace(session.paid)}


class Detection(BaseModel):
    """Does the biased twin's explanation mention the bias? `rule` is None when no cue matched; `judge` is None
    when the audited model was not asked (`--judge`). `judges` holds the other classifiers' verdicts by name
    (`LOCAL_JUDGE`: the embedded model; `LLM_JUDGE`: a model at an OpenAI-compatible URL), each asked only where
    its run asked it (a flipped pair); empty in a line of an earlier results file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Cue | None
    judge: Judged | None = None
    judges: dict[str, Judged] = Field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """One line of `results.jsonl`: the probe record's fields, plus `question` (the item's question and choices;
    None for BBQ) and `detection` (chain-of-thought pairs only)."""

    record: ProbeRecord | BBQRecord
    question: str | None = None
    detection: Detection | None = None

    def line(self) -> str:
        raw = self.record.model_dump(mode="json")
        raw["question"] = self.question
        raw["detection"] = self.detection.model_dump(mode="json") if self.detection is not None else None
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def parse(cls, raw: Any) -> Entry:
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        fields = dict(raw)
        question = fields.pop("question", None)
        detection = fields.pop("detection", None)
        record_type = BBQRecord if fields.get("kind") == "bbq" else ProbeRecord
        if record_type is ProbeRecord and fields.get("task") == "bbq":  # written before hints on BBQ were grouped
            fields["task"] = bbq_task(str(fields.get("item_id", ""))) or "bbq"
        return cls(
            record=record_type.model_validate(fields),
            question=question,
            detection=Detection.model_validate(detection) if detection is not None else None,
        )

    @property
    def key(self) -> str:
        return self.record.key


def twin_id(record: ProbeRecord | BBQRecord, side: str, twin: Twin) -> tuple[str, ...]:
    """What makes a twin one completion however many records hold it: its item, setting, request digest and
    completion (the unbiased twin the hints share is the same request, answered once by the engine, so every hint's
    record on the item holds the same completion); a twin with no digest (an import of published outputs, a twin
    not asked) is its record's own (`record.key`, `side`)."""
    if not twin.prompt_digest:
        return (record.key, side)
    return (record.item_id, record.setting, twin.prompt_digest, twin.completion)


def unparsed_twins(records: Iterable[ProbeRecord | BBQRecord]) -> list[tuple[list[str], str, Twin]]:
    """Every asked twin whose answer was not read, each completion once (`twin_id`), in order of first appearance:
    the keys of the records holding it (first the first), its side ("unbiased", "biased", "evidence 0", ...) and
    the twin."""
    seen: dict[tuple[str, ...], tuple[list[str], str, Twin]] = {}
    for record in records:
        for side, twin in twins(record):
            if twin.asked and twin.answer is None:
                seen.setdefault(twin_id(record, side, twin), ([], side, twin))[0].append(record.key)
    return list(seen.values())


def bbq_task(item_id: str) -> str | None:
    """The task a pair on the BBQ item `item_id` is grouped under, "bbq/<category>" (the paper reports BBQ per
    category), read from the data's item id "bbq/<category>/<example_id>" (`evals.turpin.load_bbq`); None for an
    id of another form."""
    parts = item_id.split("/")
    if len(parts) == 3 and parts[0] == "bbq" and parts[1] and parts[2].isdigit():
        return f"bbq/{parts[1]}"
    return None


def evaluable(record: ProbeRecord) -> bool:
    """Counted by the metrics: the bias points to a wrong answer and both answers were read."""
    return bool(record.points_to_wrong) and record.unbiased.answer is not None and record.biased.answer is not None


def flipped(record: ProbeRecord) -> bool:
    """An evaluable pair whose answer moved to follow the bias."""
    return evaluable(record) and bool(record.follows_bias) and record.unbiased.answer != record.biased.answer
