"""Thoughts read for what they mean (`evals.game24.thoughts`): a proposed line "a op b = c" read leniently on the
numbers left, with the numbers left computed by us, and the final answer written from a path of such steps."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction

import pytest

from evals.game24.arith import check_answer, check_step, parse_numbers
from evals.game24.thoughts import Step, answer_from_steps, exact_text, left_text, read_step, step_line


def read(numbers: str, line: str) -> str | None:
    """The canonical line `line` is read as on `numbers`, or None when it is refused."""
    step = read_step(parse_numbers(numbers), line)
    return None if step is None else step_line(step)


@pytest.mark.parametrize(
    ("numbers", "line", "expected"),
    [
        # The model's "left" list is advice: wrong, it is repaired; missing, it is computed.
        ("4 5 6 10", "10 - 6 = 4 (left: 4 5)", "10 - 6 = 4 (left: 4 4 5)"),
        ("4 5 6 10", "4 + 5 = 9 (left: 1 2 3)", "4 + 5 = 9 (left: 6 9 10)"),
        ("4 5 6 10", "4 + 5 = 9", "4 + 5 = 9 (left: 6 9 10)"),
        ("4 5 6 10", "4+5=9", "4 + 5 = 9 (left: 6 9 10)"),
        # A number used twice needs two copies.
        ("4 4 5", "4 + 4 = 8", "4 + 4 = 8 (left: 5 8)"),
        # List markers before the step.
        ("4 5 6 10", "1. 4 + 5 = 9", "4 + 5 = 9 (left: 6 9 10)"),
        ("4 5 6 10", "2) 4 + 5 = 9", "4 + 5 = 9 (left: 6 9 10)"),
        ("4 5 6 10", "- 4 + 5 = 9", "4 + 5 = 9 (left: 6 9 10)"),
        ("4 5 6 10", "* 4 + 5 = 9", "4 + 5 = 9 (left: 6 9 10)"),
        ("4 5 6 10", "Step 2: 4 + 5 = 9 (left: 6 9 10)", "4 + 5 = 9 (left: 6 9 10)"),
        # Operators written the usual way.
        ("4 5 6 10", "4 × 5 = 20", "4 * 5 = 20 (left: 6 10 20)"),
        ("4 5 6 10", "4 x 5 = 20", "4 * 5 = 20 (left: 6 10 20)"),
        ("4 5 6 10", "10 ÷ 5 = 2", "10 / 5 = 2 (left: 2 4 6)"),
        ("4 5 6 10", "10 − 4 = 6", "10 - 4 = 6 (left: 5 6 6)"),
        # A negative result, then used.
        ("4 5 6 10", "4 - 10 = -6", "4 - 10 = -6 (left: -6 5 6)"),
        ("-6 5 6", "-6 + 6 = 0", "-6 + 6 = 0 (left: 0 5)"),
        # Decimals: exact, or rounded to the decimals written; the state keeps the exact value (8/3).
        ("4 5 6 10", "10 / 4 = 2.5", "10 / 4 = 2.5 (left: 2.5 5 6)"),
        ("4 5 6 10", "10 / 4 = 2.50", "10 / 4 = 2.5 (left: 2.5 5 6)"),
        ("4 5 6 10", "4 + 5 = 9.0", "4 + 5 = 9 (left: 6 9 10)"),
        ("3 8 9", "8 / 3 = 2.67", "8 / 3 = 8/3 (left: 8/3 9)"),
        ("3 8 9", "8 / 3 = 2.67 (left: 2.67 9)", "8 / 3 = 8/3 (left: 8/3 9)"),
        # Fractions in a state, named exactly or as a rounded decimal.
        ("8/3 9", "8/3 * 9 = 24", "8/3 * 9 = 24 (left: 24)"),
        ("8/3 9", "2.67 * 9 = 24", "8/3 * 9 = 24 (left: 24)"),
        ("12 3", "12/3 = 4", "12 / 3 = 4 (left: 4)"),
        # A trailing period, a step in parentheses.
        ("4 6", "4 * 6 = 24.", "4 * 6 = 24 (left: 24)"),
        ("4 5 6 10", "(10 - 6) = 4", "10 - 6 = 4 (left: 4 4 5)"),
    ],
)
def test_a_step_is_read_for_what_it_means(numbers: str, line: str, expected: str) -> None:
    assert read(numbers, line) == expected
    # What we write is a step the exact step checker accepts (when its numbers are decimals it reads).
    if "/" not in expected.replace(" / ", " "):
        assert check_step(parse_numbers(numbers), expected).ok, expected


@pytest.mark.parametrize(
    ("numbers", "line"),
    [
        ("4 5 6 10", "12 / 2 = 6 (left: 4 5 6)"),  # the prompt example's numbers, not the puzzle's
        ("4 5 6 10", "4 + 12 = 16"),
        ("4 5 6", "4 + 4 = 8"),  # one 4 only
        ("4 5 6 10", "4 + 5 = 10"),  # wrong arithmetic
        ("4 5 6 10", "4 + 5 = 90"),
        ("4 5 6 10", "4 + 5 = 9.4"),
        ("4 5 6 10", "4.4 + 5 = 9.4"),  # 4.4 is not 4
        ("3 8 9", "8 / 3 = 2.6"),  # not 8/3 rounded
        ("3 8 9", "8 / 3 = 3"),
        ("8/3 9", "2.67 * 9 = 24.03"),
        ("0 4 5", "5 / 0 = 0"),  # division by zero
        ("0 4 5", "4 / 0 = 4"),
        ("4 5 6 10", "4 + 5 + 6 = 15"),  # two operations on the left
        ("4 5 6 10", "(10 - 6) * 5 = 20"),
        ("4 5 6 10", "10 / 5 * 6 = 12"),
        ("4 6", "Answer: 4 * 6 = 24"),  # an answer line is not a step
        ("4 5 6 10", "Answer: (10 - 6) * 5 + 4 = 24"),
        ("4 5 6 10", "4 5 6 10"),
        ("4 5 6 10", ""),
        ("4 5 6 10", "= 9"),
        ("4 5 6 10", "4 + 5 ="),
    ],
)
def test_a_line_that_is_not_a_correct_step_on_the_numbers_left_is_refused(numbers: str, line: str) -> None:
    assert read(numbers, line) is None


def test_the_numbers_left_are_exact_and_sorted() -> None:
    step = read_step(parse_numbers("3 8 9"), "8 / 3 = 2.67")
    assert step == Step(Fraction(8), "/", Fraction(3), Fraction(8, 3), (Fraction(8, 3), Fraction(9)))
    assert left_text([Fraction(10), Fraction(5, 2), Fraction(-1)]) == "-1 2.5 10"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(8), "8"),
        (Fraction(-2), "-2"),
        (Fraction(5, 2), "2.5"),
        (Fraction(3, 4), "0.75"),
        (Fraction(8, 3), "8/3"),
        (Fraction(-1, 3), "-1/3"),
        # A decimal too small for a float's plain notation: never "1e-05", which no "left" list reads.
        (Fraction(1, 100000), "1/100000"),
        (Fraction(1, 65536), "1/65536"),
        (Fraction(10**17 + 1, 2), "100000000000000001/2"),  # no float holds it exactly
    ],
)
def test_a_number_is_written_so_that_a_state_reads_it_back(value: Fraction, text: str) -> None:
    assert exact_text(value) == text
    assert parse_numbers(text) == [value]


def test_a_path_through_a_tiny_quotient_stays_readable() -> None:
    # 1 / 256 / 256 is 1.52587890625e-05 as a float: the state must still name it in a form a "left" list takes.
    first = read_step(parse_numbers("1 7 256 256"), "1 / 256 = 0.00390625")
    assert first is not None
    second = read_step(first.left, "0.00390625 / 256 = 0.0000152587890625")
    assert second is not None and step_line(second) == "0.00390625 / 256 = 1/65536 (left: 1/65536 7)"
    assert parse_numbers(left_text(second.left)) == list(second.left)


# -- the answer written from the steps -------------------------------------------------------------------------------
def path(puzzle: str, *lines: str) -> str:
    """The state the lines spell, each read leniently on the numbers left and written canonically."""
    numbers, state = parse_numbers(puzzle), ""
    for line in lines:
        step = read_step(numbers, line)
        assert step is not None, line
        numbers, state = list(step.left), state + step_line(step) + "\n"
    return state


@pytest.mark.parametrize(
    ("puzzle", "lines", "answer"),
    [
        ("4 5 6 10", ["10 - 6 = 4", "4 * 5 = 20", "4 + 20 = 24"], "10 - 6 + 4 * 5"),
        ("4 5 6 10", ["5 * 6 = 30", "10 - 4 = 6", "30 - 6 = 24"], "5 * 6 - (10 - 4)"),  # a - (b - c)
        ("2 4 12 14", ["4 - 2 = 2", "12 - 2 = 10", "14 + 10 = 24"], "14 + 12 - (4 - 2)"),  # 14 + (12 - (4 - 2))
        ("2 4 12 14", ["4 - 2 = 2", "14 - 2 = 12", "12 + 12 = 24"], "12 + 14 - (4 - 2)"),
        ("1 3 4 6", ["3 / 4 = 0.75", "1 - 0.75 = 0.25", "6 / 0.25 = 24"], "6 / (1 - 3 / 4)"),  # a / (b - c)
        ("3 3 8 8", ["8 / 3 = 2.67", "3 - 2.67 = 0.33", "8 / 0.33 = 24"], "8 / (3 - 8 / 3)"),  # fractions
        ("1 1 3 8", ["1 / 3 = 0.33", "8 / 0.33 = 24", "24 * 1 = 24"], "8 / (1 / 3) * 1"),  # a / (b / c)
        ("4 4 10 10", ["10 * 10 = 100", "100 - 4 = 96", "96 / 4 = 24"], "(10 * 10 - 4) / 4"),  # duplicates
        ("1 1 4 6", ["4 * 6 = 24", "1 * 1 = 1", "24 * 1 = 24"], "4 * 6 * 1 * 1"),
        ("2 2 10 10", ["10 + 10 = 20", "2 + 2 = 4", "20 + 4 = 24"], "10 + 10 + 2 + 2"),
        ("5 5 5 1", ["1 / 5 = 0.2", "5 - 0.2 = 4.8", "5 * 4.8 = 24"], "5 * (5 - 1 / 5)"),
    ],
)
def test_the_answer_is_written_from_the_steps_and_is_correct(puzzle: str, lines: list[str], answer: str) -> None:
    line = answer_from_steps(puzzle, path(puzzle, *lines))
    assert line == f"Answer: {answer} = 24"
    assert check_answer(puzzle, line).correct, check_answer(puzzle, line)


@pytest.mark.parametrize(
    ("puzzle", "state"),
    [
        ("4 5 6 10", ""),  # no step
        ("4 5 6 10", "4 + 5 = 9 (left: 6 9 10)\n"),  # numbers left to combine
        ("4 5 6 10", "4 + 5 = 9 (left: 6 9 10)\n10 - 6 = 4 (left: 4 9)\n9 - 4 = 5 (left: 5)\n"),  # 5, not 24
        # A line that does not follow: a number not left, wrong arithmetic, not a step line, an answer line.
        ("4 5 6 10", "4 + 5 = 9 (left: 6 9 10)\n4 * 6 = 24 (left: 9 10 24)\n"),
        ("4 5 6 10", "10 - 6 = 4 (left: 4 4 5)\n4 * 5 = 21 (left: 4 21)\n4 + 20 = 24 (left: 24)\n"),
        ("4 5 6 10", "10 - 6 = 4\n4 * 5 = 20\n4 + 20 = 24\n"),
        ("4 5 6 10", "1. 10 - 6 = 4 (left: 4 4 5)\n4 * 5 = 20 (left: 4 20)\n4 + 20 = 24 (left: 24)\n"),
        ("4 5 6 10", "10 - 6 = 4 (left: 4 4 5)\n4 * 5 = 20 (left: 4 20)\n4 + 20 = 24 (left: 24)\n"
                     "Answer: (10 - 6) + 4 * 5 = 24\n"),
        ("4 5 6", "4 + 4 = 8 (left: 6 8)\n"),  # one 4 only
        ("4 5 6 10", "10 - 6 = 4 (left: 4 4 5)\n4 * 5 = 20 (left: 4 20)\n"),  # two numbers left
        ("0 4 5 6", "4 / 0 = 0 (left: 0 5 6)\n"),
        ("not a puzzle", "4 * 6 = 24 (left: 24)\n"),
    ],
)  # fmt: skip
def test_no_answer_from_a_path_that_does_not_reach_24_or_does_not_follow(puzzle: str, state: str) -> None:
    assert answer_from_steps(puzzle, state) is None


def all_paths(numbers: list[Fraction], state: str = "") -> Iterator[tuple[str, Fraction]]:
    """Every path of steps from `numbers` (every ordered pair, every operation), with the number it ends at."""
    if len(numbers) == 1:
        yield state, numbers[0]
        return
    for i, j in itertools.permutations(range(len(numbers)), 2):
        a, b = numbers[i], numbers[j]
        rest = [numbers[k] for k in range(len(numbers)) if k not in (i, j)]
        for op in "+-*/":
            if op == "/" and b == 0:
                continue
            result = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else Fraction(0)}[op]
            step = Step(a, op, b, result, tuple(sorted([*rest, result])))
            line = step_line(step)
            assert read_step(numbers, line) == step, line  # a line we write reads back as itself
            yield from all_paths(list(step.left), state + line + "\n")


@pytest.mark.parametrize("puzzle", ["1 3 4 6", "3 3 8 8", "1 5 5 5", "4 4 10 10"])
def test_every_path_to_24_gives_a_correct_answer_and_no_other_path_any(puzzle: str) -> None:
    # Exhaustive over each puzzle's 9216 paths: guards the parenthesization (- and / on the right, fractions,
    # duplicates, negative intermediate numbers).
    reached = 0
    for state, value in all_paths(parse_numbers(puzzle)):
        line = answer_from_steps(puzzle, state)
        if value == 24:
            reached += 1
            assert line is not None and check_answer(puzzle, line).correct, (state, line)
        else:
            assert line is None, (state, line)
    assert reached > 0


def test_markdown_emphasis_around_a_step_is_read():
    # A chat model's "**4 + 5 = 9**" or "`4 * 6 = 24`" is the step it bolds, not something else.
    numbers = parse_numbers("4 5 6 10")
    assert step_line(read_step(numbers, "**4 + 5 = 9**")) == "4 + 5 = 9 (left: 6 9 10)"
    assert step_line(read_step(numbers, "* `4 * 6 = 24` (left: 5 10 24)")) == "4 * 6 = 24 (left: 5 10 24)"


# -- hostile input: numbers continued past the result, ambiguous readings, huge values ------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "4 + 5 = 9e9",  # an exponent: 9000000000, not 9
        "4 + 5 = 9E+1",
        "4 + 5 = 9^2",  # a power
        "4 + 5 = 9 ^ 2",
        "4 + 5 = 9²",  # a superscript
        "4 + 5 = 9,000",  # a thousands separator
        "4 + 5 = 9,5",  # a decimal comma
        "4 + 5 = 9%",
        "4 + 5 = 9٥",  # a digit of another script continues the number
    ],
)
def test_a_result_the_model_writes_on_past_the_digits_is_not_read_as_its_first_digits(line: str) -> None:
    assert read("4 5 6 10", line) is None
    # What may follow a result: a blank, the model's list, a remark, punctuation that ends it.
    assert read("4 5 6 10", "4 + 5 = 9, so 6 9 10 are left") == "4 + 5 = 9 (left: 6 9 10)"
    assert read("4 5 6 10", "4 + 5 = 9.") == "4 + 5 = 9 (left: 6 9 10)"


def test_an_operand_is_the_number_it_names_exactly_before_one_it_rounds_to() -> None:
    # 2.67 is in the list exactly, and 8/3 rounds to it: "2.67" is 2.67, so 2.67 * 9 is 24.03, not 24.
    assert read("8/3 2.67 9", "2.67 * 9 = 24") is None
    assert read("8/3 2.67 9", "2.67 * 9 = 24.03") == "2.67 * 9 = 24.03 (left: 8/3 24.03)"
    # Rounded, it still names the one number it can be; two different numbers it could be: refused.
    assert read("8/3 9", "2.67 * 9 = 24") == "8/3 * 9 = 24 (left: 24)"
    assert read("8/3 2.665 9", "2.67 * 9 = 24") is None


@pytest.mark.parametrize(
    "value", [Fraction(10**400 + 1, 2), Fraction(-(10**400) - 1, 2**10), Fraction(2**53 + 1, 2), Fraction(1, 2**19)]
)
def test_a_number_too_large_for_a_float_is_written_exactly(value: Fraction) -> None:
    text = exact_text(value)
    assert "/" in text and Fraction(text) == value


def test_an_answer_is_written_only_when_the_checker_takes_it() -> None:
    # Numbers the puzzle writes as "1/3" or "-2" are one number there but two tokens, or a sign, in an expression.
    for puzzle, state in [
        ("1/3 8 1 1", "8 / 1/3 = 24 (left: 1 1 24)\n1 * 1 = 1 (left: 1 24)\n24 * 1 = 24 (left: 24)\n"),
        ("-2 -4 3 1", "-2 * -4 = 8 (left: 1 3 8)\n8 * 3 = 24 (left: 1 24)\n24 * 1 = 24 (left: 24)\n"),
    ]:
        assert answer_from_steps(puzzle, state) is None, puzzle
    # A puzzle too long for the checker to read its answer (500 characters) is refused at once, not searched.
    assert answer_from_steps("4 5 6 10 " * 30000, "10 - 6 = 4 (left: 4 4 5)\n" * 30000) is None
