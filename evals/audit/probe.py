"""Probes: for each item x bias x setting, an unbiased and a biased twin, asked through the `Engine`.

A probe is a small tree in the shared abstraction: a root `Node` for the pair and one child per twin, each carrying
what its call cost (`SearchContext` accounting, one tag per probe). Twins send identical sampling options and seed,
so they differ only in the prompt, and a twin asked by several biases (the same unbiased prompt) is answered once
by the engine's cache and in-flight de-duplication.

BBQ items are probed the paper's way: the pair is the same ambiguous question with each of its two pieces of weak
evidence (`BBQRecord`); there is no bias object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from prompts import audit as p
from reasoning.engine import Engine, Spend
from reasoning.errors import ConfigurationError
from reasoning.tree import Node, SearchContext, gather_all
from reasoning.types import GenerationRequest, Message

from ..turpin import Item
from .biases import Bias, FollowUpBias, PointingBias, Setting
from .extract import Unparsed, extract_answer

__all__ = ["BBQRecord", "ProbeConfig", "ProbeRecord", "Twin", "probe", "probe_bbq", "record_key", "run_probes"]

BBQ_PROBE = "weak-evidence"


@dataclass(frozen=True)
class ProbeConfig:
    """How twins are asked. `chat` sends the prompt as one user message (after `system`, if any), otherwise as raw
    text. Defaults follow the paper's GPT-3.5 runs: temperature 0.7, up to 700 tokens of reasoning, 5 for a direct
    answer. `stop` keeps a completion model from writing the next few-shot example. `keep_prompts` stores each
    twin's full prompt in its record (otherwise only the request digest). `bbq_explicit_anti` uses BBQ's few-shot
    examples that tell the model not to rely on stereotypes."""

    chat: bool = True
    system: str | None = None
    temperature: float = 0.7
    cot_max_tokens: int = 700
    direct_max_tokens: int = 5
    seed: int = 0
    stop: tuple[str, ...] = ("\n\n###",)
    keep_prompts: bool = False
    bbq_explicit_anti: bool = False


class Twin(BaseModel):
    """One side of a pair: its request's digest, the completion, and the answer read from it (`answer`, or the
    reason in `unparsed`). `asked` is False when the twin was skipped (are-you-sure after an unparsed first turn)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_digest: str
    completion: str
    finish_reason: str
    answer: int | None
    unparsed: str | None = None
    cached: bool = False
    asked: bool = True
    prompt: str | None = None


class _Spent(BaseModel):
    calls: int = 0
    cached_samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0


class ProbeRecord(_Spent):
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


class BBQRecord(_Spent):
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


def record_key(item_id: str, probe_name: str, setting: Setting) -> str:
    """The resume key: item id, bias (or "weak-evidence" for BBQ) and setting."""
    return f"{item_id}|{probe_name}|{setting.key}"


def _request(config: ProbeConfig, setting: Setting, turns: Sequence[str]) -> GenerationRequest:
    # `turns` alternate user / assistant, starting and ending with the user.
    options: dict[str, Any] = {
        "temperature": config.temperature,
        "max_tokens": config.cot_max_tokens if setting.cot else config.direct_max_tokens,
        "stop": config.stop,
        "seed": config.seed,
    }
    if not config.chat:
        # As one text: a model's turn continues the prompt it answered; a user turn starts a new paragraph.
        text = turns[0] + "".join(t if i % 2 else "\n\n" + t for i, t in enumerate(turns[1:], start=1))
        return GenerationRequest(prompt=text, **options)
    messages = [Message(role="system", content=config.system)] if config.system is not None else []
    messages += [Message(role="user" if i % 2 == 0 else "assistant", content=t) for i, t in enumerate(turns)]
    return GenerationRequest(messages=tuple(messages), **options)


async def _ask(
    ctx: SearchContext, root: Node[str], role: str, request: GenerationRequest, item: Item, setting: Setting, keep: bool
) -> Twin:
    node = ctx.tree.add(root.child(role, thought=role))
    result = await ctx.generate(request, kind=role)
    node.spend.add(ctx.cost(result))
    completion = result.completions[0]
    answer = extract_answer(completion.text, len(item.choices), cot=setting.cot)
    reason = answer.reason if isinstance(answer, Unparsed) else None
    if reason is not None and completion.finish_reason == "length":
        reason += " (cut off at max_tokens)"
    node.info.update(answer=None if reason else answer, unparsed=reason)
    ctx.tree.update(node, answer=node.info["answer"])
    prompt = request.prompt if request.prompt is not None else "\n\n".join(m.content for m in request.messages or ())
    return Twin(
        prompt_digest=request.digest(),
        completion=completion.text,
        finish_reason=completion.finish_reason,
        answer=None if isinstance(answer, Unparsed) else answer,
        unparsed=reason,
        cached=result.cached > 0,
        prompt=prompt if keep else None,
    )


def _spent(ctx: SearchContext) -> dict[str, Any]:
    # Summed over this probe's twins (not the tag's ledger entry, which a rerun of the same probe adds to), as if
    # nothing were cached, so a resumed audit reports what an uninterrupted one does. `cached_samples` counts the
    # twins this process read from the cache instead (results file only; summaries leave it out).
    s = Spend()
    for node in ctx.tree.nodes:
        s.add(node.spend)
    return {"calls": s.calls, "cached_samples": ctx.paid.cached_samples, "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens, "dollars": s.dollars}  # fmt: skip


async def probe(
    item: Item, bias: Bias, setting: Setting, engine: Engine, config: ProbeConfig | None = None
) -> ProbeRecord:
    """Ask one item's unbiased and biased twins (concurrently, or in turn for a follow-up bias)."""
    config = config or ProbeConfig()
    key = record_key(item.id, bias.name, setting)
    ctx = SearchContext(engine, tag=f"audit/{key}")
    root = ctx.tree.add(Node(state=key))
    unbiased_ctx = bias.unbiased(item, setting)
    first = unbiased_ctx.render()
    ask_unbiased = _request(config, setting, [first])
    if isinstance(bias, PointingBias):
        biased_ctx = bias.apply(item, unbiased_ctx)
        target: int | None = biased_ctx.target
        ask_biased = _request(config, setting, [biased_ctx.context.render()])
        unbiased, biased = await gather_all(
            [_ask(ctx, root, r, q, item, setting, config.keep_prompts)
             for r, q in (("unbiased", ask_unbiased), ("biased", ask_biased))]
        )  # fmt: skip
        points_to_wrong: bool | None = target != item.gold
        follows = None if biased.answer is None else biased.answer == target
    elif isinstance(bias, FollowUpBias):
        target = None
        unbiased = await _ask(ctx, root, "unbiased", ask_unbiased, item, setting, config.keep_prompts)
        if unbiased.answer is None:
            biased = Twin(prompt_digest="", completion="", finish_reason="unknown", answer=None, asked=False,
                          unparsed="not asked: the first answer was unparsed")  # fmt: skip
        else:
            turns = [first, unbiased.completion, bias.challenge(setting)]
            biased = await _ask(
                ctx, root, "biased", _request(config, setting, turns), item, setting, config.keep_prompts
            )
        points_to_wrong = None if unbiased.answer is None else unbiased.answer == item.gold
        follows = None if unbiased.answer is None or biased.answer is None else biased.answer != unbiased.answer
    else:
        raise TypeError(f"{bias!r} has neither apply() nor challenge()")
    return ProbeRecord(
        key=key, item_id=item.id, task=item.task, bias=bias.name, setting=setting.key, model=engine.model.name,
        gold=item.gold, n_choices=len(item.choices), target=target, points_to_wrong=points_to_wrong,
        unbiased=unbiased, biased=biased, follows_bias=follows, **_spent(ctx),
    )  # fmt: skip


async def probe_bbq(item: Item, setting: Setting, engine: Engine, config: ProbeConfig | None = None) -> BBQRecord:
    """Ask a BBQ item with each of its two pieces of weak evidence."""
    config = config or ProbeConfig()
    info = item.bbq
    if info is None:
        raise TypeError(f"{item.id} is not a BBQ item")
    prefix = ""
    if setting.few_shot:
        fs = item.few_shot
        prefix_or_none = None if fs is None else (fs.explicit_anti if config.bbq_explicit_anti else fs.baseline)
        if prefix_or_none is None:
            raise ConfigurationError(f"item {item.id} has no few-shot prompt for {setting.key}")
        prefix = prefix_or_none
    key = record_key(item.id, BBQ_PROBE, setting)
    ctx = SearchContext(engine, tag=f"audit/{key}")
    root = ctx.tree.add(Node(state=key))
    prompts = [
        p.bbq_prompt(info.context, ev, item.question, item.choices, cot=setting.cot, prefix=prefix)
        for ev in info.weak_evidence
    ]
    twins = await gather_all(
        _ask(ctx, root, f"evidence{i}", _request(config, setting, [text]), item, setting, config.keep_prompts)
        for i, text in enumerate(prompts)
    )
    return BBQRecord(
        key=key, item_id=item.id, category=info.category, setting=setting.key, model=engine.model.name,
        unk_idx=info.unk_idx, target_loc=info.target_loc, evidence=(twins[0], twins[1]), **_spent(ctx),
    )  # fmt: skip


async def run_probes(
    items: Iterable[Item],
    biases: Sequence[Bias],
    settings: Sequence[Setting],
    engine: Engine,
    config: ProbeConfig | None = None,
    *,
    parallel: int = 16,
    done: Collection[str] = (),
    on_record: Callable[[ProbeRecord | BBQRecord], None] | None = None,
) -> list[ProbeRecord | BBQRecord]:
    """Every supported item x bias x setting (BBQ items: x setting) whose key is not in `done`, `parallel` pairs
    at a time. `on_record` sees each record as it finishes (to append it to a results file); the list comes back
    in item, bias, setting order. If a probe fails the others are cancelled and the first error is raised."""
    jobs: list[tuple[Item, Bias | None, Setting]] = []
    for item in items:
        for setting in settings:
            if item.bbq is not None:
                if record_key(item.id, BBQ_PROBE, setting) not in done:
                    jobs.append((item, None, setting))
                continue
            for bias in biases:
                if bias.supports(item, setting) and record_key(item.id, bias.name, setting) not in done:
                    jobs.append((item, bias, setting))
    gate = asyncio.Semaphore(parallel)
    results: list[ProbeRecord | BBQRecord | None] = [None] * len(jobs)

    async def one(i: int, item: Item, bias: Bias | None, setting: Setting) -> None:
        async with gate:
            record = await (
                probe_bbq(item, setting, engine, config) if bias is None else probe(item, bias, setting, engine, config)
            )
        results[i] = record
        if on_record is not None:
            on_record(record)

    try:
        async with asyncio.TaskGroup() as group:
            for i, job in enumerate(jobs):
                group.create_task(one(i, *job))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [r for r in results if r is not None]
