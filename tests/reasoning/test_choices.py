"""The one rule for readers of a model's choice (`reasoning.choices`): a statement that names two options is no
answer, and an answer followed by its text or a later sentence still is. Here on the tree-search readers: the vote
reader `vote_choice` and the value reader `word_values`."""

import time

import pytest

from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.choices import also_named, names_several, statement_end, vote_choice
from reasoning.evaluators import LLMVote, word_values
from reasoning.tree import Node, SearchContext

LETTER = r"\((?P<option>[A-Z])\)"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("(A) or (B)", ["B"]),
        ("(A), (B) and (C).", ["B", "C"]),
        ("(A) Paris or (B) London", ["B"]),
        ("(A) or either (B)", ["B"]),
        ("(A) or perhaps **(B)**", ["B"]),
        ("(A) because (B) is wrong, or (C)", []),  # the first other option is not joined: nothing after it counts
        ("(A). Or (B)", []),  # a later sentence
        ("(A)\nor (B)", []),
        ("(A) rather than (B)", []),
    ],
)
def test_also_named(text: str, named: list[str]) -> None:
    assert also_named(text, 3, LETTER) == named


def test_statement_end_and_reason() -> None:
    assert statement_end("(A) 3.5 or (B). Then", 0) == 14
    assert statement_end("(A) or (B)", 0) == 10 and statement_end("(A) or (B)", 0, 5) == 5
    assert names_several(["(A)", "(B)"]) == "names two choices: (A), (B)"
    assert names_several(["1", "2", "3"]) == "names three choices: 1, 2, 3"


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("The best choice is 2", 1),
        ("Analysis ...\nThe best choice is 3.", 2),
        ("The best choice is **1**", 0),
        ("The best choice is 2, because 1 repeats a step.", 1),
        ("The best choice is 2. Choice 1 or 3 would also do.", 1),  # a later sentence
        ("The best choice is 1 (3 is close)", 0),
        ("The best choice is 2. So the best choice is 2.", 1),
        ("The best choice is 1 or 3", None),  # names two
        ("The best choice is 1 or choice 3", None),
        ("The best choice is either 1 or 2.", None),
        ("The best choice is 1, 3", None),
        ("The best choice is 1/3", None),
        ("The best choice is 2 and 3", None),
        ("The best choice is 2. The best choice is 3.", None),  # conflicting
        ("The best choice is 4", None),  # only 3 choices
        ("The best choice is 0", None),
        ("The best choice is 2.5", None),
        ("I pick 2", None),
        ("The best choice is " + "9" * 5000, None),  # too long for int(): no ValueError
    ],
)
def test_vote_choice(text: str, choice: int | None) -> None:
    assert vote_choice(text, 3) == choice


async def test_a_vote_for_two_choices_counts_for_neither() -> None:
    model = ScriptedModel(["The best choice is 1 or 3", "The best choice is 2", "The best choice is 3, not 1."])
    evaluator = LLMVote(lambda nodes: GenerationRequest(prompt="pick"), parse=vote_choice, n=3)
    ctx = SearchContext(Engine(model, cache=ResponseCache()), tag="e")
    assert await evaluator.evaluate([Node(state=s) for s in "abc"], ctx) == [0.0, 1.0, 1.0]


@pytest.mark.parametrize("text", ["likely/sure", "sure or likely", "likely, sure", "Sure and impossible.", "either"])
def test_a_value_verdict_naming_two_words_is_no_value(text: str) -> None:
    parse = word_values({"sure": 20, "likely": 1, "impossible": 0.001})
    assert parse(f"3 * 8 = 24\n{text}") is None
    assert parse("3 * 8 = 24\nsure") == 20


def test_readers_are_linear_time() -> None:
    for text in ["The best choice is 1" + " or" * 300_000, "The best choice is 1 " * 100_000,
                 "best choice is" + " " * 1_000_000, "The best choice is 1" + ", 1" * 300_000]:  # fmt: skip
        start = time.process_time()  # CPU seconds: a busy machine does not count, a blow-up does
        vote_choice(text, 3)
        assert time.process_time() - start < 2.0, text[:40]
