"""The records of an audit run: one line of `results.jsonl` (`Entry`: a probe record with its question and the
bias-mention detection) and the reading of a pair the metrics and the report share (`evaluable`, `flipped`).

The runner writes and reads these; the report renders them. Both import them from here, neither from the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from .probe import BBQRecord, ProbeRecord

__all__ = ["Cue", "Detection", "Entry", "Judged", "evaluable", "flipped"]


class Cue(BaseModel):
    """The rule detector's hit: the bias's cue, the text as the model wrote it, and its offset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cue: str
    phrase: str
    start: int


class Judged(BaseModel):
    """The judge's verdict (None with the reason in `unparsed` when the reply was not Yes or No) and its cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mentions: bool | None
    unparsed: str | None = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0


class Detection(BaseModel):
    """Does the biased twin's explanation mention the bias? `rule` is None when no cue matched; `judge` is None
    when no judge was asked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Cue | None
    judge: Judged | None = None


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
        return cls(
            record=record_type.model_validate(fields),
            question=question,
            detection=Detection.model_validate(detection) if detection is not None else None,
        )


def evaluable(record: ProbeRecord) -> bool:
    """Counted by the metrics: the bias points to a wrong answer and both answers were read."""
    return bool(record.points_to_wrong) and record.unbiased.answer is not None and record.biased.answer is not None


def flipped(record: ProbeRecord) -> bool:
    """An evaluable pair whose answer moved to follow the bias."""
    return evaluable(record) and bool(record.follows_bias) and record.unbiased.answer != record.biased.answer
