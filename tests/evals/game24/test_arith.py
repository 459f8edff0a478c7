import csv
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.game24 import check_answer, check_step, evaluate, solve
from evals.game24.arith import ExpressionError, parse_numbers
from tests.conftest import SHARED_DATA

LOG = SHARED_DATA / "tot" / "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"


@pytest.mark.parametrize(
    ("text", "value"),
    [("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("8 / (3 - 8 / 3)", 24), ("-4 + 10", 6), ("2 × 3 ÷ 4", Fraction(3, 2)),
     ("10 − 4", 6), ("1.5 * 4", 6), ("((2))", 2)],
)  # fmt: skip
def test_evaluate_exact(text, value):
    assert evaluate(text)[0] == value


@pytest.mark.parametrize("text", ["", "1 +", "(1 + 2", "1 + 2)", "2 ** 3", "1 / 0", "__import__('os')", "1 2", "a"])
def test_evaluate_rejects(text):
    with pytest.raises(ExpressionError):
        evaluate(text)


@pytest.mark.parametrize(
    ("output", "correct", "reason"),
    [
        ("Answer: (5 * (10 - 6)) + 4 = 24", True, "ok"),
        ("Steps:\n4 + 5 = 9 (left: 6 9 10)\nAnswer: (10 - 6) * 5 + 4 = 24", True, "ok"),
        ("answer: 4 * (10 - 5) + 6 - 2 = 24", False, "uses 2 4 5 6 10, not the puzzle's 4 5 6 10"),
        ("Answer: (10 - 6) * (5 + 1) = 24", False, "uses 1 5 6 10, not the puzzle's 4 5 6 10"),
        ("Answer: 4 + 5 + 6 + 10 = 24", False, "equals 25, not 24"),
        ("Answer: 4 * 5 / 10 * 6 = 24", False, "equals 12, not 24"),
        ("Answer: 24", False, "uses 24, not the puzzle's 4 5 6 10"),
        ("Answer: 4 * 4 + 6 + 2", False, "uses 2 4 4 6, not the puzzle's 4 5 6 10"),
        ("I give up", False, "not arithmetic (the last line has no 'Answer:'): unexpected 'I' at character 1"),
        (
            "Answer: (10 - 6) * 5 + 4 = 24\nHope this helps!",
            False,
            "not arithmetic (the last line has no 'Answer:'): unexpected 'H' at character 1",
        ),
        ("Answer: 4 * (5 + 6", False, "not arithmetic: missing ')' for the '(' at character 5"),
        ("Steps:\nAnswer:", False, "no expression after 'Answer:' on the last line"),
        ("Answer: Answer: (10 - 6) * 5 + 4 = 24", True, "ok"),  # read after the last "Answer:", as the paper does
        ("(10 - 6) * 5 + 4\n= 24", False, "no expression (and no 'Answer:') on the last line"),
        ("Answer: (10 - 6) * 5 + 4.00001 = 24", False, "uses 4.00001 5 6 10, not the puzzle's 4 5 6 10"),
        ("Answer: 10 / 6 * 5 + 4", False, "equals 12.33, not 24"),
        ("", False, "empty output"),
        (" \n\n ", False, "empty output"),
    ],
)
def test_check_answer(output, correct, reason):
    verdict = check_answer("4 5 6 10", output)
    assert (verdict.correct, verdict.reason) == (correct, reason)


def test_checker_agrees_with_the_published_verdicts():
    import json

    agree = []
    for record in json.loads(LOG.read_text()):
        puzzle = record["steps"][0]["x"]
        for output, info in zip(record["ys"], record["infos"], strict=True):
            agree.append(check_answer(puzzle, output).correct == bool(info["r"]))
    assert len(agree) == 500 and all(agree)


@given(st.text(max_size=300))
@settings(max_examples=400, deadline=None)
def test_checker_never_raises_on_hostile_text(text):
    verdict = check_answer("4 5 6 10", text)
    assert verdict.correct in (True, False)


def test_checker_refuses_very_long_and_deep_input():
    assert not check_answer("4 5 6 10", "Answer: " + "(" * 10_000 + "4").correct
    assert "longer" in check_answer("4 5 6 10", "Answer: " + "1+" * 1000 + "1").reason


def test_check_step():
    numbers = parse_numbers("4 5 6 10")
    assert check_step(numbers, "4 + 5 = 9 (left: 6 9 10)").ok
    assert check_step(numbers, "10 - 4 = 6 (left: 5 6 6)").ok
    assert check_step(numbers, "6 / 4 = 1.5 (left: 1.5 5 10)").ok
    assert check_step(parse_numbers("3 8 10"), "10 / 3 = 3.33 (left: 3.33 8)").ok  # rounded as written
    assert not check_step(numbers, "4 + 5 = 10 (left: 6 10 10)").ok  # wrong sum
    assert not check_step(numbers, "4 + 7 = 11 (left: 5 6 11)").ok  # 7 is not there
    assert not check_step(numbers, "4 + 5 = 9 (left: 6 9)").ok  # lost a number
    assert not check_step(numbers, "5 + 5 = 10 (left: 4 6 10)").ok  # used 5 twice
    assert not check_step(numbers, "Let me think").ok


def test_solver_on_every_puzzle_is_exact():
    with (SHARED_DATA / "tot" / "24.csv").open() as f:
        puzzles = [row["Puzzles"] for row in csv.DictReader(f)]
    assert len(puzzles) == 1362
    solutions = {p: solve(p) for p in puzzles}
    for puzzle, expression in solutions.items():
        if expression is not None:
            assert check_answer(puzzle, f"Answer: {expression} = 24").correct, (puzzle, expression)
    # The data set is built from solvable puzzles.
    assert sum(s is not None for s in solutions.values()) == 1362
    assert solve("1 1 1 1") is None and solve("3 3 8 8") is not None
