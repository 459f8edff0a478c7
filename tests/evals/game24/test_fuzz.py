"""Fuzzing the game-of-24 parsers: model output and puzzles are hostile text. The checker and the parsers return a
verdict or raise `ExpressionError`, never anything else, never slowly, and never run the text as code; the verdict
is right (exact arithmetic agrees with it) on expressions built from the puzzle's numbers."""

from __future__ import annotations

import itertools
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.game24.arith import ExpressionError, check_answer, check_step, evaluate, parse_numbers, solve
from evals.game24.task import Game24Task, normalize_puzzle, solver_evaluator
from reasoning.tree import Node

# Solvable puzzles of the paper's data (its rows 0-4 and 900-904), so no shared data is needed.
SOLVABLE = ["1 1 4 6", "1 1 11 11", "1 1 3 8", "1 1 1 8", "6 6 6 6", "4 5 6 10", "2 9 10 12", "4 9 10 13",
            "1 4 8 8", "5 5 5 9"]  # fmt: skip
PUZZLE = "4 5 6 10"


def hostile(tmp: Path) -> list[str]:
    """Text that is code, huge, deep, or odd: a checker that evaluated it would create `tmp`/pwned."""
    planted = str(tmp / "pwned")
    return [
        f"__import__('os').system('touch {planted}')",
        f"Answer: __import__('os').system('touch {planted}') = 24",
        f"Answer: open('{planted}', 'w').write('x') or 24",
        f"exec(\"open('{planted}','w')\")",
        "9**9**9**9",
        "Answer: 9**9**9**9 = 24",
        "(" * 10_000 + "4" + ")" * 10_000,
        "Answer: " + "-" * 5_000 + "24",
        "1" * 1_000_000,
        "Answer: " + "4 * 6 * 1 * 1 " * 100_000,
        "x" * 1_000_000 + "\nAnswer: 4 * 6",
        "２４",
        "Answer: ２４ * １",
        "٤ ٥ ٦ ١٠",
        "² 1 2 3",
        "4\x005 6 10",
        "Answer: 4 * 6\x00 = 24",
        "1/0",
        "Answer: 24 / (5 - 5) * 4 + 6 - 10",
        "1e99999999",
        "1e99999999 1 1 1",
        "4 + 4 = 8 (left: 1e99999999)",
        "9" * 400 + " / 7",
        "4 + 5 = " + "9" * 5_000 + " (left: 6 9 10)",
        "1 2 3 4 5 6 7 8 9 10 11 12",
        "",
        "\n\n\n",
        "Answer:",
        "= 24",
        "\ud800",
    ]


def test_hostile_text_is_a_verdict_or_an_expression_error_quickly_and_never_code(tmp_path):
    numbers = parse_numbers(PUZZLE)
    for text in hostile(tmp_path):
        start = time.process_time()  # CPU seconds: a busy machine does not count, a blow-up does
        assert check_answer(PUZZLE, text).correct is False
        assert check_answer(text, "Answer: (5 * (10 - 6)) + 4 = 24").correct is False  # the text as the puzzle
        assert check_step(numbers, text).ok is False
        for parse in (evaluate, parse_numbers, normalize_puzzle, solve):
            try:
                parse(text)
            except ExpressionError:
                pass
        assert time.process_time() - start < 2.0, text[:40]
    assert not (tmp_path / "pwned").exists()


def test_unicode_digits_are_not_numbers():
    # isdigit() is true for "２" and "²": the puzzle check must not let them through to fail later.
    for text in ("２ 4 6 8", "² 1 2 3", "٤ ٥ ٦ ١٠", "1 2 3 𝟜"):
        with pytest.raises(ExpressionError, match="four whole numbers"):
            normalize_puzzle(text)
    assert check_answer("4 6 1 1", "Answer: ４ * ６ * 1 * 1 = 24").reason.startswith("not arithmetic: ")


def test_huge_numbers_are_refused_not_overflowed():
    # A 400-digit value is beyond a float; formatting and the step checker used float() and raised OverflowError.
    assert check_answer(PUZZLE, "9" * 400 + " / 7").value.endswith("e+399")
    numbers = parse_numbers(PUZZLE)
    assert not check_step(numbers, "4 + 5 = " + "9" * 400 + " (left: 6 9 10)").ok
    assert not check_step(numbers, "4 / 5 = 0." + "0" * 90 + "8 (left: 0.8 6 10)").ok
    assert check_step(numbers, "4 / 5 = 0.80000 (left: 0.8 6 10)").ok  # trailing zeros still read as 0.8


def test_the_solver_refuses_more_numbers_than_it_can_search():
    # Six numbers took 90 s and seven hours; a model's "left:" list can hold any count.
    with pytest.raises(ExpressionError, match="at most 5 numbers"):
        solve("1 2 3 4 5 6 7 8 9 10 11 12")
    task = Game24Task(PUZZLE)
    state = "4 + 5 = 9 (left: 1 2 3 4 5 6 7 8 9 10 11 12)\n"
    assert solver_evaluator(task).fn(Node(state=state)) == 0.0


# -- properties over arbitrary text --------------------------------------------------------------------------------
ARITHMETIC = st.text(alphabet="0123456789 +-*/().=×÷−xX\nAnswer:left", max_size=200)
ANY_TEXT = st.text(max_size=300)


@given(st.one_of(ARITHMETIC, ANY_TEXT))
def test_the_parsers_raise_only_expression_errors(text):
    for parse in (evaluate, parse_numbers, normalize_puzzle):
        try:
            parse(text)
        except ExpressionError:
            pass
    verdict = check_answer(PUZZLE, text)
    assert verdict.correct is (verdict.reason == "ok")
    assert check_step(parse_numbers(PUZZLE), text).ok in (True, False)


ODD_NUMBERS = ["²", "２４", "٤", "𝟜", "1.5", "-3", "+3", "1e3", "1/2", "0x10", "1_0", "\x00", "9" * 7]
PUZZLE_LIKE = st.lists(st.one_of(st.integers(0, 10**8).map(str), st.sampled_from(ODD_NUMBERS)), min_size=4,
                       max_size=4).map(" ".join)  # fmt: skip


@given(st.one_of(PUZZLE_LIKE, ARITHMETIC, ANY_TEXT))
def test_a_puzzle_the_check_accepts_is_four_numbers_the_checker_reads(text):
    try:
        puzzle = normalize_puzzle(text)
    except ExpressionError:
        return
    assert puzzle.isascii()
    numbers = parse_numbers(puzzle)
    assert len(numbers) == 4 and all(0 <= n < 10**6 and n.denominator == 1 for n in numbers)


# -- properties over expressions built from a puzzle's numbers ------------------------------------------------------
def apply(op: str, a: Fraction, b: Fraction) -> Fraction | None:
    if op == "/":
        return a / b if b else None
    return a + b if op == "+" else a - b if op == "-" else a * b


@st.composite
def expressions(draw, numbers: list[int]) -> tuple[str, Fraction | None]:
    """An expression using each of `numbers` once, fully parenthesised, and its exact value (None: divides by 0)."""
    items: list[tuple[str, Fraction | None]] = [(str(n), Fraction(n)) for n in draw(st.permutations(numbers))]
    while len(items) > 1:
        i = draw(st.integers(0, len(items) - 2))
        (ea, a), (eb, b), op = items[i], items[i + 1], draw(st.sampled_from("+-*/"))
        value = apply(op, a, b) if a is not None and b is not None else None
        items[i : i + 2] = [(f"({ea} {op} {eb})", value)]
    return items[0]


@given(st.sampled_from(SOLVABLE).flatmap(lambda p: st.tuples(st.just(p), expressions([int(n) for n in p.split()]))))
def test_the_verdict_is_exact_arithmetic(case):
    puzzle, (expression, value) = case
    verdict = check_answer(puzzle, f"Answer: {expression} = 24")
    assert verdict.correct is (value == 24), (expression, value, verdict)
    if value is None:
        assert verdict.reason.startswith("not arithmetic: division by zero: the '/' at character ")  # where it is


WRITTEN = ["{e}", "Answer: {e}", "answer:{e} = 24", "Steps:\n4 + 5 = 9 (left: 6 9 10)\nAnswer: {e} = 24",
           "  Answer:   {e}  =  24  \n"]  # fmt: skip
SYMBOLS = [("*", "*"), ("*", "×"), ("*", "x"), ("/", "÷"), ("-", "−")]


@given(st.sampled_from(SOLVABLE), st.sampled_from(WRITTEN), st.sampled_from(SYMBOLS))
def test_a_solution_is_accepted_however_it_is_written(puzzle, template, symbol):
    solution = solve(puzzle)
    assert solution is not None
    written = solution.replace(symbol[0], symbol[1])
    assert check_answer(puzzle, template.format(e=written)).correct, written


@given(st.sampled_from(SOLVABLE), st.data())
def test_numbers_other_than_the_puzzles_are_rejected(puzzle, data):
    solution = solve(puzzle)
    assert solution is not None
    numbers = parse_numbers(puzzle)
    # Swap one number of a correct answer for another: the answer must be refused even when it still makes 24.
    tokens = solution.split(" ")
    at = data.draw(st.sampled_from([i for i, t in enumerate(tokens) if t.strip("()").isdigit()]))
    old = tokens[at].strip("()")
    new = data.draw(st.integers(0, 30).filter(lambda n: n != int(old)))
    tokens[at] = tokens[at].replace(old, str(new))
    verdict = check_answer(puzzle, "Answer: " + " ".join(tokens) + " = 24")
    assert not verdict.correct
    assert verdict.reason.endswith(f", not the puzzle's {puzzle}") or verdict.reason.startswith(
        "not arithmetic: division by zero: the '/' at character "
    )
    # Leaving a number out, or using one twice, is refused too.
    for used in [*itertools.combinations(numbers, 3), [*numbers, numbers[0]]]:
        assert not check_answer(puzzle, "Answer: " + " + ".join(str(n) for n in used) + " = 24").correct


@given(st.sampled_from(SOLVABLE), st.sampled_from([23, 25, 0, -24]))
def test_a_solution_for_another_target_is_rejected(puzzle, target):
    other = solve(puzzle, target)
    if other is not None:
        verdict = check_answer(puzzle, f"Answer: {other} = 24")
        assert not verdict.correct and verdict.reason == f"equals {target}, not 24"
