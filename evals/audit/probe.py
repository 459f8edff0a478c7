"""Probes: for each item x bias x setting, an unbiased and a biased twin, asked in one `Session`.

A probe runs in the session it is given (the harness gives each sample its own, tagged `audit/<key>`), or in one it
opens on an `Engine` and closes. Each twin is one request of its own kind ("unbiased", "biased"; "evidence0",
"evidence1" for BBQ), and the record's cost is the session's (`Costed.of`: its `spend`, what it asked as if nothing
were cached, its `paid`, what this process really paid, and the flat fields of earlier results files). Twins send
identical sampling options and seed, so they differ only in the prompt, and a twin asked by several biases (the same
unbiased prompt) is answered once by the engine's cache and in-flight de-duplication.

BBQ items are probed the paper's way: the pair is the same ambiguous question with each of its two pieces of weak
evidence (`BBQRecord`); there is no bias object. A bias that supports BBQ items (the hints, `evals.audit.hints`)
probes them as well, as pairs of its own (`ProbeRecord`), grouped per BBQ category as the paper reports BBQ (task
"bbq/<category>", e.g. "bbq/Age"; `records.bbq_task`).

`probes` lists the probes an item x bias x setting selection asks for (`Probe`: key, item, bias, setting), `ask`
asks one, `run_probes` asks many at once without a run folder (a run with resume: `evals.audit.runner`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from prompts import audit as p
from reasoning.engine import Engine
from reasoning.errors import ConfigurationError
from reasoning.session import Session
from reasoning.tree import gather_all
from reasoning.types import GenerationRequest, Message

from ..streaming import in_flight, run_stream
from ..turpin import Item
from .biases import Bias, FollowUpBias, PointingBias, Setting
from .extract import Unparsed, extract_answer
from .records import BBQRecord, Costed, ProbeRecord, Twin

__all__ = [
    "BBQ_PROBE",
    "BBQRecord",
    "Probe",
    "ProbeConfig",
    "ProbeRecord",
    "Twin",
    "ask",
    "probe",
    "probe_bbq",
    "probes",
    "record_key",
    "run_probes",
    "session_for",
]

BBQ_PROBE = "weak-evidence"


@dataclass(frozen=True)
class ProbeConfig:
    """How twins are asked. `chat` sends the prompt as one user message (after `system`, if any), otherwise as raw
    text. Defaults follow the paper's GPT-3.5 runs: temperature 0.7, up to 700 tokens of reasoning, 5 for a direct
    answer. `stop` keeps a completion model from writing the next few-shot example. `keep_prompts` stores each
    twin's full prompt in its record (otherwise only the request digest); `reasoning audit run` keeps them unless
    given `--no-keep-prompts` (`options.Sampling.keep_prompts`).

    `bbq_explicit_anti` swaps, in the weak-evidence probe's few-shot settings only (`probe_bbq`), BBQ's baseline
    few-shot examples for the data's `few_shot_prompt_explicit_anti`: the same examples, each with "Please ensure
    that your answer is unbiased and does not rely on stereotypes." before its reasoning. It is not Turpin et al.'s
    debiasing condition whole (the question asked is not given that sentence), `reasoning audit run` has no flag
    for it (its runs always use the baseline examples), and the hints (`evals.audit.hints`) ignore it: their BBQ
    twins always take the baseline examples, so a hint is measured against the same context as on BBH."""

    chat: bool = True
    system: str | None = None
    temperature: float = 0.7
    cot_max_tokens: int = 700
    direct_max_tokens: int = 5
    seed: int = 0
    stop: tuple[str, ...] = ("\n\n###",)
    keep_prompts: bool = False
    bbq_explicit_anti: bool = False


def record_key(item_id: str, probe_name: str, setting: Setting) -> str:
    """The resume key: item id, bias (or "weak-evidence" for BBQ) and setting."""
    return f"{item_id}|{probe_name}|{setting.key}"


def _request(
    config: ProbeConfig, setting: Setting, turns: Sequence[str], *, completion: int | None = None
) -> GenerationRequest:
    # `turns` alternate user / assistant, starting and ending with the user; `completion` is the index of the turn
    # that is the model's own completion (a follow-up bias's first answer), if any.
    options: dict[str, Any] = {
        "temperature": config.temperature,
        "max_tokens": config.cot_max_tokens if setting.cot else config.direct_max_tokens,
        "stop": config.stop,
        "seed": config.seed,
    }
    if not config.chat:
        # As one text: the model's own completion continues the prompt it answered; every other turn (a user's, or
        # a model's turn the bias wrote, as the consistency hint's prefilled answer) starts a new paragraph.
        text = turns[0] + "".join(t if i == completion else "\n\n" + t for i, t in enumerate(turns[1:], start=1))
        return GenerationRequest(prompt=text, **options)
    messages = [Message(role="system", content=config.system)] if config.system is not None else []
    messages += [Message(role="user" if i % 2 == 0 else "assistant", content=t) for i, t in enumerate(turns)]
    return GenerationRequest(messages=tuple(messages), **options)


@contextlib.asynccontextmanager
async def session_for(asker: Engine | Session, tag: str) -> AsyncIterator[Session]:
    """`asker` itself if it is a session (left open: its owner closes it), else a new session on the engine tagged
    `tag`, closed on exit (which releases the tag's ledger entry)."""
    if isinstance(asker, Session):
        yield asker
        return
    async with Session(asker, tag=tag) as session:
        yield session


async def _ask(session: Session, kind: str, request: GenerationRequest, item: Item, setting: Setting,
               keep: bool) -> Twin:  # fmt: skip
    result = await session.generate(request, kind=kind)
    completion = result.completions[0]
    answer = extract_answer(completion.text, len(item.choices), cot=setting.cot)
    reason = answer.reason if isinstance(answer, Unparsed) else None
    if reason is not None and completion.finish_reason == "length":
        reason += " (cut off at max_tokens)"
    prompt = request.prompt if request.prompt is not None else "\n\n".join(m.content for m in request.messages or ())
    return Twin(
        prompt_digest=request.digest(),
        completion=completion.text,
        finish_reason=completion.finish_reason,
        answer=None if isinstance(answer, Unparsed) else answer,
        unparsed=reason,
        cached=result.cached > 0,
        prompt=prompt if keep else None,
        shared=result.shared,
    )


async def probe(
    item: Item, bias: Bias, setting: Setting, asker: Engine | Session, config: ProbeConfig | None = None
) -> ProbeRecord:
    """Ask one item's unbiased and biased twins (concurrently, or in turn for a follow-up bias) in `asker`, a
    session (the record's cost is all it has asked: give it a fresh one) or an engine (a session tagged
    `audit/<key>` is opened on it and closed). A twin is its context's turns (`PromptContext.turns`: earlier turns,
    then the rendered prompt), as chat messages or as one text (`ProbeConfig.chat`)."""
    config = config or ProbeConfig()
    key = record_key(item.id, bias.name, setting)
    unbiased_ctx = bias.unbiased(item, setting)
    first = unbiased_ctx.turns()
    ask_unbiased = _request(config, setting, first)
    async with session_for(asker, f"audit/{key}") as session:
        if isinstance(bias, PointingBias):
            biased_ctx = bias.apply(item, unbiased_ctx)
            target: int | None = biased_ctx.target
            ask_biased = _request(config, setting, biased_ctx.context.turns())
            unbiased, biased = await gather_all(
                [_ask(session, kind, request, item, setting, config.keep_prompts)
                 for kind, request in (("unbiased", ask_unbiased), ("biased", ask_biased))]
            )  # fmt: skip
            points_to_wrong: bool | None = target != item.gold
            follows = None if biased.answer is None else biased.answer == target
        elif isinstance(bias, FollowUpBias):
            target = None
            unbiased = await _ask(session, "unbiased", ask_unbiased, item, setting, config.keep_prompts)
            if unbiased.answer is None:
                biased = Twin(prompt_digest="", completion="", finish_reason="unknown", answer=None, asked=False,
                              unparsed="not asked: the first answer was unparsed")  # fmt: skip
            else:
                turns = [*first, unbiased.completion, bias.challenge(setting)]
                ask_biased = _request(config, setting, turns, completion=len(first))
                biased = await _ask(session, "biased", ask_biased, item, setting, config.keep_prompts)
            points_to_wrong = None if unbiased.answer is None else unbiased.answer == item.gold
            follows = None if unbiased.answer is None or biased.answer is None else biased.answer != unbiased.answer
        else:
            raise TypeError(f"{bias!r} has neither apply() nor challenge()")
        return ProbeRecord(
            key=key, item_id=item.id, task=_task(item), bias=bias.name, setting=setting.key, model=session.model,
            gold=item.gold, n_choices=len(item.choices), target=target, points_to_wrong=points_to_wrong,
            unbiased=unbiased, biased=biased, follows_bias=follows, **Costed.of(session),
        )  # fmt: skip


def _task(item: Item) -> str:
    """The task a pair on `item` is grouped under: its own, or for a BBQ item "bbq/<category>" (`bbq_task`)."""
    return item.task if item.bbq is None else f"bbq/{item.bbq.category}"


async def probe_bbq(
    item: Item, setting: Setting, asker: Engine | Session, config: ProbeConfig | None = None
) -> BBQRecord:
    """Ask a BBQ item with each of its two pieces of weak evidence, in `asker` (as `probe`)."""
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
    prompts = [
        p.bbq_prompt(info.context, ev, item.question, item.choices, cot=setting.cot, prefix=prefix)
        for ev in info.weak_evidence
    ]
    async with session_for(asker, f"audit/{key}") as session:
        twins = await gather_all(
            _ask(session, f"evidence{i}", _request(config, setting, [text]), item, setting, config.keep_prompts)
            for i, text in enumerate(prompts)
        )
        return BBQRecord(
            key=key, item_id=item.id, category=info.category, setting=setting.key, model=session.model,
            unk_idx=info.unk_idx, target_loc=info.target_loc, evidence=(twins[0], twins[1]), **Costed.of(session),
        )  # fmt: skip


class Probe(NamedTuple):
    """One probe to ask: its key, the item, the bias (None for a BBQ item: its weak-evidence pair), the setting."""

    key: str
    item: Item
    bias: Bias | None
    setting: Setting


def probes(items: Iterable[Item], biases: Sequence[Bias], settings: Sequence[Setting]) -> Iterator[Probe]:
    """Each supported item x bias x setting, one at a time, in item, setting, bias order; a BBQ item's weak-evidence
    probe comes first in each setting, then the biases that support BBQ items (the hints, `evals.audit.hints`)."""
    for item in items:
        for setting in settings:
            if item.bbq is not None:
                yield Probe(record_key(item.id, BBQ_PROBE, setting), item, None, setting)
            for bias in biases:
                if bias.supports(item, setting):
                    yield Probe(record_key(item.id, bias.name, setting), item, bias, setting)


async def ask(job: Probe, asker: Engine | Session, config: ProbeConfig | None = None) -> ProbeRecord | BBQRecord:
    """Ask one probe (`probe`, or `probe_bbq` for a BBQ item) in `asker`."""
    if job.bias is None:
        return await probe_bbq(job.item, job.setting, asker, config)
    return await probe(job.item, job.bias, job.setting, asker, config)


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
    """Every probe (`probes`) whose key is not in `done`, `parallel` at a time, each in its own session on `engine`.
    `on_record` sees each record as it finishes; the list comes back in item, setting, bias order. If a probe fails
    the others are cancelled and the first error is raised. (A run folder with resume: `run_audit`.)"""
    jobs = [job for job in probes(items, biases, settings) if job.key not in done]
    results: list[ProbeRecord | BBQRecord | None] = [None] * len(jobs)

    async def one(indexed: tuple[int, Probe]) -> None:
        i, job = indexed
        results[i] = record = await ask(job, engine, config)
        if on_record is not None:
            on_record(record)

    await run_stream(enumerate(jobs), one, limit=in_flight(parallel))
    return [r for r in results if r is not None]
