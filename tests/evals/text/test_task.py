"""The creative-writing task on a scripted model: how samples become plans and passages, what the vote asks, and
the search's greedy pick with ties going to the first candidate."""

import pytest

from evals.text import TextConfig, TextTask, passage_of
from reasoning import Engine, ResponseCache
from reasoning.testing import ScriptedModel
from reasoning.tree import Node, SearchContext
from search import bfs

SENTENCES = "One. Two. Three. Four."


def test_read_sample_keeps_the_papers_format():
    task = TextTask(SENTENCES)
    root = task.root()
    plan = task.read_sample(root, "Plan:\n1. a\n2. b\n")
    assert plan is not None and plan.state == "Plan:\n1. a\n2. b\n" and plan.depth == 1
    # A plan without its heading gets it; one that went on to its passage loses the passage.
    loose = task.read_sample(root, "1. a\n\nPassage:\nText")
    assert loose is not None and loose.state == "Plan:\n1. a\n\n"
    assert task.read_sample(root, "  \n") is None and task.read_sample(root, "Plan:\n") is None
    passage = task.read_sample(plan, "Passage:\nOne.\n\nTwo.")
    assert passage is not None and passage.state == plan.state + "Passage:\nOne.\n\nTwo." and task.is_terminal(passage)
    bare = task.read_sample(plan, "\nOne. Two.")
    assert bare is not None and passage_of(bare.state) == "One. Two."


def test_requests():
    task = TextTask(SENTENCES, TextConfig(chat=False, temperature=0.5, max_tokens=50))
    first = task.sample_request(task.root())
    assert first.prompt is not None and first.prompt.endswith("your passage\n") and first.stop == ("\nPassage:",)
    plan = Node(state="Plan:\nx\n", depth=1)
    second = task.sample_request(plan)
    assert second.prompt is not None and second.prompt.endswith("Plan:\nx\n") and second.stop == ()
    assert (second.temperature, second.max_tokens) == (0.5, 50)
    assert TextTask(SENTENCES).sample_request(plan).messages is not None  # chat by default


def test_passage_of():
    assert passage_of("Plan:\nx\nPassage:\nThe text.\n") == "The text."
    assert passage_of("No plan, just text.") == "No plan, just text."


def test_sample_counts_are_checked():
    from reasoning.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="n_vote"):
        TextConfig(n_vote=0)


async def test_search_keeps_the_first_of_the_most_voted():
    def reply(request, k):
        text = request.prompt
        if "Choice 1:" in text:  # a vote: candidates 2 and 3 get two votes each, one vote reads as none
            return ["The best choice is 2", "The best choice is 3", "The best choice is 3", "The best choice is 2",
                    "The best choice is 2 or 3"][k]  # fmt: skip
        if text.endswith("your passage\n"):
            return f"Plan:\nplan {k}\n"
        return f"Passage:\npassage {k} of {text.rsplit('plan ', 1)[1].strip()}"

    task = TextTask(SENTENCES, TextConfig(chat=False, n_generate=3))
    engine = Engine(ScriptedModel(reply), cache=ResponseCache())
    ctx = SearchContext(engine, tag="t")
    result = await bfs(task, task.evaluator(), ctx, breadth=1, steps=2)
    assert [s.values for s in result.steps] == [[0.0, 2.0, 2.0], [0.0, 2.0, 2.0]]
    assert result.outputs[0].state == "Plan:\nplan 1\nPassage:\npassage 1 of 1"
