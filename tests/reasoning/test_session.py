"""`Session`: the tag-scoped view of the engine every technique sends its requests through."""

import asyncio

import pytest

from reasoning import (
    Engine,
    GenerationRequest,
    ReasoningError,
    ResponseCache,
    ScriptedModel,
    SearchBudget,
    SearchBudgetReached,
    Session,
    SessionClosedError,
    Spend,
)
from reasoning.tree import SearchContext, SearchTree


def request(i, n=1):
    return GenerationRequest(prompt=f"prompt number {i:04d}", max_tokens=4, n=n)


def answering():
    return ScriptedModel(lambda request, index: "one two")


def uncached(result):
    # What one result costs as if nothing were cached: the scripted model's prompt and completion tokens.
    return Spend(calls=1, prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)


async def test_generate_counts_requests_and_calls_by_kind():
    model = answering()
    session = Session(Engine(model, cache=ResponseCache()), tag="s")
    await session.generate(request(0), kind="expand")
    await session.generate(request(1), kind="expand")
    await session.generate(request(0), kind="evaluate")  # the same request again: from the cache
    assert session.requests == {"expand": 2, "evaluate": 1}
    assert session.calls == {"expand": 2}
    assert len(model.calls) == 2
    assert session.model == model.name


async def test_distinct_numbers_repeated_requests_as_new_samples():
    model = ScriptedModel(lambda request, index: f"sample {index}")
    session = Session(Engine(model, cache=ResponseCache()), tag="s")
    first = await session.generate(request(0), kind="x", distinct=True)
    second = await session.generate(request(0), kind="x", distinct=True)
    assert first.text != second.text and len(model.calls) == 2


async def test_spend_is_as_if_uncached_while_paid_shows_the_cache():
    cache = ResponseCache()
    first = Session(Engine(answering(), cache=cache), tag="s")
    results = [await first.generate(request(i, n=2), kind="x") for i in range(3)]
    assert first.paid.calls == 3 and first.paid.cached_samples == 0

    again_model = answering()
    again = Session(Engine(again_model, cache=cache), tag="s")
    reread = [await again.generate(request(i, n=2), kind="x") for i in range(3)]
    assert again_model.calls == [] and [r.texts for r in reread] == [r.texts for r in results]
    assert again.spend == first.spend  # reproducible: the warm cache changes nothing
    expected = Spend()
    for result in results:
        expected.add(uncached(result))
    assert again.spend == expected
    assert again.paid == Spend(cached_samples=6)  # nothing reached the backend; six samples read from the cache
    assert again.calls == {} and again.requests == {"x": 3}


async def test_close_pops_the_ledger_tag_and_paid_still_reports():
    engine = Engine(answering())
    session = Session(engine, tag="item/1")
    await session.generate(request(0), kind="x")
    paid = engine.ledger.by_tag["item/1"]
    assert paid.calls == 1
    session.close()
    assert "item/1" not in engine.ledger.by_tag
    assert session.closed and session.paid == paid
    assert engine.ledger.total.calls == 1  # the ledger's total keeps it
    session.close()  # idempotent
    assert session.paid == paid and "item/1" not in engine.ledger.by_tag


async def test_generate_after_close_raises():
    model = answering()
    session = Session(Engine(model), tag="s")
    session.close()
    with pytest.raises(SessionClosedError, match="'s' is closed") as caught:
        await session.generate(request(0), kind="x")
    assert isinstance(caught.value, ReasoningError)
    assert model.calls == [] and session.requests == {}


async def test_a_call_in_flight_at_close_lands_in_paid_not_the_ledger():
    async def slow(request, index):
        await asyncio.sleep(0.02)
        return "one two"

    engine = Engine(ScriptedModel(slow))
    session = Session(engine, tag="s")
    call = asyncio.ensure_future(session.generate(request(0), kind="x"))
    await asyncio.sleep(0)
    session.close()
    await call
    assert "s" not in engine.ledger.by_tag
    assert session.paid.calls == 1 and session.spend.calls == 1


async def test_a_budget_refuses_with_search_budget_reached():
    model = answering()
    session = Session(Engine(model), tag="s", budget=SearchBudget(max_calls=2))
    assert session.budget == SearchBudget(max_calls=2)
    await session.generate(request(0), kind="x")
    await session.generate(request(1), kind="x")
    with pytest.raises(SearchBudgetReached):
        await session.generate(request(2), kind="x")
    with pytest.raises(SearchBudgetReached):
        session.check_budget()
    assert len(model.calls) == 2 and session.spend.calls == 2


async def test_async_with_closes():
    engine = Engine(answering())
    async with Session(engine, tag="s") as session:
        await session.generate(request(0), kind="x")
        assert "s" in engine.ledger.by_tag
    assert session.closed and "s" not in engine.ledger.by_tag and session.paid.calls == 1


async def test_async_with_closes_on_error():
    engine = Engine(answering())
    with pytest.raises(RuntimeError):
        async with Session(engine, tag="s") as session:
            await session.generate(request(0), kind="x")
            raise RuntimeError("the technique failed")
    assert session.closed and "s" not in engine.ledger.by_tag


async def test_two_sessions_on_one_engine_account_separately():
    model = answering()
    engine = Engine(model, cache=ResponseCache())
    a, b = Session(engine, tag="a"), Session(engine, tag="b")
    await asyncio.gather(a.generate(request(0), kind="x"), b.generate(request(1, n=3), kind="y"))
    await b.generate(request(0), kind="y")  # a's request: cached, paid by a, but costs b as if uncached
    assert a.requests == {"x": 1} and b.requests == {"y": 2}
    assert a.paid.calls == 1 and a.paid.cached_samples == 0
    assert b.paid.calls == 1 and b.paid.cached_samples == 1
    assert a.spend.calls == 1 and b.spend.calls == 2
    a.close()
    assert "a" not in engine.ledger.by_tag and engine.ledger.by_tag["b"] == b.paid


async def test_a_search_context_is_a_session_with_a_tree():
    engine = Engine(answering())
    async with SearchContext(engine, tag="t") as ctx:
        assert isinstance(ctx, Session) and isinstance(ctx.tree, SearchTree)
        await ctx.generate(request(0), kind="expand")
    assert ctx.closed and ctx.paid.calls == 1


def test_spend_as_dict_is_json_ready():
    spend = Spend(calls=2, cached_samples=1, prompt_tokens=10, completion_tokens=5, dollars=0.25)
    assert spend.as_dict() == {
        "calls": 2,
        "cached_samples": 1,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "dollars": 0.25,
    }


@pytest.mark.model
async def test_with_the_embedded_model_spend_is_reproducible_and_paid_is_not(llama_model):
    cache = ResponseCache()
    prompt = GenerationRequest.chat("Name a colour.", temperature=0.8, max_tokens=6, n=2, seed=1)
    async with Session(Engine(llama_model, cache=cache), tag="colours") as first:
        cold = await first.generate(prompt, kind="x")
    async with Session(Engine(llama_model, cache=cache), tag="colours") as again:
        warm = await again.generate(prompt, kind="x")
    assert warm.texts == cold.texts and warm.cached == 2
    assert first.spend == again.spend == first.cost(cold) and first.spend.completion_tokens > 0
    assert first.paid.calls == 1 and first.paid.completion_tokens == cold.completion_tokens
    assert again.paid == Spend(cached_samples=2) and again.calls == {}
    assert again.model == cold.model
