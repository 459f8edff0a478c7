"""Our BFS with the paper's settings, on the replay of the published GPT-4 run, selects the same states at every
step and reproduces the published result exactly: 69 of 100 solved, 62 by the first output."""

import json

import pytest

from evals.game24 import Game24Config, Game24Task, ReplayMissError, ReplayModel
from reasoning import Engine, ResponseCache
from reasoning.tree import SearchContext
from search import bfs
from tests.conftest import SHARED_DATA

LOG = SHARED_DATA / "tot" / "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"


async def replay(record):
    task = Game24Task(record["steps"][0]["x"], Game24Config(zero_unfinished=False))
    engine = Engine(ReplayModel(record, task), cache=ResponseCache())
    ctx = SearchContext(engine, tag=str(record["idx"]))
    result = await bfs(task, task.evaluator(), ctx, breadth=5, steps=4)
    return task, ctx, result


async def test_replay_reproduces_the_published_run():
    records = json.loads(LOG.read_text())
    assert [r["idx"] for r in records] == list(range(900, 1000))
    solved = first = 0
    for record in records:
        task, ctx, result = await replay(record)
        assert result.stopped == "exhausted" and len(result.steps) == 4
        for ours, logged in zip(result.steps, record["steps"], strict=True):
            states = [ctx.tree.nodes[i].state for i in ours.candidates]
            assert states == logged["new_ys"], (record["idx"], ours.step)
            assert ours.values == pytest.approx(logged["values"], abs=1e-9), (record["idx"], ours.step)
            selected = [ctx.tree.nodes[i].state for i in ours.selected]
            assert selected == logged["select_new_ys"], (record["idx"], ours.step)
        outputs = [node.state for node in result.outputs]
        assert outputs == record["ys"]
        verdicts = [task.check(output) for output in outputs]
        solved += any(verdicts)
        first += verdicts[0]
    assert (solved, first) == (69, 62)


async def test_replay_refuses_what_the_log_never_asked():
    record = json.loads(LOG.read_text())[0]
    model = ReplayModel(record)
    from reasoning import GenerationRequest

    try:
        await model.generate(GenerationRequest.chat("something else"))
    except ReplayMissError as exc:
        assert exc.model == "gpt-4-replay/900"
    else:
        raise AssertionError("expected ReplayMissError")


async def test_search_tree_is_recorded():
    record = json.loads(LOG.read_text())[0]
    _, ctx, result = await replay(record)
    graph = ctx.tree.graph
    total_candidates = sum(len(s["new_ys"]) for s in record["steps"])
    assert graph.number_of_nodes() == 1 + total_candidates
    assert graph.number_of_edges() == total_candidates
    selected = [n for n, d in graph.nodes(data=True) if d.get("selected")]
    assert len(selected) == 5 * 4
    some = next(iter(graph.nodes[i] for i in result.steps[0].candidates))
    assert {"state", "thought", "depth", "value", "values", "tokens", "dollars"} <= set(some)
