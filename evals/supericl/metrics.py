"""Metrics from a run's records, per task (and pooled over tasks as `ALL`):

- per method: accuracy over every test item (unparsed answers and plug-in failures count as wrong, and are
  counted), model requests and tokens;
- overrides (SuperICL, and the cascade's escalated items): among items where both the plug-in and the model gave
  a label, how often the model's differs (override rate), and how often such an override is right; `fixed` (the
  plug-in was wrong, the override right) and `broke` (the plug-in was right, the override wrong);
- the plug-in's calibration: a reliability diagram (10 equal-width confidence bins) and the expected calibration
  error, ECE = sum over bins of (bin items / items) x |bin accuracy - bin mean confidence|;
- the cascade sweep, from one run's `plugin` records and the records of the method the cascade escalates to: for
  each threshold t, items whose plug-in confidence is at least t take the plug-in's label, the rest the model's;
  accuracy, model requests (and the share saved against asking the model on every item), and tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from evals.stats import Proportion

from .methods import METHODS, Record

__all__ = [
    "ALL",
    "Bin",
    "Calibration",
    "MethodMetrics",
    "Overrides",
    "SweepRow",
    "calibration",
    "method_metrics",
    "overrides",
    "sweep",
    "thresholds",
]

ALL = "all"
BINS = 10


class MethodMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    task: str
    method: str
    items: int
    answered: int
    unparsed: int
    failed: int
    accuracy: Proportion
    plugin_answers: int  # items answered by the plug-in's label (plugin: all answered; cascade: those above t)
    requests: int
    cached: int
    prompt_tokens: int
    completion_tokens: int
    dollars: float
    explanations: int
    explanation_tokens: int


class Overrides(BaseModel):
    model_config = ConfigDict(frozen=True)

    task: str
    method: str
    compared: int  # items with both a plug-in label and a model label
    rate: Proportion  # overrides of compared
    right: Proportion  # right overrides of overrides
    fixed: int
    broke: int


class Bin(BaseModel):
    model_config = ConfigDict(frozen=True)

    low: float
    high: float
    n: int
    confidence: float | None
    accuracy: float | None


class Calibration(BaseModel):
    model_config = ConfigDict(frozen=True)

    task: str
    n: int  # items with a prediction
    failed: int
    ece: float | None
    bins: list[Bin]


class SweepRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    task: str
    threshold: float | None  # None: the model for every item
    items: int
    plugin_items: int
    llm_requests: int
    requests_saved: float | None
    tokens: int
    tokens_saved: float | None
    correct: int
    accuracy: float | None


def _tokens(r: Record) -> int:
    return r.prompt_tokens + r.completion_tokens


def method_metrics(task: str, method: str, records: Sequence[Record]) -> MethodMetrics:
    explained = [r.explanation for r in records if r.explanation is not None]
    return MethodMetrics(
        task=task,
        method=method,
        items=len(records),
        answered=sum(r.outcome == "answered" for r in records),
        unparsed=sum(r.outcome == "unparsed" for r in records),
        failed=sum(r.outcome == "failed" for r in records),
        accuracy=Proportion.of(sum(r.correct for r in records), len(records)),
        plugin_answers=sum(r.source == "plugin" and r.answer is not None for r in records),
        requests=sum(r.requests for r in records) + len(explained),
        cached=sum(r.cached for r in records) + sum(e.cached for e in explained),
        prompt_tokens=sum(r.prompt_tokens for r in records) + sum(e.prompt_tokens for e in explained),
        completion_tokens=sum(r.completion_tokens for r in records) + sum(e.completion_tokens for e in explained),
        dollars=sum(r.dollars for r in records),
        explanations=len(explained),
        explanation_tokens=sum(e.prompt_tokens + e.completion_tokens for e in explained),
    )


def overrides(task: str, method: str, records: Sequence[Record]) -> Overrides:
    """Over the records answered by the model where the plug-in also gave a label."""
    compared = [r for r in records if r.source == "llm" and r.override is not None]
    over = [r for r in compared if r.override]
    return Overrides(
        task=task,
        method=method,
        compared=len(compared),
        rate=Proportion.of(len(over), len(compared)),
        right=Proportion.of(sum(r.correct for r in over), len(over)),
        fixed=sum(r.correct and r.plugin_label != r.gold for r in over),
        broke=sum(not r.correct and r.plugin_label == r.gold for r in over),
    )


def calibration(task: str, plugin_records: Sequence[Record], bins: int = BINS) -> Calibration:
    """Reliability bins [i/bins, (i+1)/bins) (the last includes 1) of the plug-in's confidence, and the ECE."""
    scored = [r for r in plugin_records if r.plugin_confidence is not None]
    groups: list[list[Record]] = [[] for _ in range(bins)]
    for r in scored:
        assert r.plugin_confidence is not None
        groups[min(bins - 1, int(r.plugin_confidence * bins))].append(r)
    out, ece = [], 0.0
    for i, group in enumerate(groups):
        conf = sum(r.plugin_confidence or 0.0 for r in group) / len(group) if group else None
        acc = sum(r.plugin_label == r.gold for r in group) / len(group) if group else None
        if conf is not None and acc is not None:
            ece += len(group) / len(scored) * abs(acc - conf)
        out.append(Bin(low=i / bins, high=(i + 1) / bins, n=len(group), confidence=conf, accuracy=acc))
    failed = sum(r.plugin_error is not None for r in plugin_records)
    return Calibration(task=task, n=len(scored), failed=failed, ece=ece if scored else None, bins=out)


def thresholds(run_threshold: float | None = None) -> list[float | None]:
    """0 (the plug-in for every item it labels), 0.5 to 1 in steps of 0.05, the run's own, and None (the model
    for every item)."""
    grid = {0.0, *(round(0.5 + 0.05 * i, 2) for i in range(11))}
    if run_threshold is not None:
        grid.add(run_threshold)
    return [*sorted(grid), None]


def sweep(
    task: str, plugin_records: Sequence[Record], llm_records: Sequence[Record], grid: Iterable[float | None]
) -> list[SweepRow]:
    """The cascade at each threshold, over the items that have both a plug-in record and a model record."""
    llm = {r.item_id: r for r in llm_records}
    pairs = [(p, llm[p.item_id]) for p in plugin_records if p.item_id in llm]
    base_tokens = sum(_tokens(m) for _, m in pairs)
    rows = []
    for t in grid:
        correct = plugin_items = tokens = 0
        for p, m in pairs:
            if t is not None and p.answer is not None and (p.plugin_confidence or 0.0) >= t:
                plugin_items += 1
                correct += p.correct
            else:
                tokens += _tokens(m)
                correct += m.correct
        n = len(pairs)
        rows.append(SweepRow(
            task=task, threshold=t, items=n, plugin_items=plugin_items, llm_requests=n - plugin_items,
            requests_saved=plugin_items / n if n else None, tokens=tokens,
            tokens_saved=1 - tokens / base_tokens if base_tokens else None, correct=correct,
            accuracy=correct / n if n else None,
        ))  # fmt: skip
    return rows


def by_task(records: Sequence[Record]) -> dict[str, dict[str, list[Record]]]:
    """Records grouped by task and method (tasks in first-seen order; `ALL` pools them when there are several)."""
    groups: dict[str, dict[str, list[Record]]] = {}
    for r in records:
        groups.setdefault(r.task, {m: [] for m in METHODS}).setdefault(r.method, []).append(r)
    if len(groups) > 1:
        groups[ALL] = {m: [r for g in list(groups.values()) for r in g.get(m, [])] for m in METHODS}
    return groups
