"""Our BFS with the paper's settings (breadth 1, 2 steps, 5 samples, 5 votes, greedy), on the replay of the published
GPT-4 creative-writing run, samples the logged candidates, counts the logged votes and keeps the logged plan and
passage in all 100 tasks, ties included (26 steps have two or more candidates with the most votes: the first of
them is kept, as the paper's stable sort keeps it)."""

import json

import pytest

from evals.text import ReplayMissError, ReplayModel, TextConfig, TextTask, load_log, vote_outputs
from evals.text.replay import NO_VOTE
from reasoning import Engine, GenerationRequest, ResponseCache
from reasoning.choices import vote_choice
from reasoning.errors import ConfigurationError
from reasoning.tree import SearchContext
from search import bfs
from tests.conftest import SHARED_DATA

LOG = SHARED_DATA / "tot" / "text" / "gpt-4_1.0_generate_sample_select_greedy_sample5_start0_end100.json"


async def replay(record, *, chat=False):
    task = TextTask(record["steps"][0]["x"], TextConfig(chat=chat))
    engine = Engine(ReplayModel(record, task), cache=ResponseCache())
    ctx = SearchContext(engine, tag=str(record["idx"]))
    result = await bfs(task, task.evaluator(), ctx, breadth=1, steps=2)
    return ctx, result


@pytest.mark.parametrize("chat", [False, True])
async def test_replay_keeps_the_logged_plan_and_passage_in_every_task(chat):
    records = load_log(LOG)
    assert [r["idx"] for r in records] == list(range(100))
    kept = ties = 0
    for record in records:
        ctx, result = await replay(record, chat=chat)
        assert result.stopped == "exhausted" and len(result.steps) == 2
        for ours, logged in zip(result.steps, record["steps"], strict=True):
            assert [ctx.tree.nodes[i].state for i in ours.candidates] == logged["new_ys"], record["idx"]
            assert ours.values == [float(v) for v in logged["values"]], record["idx"]
            assert [ctx.tree.nodes[i].state for i in ours.selected] == logged["select_new_ys"], record["idx"]
            ties += logged["values"].count(max(logged["values"])) > 1
        kept += [node.state for node in result.outputs] == record["ys"]
        assert ctx.requests == {"expand": 2, "evaluate": 2}
    assert (kept, ties) == (100, 26)


async def test_replay_refuses_what_the_log_never_asked():
    record = load_log(LOG)[0]
    task = TextTask(record["steps"][0]["x"])
    model = ReplayModel(record, task)
    for request in (GenerationRequest.chat("something else"),
                    task.sample_request(task.root()).model_copy(update={"n": 3}),  # 5 logged
                    task.vote_request([task.root()]).model_copy(update={"n": 5})):  # fmt: skip
        with pytest.raises(ReplayMissError) as caught:
            await model.generate(request)
        assert caught.value.model == "gpt-4-replay/0"
    logged = record["steps"][0]
    choices = [task.root().child(c, c) for c in logged["new_ys"]]
    with pytest.raises(ReplayMissError, match="3 votes asked for"):
        await model.generate(task.vote_request(choices).model_copy(update={"n": 3}))


def test_replay_refuses_another_tasks_sentences():
    record = load_log(LOG)[0]
    with pytest.raises(ValueError, match="the log has"):
        ReplayModel(record, TextTask("Some other sentences."))


def test_vote_outputs_reproduce_the_counts():
    texts = vote_outputs([0, 2, 2, 0, 0], 5)
    assert texts.count(NO_VOTE) == 1
    read = [vote_choice(t, 5) for t in texts]
    assert [read.count(k) for k in range(5)] == [0, 2, 2, 0, 0]
    with pytest.raises(ValueError):
        vote_outputs([3, 3], 5)


def test_load_log_refuses_what_is_not_the_run(tmp_path):
    for content, reason in (("{}", "not a list"), ("[{}]", "missing field 'steps'"), ("nope", "Expecting value")):
        path = tmp_path / "log.json"
        path.write_text(content)
        with pytest.raises(ConfigurationError, match=reason):
            load_log(path)
    path.write_text(json.dumps([{"steps": [{"x": "s", "new_ys": ["a"], "values": []}]}]))
    with pytest.raises(ConfigurationError, match="candidates and votes differ"):
        load_log(path)
