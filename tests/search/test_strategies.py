import math
import random

import pytest

from reasoning import ConfigurationError, Engine, GenerationRequest, ScriptedModel
from reasoning.evaluators import Heuristic, LLMValue
from reasoning.tree import Node, Propose, Sample, SearchBudget, SearchContext
from reasoning.types import MAX_SAMPLES
from search import astar, best_first, bfs, dfs
from tests.search.toy import ToyTask, context, toy_model


def llm_value(n=1):
    return LLMValue(lambda node: GenerationRequest(prompt=f"value: {node.state}"), parse=float, n=n)


def score(table, default=1.0):
    return lambda state: table.get(state, default)


async def test_bfs_keeps_the_best_and_issues_each_step_at_once():
    values = {"1": 5.0, "11": 9.0, "10": 2.0, "110": 1.0, "111": 7.0}
    model, peak = toy_model(values=score(values, 0.5))
    ctx = context(model, max_concurrency=100)
    result = await bfs(ToyTask(), llm_value(), ctx, breadth=2, steps=3)
    assert [n.state for n in result.outputs] == ["111", "110"]
    assert [ctx.tree.nodes[i].state for i in result.steps[0].selected] == ["1", "0"]
    # Step 2 expands 2 nodes, then values 4 candidates: each phase fully concurrent.
    assert peak.max == 4
    assert ctx.requests == {"expand": 1 + 2 + 2, "evaluate": 2 + 4 + 4}


async def test_bfs_scores_identical_states_once():
    # Every node proposes the same two children: "a" and "b", so candidates repeat.
    model = ScriptedModel(lambda r, i: "a\nb" if r.prompt.startswith("expand") else "1")
    ctx = SearchContext(Engine(model), tag="t")
    task = ToyTask(depth=2)
    task.generate = Propose(task.generate.prompt, lambda node, text: [node.child(s, s) for s in text.split("\n")])
    result = await bfs(task, llm_value(), ctx, breadth=2, steps=2)
    step2 = result.steps[1]
    assert len(step2.candidates) == 4 and step2.values == [1.0, 1.0, 0.0, 0.0]
    dups = [ctx.tree.nodes[i] for i in step2.candidates if ctx.tree.nodes[i].info.get("duplicate")]
    assert len(dups) == 2
    assert ctx.requests["evaluate"] == 2 + 2  # two unique per step


async def test_repeated_prompts_get_distinct_samples():
    # Two frontier nodes with the same state ask the same propose prompt: they must get two samples.
    seen = []

    def handler(request, index):
        seen.append(request.prompt)
        return f"x{len(seen)}" if request.prompt.startswith("expand") else "1"

    ctx = SearchContext(Engine(ScriptedModel(handler)), tag="t")
    task = ToyTask(depth=2)
    task.generate = Propose(
        lambda node: GenerationRequest(prompt="expand: same", temperature=1.0),
        lambda node, text: [node.child(node.state + text, text), node.child(node.state + text + "!", text)],
    )
    result = await bfs(task, llm_value(), ctx, breadth=2, steps=2)
    states = {n.state for n in result.outputs}
    assert len([p for p in seen if p.startswith("expand")]) == 3
    assert len({s[:4] for s in states}) >= 1 and len(states) == 2


async def test_bfs_sample_selection_is_proportional():
    values = {"0": 1.0, "1": 9.0}
    counts = {"0": 0, "1": 0}
    for seed in range(200):
        model, _ = toy_model(values=score(values), delay=0)
        result = await bfs(ToyTask(depth=1), llm_value(), context(model), breadth=1, steps=1, select="sample",
                           rng=random.Random(seed))  # fmt: skip
        counts[result.outputs[0].state] += 1
    assert 150 <= counts["1"] <= 200 and counts["0"] >= 5


@pytest.mark.parametrize(
    ("values", "drawn"),
    [
        ({"0": math.inf, "1": 9.0, "2": 1.0}, {"0"}),  # a solved state scored +inf: random.choices refused the total
        ({"0": 1e308, "1": 1e308, "2": 0.0}, {"0", "1"}),  # finite values whose total is not
        ({"0": -5.0, "1": 2.0, "2": 1.0}, {"1", "2"}),  # never a value below 0 (a total 3 - 5 < 0: no draw)
        ({"0": -math.inf, "1": 2.0, "2": 0.0}, {"1"}),  # -inf made the total -inf: no draw, the first two kept
    ],
)
async def test_bfs_sample_selection_draws_by_positive_values_even_infinite_ones(values, drawn) -> None:
    got = set()
    for seed in range(30):
        ctx = context(toy_model(children="012", delay=0)[0])
        result = await bfs(ToyTask(depth=1), Heuristic(lambda node: values[node.state]), ctx, breadth=2, steps=1,
                           select="sample", rng=random.Random(seed))  # fmt: skip
        got |= {node.state for node in result.outputs}
    assert got == drawn


async def test_budget_stops_the_search_cleanly():
    model, _ = toy_model(delay=0)
    ctx = SearchContext(Engine(model), tag="b", budget=SearchBudget(max_calls=4))
    result = await bfs(ToyTask(depth=5), llm_value(), ctx, breadth=2, steps=5)
    assert result.stopped == "budget"
    assert ctx.spend.calls <= 4 and len(model.calls) <= 4  # a hard limit
    assert result.outputs  # the last complete frontier is kept


async def test_tree_is_a_networkx_graph_with_text_values_and_cost():
    model, _ = toy_model(delay=0, values=score({}, 2.0))
    ctx = context(model)
    await bfs(ToyTask(depth=2), llm_value(), ctx, breadth=2, steps=2)
    graph = ctx.tree.graph
    assert graph.number_of_nodes() == 1 + 2 + 4 and graph.number_of_edges() == 6
    leaf = graph.nodes[6]
    assert leaf["state"] and leaf["value"] == 2.0 and leaf["tokens"] > 0 and leaf["depth"] == 2
    assert list(graph.predecessors(6)) and ctx.tree.to_json()["edges"]


async def test_dfs_prunes_and_backtracks():
    # "0" subtree is below threshold; "1" -> "10" bad, "11" good.
    values = {"0": 0.1, "1": 5.0, "10": 0.1, "11": 5.0, "110": 1.0, "111": 3.0}
    model, _ = toy_model(values=score(values, 0.0), delay=0)
    ctx = context(model)
    result = await dfs(ToyTask(depth=3), llm_value(), ctx, threshold=1.0)
    assert [n.state for n in result.outputs] == ["111", "110"]
    expanded = [ctx.tree.nodes[s.expanded[0]].state for s in result.steps]
    assert expanded == ["", "1", "11"]


async def test_dfs_accepts_and_step_limit():
    values = {"0": 5.0, "1": 5.0, "00": 5.0, "000": 10.0}
    model, _ = toy_model(values=score(values, 0.0), delay=0)
    result = await dfs(ToyTask(depth=3), llm_value(), context(model), threshold=1.0, accept=10.0)
    assert result.stopped == "accepted" and result.outputs[0].state == "000"
    model, _ = toy_model(values=score({}, 5.0), delay=0)
    result = await dfs(ToyTask(depth=6), llm_value(), context(model), threshold=1.0, max_steps=3)
    assert result.stopped == "max_steps" and len(result.steps) == 3


async def test_best_first_expands_highest_value_first():
    values = {"0": 1.0, "1": 3.0, "10": 0.5, "11": 0.2}
    model, _ = toy_model(values=score(values, 0.0), delay=0)
    ctx = context(model)
    result = await best_first(ToyTask(depth=3), llm_value(), ctx, priority=lambda n: -(n.value or 0), max_steps=3)
    expanded = [ctx.tree.nodes[s.expanded[0]].state for s in result.steps]
    assert expanded == ["", "1", "0"]  # "0" (1.0) beats "10" (0.5) and "11" (0.2)


async def test_astar_prefers_low_cost_plus_heuristic():
    values = {"0": 1.0, "1": 3.0}
    model, _ = toy_model(values=score(values, 0.0), delay=0)
    ctx = context(model)
    result = await astar(ToyTask(depth=2), llm_value(), ctx, heuristic=lambda n: 3.0 - (n.value or 0.0),
                         max_steps=10, max_outputs=100)  # fmt: skip
    expanded = [ctx.tree.nodes[s.expanded[0]].state for s in result.steps]
    assert expanded[:2] == ["", "1"]
    assert {n.state for n in result.outputs} == {"00", "01", "10", "11"}


async def test_best_first_width_expands_a_batch_concurrently():
    model, peak = toy_model(delay=0.02)
    ctx = context(model, max_concurrency=50)
    await best_first(ToyTask(depth=3), Heuristic(lambda n: 1.0), ctx, priority=lambda n: n.depth, width=4,
                     max_steps=3)  # fmt: skip
    assert peak.max == 4


def test_heuristic_node_value():
    node = Node(state="x")
    assert node.path() == [node]


def lines(node, text):
    return [node.child(s, s) for s in text.split("\n") if s]


async def test_propose_with_n_samples_asks_one_request_and_merges_children_by_key():
    model = ScriptedModel(["a\nb", "B\nc", "C\nd"])
    ctx = SearchContext(Engine(model), tag="t")
    propose = Propose(lambda node: GenerationRequest(prompt="expand", temperature=0.7), lines, n=3,
                      key=lambda node: node.state.lower())  # fmt: skip
    children = await propose(Node(state=""), ctx)
    assert [c.state for c in children] == ["a", "b", "c", "d"]  # the first of each key, in order
    assert len(model.calls) == 1 and model.calls[0].n == 3 and ctx.requests == {"expand": 1}
    # The call's cost, all three samples' tokens, shared among the children (in whole tokens, rounded down).
    assert ctx.spend.completion_tokens == 6 and all(c.spend.completion_tokens == 6 // 4 for c in children)


async def test_propose_merges_samples_by_state_by_default_and_one_sample_keeps_every_child():
    model = ScriptedModel(["x\ny", "y\nX"])
    merged = await Propose(lambda node: GenerationRequest(prompt="e"), lines, n=2)(Node(state=""),
                                                                                   context(model))  # fmt: skip
    assert [c.state for c in merged] == ["x", "y", "X"]
    one = ScriptedModel(["x\nx"])
    children = await Propose(lambda node: GenerationRequest(prompt="e"), lines, key=len)(Node(state=""), context(one))
    assert [c.state for c in children] == ["x", "x"]  # parse's children as they are: the search dedupes by key
    assert one.calls[0].n == 1


@pytest.mark.parametrize("n", [0, -1, 1025, 10**6, True, 2.0, "3"])
def test_propose_and_sample_refuse_a_sample_count_no_request_can_ask_for(n):
    # The request is copied with `n` (a copy pydantic does not validate): 0 asked for nothing and returned no child,
    # 10**6 reached the backend and the cache ("too many SQL variables") after the run had started.
    for generator in (Propose, Sample):
        with pytest.raises(ConfigurationError, match=rf"{generator.__name__}'s n must be a whole number of samples "
                                                     rf"from 1 to {MAX_SAMPLES}"):  # fmt: skip
            generator(lambda node: GenerationRequest(prompt="e"), lines, n=n)
    assert Propose(lambda node: GenerationRequest(prompt="e"), lines, n=MAX_SAMPLES).n == MAX_SAMPLES
