"""`SearchResult.best`: the highest-valued output, ties to the first, None without outputs."""

from reasoning.evaluators import Heuristic
from reasoning.tree import Node, SearchTree
from search import SearchResult, astar, bfs, dfs
from tests.search.toy import ToyTask, context, toy_model


def result(*values):
    return SearchResult([Node(state=f"s{i}", value=v) for i, v in enumerate(values)], SearchTree())


def test_best_is_the_highest_value_wherever_it_is():
    assert result(0.2, 0.9, 0.5).best.state == "s1"


def test_best_ties_go_to_the_first():
    assert result(0.3, 0.7, 0.7, 0.1).best.state == "s1"


def test_best_ranks_an_unscored_output_as_zero():
    assert result(None, -1.0).best.state == "s0"
    assert result(-1.0, None, 0.5).best.state == "s2"


def test_best_is_none_without_outputs():
    assert result().best is None


def count_ones(node):
    return float(node.state.count("1"))


async def test_best_of_each_strategy_is_its_first_output():
    for search, options in [
        (bfs, {"breadth": 2, "steps": 3}),
        (dfs, {"threshold": 0.0, "max_steps": 20}),
        (astar, {"heuristic": lambda node: 3 - count_ones(node), "max_outputs": 3}),
    ]:
        model, _ = toy_model()
        res = await search(ToyTask(depth=3), Heuristic(count_ones), context(model), **options)
        assert res.best is res.outputs[0], search.__name__
        assert res.best.state == "111", search.__name__


async def test_best_of_a_search_that_found_nothing_is_none():
    model, _ = toy_model()
    res = await dfs(ToyTask(depth=3), Heuristic(lambda node: 0.0), context(model), threshold=1.0)
    assert res.outputs == [] and res.best is None
