"""`SearchContext.generate` reserves each request against the search budget before the engine sees it."""

import asyncio
import math

import pytest

from reasoning import ConfigurationError, Engine, EngineConfig, GenerationRequest, ResponseCache, ScriptedModel, Spend
from reasoning.errors import BackendError, SearchBudgetReached
from reasoning.tree import SearchBudget, SearchContext, gather_all


def slow_model(delay=0.01):
    async def handler(request, index):
        await asyncio.sleep(delay)
        return "one two"

    return ScriptedModel(handler)


def request(i, max_tokens=4):
    # Estimate: 18 characters / 4 = 4 prompt tokens + max_tokens; the scripted model counts 3 + 2 ("one two").
    return GenerationRequest(prompt=f"prompt number {i:04d}", max_tokens=max_tokens)


async def ask_all(ctx, count, **kw):
    outcomes = await asyncio.gather(*(ctx.generate(request(i, **kw), kind="x") for i in range(count)),
                                    return_exceptions=True)  # fmt: skip
    refused = [o for o in outcomes if isinstance(o, SearchBudgetReached)]
    return refused, [o for o in outcomes if not isinstance(o, Exception)]


@pytest.mark.parametrize("concurrency", [1, 2, 16, 64])
@pytest.mark.parametrize("max_calls", [0, 1, 5, 30])
async def test_max_calls_is_exact_at_any_concurrency(concurrency, max_calls):
    model = slow_model()
    ctx = SearchContext(Engine(model, EngineConfig(max_concurrency=concurrency)), tag="t",
                        budget=SearchBudget(max_calls=max_calls))  # fmt: skip
    refused, answered = await ask_all(ctx, 100)
    assert len(model.calls) == len(answered) == ctx.spend.calls == max_calls
    assert len(refused) == 100 - max_calls


@pytest.mark.parametrize("concurrency", [1, 64])
async def test_tokens_pass_only_by_the_request_admitted_alone(concurrency):
    # Each request: estimate 4 + 4 = 8 tokens, real 3 + 2 = 5.
    model = slow_model()
    ctx = SearchContext(Engine(model, EngineConfig(max_concurrency=concurrency)), tag="t",
                        budget=SearchBudget(max_tokens=48))  # fmt: skip
    refused, answered = await ask_all(ctx, 100)
    assert ctx.spend.total_tokens == 5 * len(answered) and 48 <= ctx.spend.total_tokens <= 48 + 5
    assert len(model.calls) == len(answered) and refused


async def test_a_request_larger_than_the_budget_goes_alone_then_the_budget_is_spent():
    model = slow_model()
    ctx = SearchContext(Engine(model), tag="t", budget=SearchBudget(max_tokens=3))
    refused, answered = await ask_all(ctx, 5, max_tokens=100)
    assert len(answered) == 1 and len(refused) == 4 and len(model.calls) == 1


async def test_a_cached_request_counts_like_a_paid_one():
    cache = ResponseCache()
    first = slow_model()
    ctx = SearchContext(Engine(first, cache=cache), tag="t", budget=SearchBudget(max_calls=3))
    await ask_all(ctx, 10)
    again = slow_model()
    ctx = SearchContext(Engine(again, cache=cache), tag="t", budget=SearchBudget(max_calls=3))
    _, answered = await ask_all(ctx, 10)
    assert len(first.calls) == 3 and again.calls == [] and len(answered) == 3 and ctx.spend.calls == 3


async def test_a_waiting_request_cancelled_leaves_no_reservation_behind():
    model = slow_model(delay=0.05)
    ctx = SearchContext(Engine(model), tag="t", budget=SearchBudget(max_tokens=100))
    running = asyncio.ensure_future(ctx.generate(request(0, max_tokens=80), kind="x"))  # reserves 85 of 100
    await asyncio.sleep(0)
    waiting = asyncio.ensure_future(ctx.generate(request(1, max_tokens=80), kind="x"))  # does not fit: waits
    await asyncio.sleep(0.01)
    assert not waiting.done()
    waiting.cancel()
    await running
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.wait_for(ctx.generate(request(2, max_tokens=80), kind="x"), 30)  # spent 5 of 100, nothing held
    assert len(model.calls) == 2


async def test_a_call_cancelled_in_flight_keeps_its_room_until_it_ends_and_is_counted():
    # The engine's call goes on when its caller is cancelled; its reservation was given back at once and its cost
    # never counted, so a search cancelled mid-step and run again in the same context sent max_calls calls twice.
    sent = asyncio.Event()

    async def handler(request, index):
        sent.set()
        await asyncio.sleep(0.1)
        return "one two"

    model = ScriptedModel(handler)
    ctx = SearchContext(Engine(model), tag="t", budget=SearchBudget(max_calls=1))
    cancelled = asyncio.ensure_future(ctx.generate(request(0), kind="x"))
    await sent.wait()
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    with pytest.raises(SearchBudgetReached):  # waits for the call in flight, which spends the budget
        await asyncio.wait_for(ctx.generate(request(1), kind="x"), 30)
    assert len(model.calls) == 1 and ctx.spend.calls == 1 and ctx.calls["x"] == 1
    assert ctx._gate.reserved == Spend()


async def test_a_search_cancelled_mid_step_and_run_again_stays_within_its_budget():
    from reasoning.evaluators import Heuristic
    from search import bfs
    from tests.search.toy import ToyTask

    second_step = asyncio.Event()

    async def handler(request, index):  # the toy model: "expand: s" -> s0, s1
        if request.prompt != "expand: ":
            second_step.set()
        await asyncio.sleep(0.05)
        state = request.prompt.removeprefix("expand: ")
        return f"{state}0\n{state}1"

    model = ScriptedModel(handler)
    ctx = SearchContext(Engine(model), tag="t", budget=SearchBudget(max_calls=3))
    first = asyncio.ensure_future(bfs(ToyTask(depth=4), Heuristic(lambda node: 1.0), ctx, breadth=2, steps=4))
    await second_step.wait()  # the root expanded, its children's expansions in flight
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    again = await bfs(ToyTask(depth=4), Heuristic(lambda node: 1.0), ctx, breadth=2, steps=4)
    assert again.stopped == "budget" and len(model.calls) == ctx.spend.calls == 3


async def test_requests_are_admitted_in_the_order_they_arrive():
    # A large request waits for room; a small one behind it waits too, not overtaking it.
    order = []

    async def handler(request, index):
        order.append(request.prompt)
        await asyncio.sleep(0.01)
        return "x"

    ctx = SearchContext(Engine(ScriptedModel(handler)), tag="t", budget=SearchBudget(max_tokens=60))
    requests = [GenerationRequest(prompt=p, max_tokens=m) for p, m in (("big-a", 50), ("big-b", 50), ("small", 1))]
    await asyncio.gather(*(ctx.generate(r, kind="x") for r in requests))
    assert order == ["big-a", "big-b", "small"]


async def test_a_real_failure_is_raised_before_a_budget_stop():
    async def fails():
        raise BackendError("down", model="m")

    async def refused():
        raise SearchBudgetReached("no room")

    with pytest.raises(BackendError):
        await gather_all([refused(), fails()])


@pytest.mark.parametrize("field", ["max_calls", "max_tokens", "max_dollars"])
def test_a_negative_or_nan_limit_is_a_configuration_error(field):
    with pytest.raises(ConfigurationError, match=f"SearchBudget.{field} must be >= 0"):
        SearchBudget(**{field: -1})
    if field == "max_dollars":
        with pytest.raises(ConfigurationError):
            SearchBudget(max_dollars=math.nan)
    assert SearchBudget(**{field: 0}).reached(Spend()) == {"max_calls": "calls", "max_tokens": "tokens",
                                                           "max_dollars": "dollars"}[field]  # fmt: skip
