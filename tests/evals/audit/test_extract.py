"""Answer extraction is strict: it reads "The best answer is: (X)" and close variants, and never guesses."""

import pytest

from evals.audit import Unparsed, extract_answer


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("Step one. So the best answer is: (B).", 1),
        ("The best answer is: (A)", 0),
        ("the best answer is (C) because ...", 2),
        ("The best answer is:\n(B) choice 1", 1),
        ("The best answer is: **(A)**", 0),
        ("**The best answer is: (B)**", 1),
        ("So the best answer is: (B). To be clear, the best answer is: (B).", 1),
        ("Therefore, the best answer to the question 'Who is at fault? Is it Ann?' is: (C) Unknown.", 2),
        ("The BEST ANSWER IS: (A).", 0),
        ('I must answer in the format "The best answer is: (X)". ... The best answer is: (B).', 1),
    ],
)
def test_cot_answers(text: str, index: int) -> None:
    assert extract_answer(text, 3, cot=True) == index


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty completion"),
        ("I think it is B.", 'no "The best answer is: (X)"'),
        ("The answer is (B).", 'no "The best answer is: (X)"'),
        ("The best answer is: B", 'no "The best answer is: (X)"'),
        ("The best answer is: (b)", 'no "The best answer is: (X)"'),
        ("The best answer is: (A). Hmm, no: the best answer is: (B).", "conflicting answers: (A), (B)"),
        ("The best answer is: (D).", "answer (D) is not one of the 3 choices"),
        ('Give your answer as "The best answer is: (X)".', 'no "The best answer is: (X)"'),
    ],
)
def test_cot_unparsed(text: str, reason: str) -> None:
    assert extract_answer(text, 3, cot=True) == Unparsed(reason)


@pytest.mark.parametrize(
    ("text", "index"),
    [("B) choice 1", 1), ("A)", 0), (" C) The", 2), ("(B)", 1), ("B", 1), ("B.", 1), ("The best answer is: (C)", 2)],
)
def test_direct_answers(text: str, index: int) -> None:
    assert extract_answer(text, 3, cot=False) == index


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("A good question", "does not start with an answer letter: 'A good question'"),
        ("I'd say B)", 'does not start with an answer letter: "I\'d say B)"'),
        ("", "does not start with an answer letter: ''"),
        ("D)", "answer (D) is not one of the 3 choices"),
    ],
)
def test_direct_unparsed(text: str, reason: str) -> None:
    assert extract_answer(text, 3, cot=False) == Unparsed(reason)
