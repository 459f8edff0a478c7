"""A search budget is a hard limit: every strategy with every evaluator stops at it, at any concurrency.

Calls are counted by what the backend received (`ScriptedModel.calls`), not by the search's own counters.
"""

import asyncio

import pytest

from reasoning import Engine, EngineConfig, GenerationRequest, Pricing, ResponseCache, ScriptedModel
from reasoning.evaluators import Cascade, Heuristic, LLMValue, LLMVote
from reasoning.plugins import PluginEvaluator, Prediction
from reasoning.tree import Propose, SearchBudget, SearchContext
from search import astar, best_first, bfs, dfs
from tests.search.toy import ToyTask, toy_model

SMALL = 8  # max_tokens of every request here: estimates (chars / 4 + max_tokens) bound what the toy model spends


class Recording(ScriptedModel):
    """A scripted model that also keeps what each backend call cost."""

    def __init__(self, handler):
        super().__init__(handler)
        self.tokens = []

    async def generate(self, request):
        result = await super().generate(request)
        self.tokens.append(result.prompt_tokens + result.completion_tokens)
        return result


def model(children="012", delay=0.001, reply_words=None):
    inner, peak = toy_model(children=children, delay=delay)

    async def handler(request, index):
        reply = await inner._handler(request, index)
        return reply + " pad" * reply_words if reply_words else reply  # longer than max_tokens: estimates undercount

    recording = Recording(handler)
    recording.peak = peak
    return recording


class SmallTask(ToyTask):
    def __init__(self, depth=6, max_tokens=SMALL):
        super().__init__(depth)
        self.generate = Propose(
            lambda node: GenerationRequest(prompt=f"expand: {node.state}", temperature=0.7, max_tokens=max_tokens),
            lambda node, text: [node.child(w, w) for w in text.split() if w != "pad"],
        )


class FanTask(SmallTask):
    """Each expansion sends `fan` requests at once, one per thought (as a sampling generator with n=1 would)."""

    def __init__(self, fan=8, **kw):
        super().__init__(**kw)
        self.fan = fan

    async def expand(self, node, ctx):
        async def one(i):
            request = GenerationRequest(prompt=f"expand: {node.state}", temperature=0.7, max_tokens=SMALL)
            result = await ctx.generate(request, kind="expand", distinct=True)
            return node.child(f"{node.state}{i}", result.text)

        return list(await asyncio.gather(*(one(i) for i in range(self.fan))))


class Labels:
    name = "labels"

    async def predict(self, texts):
        return [Prediction("yes" if len(t) % 2 else "no", 0.95 if len(t) % 3 else 0.5) for t in texts]


def value(max_tokens=SMALL):
    return LLMValue(lambda n: GenerationRequest(prompt=f"value: {n.state}", max_tokens=max_tokens),
                    parse=lambda text: float(text.split()[0]), n=1)  # fmt: skip


EVALUATORS = {
    "value": value,
    "vote": lambda: LLMVote(
        lambda nodes: GenerationRequest(prompt="vote: " + " ".join(f"state={n.state}" for n in nodes),
                                        max_tokens=SMALL),
        parse=lambda text, k: 0,
        n=2,
    ),
    "heuristic": lambda: Heuristic(lambda n: float(len(n.state))),
    "cascade": lambda: Cascade(Heuristic(lambda n: 1.0), value(), unsure=lambda n: n.depth % 2 == 1),
    "plugin": lambda: PluginEvaluator(Labels(), text=lambda n: n.state, values={"yes": 1.0, "no": 0.5}),
    "plugin-cascade": lambda: Cascade(
        PluginEvaluator(Labels(), text=lambda n: n.state, values={"yes": 1.0, "no": 0.5}),
        value(),
        unsure=PluginEvaluator.unsure(0.9),
    ),
}  # fmt: skip

STRATEGIES = {
    "bfs": lambda task, ev, ctx: bfs(task, ev, ctx, breadth=8, steps=6),
    "dfs": lambda task, ev, ctx: dfs(task, ev, ctx, threshold=0.0, max_steps=10_000),
    "best_first": lambda task, ev, ctx: best_first(task, ev, ctx, priority=lambda n: -(n.value or 0.0), width=8,
                                                   max_steps=10_000, max_outputs=10**6),
    "astar": lambda task, ev, ctx: astar(task, ev, ctx, heuristic=lambda n: 1.0 - (n.value or 0.0), width=8,
                                         max_steps=10_000, max_outputs=10**6),
}  # fmt: skip


def context(model, budget, concurrency=16, cache=None, pricing=None):
    config = EngineConfig(max_concurrency=concurrency, pricing=pricing or Pricing())
    return SearchContext(Engine(model, config, cache=cache), tag="b", budget=budget)


@pytest.mark.parametrize("max_calls", [1, 10])
async def test_reported_bfs_sends_at_most_max_calls(max_calls):
    # The report: max_calls=1 sent 8 calls, max_calls=10 sent 19 (a whole step went out before the check).
    for task in (SmallTask(), FanTask()):
        backend = model()
        ctx = context(backend, SearchBudget(max_calls=max_calls), concurrency=64)
        result = await bfs(task, value(), ctx, breadth=5, steps=4)
        assert len(backend.calls) <= max_calls and ctx.spend.calls <= max_calls
        assert result.stopped == "budget"


@pytest.mark.parametrize("concurrency", [1, 8, 64])
@pytest.mark.parametrize("evaluator", list(EVALUATORS))
@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_max_calls_is_never_passed(strategy, evaluator, concurrency):
    for max_calls in (1, 2, 7, 20):
        backend = model()
        ctx = context(backend, SearchBudget(max_calls=max_calls), concurrency)
        result = await STRATEGIES[strategy](SmallTask(), EVALUATORS[evaluator](), ctx)
        assert len(backend.calls) <= max_calls, (max_calls, len(backend.calls))
        assert ctx.spend.calls <= max_calls
        assert result.stopped == "budget"
    assert len(backend.calls) == max_calls  # the budget is used, not merely respected


@pytest.mark.parametrize("concurrency", [1, 8, 64])
@pytest.mark.parametrize("evaluator", ["value", "vote", "cascade", "plugin-cascade"])
@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_tokens_pass_only_by_the_call_admitted_alone(strategy, evaluator, concurrency):
    # Every estimate bounds its call here, so only a call admitted alone (nothing in flight, limit not yet
    # reached) may pass the limit, and by no more than its own cost.
    for max_tokens in (5, 60, 150):
        backend = model()
        ctx = context(backend, SearchBudget(max_tokens=max_tokens), concurrency)
        result = await STRATEGIES[strategy](SmallTask(), EVALUATORS[evaluator](), ctx)
        assert result.stopped == "budget"
        assert ctx.spend.total_tokens <= max_tokens + max(backend.tokens)
        assert sum(backend.tokens) <= ctx.spend.total_tokens  # every backend call was counted


@pytest.mark.parametrize("concurrency", [1, 64])
@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_tokens_pass_only_by_what_calls_in_flight_spend_beyond_estimates(strategy, concurrency):
    # Replies far longer than max_tokens=1: each call spends more than its estimate.
    backend = model(reply_words=6)
    limit = 150
    ctx = context(backend, SearchBudget(max_tokens=limit), concurrency)
    result = await STRATEGIES[strategy](SmallTask(max_tokens=1), value(max_tokens=1), ctx)
    assert result.stopped == "budget"
    assert ctx.spend.total_tokens <= limit + backend.peak.max * max(backend.tokens)


@pytest.mark.parametrize("concurrency", [1, 64])
@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_dollars_pass_only_by_the_call_admitted_alone(strategy, concurrency):
    backend = model()
    pricing = Pricing(prompt_per_million=1e6, completion_per_million=2e6)  # $1 a prompt token, $2 a completion one
    ctx = context(backend, SearchBudget(max_dollars=150.0), concurrency, pricing=pricing)
    result = await STRATEGIES[strategy](SmallTask(), value(), ctx)
    assert result.stopped == "budget"
    assert ctx.spend.dollars <= 150.0 + 2 * max(backend.tokens)


@pytest.mark.parametrize("budget", [SearchBudget(max_calls=9), SearchBudget(max_tokens=90)])
@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_cached_calls_count_and_the_search_stops_at_the_same_node(strategy, budget):
    cache = ResponseCache()
    runs = []
    for _ in range(2):
        backend = model()
        ctx = context(backend, budget, 64, cache=cache)
        result = await STRATEGIES[strategy](SmallTask(), value(), ctx)
        runs.append((len(backend.calls), [n.state for n in ctx.tree.nodes], result.stopped, ctx.spend.calls,
                     ctx.spend.total_tokens, [n.state for n in result.outputs]))  # fmt: skip
    (paid, *first), (paid_again, *second) = runs
    assert paid > 0 and paid_again == 0  # the second run is served from the cache ...
    assert first == second  # ... and counts it as if paid: same tree, same stop, same spend, same outputs


async def test_zero_budget_sends_nothing():
    for strategy in STRATEGIES.values():
        backend = model()
        ctx = context(backend, SearchBudget(max_calls=0))
        result = await strategy(SmallTask(), value(), ctx)
        assert result.stopped == "budget" and backend.calls == [] and ctx.spend.calls == 0


async def test_budget_returns_the_finished_nodes_so_far():
    # Depth 2, expansions the only calls: the root (1), then one depth-1 node (2) gives two finished nodes; the
    # expansion of the other depth-1 node is refused.
    flat = Heuristic(lambda n: 1.0)
    searches = {
        "dfs": lambda ctx: dfs(SmallTask(depth=2), flat, ctx, threshold=0.0),
        "best_first": lambda ctx: best_first(SmallTask(depth=2), flat, ctx, priority=lambda n: -n.depth,
                                             max_outputs=100),
        "astar": lambda ctx: astar(SmallTask(depth=2), flat, ctx, heuristic=lambda n: -n.depth,
                                   cost=lambda n: 0.0, max_outputs=100),
    }  # fmt: skip
    for name, search in searches.items():
        backend = model(children="01")
        ctx = context(backend, SearchBudget(max_calls=2), concurrency=1)
        result = await search(ctx)
        assert result.stopped == "budget" and len(backend.calls) == 2, name
        assert [n.state for n in result.outputs] == ["00", "01"], name


async def test_calls_in_flight_complete_and_are_kept():
    # Width 3 at depth 2: three expansions are asked for, the budget has room for one (4 calls in all). It
    # finishes and its children stay in the tree, unscored; the two refused send nothing.
    backend = model(children="01")
    ctx = context(backend, SearchBudget(max_calls=4), concurrency=64)
    result = await best_first(SmallTask(depth=4), Heuristic(lambda n: 1.0), ctx, priority=lambda n: n.depth, width=3)
    assert result.stopped == "budget" and len(backend.calls) == 4
    depth3 = [n for n in ctx.tree.nodes if n.depth == 3]
    assert len(depth3) == 2 and all(n.value is None for n in depth3)
