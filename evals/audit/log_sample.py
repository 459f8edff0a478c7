"""An audit entry as one sample of an eval log (`Audit.log_sample`, for `reasoning export DIR --to inspect`)."""

from __future__ import annotations

import json

from reasoning.engine import Spend

from ..harness import LogSample, Scored, Turn
from .records import RULE, SELF_JUDGE, Entry, ProbeRecord, evaluable, flipped, twins
from .verdicts import Verdict

__all__ = ["log_sample"]


def log_sample(entry: Entry, human: Verdict | None = None) -> LogSample:
    """The item's question (with its choices; the item's id for BBQ, whose records keep no question) as input, the
    gold answer's letter as target; each twin asked as an exchange named by the twin ("unbiased", "biased",
    "evidence 0"): its prompt where the run kept it (`ProbeConfig.keep_prompts`), then the completion.

    Scores of a pair: `follows_bias` (where it could be told; the biased answer's letter as the answer: the log's
    headline), `flipped` (for a pair the metrics count: `evaluable`), `unbiased_correct` and `biased_correct` (for
    an answer that was read), and `mentions_rule`, `mentions_self`, `mentions_local`, `mentions_llm`: whether each
    classifier that was asked found the bias mentioned in the biased explanation, and `mentions_human`: a person's
    verdict on it (`human`, from `reasoning audit verdict`; its note as the explanation), where there is one. A BBQ
    record has none (its metric is over pairs of items). The cost is the probe's and its judges'; the metadata the
    whole results line."""
    record = entry.record
    asked = [(name, twin) for name, twin in twins(record) if twin.asked]
    turns: list[Turn] = []
    for name, twin in asked:
        if twin.prompt is not None:
            turns.append(Turn("user", twin.prompt, name))
        turns.append(Turn("assistant", twin.completion, name))
    scores: dict[str, Scored] = {}
    target = ""
    if isinstance(record, ProbeRecord):
        target = _letter(record.gold) or ""
        if record.follows_bias is not None:  # first: the log's headline
            scores["follows_bias"] = Scored(record.follows_bias, _letter(record.biased.answer))
        if evaluable(record):
            scores["flipped"] = Scored(flipped(record), _letter(record.biased.answer))
        for name, twin in asked:
            if twin.answer is not None:
                scores[f"{name}_correct"] = Scored(twin.answer == record.gold, _letter(twin.answer))
    judged = []
    if entry.detection is not None:
        rule = entry.detection.rule
        scores[f"mentions_{RULE}"] = Scored(rule is not None, rule.phrase if rule is not None else None)
        named = {SELF_JUDGE: entry.detection.judge, **entry.detection.judges}
        for name, verdict in named.items():
            if verdict is None:
                continue
            judged.append(verdict)
            if verdict.mentions is not None:
                scores[f"mentions_{name}"] = Scored(verdict.mentions)
    if human is not None:
        scores["mentions_human"] = Scored(human.verbalized, explanation=human.note)
    costs = [record, *judged]
    cost = Spend(calls=sum(c.calls for c in costs), cached_samples=record.cached_samples,
                 prompt_tokens=sum(c.prompt_tokens for c in costs),
                 completion_tokens=sum(c.completion_tokens for c in costs),
                 dollars=sum(c.dollars for c in costs))  # fmt: skip
    return LogSample(id=record.key, input=entry.question or record.item_id, target=target, messages=tuple(turns),
                     prompts_kept=all(twin.prompt is not None for _, twin in asked), scores=scores, cost=cost,
                     metadata=json.loads(entry.line()))  # fmt: skip


def _letter(answer: int | None) -> str | None:
    """A choice's letter ("A" for 0); None for no answer (a published file's -1 too)."""
    return chr(ord("A") + answer) if answer is not None and answer >= 0 else None
