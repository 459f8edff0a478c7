"""A record as one sample of an eval log: what each eval says about its records (`Eval.log_sample`) so that
`reasoning export DIR --to inspect` can write any run folder as an inspect_ai eval log (`evals.export`).

These are plain values, with no inspect_ai in them (the toolkit imports inspect_ai only when it exports): a
`LogSample` holds a record's input, target, transcript (`Turn`s: the prompts where the run kept them, and the
model's replies), scores (`Scored`), cost and metadata; the exporter maps them onto inspect_ai's `EvalSample`,
`ChatMessage*`, `Score` and `ModelUsage`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from reasoning.engine import Spend

__all__ = ["LogSample", "Scored", "Turn", "as_fields"]


@dataclass(frozen=True)
class Turn:
    """One message of a sample's transcript. `part` names the exchange it belongs to when a record holds several
    (the audit's "unbiased" and "biased" twins; a search's "output 2"); None when it holds one."""

    role: Literal["system", "user", "assistant"]
    content: str
    part: str | None = None


@dataclass(frozen=True)
class Scored:
    """One score of a sample: `value` (a bool counts as 1 or 0 in the log's mean; a string is shown, not averaged),
    the `answer` it judged (the text read from the model's reply) and an `explanation`, where there are."""

    value: bool | int | float | str
    answer: str | None = None
    explanation: str | None = None


@dataclass(frozen=True)
class LogSample:
    """A record as one eval-log sample.

    - `id`: the record's sample key (`Eval.record_key`); `input`: what the sample asked (the puzzle, the question,
      the clues), as text; `target`: the right answer where there is one ("" where there is none).
    - `messages`: the transcript, oldest first. `prompts_kept` is False when the run did not store the prompts it
      sent (then `messages` holds the model's replies only, and the exported sample's metadata says so).
    - `scores`: by name; a score the record does not have (an answer that could not be read) is left out.
    - `cost`: the record's reproducible cost (`spend`: as if nothing were cached), None when it has none.
    - `metadata`: the record's own fields, JSON-ready (`as_fields`).
    """

    id: str
    input: str
    target: str | list[str] = ""
    messages: tuple[Turn, ...] = ()
    prompts_kept: bool = False
    scores: Mapping[str, Scored] = field(default_factory=dict)
    cost: Spend | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


def as_fields(record: Any) -> dict[str, Any]:
    """A record's fields as JSON-ready values: a pydantic model dumped in JSON mode, a dataclass as a dict, a dict
    as it is (a copy); `TypeError` for anything else."""
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json")
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    if isinstance(record, dict):
        return dict(record)
    raise TypeError(f"a record of type {type(record).__name__} has no fields to export")
