"""Each state comes back once (a closed set by `task.key`, switchable), and `stopped` says why a search ended,
in one vocabulary for every strategy."""

import pytest

from reasoning import Engine, GenerationRequest, ScriptedModel
from reasoning.evaluators import Heuristic, LLMValue
from reasoning.tree import SearchBudget, SearchContext
from search import astar, best_first, bfs, dfs
from tests.search.toy import ToyTask, toy_model

PATHS = "abcde"


def diamond():
    """Root -> a..e; each of them -> "Z" and a state of its own: "Z" is reached by five paths."""

    def handler(request, index):
        if request.prompt.startswith("value: "):
            return "1.0"
        state = request.prompt.removeprefix("expand: ")
        return "\n".join(PATHS) if state == "" else f"Z\n{state}{state}"

    return ScriptedModel(handler)


def value():
    return LLMValue(lambda n: GenerationRequest(prompt=f"value: {n.state}"), parse=float, n=1)


SEARCHES = {
    "bfs": lambda ctx, **kw: bfs(ToyTask(depth=2), value(), ctx, breadth=20, steps=2, **kw),
    "dfs": lambda ctx, **kw: dfs(ToyTask(depth=2), value(), ctx, threshold=0.0, **kw),
    "best_first": lambda ctx, **kw: best_first(ToyTask(depth=2), value(), ctx, priority=lambda n: n.depth,
                                               max_outputs=20, **kw),
    "astar": lambda ctx, **kw: astar(ToyTask(depth=2), value(), ctx, heuristic=lambda n: 0.0, max_outputs=20,
                                     width=3, **kw),
}  # fmt: skip


@pytest.mark.parametrize("search", list(SEARCHES))
async def test_a_state_reached_by_five_paths_comes_back_once(search):
    model = diamond()
    ctx = SearchContext(Engine(model), tag="d")
    result = await SEARCHES[search](ctx)
    states = [n.state for n in result.outputs]
    assert sorted(states) == ["Z", "aa", "bb", "cc", "dd", "ee"]
    assert result.stopped == "exhausted"  # not "max_outputs": five finished copies no longer fill max_outputs
    # The copies stay in the tree, marked; the state was valued once.
    assert sum(n.state == "Z" for n in ctx.tree.nodes) == 5
    assert sum(n.info.get("duplicate", False) for n in ctx.tree.nodes) == 4
    assert [r.prompt for r in model.calls].count("value: Z") == 1
    # ... and marked in the tree a report reads (a copy shown with a value it was never scored for, unmarked, reads
    # as a state the evaluator judged).
    assert sum(bool(d.get("duplicate")) for d in ctx.tree.to_json()["nodes"]) == 4


@pytest.mark.parametrize("search", list(SEARCHES))
async def test_dedupe_can_be_switched_off(search):
    ctx = SearchContext(Engine(diamond()), tag="d")
    result = await SEARCHES[search](ctx, dedupe=False)
    assert [n.state for n in result.outputs].count("Z") == 5


async def test_best_first_max_outputs_counts_distinct_states():
    # The report: with max_outputs, one state by several paths came back several times, and the search stopped
    # ("done") after that many finished nodes. Now the outputs are distinct and `stopped` says max_outputs.
    ctx = SearchContext(Engine(diamond()), tag="d")
    result = await best_first(ToyTask(depth=2), value(), ctx, priority=lambda n: n.depth, max_outputs=3)
    assert [n.state for n in result.outputs] == ["Z", "aa", "bb"] and result.stopped == "max_outputs"


def flat_model(children="01"):
    model, _ = toy_model(children=children, delay=0, values=lambda state: 1.0 if state != "000" else 10.0)
    return model


def ctx_for(model, budget=None):
    return SearchContext(Engine(model), tag="s", budget=budget)


async def test_every_stop_reason_is_reachable_in_bfs():
    assert (await bfs(ToyTask(depth=2), value(), ctx_for(flat_model()), steps=5)).stopped == "exhausted"
    assert (await bfs(ToyTask(depth=5), value(), ctx_for(flat_model()), steps=2)).stopped == "max_steps"
    budget = SearchBudget(max_calls=3)
    assert (await bfs(ToyTask(depth=5), value(), ctx_for(flat_model(), budget), steps=5)).stopped == "budget"


async def test_every_stop_reason_is_reachable_in_dfs():
    def run(depth=3, **kw):
        budget = kw.pop("budget", None)
        return dfs(ToyTask(depth=depth), value(), ctx_for(flat_model(), budget), threshold=1.0, **kw)

    assert (await run(accept=10.0)).stopped == "accepted"
    assert (await run(depth=2)).stopped == "exhausted"
    assert (await run(depth=6, max_steps=3)).stopped == "max_steps"
    assert (await run(depth=6, budget=SearchBudget(max_calls=5))).stopped == "budget"


@pytest.mark.parametrize("strategy", ["best_first", "astar"])
async def test_every_stop_reason_is_reachable_in_best_first_and_astar(strategy):
    def run(depth=3, **kw):
        budget = kw.pop("budget", None)
        ctx = ctx_for(flat_model(), budget)
        if strategy == "astar":
            return astar(ToyTask(depth=depth), value(), ctx, heuristic=lambda n: -(n.value or 0.0), **kw)
        return best_first(ToyTask(depth=depth), value(), ctx, priority=lambda n: -(n.value or 0.0), **kw)

    assert (await run(accept=10.0, max_outputs=100)).stopped == "accepted"
    assert (await run(max_outputs=2)).stopped == "max_outputs"
    assert (await run(depth=2, max_outputs=100)).stopped == "exhausted"
    assert (await run(depth=6, max_steps=3)).stopped == "max_steps"
    assert (await run(depth=6, budget=SearchBudget(max_calls=5))).stopped == "budget"


async def test_heuristic_evaluator_costs_no_calls():
    model = flat_model()
    ctx = ctx_for(model)
    await best_first(ToyTask(depth=2), Heuristic(lambda n: 1.0), ctx, priority=lambda n: n.depth)
    assert all(r.prompt.startswith("expand") for r in model.calls)


class FreshKey(ToyTask):
    """A key built afresh on each call and compared by identity (a state class without __eq__): no two keys are
    equal, not even one node's, asked twice."""

    def key(self, node):
        return type("State", (), {})()


@pytest.mark.parametrize("name", list(SEARCHES))
async def test_a_key_not_equal_to_itself_when_asked_again_is_a_new_state_each_time(name) -> None:
    # bfs asked a child's key twice and looked the second answer up in a dict: KeyError.
    search = {"bfs": bfs, "dfs": dfs, "best_first": best_first, "astar": astar}[name]
    options = {"bfs": {"breadth": 20, "steps": 2}, "dfs": {"threshold": 0.0},
               "best_first": {"priority": lambda n: n.depth, "max_outputs": 20},
               "astar": {"heuristic": lambda n: 0.0, "max_outputs": 20}}[name]  # fmt: skip
    ctx = SearchContext(Engine(diamond()), tag="t")
    result = await search(FreshKey(depth=2), value(), ctx, dedupe=False, **options)
    assert len(result.outputs) == 10 and not any(n.info.get("duplicate") for n in result.outputs)
