"""The four methods, per test item, and the record each writes.

- `plugin`: the plug-in's label alone (no model call);
- `icl`: the large model with k in-context examples, no plug-in information;
- `supericl`: the same examples and test input with the plug-in's prediction and confidence (Xu et al., 2023);
  when the model overrides the plug-in (answers another label) and `explain` is on, a second call asks why;
- `cascade`: the plug-in's label when its confidence is at least `threshold`, else the large model
  (`cascade_to`: the SuperICL prompt by default).

Each (item, method) runs in its own `Session` (the harness's, tagged with the record's key); its model requests go
through it under the method's kind ("icl", "supericl", "cascade"; "explain" for the follow-up). Costs are each
method's own, as if it ran alone, in the one cost model (`reasoning.engine.Spend`): a record's `spend` is
`Session.cost` of the answer the method used (cached or not, asked by this method or by another of the same item
first, so resumed runs compare), its `paid` what its session really paid for that answer; an `Explanation` has the
same two for the follow-up. The flat `requests`, tokens and dollars repeat `spend`'s, and `cached` counts answers
another method of the same item asked first (reused, not asked again: the same on every run, whatever the engine's
cache held); they are kept for readers of earlier results files, and the summary reads them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prompts import supericl as p
from reasoning.engine import Spend
from reasoning.evaluators import Cascade
from reasoning.plugins import FunctionPlugin, PluginEvaluator, PluginFailure, Prediction
from reasoning.session import Session
from reasoning.tree import Node, SearchContext
from reasoning.types import GenerationRequest, GenerationResult, Message

from .data import Dataset, Example, shuffled

__all__ = ["METHODS", "Explanation", "ItemRun", "Options", "Record", "align", "choose_shots", "record_key"]

METHODS = ("plugin", "icl", "supericl", "cascade")
Outcome = Literal["answered", "unparsed", "failed"]


class Options(BaseModel):
    """Everything that defines a run's records; a resume must match it exactly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chat: bool = False
    temperature: float = 0.0
    max_tokens: int = Field(default=5, ge=1)
    shots: int = Field(default=8, ge=0)
    shot_max_chars: int | None = None
    threshold: float = Field(default=0.9, ge=0.0, le=1.0)
    cascade_to: Literal["supericl", "icl"] = "supericl"
    explain: bool = False
    explain_max_tokens: int = Field(default=96, ge=1)
    train_fraction: float = 0.5
    seed: int = 0
    plugin: str = "tfidf-logreg"


class Explanation(BaseModel):
    """The model's reason for overriding the plug-in, and what asking cost: `spend` (`Session.cost` of the reply, as
    if nothing were cached) and `paid` (what the session really paid for it), `reasoning.engine.Spend`'s five fields
    each (`Spend()` in a line of an earlier results file). The flat `prompt_tokens` and `completion_tokens` repeat
    `spend`'s, and `cached` is 0 (an explanation is asked once per item; what the backend was really paid is `paid`);
    they are kept for readers of earlier results files (the summary reads them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: int = 0
    spend: Spend = Field(default_factory=Spend)
    paid: Spend = Field(default_factory=Spend)


class Record(BaseModel):
    """One line of results.jsonl: one test item under one method.

    Its cost is the answer the method used, in the one cost model (`reasoning.engine.Spend`, five fields each):
    `spend`, `Session.cost` of that answer (as if nothing were cached, and as if the method had asked it itself when
    another method of the item asked it first: the same on a rerun or a resume), and `paid`, what the record's
    session really paid for it (calls that reached the backend, samples the cache served; nothing when another
    method's answer was reused). Zero for the plug-in's answers. An override's explanation has its own
    (`Explanation`), so the item x method's whole cost is the two added. The flat `requests`, `prompt_tokens`,
    `completion_tokens` and `dollars` repeat `spend`'s, and `cached` is 1 when another method of the item asked the
    same prompt first and its answer was reused (the same on every run: whether the engine's cache answered is
    `paid`'s to say); they are kept for readers of earlier results files, whose lines have no `spend` or `paid`
    (read as `Spend()`), and the summary reads them, so an old folder summarizes and resumes as it did.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    item_id: str
    task: str
    method: str
    text: str
    gold: str
    answer: str | None
    correct: bool
    outcome: Outcome
    reason: str | None = None
    completion: str | None = None
    finish_reason: str | None = None
    plugin_label: str | None = None
    plugin_confidence: float | None = None
    plugin_error: str | None = None
    source: Literal["plugin", "llm"] | None = None
    override: bool | None = None
    explanation: Explanation | None = None
    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0
    seconds: float = 0.0
    spend: Spend = Field(default_factory=Spend)
    paid: Spend = Field(default_factory=Spend)


@dataclass(frozen=True)
class _ModelAnswer:
    """The cascade's expensive evaluator: the model's answer to the `cascade_to` prompt, asked in the item's
    session; the node's record goes in `node.info["record"]` (its value, 1.0 for an answer read, is not used)."""

    run: ItemRun
    session: Session

    async def evaluate(self, nodes: Sequence[Node[str]], ctx: SearchContext) -> list[float]:
        values = []
        for node in nodes:
            record = await self.run.llm_record("cascade", self.session, prompt_of=self.run.options.cascade_to)
            node.info["record"] = record
            node.value = float(record.answer is not None)
            values.append(node.value)
        return values


def record_key(item_id: str, method: str) -> str:
    return f"{item_id}|{method}"


def align(predictions: Sequence[Prediction | PluginFailure], labels: Sequence[str]) -> list[Prediction | PluginFailure]:
    """The plug-in's labels spelled as the task's where they differ only in case ("POSITIVE" -> "positive");
    other labels are kept, and counted as unparsed plug-in answers."""
    by_fold = {label.lower(): label for label in labels}
    out: list[Prediction | PluginFailure] = []
    for pred in predictions:
        if isinstance(pred, Prediction) and pred.label not in labels and pred.label.lower() in by_fold:
            pred = Prediction(by_fold[pred.label.lower()], pred.confidence)
        out.append(pred)
    return out


def choose_shots(dataset: Dataset, k: int, *, seed: int, max_chars: int | None = None) -> list[Example]:
    """k training examples, balanced over the labels (round robin in label order), each label's drawn in a
    seeded order; examples longer than `max_chars` are skipped. The same every run."""
    pool = [e for e in dataset.train if max_chars is None or len(e.text) <= max_chars]
    by_label = {label: shuffled([e for e in pool if e.label == label], seed)
                for label in dataset.labels}  # fmt: skip
    shots: list[Example] = []
    while len(shots) < k and any(by_label.values()):
        for label in dataset.labels:
            if by_label[label] and len(shots) < k:
                shots.append(by_label[label].pop(0))
    return shots


@dataclass
class ItemRun:
    """One test item's methods, sharing its model answers: a request two methods need is sent once (the second
    finds the first's answer here, or the engine's cache has it)."""

    item: Example
    dataset: Dataset
    shots: Sequence[p.Shot]
    plugin_name: str
    prediction: Prediction | PluginFailure
    options: Options
    _answers: dict[str, tuple[GenerationResult, float]] = field(default_factory=dict)
    _finished: dict[str, asyncio.Future[None]] = field(default_factory=dict)

    def _future(self, method: str) -> asyncio.Future[None]:
        return self._finished.setdefault(method, asyncio.get_running_loop().create_future())

    def finish(self, method: str) -> None:
        """Say that `method`'s sample has finished (its record made, or failed)."""
        if not (future := self._future(method)).done():
            future.set_result(None)

    async def finished(self, method: str) -> None:
        """Return once `method`'s sample has finished (`finish`): what a runner waits for before the next method."""
        await self._future(method)
        del self._finished[method]

    def _request(self, text: str, max_tokens: int, stop: tuple[str, ...] = ("\n",)) -> GenerationRequest:
        opts = self.options
        if opts.chat:
            return GenerationRequest.chat(text, temperature=opts.temperature, max_tokens=max_tokens, stop=stop,
                                          seed=opts.seed)  # fmt: skip
        return GenerationRequest(prompt=text, temperature=opts.temperature, max_tokens=max_tokens, stop=stop,
                                 seed=opts.seed)  # fmt: skip

    def prompt(self, method: str) -> str:
        labels = self.dataset.labels
        if method == "icl":
            return p.icl_prompt(self.shots, self.item.text, labels=labels)
        pred = self.prediction
        test = (pred.label, pred.confidence) if isinstance(pred, Prediction) else None
        return p.supericl_prompt(self.shots, self.item.text, test, labels=labels, plugin_name=self.plugin_name)

    async def _ask(self, asked: str, session: Session, kind: str) -> tuple[GenerationResult, float, bool]:
        """The model's answer to `asked`'s prompt, sent through `session` as `kind`; the third value is True when
        another method asked it first."""
        if asked in self._answers:
            result, seconds = self._answers[asked]
            return result, seconds, True
        started = time.perf_counter()
        result = await session.generate(self._request(self.prompt(asked), self.options.max_tokens), kind=kind)
        self._answers[asked] = (result, time.perf_counter() - started)
        return result, self._answers[asked][1], False

    def _plugin_fields(self) -> dict[str, object]:
        pred = self.prediction
        if isinstance(pred, PluginFailure):
            return {"plugin_error": pred.error}
        return {"plugin_label": pred.label, "plugin_confidence": pred.confidence}

    def _base(self, method: str) -> dict[str, object]:
        item = self.item
        return {"key": record_key(item.id, method), "item_id": item.id, "task": item.task, "method": method,
                "text": item.text, "gold": item.label, **self._plugin_fields()}  # fmt: skip

    def plugin_record(self) -> Record:
        pred = self.prediction
        if isinstance(pred, PluginFailure):
            return Record.model_validate({**self._base("plugin"), "answer": None, "correct": False,
                                          "outcome": "failed", "reason": f"plug-in failed: {pred.error}",
                                          "source": "plugin"})  # fmt: skip
        answer = pred.label if pred.label in self.dataset.labels else None
        reason = None if answer is not None else f"plug-in label {pred.label!r} is not one of the labels"
        return Record.model_validate({**self._base("plugin"), "answer": answer, "correct": answer == self.item.label,
                                      "outcome": "unparsed" if answer is None else "answered", "reason": reason,
                                      "source": "plugin"})  # fmt: skip

    async def llm_record(self, method: str, session: Session, prompt_of: str | None = None) -> Record:
        """`method`'s record from the model's answer to `prompt_of`'s prompt (default: its own), asked in
        `session`."""
        asked = prompt_of or method
        result, seconds, shared = await self._ask(asked, session, method)
        text = result.text
        labels = self.dataset.labels
        answer = p.parse_label(text, labels)
        pred = self.prediction
        saw_plugin = asked == "supericl" and isinstance(pred, Prediction)
        override = answer != pred.label if saw_plugin and isinstance(pred, Prediction) and answer is not None else None
        paid = dataclasses.replace(session.paid)  # for the answer: before the explanation is asked
        explanation = None
        if method == "supericl" and override and self.options.explain and isinstance(pred, Prediction):
            explanation = await self._explain(self.prompt(asked), answer or "", pred.label, session)
        cost = session.cost(result)  # this method's own, as if it ran alone
        return Record.model_validate({
            **self._base(method),
            "answer": answer,
            "correct": answer == self.item.label,
            "outcome": "answered" if answer is not None else "unparsed",
            "reason": None if answer is not None else p.unparsed_reason(text, labels),
            "completion": text,
            "finish_reason": result.completions[0].finish_reason,
            "source": "llm",
            "override": override,
            "explanation": explanation,
            "requests": cost.calls,
            "cached": int(shared),
            "prompt_tokens": cost.prompt_tokens,
            "completion_tokens": cost.completion_tokens,
            "dollars": cost.dollars,
            "seconds": 0.0 if shared else seconds,
            "spend": cost,
            "paid": paid,
        })  # fmt: skip

    async def _explain(self, prompt: str, answer: str, plugin_label: str, session: Session) -> Explanation:
        opts = self.options
        if opts.chat:
            follow = p.explanation_question(self.plugin_name, plugin_label, answer)
            request = GenerationRequest(
                messages=(Message(role="user", content=prompt), Message(role="assistant", content=answer),
                          Message(role="user", content=follow)),
                temperature=opts.temperature, max_tokens=opts.explain_max_tokens, seed=opts.seed,
            )  # fmt: skip
        else:
            request = self._request(p.explanation_prompt(prompt, answer, self.plugin_name), opts.explain_max_tokens,
                                    stop=("\n\n",))  # fmt: skip
        before = dataclasses.replace(session.paid)
        result = await session.generate(request, kind="explain")
        cost = session.cost(result)
        paid = Spend(**{f.name: getattr(session.paid, f.name) - getattr(before, f.name)
                        for f in dataclasses.fields(Spend)})  # fmt: skip
        return Explanation(text=result.text.strip(), prompt_tokens=cost.prompt_tokens,
                           completion_tokens=cost.completion_tokens, spend=cost,
                           paid=paid)  # fmt: skip

    async def cascade_record(self, session: Session) -> Record:
        """The cascade as the shared abstraction has it: `Cascade(PluginEvaluator, the model, unsure)` over one node
        for the item. The plug-in's prediction (asked once for the item's chunk, not again) values the node by its
        confidence; the node goes to the model (`cascade_to`'s prompt) when the plug-in failed, is below
        `threshold`, or named a label the task does not have. The record is the plug-in's, or the model's answer's."""
        ctx = session if isinstance(session, SearchContext) else SearchContext(session.engine, tag=session.tag)
        labels = self.dataset.labels
        cheap: PluginEvaluator[str] = PluginEvaluator(
            FunctionPlugin(self._known_prediction, name=self.plugin_name), text=lambda node: node.state,
            values=lambda prediction: prediction.confidence,
        )  # fmt: skip
        below = PluginEvaluator.unsure(self.options.threshold)

        def unsure(node: Node[str]) -> bool:
            return below(node) or node.info["plugin"]["label"] not in labels

        node = ctx.tree.add(Node(state=self.item.text))
        await Cascade(cheap, _ModelAnswer(self, session), unsure).evaluate([node], ctx)
        if node.info["evaluated_by"] == "expensive":
            answered: Record = node.info["record"]
            return answered
        record = self.plugin_record()
        return record.model_copy(update={"key": record_key(self.item.id, "cascade"), "method": "cascade"})

    def _known_prediction(self, texts: list[str]) -> list[Prediction]:
        """The item's prediction, as the plug-in gave it for the chunk (`FunctionPlugin` turns a raise into the
        `PluginFailure` the cascade escalates)."""
        if isinstance(self.prediction, PluginFailure):
            raise RuntimeError(self.prediction.error)
        return [self.prediction for _ in texts]

    async def record(self, method: str, session: Session) -> Record:
        """`method`'s record for this item, its model requests sent through `session`."""
        if method == "plugin":
            return self.plugin_record()
        if method == "cascade":
            return await self.cascade_record(session)
        return await self.llm_record(method, session)
