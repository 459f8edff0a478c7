"""The game-of-24 task with lenient thoughts and program-written answers, on scripted models: proposals merged by the
numbers they leave, answers written without a call, values decided exactly where the state decides them, value
requests that stop before a further example, and whole searches that solve a puzzle from a model whose "left" lists
are all wrong."""

from __future__ import annotations

import itertools
import re
from fractions import Fraction

import pytest

from evals.game24.arith import check_answer, check_step, format_number, parse_numbers, solve
from evals.game24.data import Puzzle
from evals.game24.methods import MethodConfig
from evals.game24.task import Game24Config, Game24Task, read_verdict, solver_evaluator
from prompts import game24 as prompts
from reasoning import ConfigurationError, Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.evaluators import Shortcut
from reasoning.tree import Node, SearchContext
from search import bfs

LENIENT = Game24Config(thoughts="lenient", answer="program")


def text_of(request: GenerationRequest) -> str:
    return request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages or ())


def context(model: ScriptedModel) -> SearchContext:
    return SearchContext(Engine(model, cache=ResponseCache()), tag="t")


def state(*lines: str) -> Node[str]:
    """A node at depth len(lines) whose state is those lines, each ending a line."""
    node = Node(state="")
    for line in lines:
        node = node.child(node.state + line + "\n", line)
    return node


# -- proposals: read, repaired, merged by the numbers left ----------------------------------------------------------
async def test_lines_leaving_the_same_numbers_are_one_child_the_first_kept() -> None:
    reply = "\n".join([
        "1 + 2 = 3 (left: 3 4)",  # wrong list, repaired
        "2 + 1 = 3",  # the same numbers left (3 3 4): merged
        "1. 3 * 1 = 3",  # 2 3 4
        "3 / 1 = 3 (left: 2 3 4)",  # another operation, the same numbers left: merged
        "12 / 2 = 6 (left: 4 5 6)",  # the prompt example's numbers: refused
        "4 + 4 = 8",  # one 4 only: refused
        "Answer: (1 + 2 + 3) * 4 = 24",  # not a step: refused
        "",
    ])  # fmt: skip
    model = ScriptedModel([reply])
    task = Game24Task("1 2 3 4", LENIENT)
    children = await task.expand(task.root(), context(model))
    assert [c.state for c in children] == ["1 + 2 = 3 (left: 3 3 4)\n", "3 * 1 = 3 (left: 2 3 4)\n"]
    assert [c.thought for c in children] == ["1 + 2 = 3 (left: 3 3 4)", "3 * 1 = 3 (left: 2 3 4)"]
    assert len(model.calls) == 1
    # The steps-only prompt (the program computes the lists), on the numbers left.
    assert text_of(model.calls[0]) == prompts.propose_prompt("1 2 3 4", left=False)
    assert model.calls[0].stop == ("\nInput:",)


async def test_3_plus_5_and_5_plus_3_are_one_child_and_one_state_for_the_search() -> None:
    task = Game24Task("3 5 6 8", LENIENT)
    children = await task.expand(task.root(), context(ScriptedModel(["3 + 5 = 8\n5 + 3 = 8 (left: 6 8 8)"])))
    assert [c.thought for c in children] == ["3 + 5 = 8 (left: 6 8 8)"]
    # Two paths to the same numbers are one state: the key is the multiset left.
    a = state("3 + 5 = 8 (left: 6 8 8)", "8 - 6 = 2 (left: 2 8)")
    b = state("8 - 6 = 2 (left: 2 3 5)", "3 + 5 = 8 (left: 2 8)")
    c = state("3 + 5 = 8 (left: 6 8 8)", "8 / 8 = 1 (left: 1 6)")
    assert task.key(a) == task.key(b) != task.key(c)
    assert task.key(task.root()) == ""
    # An answer is its own state; in paper mode a state is its text.
    answer = state("6 * 8 = 48 (left: 3 5 48)", "5 - 3 = 2 (left: 2 48)", "48 / 2 = 24 (left: 24)",
                   "Answer: 6 * 8 / (5 - 3) = 24")  # fmt: skip
    assert task.key(answer) == answer.state
    paper = Game24Task("3 5 6 8")
    assert paper.key(a) == a.state != paper.key(b) == b.state


async def test_the_answer_is_written_by_the_program_without_a_call() -> None:
    model = ScriptedModel([])  # any call fails: no reply scripted
    ctx = context(model)
    task = Game24Task("4 5 6 10", LENIENT)
    node = state("10 - 6 = 4 (left: 4 4 5)", "4 * 5 = 20 (left: 4 20)", "4 + 20 = 24 (left: 24)")
    [child] = await task.expand(node, ctx)
    assert child.thought == "Answer: 10 - 6 + 4 * 5 = 24"
    assert child.state == node.state + "Answer: 10 - 6 + 4 * 5 = 24\n"
    assert task.check(child.state) and check_answer("4 5 6 10", child.state).correct
    assert task.is_terminal(child) and task.decided_value(child) == 60.0
    assert model.calls == [] and not ctx.requests and ctx.spend.calls == 0


async def test_one_number_left_that_is_not_24_has_no_child_and_costs_no_call() -> None:
    model = ScriptedModel([])
    ctx = context(model)
    task = Game24Task("4 5 6 10", LENIENT)
    node = state("10 - 6 = 4 (left: 4 4 5)", "4 * 5 = 20 (left: 4 20)", "4 * 20 = 80 (left: 80)")
    assert await task.expand(node, ctx) == []
    assert model.calls == [] and not ctx.requests


async def test_with_answers_by_the_model_the_answer_line_is_kept_as_written() -> None:
    model = ScriptedModel(["Answer: (10 - 6) * 5 + 4 = 24\nAnswer: (10 - 6) * 5 + 4 = 24\n4 + 5 = 9"])
    task = Game24Task("4 5 6 10", Game24Config(thoughts="lenient", answer="model"))
    node = state("10 - 6 = 4 (left: 4 4 5)", "4 * 5 = 20 (left: 4 20)", "4 + 20 = 24 (left: 24)")
    children = await task.expand(node, context(model))
    assert [c.thought for c in children] == ["Answer: (10 - 6) * 5 + 4 = 24"]
    assert len(model.calls) == 1 and text_of(model.calls[0]).startswith(prompts.cot_prompt("4 5 6 10"))


async def test_a_model_answer_that_ends_with_a_left_list_is_an_answer_checked_not_a_state_with_24_left() -> None:
    # "(left: 24)" after a wrong answer made it look like a step leaving 24: valued sure, and its numbers its key.
    model = ScriptedModel(["Answer: 1 + 1 = 24 (left: 24)\nAnswer: (10 - 6) + 4 * 5 = 24 (left: 24)"])
    task = Game24Task("4 5 6 10", Game24Config(thoughts="lenient", answer="model"))
    node = state("10 - 6 = 4 (left: 4 4 5)", "4 * 5 = 20 (left: 4 20)", "4 + 20 = 24 (left: 24)")
    wrong, right = await task.expand(node, context(model))
    assert [task.decided_value(wrong), task.decided_value(right)] == [0.0, 60.0]
    assert task.key(wrong) == wrong.state and task.key(right) == right.state


async def test_propose_samples_ask_one_request_with_n_samples_and_merge_their_steps() -> None:
    replies = ["4 + 5 = 9\n10 - 6 = 4", "5 + 4 = 9 (left: 1)\n6 * 4 = 24", "10 - 6 = 4\n4 + 5 = 9\n10 / 4 = 2.5"]
    model = ScriptedModel(replies)
    task = Game24Task("4 5 6 10", Game24Config(thoughts="lenient", answer="program", propose_samples=3))
    children = await task.expand(task.root(), context(model))
    assert [c.thought for c in children] == [
        "4 + 5 = 9 (left: 6 9 10)",
        "10 - 6 = 4 (left: 4 4 5)",
        "6 * 4 = 24 (left: 5 10 24)",
        "10 / 4 = 2.5 (left: 2.5 5 6)",
    ]
    assert len(model.calls) == 1 and model.calls[0].n == 3
    # One sample: the request as before (n=1).
    one = ScriptedModel(["4 + 5 = 9"])
    await Game24Task("4 5 6 10", LENIENT).expand(Node(state=""), context(one))
    assert one.calls[0].n == 1


# -- values: decided exactly, else asked; value requests that stop --------------------------------------------------
def test_decided_values() -> None:
    task = Game24Task("4 5 6 10", LENIENT)
    three = ("10 - 6 = 4 (left: 4 4 5)", "4 * 5 = 20 (left: 4 20)")
    assert task.decided_value(task.root()) is None
    assert task.decided_value(state(three[0])) is None  # three numbers left: the evaluator's to value
    assert task.decided_value(state(*three)) is None
    assert task.decided_value(state(*three, "4 + 20 = 24 (left: 24)")) == 60.0  # n_value (3) x sure (20)
    assert task.decided_value(state(*three, "4 * 20 = 80 (left: 80)")) == 0.0
    assert task.decided_value(state(*three, "4 + 20 = 24 (left: 24)", "Answer: 10 - 6 + 4 * 5 = 24")) == 60.0
    assert task.decided_value(state(*three, "4 + 20 = 24 (left: 24)", "Answer: 10 - 6 + 4 * 5 - 1 = 24")) == 0.0
    one_sample = Game24Task("4 5 6 10", Game24Config(thoughts="lenient", n_value=1))
    assert one_sample.decided_value(state(*three, "4 + 20 = 24 (left: 24)")) == 20.0  # the LLM value's scale
    paper = Game24Task("4 5 6 10")
    assert paper.decided_value(state(*three, "4 + 20 = 24 (left: 24)")) is None
    solver = solver_evaluator(paper)
    assert paper.decided(solver) is solver  # paper mode: the evaluator itself
    assert isinstance(task.decided(solver), Shortcut)


async def test_decided_states_are_not_asked_the_rest_in_one_batch() -> None:
    model = ScriptedModel(lambda request, i: "likely")
    ctx = context(model)
    task = Game24Task("4 5 6 10", LENIENT)
    three = ("10 - 6 = 4 (left: 4 4 5)", "4 * 5 = 20 (left: 4 20)")
    nodes = [state(*three, "4 + 20 = 24 (left: 24)"), state(*three), state(*three, "4 * 20 = 80 (left: 80)")]
    values = await task.decided(task.evaluator()).evaluate(nodes, ctx)
    assert values == [60.0, 3.0, 0.0]
    assert [n.info.get("evaluated_by") for n in nodes] == ["rule", None, "rule"]
    assert len(model.calls) == 1 and text_of(model.calls[0]) == prompts.value_prompt("4 20")
    # The solver as the evaluator: no call at all.
    solver = task.decided(solver_evaluator(task))
    assert await solver.evaluate(nodes, context(ScriptedModel([]))) == [60.0, 20.0, 0.0]


async def test_a_raw_completion_value_request_stops_before_the_next_example_and_reads_the_first_verdict() -> None:
    # The reported case: a completion model goes on past its verdict, writing examples of its own ("Input: ..."),
    # and the last line then was another example's verdict.
    model = ScriptedModel(lambda request, i: "4 * 5 = 20, 20 + 4 = 24\nsure\nInput: 1 1 1\nimpossible")
    task = Game24Task("4 5 6 10", Game24Config(thoughts="lenient", chat=False, n_value=2))
    node = state("10 - 6 = 4 (left: 4 4 5)")
    request = task.value_request(node)
    assert request.prompt is not None and request.messages is None
    assert request.prompt.endswith("Input: 4 4 5\n") and request.stop == ("\nInput:",) == prompts.VALUE_STOP
    assert await task.evaluator().evaluate([node], context(model)) == [40.0]
    assert model.calls[0].stop == ("\nInput:",)
    # The same for an answer's value request (paper mode values those with the model).
    answer = state("10 - 6 = 4 (left: 4 4 5)", "4 * 5 = 20 (left: 4 20)", "4 + 20 = 24 (left: 24)",
                   "Answer: (10 - 6) + 4 * 5 = 24")  # fmt: skip
    assert Game24Task("4 5 6 10", Game24Config(chat=False)).value_request(answer).stop == ("\nInput:",)
    # And the request for the answer itself, when the model writes it (it went on with examples of its own, whose
    # "Answer:" lines became children).
    at_24 = state("10 - 6 = 4 (left: 4 4 5)", "4 * 5 = 20 (left: 4 20)", "4 + 20 = 24 (left: 24)")
    for thoughts in ("paper", "lenient"):
        task = Game24Task("4 5 6 10", Game24Config(chat=False, thoughts=thoughts))
        assert task.propose_request(at_24).stop == ("\nInput:",)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("sure", 20.0),
        ("Judge: sure", 20.0),
        ("judge:sure", 20.0),
        ("**likely**", 1.0),
        ("Impossible.", 0.001),
        ("4 + 20 = 24\nsure\nInput: 1 1 1\nimpossible", 20.0),  # the first verdict, not the last
        ("(7 - 4) * 8 = 24\n  Likely!  \nsure", 1.0),
        ("not sure", None),
        ("I am sure it works", None),
        ("", None),
        ("maybe\nperhaps", None),
    ],
)
def test_read_verdict(text: str, value: float | None) -> None:
    assert read_verdict(text) == value


# -- whole searches on a model whose "left" lists are all wrong ------------------------------------------------------
def every_step(numbers: str) -> list[str]:
    """Every step on `numbers`, each with a wrong "left" list (and the prompt example's line first)."""
    values = parse_numbers(numbers)
    lines = ["12 / 2 = 6 (left: 4 5 6)"]
    for i, j in itertools.permutations(range(len(values)), 2):
        a, b = values[i], values[j]
        for op, c in (("+", a + b), ("-", a - b), ("*", a * b), ("/", a / b if b else None)):
            if c is not None:
                lines.append(f"{format_number(a)} {op} {format_number(b)} = {format_number(c)} (left: 1 1 1)")
    return lines


def last_input(text: str) -> str:
    return re.findall(r"Input: ([^\n]*)\n", text)[-1]


def model_with_wrong_lists() -> ScriptedModel:
    """Proposes every step with a wrong "left" list; values the numbers by the exact solver (sure / impossible), then
    goes on with an example of its own."""

    def reply(request: GenerationRequest, _: int) -> str:
        text = text_of(request)
        if text.rstrip().endswith("Possible next steps:"):
            return "\n".join(every_step(last_input(text)))
        if "Answer:" not in text[-200:]:
            verdict = "sure" if solve(last_input(text)) is not None else "impossible"
            return f"{verdict}\nInput: 1 1 1\n{'impossible' if verdict == 'sure' else 'sure'}"
        raise AssertionError(f"an unexpected request: {text[-200:]!r}")

    return ScriptedModel(reply)


@pytest.mark.parametrize("evaluator", ["solver", "llm"])
async def test_bfs_solves_4_5_6_10_from_a_model_whose_left_lists_are_all_wrong(evaluator: str) -> None:
    model = model_with_wrong_lists()
    ctx = context(model)
    task = Game24Task("4 5 6 10", Game24Config(thoughts="lenient", answer="program", n_value=1))
    value = task.decided(solver_evaluator(task) if evaluator == "solver" else task.evaluator())
    result = await bfs(task, value, ctx, breadth=2, steps=4)
    assert result.outputs and all(task.check(node.state) for node in result.outputs)
    for node in result.outputs:
        *steps, answer = node.state.strip().split("\n")
        assert len(steps) == 3 and answer.startswith("Answer: ")
        numbers = parse_numbers("4 5 6 10")
        for line in steps:  # every step is checked exact, with the numbers left that we computed
            left = line.split("left: ")[1].rstrip(")")
            assert sorted(parse_numbers(left)) == parse_numbers(left)
            numbers = parse_numbers(left)
        assert numbers == [Fraction(24)]
    assert set(ctx.requests) == ({"expand"} if evaluator == "solver" else {"expand", "evaluate"})
    assert ctx.requests["expand"] == 1 + 2 + 2  # three expansions by the model; the answers cost none


async def test_in_paper_mode_the_same_model_solves_nothing() -> None:
    # The contrast: every line a child, its "left" list believed (the prompt example's line "12 / 2 = 6 (left: 4 5
    # 6)" looks best to the solver): every state kept holds a step the exact step checker refuses.
    task = Game24Task("4 5 6 10", Game24Config(n_value=1))
    result = await bfs(task, solver_evaluator(task), context(model_with_wrong_lists()), breadth=2, steps=3)
    assert result.outputs
    for node in result.outputs:
        numbers, checks = parse_numbers("4 5 6 10"), []
        for line in node.state.strip().split("\n"):
            checks.append(check_step(numbers, line))
            numbers = list(checks[-1].left)
        assert not all(check.ok for check in checks), node.state


# -- configuration ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"answer": "program"}, "needs lenient thoughts"),
        ({"answer": "program", "thoughts": "paper"}, "needs lenient thoughts"),
        ({"thoughts": "loose"}, "thoughts must be"),
        ({"answer": "plugin", "thoughts": "lenient"}, "answer must be"),
        ({"propose_samples": 0}, "propose_samples must be"),
        ({"propose_samples": 1.5}, "propose_samples must be"),
    ],
)
def test_a_config_that_cannot_work_is_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Game24Config(**options)  # type: ignore[arg-type]


def test_sample_counts_no_request_can_ask_for_are_refused_by_the_task_and_read_back_from_a_folder() -> None:
    # A folder made before the bound (--n-value 2000 ran on the replay) still reads back, for its report; the task
    # refuses to ask for them.
    config = MethodConfig(n_value=2000, propose_samples=1025)
    with pytest.raises(ConfigurationError, match="Propose's n must be a whole number of samples from 1 to 1024"):
        config.task(Puzzle(900, "4 5 6 10"))
    with pytest.raises(ConfigurationError, match="LLMValue's n must be"):
        Game24Task("4 5 6 10", Game24Config(n_value=0)).evaluator()


def test_the_paper_defaults_keep_the_key_of_runs_made_before_these_options() -> None:
    # Obtained by running `MethodConfig().key()` and `MethodConfig(evaluator="solver").key()` on commit 435e6bf
    # (before thoughts/answer/propose_samples existed): `git worktree add /tmp/base 435e6bf` and
    # PYTHONPATH=/tmp/base python -c 'from evals.game24.methods import MethodConfig; print(MethodConfig().key())'.
    assert MethodConfig().key() == "615fd065ca63"
    assert MethodConfig(evaluator="solver").key() == "a5e3f371de83"
    assert MethodConfig(thoughts="paper", answer="model", propose_samples=1).key() == "615fd065ca63"
    # Any option off the paper's is a different run.
    others = {MethodConfig(thoughts="lenient").key(), MethodConfig(thoughts="lenient", answer="program").key(),
              MethodConfig(propose_samples=2).key()}  # fmt: skip
    assert len(others) == 3 and "615fd065ca63" not in others
    config = MethodConfig(thoughts="lenient", answer="program", propose_samples=2).task_config()
    assert (config.thoughts, config.answer, config.propose_samples) == ("lenient", "program", 2)
