import asyncio
import json
import random

import pytest

from reasoning import (
    APIConnectionError,
    BadRequestError,
    Budget,
    BudgetExceededError,
    Engine,
    EngineConfig,
    GenerationRequest,
    Pricing,
    RateLimitError,
    ResponseCache,
    RetryPolicy,
    ScriptedModel,
    ServerError,
)

FAST = RetryPolicy(max_attempts=4, initial_delay=0.001, max_delay=0.005)


def counter_model(**kw):
    count = {"n": 0}

    def handler(request, index):
        count["n"] += 1
        return f"sample {count['n']}"

    return ScriptedModel(handler, **kw), count


async def test_cache_hit_costs_no_backend_call(tmp_path):
    model, count = counter_model()
    request = GenerationRequest(prompt="hi", temperature=0.7)
    async with Engine(model, cache=tmp_path / "c.sqlite") as engine:
        first = await engine.generate(request)
        second = await engine.generate(request)
    assert count["n"] == 1
    assert first.texts == second.texts
    assert second.cached == 1 and first.cached == 0
    # A new engine over the same file still hits: the cache is on disk.
    model2, count2 = counter_model()
    async with Engine(model2, cache=tmp_path / "c.sqlite") as engine:
        third = await engine.generate(request)
    assert count2["n"] == 0 and third.texts == first.texts


async def test_thirty_samples_stay_thirty_distinct_entries(tmp_path):
    model, count = counter_model()
    cache = ResponseCache(tmp_path / "c.sqlite")
    request = GenerationRequest(prompt="pick a number", temperature=1.0, n=30)
    async with Engine(model, cache=cache) as engine:
        result = await engine.generate(request)
        assert len(set(result.texts)) == 30
        assert len(cache) == 30
        # Five samples of the same prompt are the first five, from the cache.
        again = await engine.generate(request.model_copy(update={"n": 5}))
        assert again.texts == result.texts[:5] and again.cached == 5
        # Asking one at a time with offsets 0..29 reads the same 30 samples, no new calls.
        singles = [await engine.generate(request.model_copy(update={"n": 1}), sample_offset=i) for i in range(30)]
        assert [s.text for s in singles] == result.texts
        assert count["n"] == 30
        # Sample 30 is new.
        extra = await engine.generate(request.model_copy(update={"n": 1}), sample_offset=30)
        assert extra.text not in result.texts and len(cache) == 31


async def test_partial_hit_asks_only_for_missing_samples():
    model, count = counter_model()
    async with Engine(model, cache=ResponseCache()) as engine:
        await engine.generate(GenerationRequest(prompt="x", n=2))
        result = await engine.generate(GenerationRequest(prompt="x", n=5))
    assert result.cached == 2 and count["n"] == 5
    assert model.calls[-1].n == 3


async def test_key_depends_on_sampling_options():
    model, count = counter_model()
    async with Engine(model, cache=ResponseCache()) as engine:
        for request in [
            GenerationRequest(prompt="x", temperature=0.5),
            GenerationRequest(prompt="x", temperature=0.6),
            GenerationRequest(prompt="x", temperature=0.5, top_p=0.9),
            GenerationRequest(prompt="x", temperature=0.5, seed=1),
            GenerationRequest(prompt="x", temperature=0.5, stop=("\n",)),
            GenerationRequest(prompt="x", temperature=0.5, max_tokens=7),
            GenerationRequest.chat("x", temperature=0.5),
        ]:
            await engine.generate(request)
    assert count["n"] == 7


async def test_identical_in_flight_requests_are_issued_once():
    model, count = counter_model(delay=0.05)
    request = GenerationRequest(prompt="same", temperature=0.9)
    async with Engine(model, cache=ResponseCache()) as engine:
        results = await asyncio.gather(*(engine.generate(request) for _ in range(20)))
    assert count["n"] == 1 and len(model.calls) == 1
    assert len({r.text for r in results}) == 1


async def test_in_flight_dedup_without_cache():
    model, count = counter_model(delay=0.05)
    request = GenerationRequest(prompt="same")
    async with Engine(model) as engine:
        await asyncio.gather(*(engine.generate(request) for _ in range(5)))
    assert count["n"] == 1


async def test_concurrency_limit_is_respected():
    peak = {"now": 0, "max": 0}

    async def handler(request, index):
        peak["now"] += 1
        peak["max"] = max(peak["max"], peak["now"])
        await asyncio.sleep(0.01)
        peak["now"] -= 1
        return "ok"

    async with Engine(ScriptedModel(handler), EngineConfig(max_concurrency=7)) as engine:
        await asyncio.gather(*(engine.generate(GenerationRequest(prompt=str(i))) for i in range(100)))
    assert peak["max"] == 7


@pytest.mark.parametrize(
    "failure",
    [
        RateLimitError("slow down", model="m", retry_after=0.01),
        ServerError("boom", model="m", status=503),
        ServerError("boom", model="m", status=500),
        APIConnectionError("reset", model="m"),
    ],
)
async def test_retryable_failures_are_retried(failure):
    model = ScriptedModel([failure, failure, "fine"])
    async with Engine(model, EngineConfig(retry=FAST)) as engine:
        result = await engine.generate(GenerationRequest(prompt="x"))
    assert result.text == "fine"
    assert len(model.calls) == 3


async def test_last_attempt_raises_typed_error_with_attempts():
    failure = ServerError("boom", model="m", status=502)
    model = ScriptedModel([failure] * 10)
    async with Engine(model, EngineConfig(retry=FAST)) as engine:
        with pytest.raises(ServerError) as info:
            await engine.generate(GenerationRequest(prompt="x"))
    assert info.value.attempts == 4 and info.value.status == 502
    assert "attempts=4" in str(info.value) and "status=502" in str(info.value)
    assert len(model.calls) == 4


async def test_bad_request_is_not_retried():
    model = ScriptedModel([BadRequestError("no", model="m", status=400), "never"])
    async with Engine(model, EngineConfig(retry=FAST)) as engine:
        with pytest.raises(BadRequestError):
            await engine.generate(GenerationRequest(prompt="x"))
    assert len(model.calls) == 1


async def test_retry_after_is_honoured():
    policy = RetryPolicy(max_attempts=2, initial_delay=0.001, max_delay=0.001)
    model = ScriptedModel([RateLimitError("wait", model="m", retry_after=0.3), "ok"])
    loop = asyncio.get_running_loop()
    async with Engine(model, EngineConfig(retry=policy)) as engine:
        start = loop.time()
        await engine.generate(GenerationRequest(prompt="x"))
        assert loop.time() - start >= 0.3


async def test_accounting_per_tag_and_dollars():
    model = ScriptedModel(lambda r, i: "one two three")
    config = EngineConfig(pricing=Pricing(prompt_per_million=1e6, completion_per_million=2e6))
    async with Engine(model, config, cache=ResponseCache()) as engine:
        await engine.generate(GenerationRequest(prompt="a b", n=2), tag="p1")
        await engine.generate(GenerationRequest(prompt="c", n=1), tag="p2")
        await engine.generate(GenerationRequest(prompt="c", n=1), tag="p2")  # cached
    p1, p2 = engine.ledger.by_tag["p1"], engine.ledger.by_tag["p2"]
    assert (p1.calls, p1.prompt_tokens, p1.completion_tokens) == (1, 2, 6)
    assert p1.dollars == pytest.approx(2 * 1 + 6 * 2)
    assert (p2.calls, p2.cached_samples, p2.prompt_tokens, p2.completion_tokens) == (1, 1, 1, 3)
    assert engine.spend.calls == 2 and engine.spend.total_tokens == 12


async def test_budget_stops_new_calls():
    model = ScriptedModel(lambda r, i: "one two three")
    config = EngineConfig(budget=Budget(max_tokens=10), max_concurrency=1)
    async with Engine(model, config) as engine:
        await engine.generate(GenerationRequest(prompt="a b"))  # 5 tokens
        await engine.generate(GenerationRequest(prompt="c d"))  # 10 tokens: the limit is reached
        with pytest.raises(BudgetExceededError) as info:
            await engine.generate(GenerationRequest(prompt="e"))
    assert info.value.kind == "tokens" and info.value.spent == 10 and info.value.limit == 10
    assert len(model.calls) == 2


CONCURRENCY = [1, 2, 8, 32, 128, 256]


async def spend_until_refused(concurrency: int, budget: Budget, *, requests: int = 600, seed: int = 0):
    """Fire `requests` calls at once through an engine with `budget`; replies are 1-8 words after 0-4 ms."""
    rng = random.Random(seed)
    plan = {f"p{i}": (rng.randint(1, 8), rng.random() * 0.004) for i in range(requests)}

    async def handler(request, index):
        words, delay = plan[request.prompt]
        await asyncio.sleep(delay)
        return " ".join(["w"] * words)

    model = ScriptedModel(handler)
    config = EngineConfig(budget=budget, max_concurrency=concurrency, pricing=Pricing(1.0, 3.0))
    async with Engine(model, config) as engine:
        results = await asyncio.gather(
            *(engine.generate(GenerationRequest(prompt=p, max_tokens=8)) for p in plan), return_exceptions=True
        )
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(refused) + sum(not isinstance(r, BaseException) for r in results) == requests
    return engine.spend, len(refused)


@pytest.mark.parametrize("concurrency", CONCURRENCY)
async def test_a_call_budget_is_never_passed_at_any_concurrency(concurrency):
    spend, refused = await spend_until_refused(concurrency, Budget(max_calls=100))
    assert spend.calls == 100 and refused == 500


@pytest.mark.parametrize("concurrency", CONCURRENCY)
async def test_token_and_dollar_budgets_are_passed_by_at_most_the_in_flight_estimate_errors(concurrency):
    # The engine estimates a call at len(prompt) // 4 + max_tokens tokens. Here a prompt "p123" is 1 token
    # (estimated 1 or 0) and a reply at most 8 = max_tokens, so each call in flight can beat its estimate by at
    # most 1 token; and a call admitted alone (nothing in flight) can add at most a whole call: 1 + 8 tokens.
    cap = 1000
    spend, refused = await spend_until_refused(concurrency, Budget(max_tokens=cap))
    assert refused > 0 and spend.total_tokens >= cap  # refused only once the cap is really reached
    assert spend.total_tokens <= cap + max(concurrency * 1, 1 + 8), spend
    dollars_cap = 2000 / 1e6  # pricing: $1 / $3 per million prompt / completion tokens
    spend, refused = await spend_until_refused(concurrency, Budget(max_dollars=dollars_cap), seed=1)
    assert refused > 0 and spend.dollars >= dollars_cap
    assert spend.dollars <= dollars_cap + max(concurrency * 1, 1 + 3 * 8) / 1e6, spend


async def test_a_waiting_call_is_admitted_when_a_reservation_frees_room():
    # Two calls, each estimated at 1 + 8 = 9 tokens, against a 12-token cap: the second waits for the first
    # (which spends only 2 tokens), then fits, rather than being refused while spend is still below the cap.
    running = {"now": 0, "most": 0}

    async def handler(request, index):
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await asyncio.sleep(0.02)
        running["now"] -= 1
        return "w"

    config = EngineConfig(budget=Budget(max_tokens=12), max_concurrency=8)
    async with Engine(ScriptedModel(handler), config) as engine:
        await asyncio.gather(*(engine.generate(GenerationRequest(prompt=f"p{i}", max_tokens=8)) for i in range(2)))
        assert engine.spend.calls == 2 and engine.spend.total_tokens == 4
    assert running["most"] == 1  # the second call waited for the first's reservation to be released


async def test_call_log_is_jsonl_and_has_no_key(tmp_path):
    log = tmp_path / "calls.jsonl"
    model = ScriptedModel([RateLimitError("x", model="m", retry_after=0.0), "ok", "ok"])
    async with Engine(model, EngineConfig(retry=FAST), cache=ResponseCache(), log=log) as engine:
        await engine.generate(GenerationRequest(prompt="secret prompt text"), tag="t1")
        await engine.generate(GenerationRequest(prompt="secret prompt text"), tag="t1")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["cache_hit"] for r in records] == [False, True]
    assert records[0]["attempts"] == 2 and records[0]["tag"] == "t1"
    assert {"request", "latency_s", "prompt_tokens", "completion_tokens"} <= set(records[0])
    assert "secret prompt text" not in log.read_text()


async def test_call_log_says_how_each_sample_was_decoded(tmp_path):
    # Issue 18: batching or lookahead is reported per call. A backend that reports it: one entry a sample, in order,
    # cached samples not logged again; a backend that does not: no field.
    from reasoning.types import Completion, DecodingStats

    def handler(request, index):
        stats = DecodingStats(mode="greedy", model_calls=4 + index, tokens_per_call=1.5, seconds=0.1,
                              batch_size=2.5 + index, speculative_calls=index)  # fmt: skip
        return Completion(text=f"t{index}", finish_reason="stop", completion_tokens=6, decoding=stats)

    log = tmp_path / "calls.jsonl"
    request = GenerationRequest(prompt="p", temperature=0.7, n=2)
    async with Engine(ScriptedModel(handler), cache=ResponseCache(), log=log) as engine:
        await engine.generate(request)
        await engine.generate(request)  # both from the cache
    async with Engine(ScriptedModel(["plain"]), log=log) as engine:
        await engine.generate(GenerationRequest(prompt="q"))
    first, cached, plain = [json.loads(line) for line in log.read_text().splitlines()]
    assert [d["batch_size"] for d in first["decoding"]] == [2.5, 3.5]
    assert [d["speculative_calls"] for d in first["decoding"]] == [0, 1] and first["decoding"][1]["model_calls"] == 5
    assert "decoding" not in cached and "decoding" not in plain


async def test_cancelled_caller_does_not_lose_the_result():
    model, count = counter_model(delay=0.05)
    cache = ResponseCache()
    request = GenerationRequest(prompt="slow", temperature=1.0)
    async with Engine(model, cache=cache) as engine:
        task = asyncio.ensure_future(engine.generate(request))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.1)
        assert len(cache) == 1
        again = await engine.generate(request)
    assert again.cached == 1 and count["n"] == 1


async def test_wrong_number_of_completions_is_an_error():
    from reasoning import GenerationResult, LanguageModel, MalformedResponseError

    class Short(LanguageModel):
        name = "short"

        async def generate(self, request):
            return GenerationResult(model=self.name, completions=())

    async with Engine(Short(), EngineConfig(retry=FAST)) as engine:
        with pytest.raises(MalformedResponseError):
            await engine.generate(GenerationRequest(prompt="x"))


async def test_call_timeout_is_enforced():
    from reasoning import APITimeoutError

    model = ScriptedModel(lambda r, i: "late", delay=1.0)
    async with Engine(
        model, EngineConfig(call_timeout=0.05, retry=RetryPolicy(max_attempts=2, initial_delay=0.001))
    ) as engine:
        with pytest.raises(APITimeoutError) as info:
            await engine.generate(GenerationRequest(prompt="x"))
    assert info.value.attempts == 2


async def test_sample_k_is_drawn_with_seed_plus_k_however_fetched():
    model = ScriptedModel(lambda request, i: f"seed {request.seed + i}")
    async with Engine(model, cache=ResponseCache()) as engine:
        two = await engine.generate(GenerationRequest(prompt="x", seed=10, n=2))
        five = await engine.generate(GenerationRequest(prompt="x", seed=10, n=5))
        later = await engine.generate(GenerationRequest(prompt="x", seed=10, n=1), sample_offset=7)
    assert two.texts == ["seed 10", "seed 11"]
    assert five.texts == [f"seed {10 + k}" for k in range(5)] and five.cached == 2
    assert later.text == "seed 17"


async def test_closing_the_engine_cancels_calls_whose_callers_are_gone():
    started, finished = asyncio.Event(), []

    async def handler(request, index):
        started.set()
        await asyncio.sleep(5)
        finished.append(request.prompt)
        return "late"

    model = ScriptedModel(handler)
    engine = Engine(model)
    caller = asyncio.ensure_future(engine.generate(GenerationRequest(prompt="slow")))
    await started.wait()
    caller.cancel()  # the call is shielded from its caller, so it is still running
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert engine._inflight
    await asyncio.wait_for(engine.aclose(), timeout=30)  # `finished` below tells cancelled from waited out
    assert not engine._inflight and finished == []


async def test_a_call_that_fails_after_its_caller_was_cancelled_is_not_reported_as_never_retrieved():
    # The caller's shield drops its hold on the call when the caller is cancelled; the call's error, raised later,
    # was then "never retrieved" and asyncio logged it with a traceback when the task was collected.
    import gc

    from reasoning import BadRequestError

    started = asyncio.Event()

    async def handler(request, index):
        started.set()
        await asyncio.sleep(0.05)
        return BadRequestError("refused", model="scripted", status=400)

    loop = asyncio.get_running_loop()
    reported: list[dict] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        async with Engine(ScriptedModel(handler), EngineConfig(retry=FAST), cache=ResponseCache()) as engine:
            caller = asyncio.ensure_future(engine.generate(GenerationRequest(prompt="x", seed=1, n=2)))
            await started.wait()
            caller.cancel()
            with pytest.raises(asyncio.CancelledError):
                await caller
            flights = set(engine._inflight.values())
            await asyncio.wait(flights)  # waits without retrieving the error (gather would)
            assert not engine._inflight
        del caller, flights
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert [c["message"] for c in reported] == []
