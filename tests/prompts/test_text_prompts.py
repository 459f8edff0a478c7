"""The creative-writing prompts: the task's sentences and every choice are in them, and the judge's score is read
as the paper's reader does (the last "coherency score is N"), on the 1-10 scale only."""

import pytest

from prompts import text as p

SENTENCES = "First one. Second one. Third one. Fourth one."


def test_io_and_cot_carry_the_sentences_and_cot_asks_for_a_plan_then_a_passage():
    assert SENTENCES in p.io_prompt(SENTENCES + "\n")
    cot = p.cot_prompt(SENTENCES)
    assert cot.startswith(p.io_prompt(SENTENCES))
    assert cot.index("Plan:") < cot.index("Passage:")


def test_vote_prompt_numbers_every_choice_and_shows_the_instruction():
    prompt = p.vote_prompt(SENTENCES, ["Plan:\nA\n", "Plan:\nB\n"])
    assert SENTENCES in prompt and "The best choice is N" in prompt
    assert prompt.index("Choice 1:\nPlan:\nA\n") < prompt.index("Choice 2:\nPlan:\nB\n")


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("Analysis...\nThus the coherency score is 7", 7),
        ("Thus the coherency score is 10.", 10),
        ("the coherency score is 3 at first; on reflection, the coherency score is 8", 8),
        ("Thus the Coherency Score is: **6**", 6),
        ("Thus the coherency score is 0", None),
        ("Thus the coherency score is 11", None),
        ("Thus the coherency score is 7.5", None),
        ("I would give it a 7.", None),
    ],
)
def test_read_score(text, score):
    assert p.read_score(text) == score


def test_score_prompt_holds_the_passage():
    assert "Once upon a time." in p.score_prompt("  Once upon a time.\n")
