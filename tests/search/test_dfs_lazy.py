"""`dfs(lazy=True, max_visits=...)`: the paper's crosswords DFS (children in the task's order, each scored when its
turn comes, pruned children counted as visited, a limit on states visited)."""

from reasoning.evaluators import Heuristic
from search import dfs
from tests.search.toy import ToyTask, context, toy_model


def prune(bad):
    """1.0 for a state not in `bad`, 0.0 for one in it; records the order states were scored in."""
    order = []

    def value(node):
        order.append(node.state)
        return 0.0 if node.state in bad else 1.0

    return Heuristic(value), order


def visited(ctx):
    graph = ctx.tree.graph
    scored = [n for n in ctx.tree.nodes if graph.nodes[n.id].get("visit") is not None]
    return [(n.state, graph.nodes[n.id]["selected"]) for n in sorted(scored, key=lambda n: graph.nodes[n.id]["visit"])]


async def test_lazy_scores_each_child_in_the_task_order_before_its_siblings():
    # The toy proposes "s0" then "s1": "0" and its subtree come before "1" is scored; "01" is pruned, so "010" and
    # "011" are never made, and the search backs up to "1".
    model, _ = toy_model(delay=0)
    evaluator, order = prune({"01"})
    ctx = context(model)
    result = await dfs(ToyTask(depth=3), evaluator, ctx, threshold=1.0, lazy=True, dedupe=False)
    assert order == ["0", "00", "000", "001", "01", "1", "10", "100", "101", "11", "110", "111"]
    assert ("01", False) in visited(ctx) and all(ok for s, ok in visited(ctx) if s != "01")
    assert [n.state for n in result.outputs] == ["000", "001", "100", "101", "110", "111"]
    assert result.stopped == "exhausted"
    # A step is one expansion; its record lists the children scored, in order, and those explored.
    first = result.steps[0]
    assert [ctx.tree.nodes[i].state for i in first.candidates] == ["0", "1"]
    assert [ctx.tree.nodes[i].state for i in result.steps[1].selected] == ["00"]  # "01" pruned


async def test_lazy_visits_in_the_task_order_not_by_value():
    # Values would rank "1" first; lazy keeps the task's order ("0" first), as the paper orders by confidence.
    model, _ = toy_model(delay=0)
    ctx = context(model)
    await dfs(ToyTask(depth=1), Heuristic(lambda n: 2.0 if n.state == "1" else 1.0), ctx, threshold=1.0, lazy=True)
    assert [s for s, _ in visited(ctx)] == ["0", "1"]


async def test_breadth_counts_pruned_children():
    # Three children a node; breadth 2: the first two are scored whether pruned or not, the third never.
    model, _ = toy_model(children="abc", delay=0)
    evaluator, order = prune({"a"})
    ctx = context(model)
    await dfs(ToyTask(depth=1), evaluator, ctx, threshold=1.0, lazy=True, breadth=2)
    assert order == ["a", "b"]


async def test_max_visits_stops_after_that_many_states_scored():
    model, _ = toy_model(delay=0)
    evaluator, order = prune({"00"})
    ctx = context(model)
    result = await dfs(ToyTask(depth=3), evaluator, ctx, threshold=1.0, lazy=True, max_visits=4)
    assert order == ["0", "00", "01", "010"]  # the pruned "00" counts as one of the 4
    assert result.stopped == "max_visits"
    assert [v for v in (ctx.tree.graph.nodes[n.id].get("visit") for n in ctx.tree.nodes) if v] == [1, 2, 3, 4]
    # No expansion is asked for once no child could be scored: "010" is not expanded.
    assert ctx.requests["expand"] == 3


async def test_max_visits_is_not_a_stop_when_nothing_was_left():
    model, _ = toy_model(delay=0)
    evaluator, _ = prune(set())
    result = await dfs(ToyTask(depth=1), evaluator, context(model), threshold=1.0, lazy=True, max_visits=2)
    assert result.stopped == "exhausted"


async def test_eager_dfs_takes_max_visits_too_and_is_unchanged_without_it():
    model, _ = toy_model(delay=0)
    evaluator, order = prune(set())
    result = await dfs(ToyTask(depth=3), evaluator, context(model), threshold=1.0, max_visits=3)
    assert result.stopped == "max_visits" and order == ["0", "1"]  # the next batch ("00", "01") would pass 3
    model, _ = toy_model(delay=0)
    evaluator, order = prune(set())
    result = await dfs(ToyTask(depth=2), evaluator, context(model), threshold=1.0)
    assert result.stopped == "exhausted" and order == ["0", "1", "00", "01", "10", "11"]
