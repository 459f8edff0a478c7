"""Errors that point at the real fault: the arithmetic reader names the offending character and where it is, and a
bad --range says what is wrong with it."""

from __future__ import annotations

import json

import pytest

import reasoning.cli
from evals.game24 import check_answer, evaluate
from evals.game24.arith import ExpressionError, check_step, parse_numbers
from evals.game24.data import load_puzzles, parse_range
from reasoning.errors import ConfigurationError


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4 * 6 * 1 ^ 1", "unexpected '^' at character 11: powers are not allowed"),  # said ' ' at 9
        ("4*6*1^1", "unexpected '^' at character 6: powers are not allowed"),
        ("4 * 6 %  1", "unexpected '%' at character 7"),
        ("4 * 6   = 24", "unexpected '=' at character 9"),
        ("(4 + 2) · 4", "unexpected '·' at character 9"),
        ("2 ** 3", "'**' at character 3: powers are not allowed"),  # said "unexpected '*'"
        ("(1 + 2", "missing ')' for the '(' at character 1"),  # said "unexpected end of expression"
        ("((1 + 2) * 3", "missing ')' for the '(' at character 1"),
        ("1 + 2)", "unexpected ')' at character 6: no '(' to close"),
        ("(1 + 2 3)", "expected ')' at character 8 for the '(' at character 1, found '3'"),  # said "missing ..."
        ("1 2", "expected an operator at character 3, found '2'"),
        ("1 +", "the expression ends after '+' at character 3"),
        ("()", "expected a number or '(' at character 2, found ')'"),
        ("4 / (2 - 2)", "division by zero: the '/' at character 3 divides by 0"),
    ],
)
def test_each_parse_error_names_the_offending_character_and_its_offset(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "message", "written"),
    [
        # Each said the "*", "/" or "-" the parser reads instead of what is there, and counted from 0.
        ("4 ×", "the expression ends after '×' at character 3", "×"),
        ("4 x", "the expression ends after 'x' at character 3", "x"),
        ("4 X", "the expression ends after 'X' at character 3", "X"),
        ("4 −", "the expression ends after '−' at character 3", "−"),
        ("8 ÷ (3 − 3)", "division by zero: the '÷' at character 3 divides by 0", "÷"),
        ("4 × × 6", "expected a number or '(' at character 5, found '×'", "×"),
        ("4 xx 6", "expected a number or '(' at character 4, found 'x'", "x"),  # not "'**': powers"
        ("4 *× 6", "expected a number or '(' at character 4, found '×'", "×"),
        ("(4 + 2 x 3", "missing ')' for the '(' at character 1", "("),
        ("(4 + 2 (3)", "expected ')' at character 8 for the '(' at character 1, found '('", "("),
    ],
)
def test_a_parse_error_quotes_what_was_written_where_a_reader_counts_it(text: str, message: str, written: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(text)
    assert str(caught.value) == message
    # "character N" is the N-th character of the text: what the message quotes is there.
    position = int(message.rsplit("at character ", 1)[1].split()[0].rstrip(":,"))
    assert text[position - 1] == written


def test_a_wrong_step_quotes_its_operator_as_written() -> None:
    numbers = parse_numbers("4 5 6 10")
    assert check_step(numbers, "4 × 5 = 21 (left: 6 10 21)").reason == "4 × 5 is 20, not 21"  # said "4 * 5"
    assert check_step(numbers, "10 − 4 = 5 (left: 5 5 6)").reason == "10 − 4 is 6, not 5"


def test_the_usual_unicode_operators_are_read() -> None:
    assert evaluate("(10 − 6) × 5 + 4 ÷ 1")[0] == 24


def test_the_reported_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert reasoning.cli.main(["game24", "check", "1 1 4 6", "Answer: 4 * 6 * 1 ^ 1 = 24"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["reason"] == "not arithmetic: unexpected '^' at character 11: powers are not allowed"
    assert verdict["expression"][11 - 1] == "^"
    verdict = check_answer("4 5 6 10", "Answer: (10 - 6) × 5 ** 1 + 4 = 24").__dict__
    assert verdict["reason"] == "not arithmetic: '**' at character 14: powers are not allowed"
    assert verdict["expression"][14 - 1 : 14 + 1] == "**"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("999-900", "--range 999-900: start 999 is after end 900"),  # said "bad range"
        ("nine-ten", "--range nine-ten: a range is START-END of 0-based rows"),
        ("900-", "--range 900-: no end after '-'"),
        ("-3", "--range -3: rows start at 0"),
        ("", "a range is START-END"),
    ],
)
def test_a_bad_range_says_why(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_range(text)
    assert message in str(caught.value)


def test_a_range_past_the_data_names_the_rows_there_are(tmp_path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("4 5 6 10\n1 1 4 6\n")
    with pytest.raises(ConfigurationError, match=rf"--range 1-5: {path} has rows 0-1 \(2 puzzles\)"):
        load_puzzles(file=path, rows=parse_range("1-5"))
    assert [p.idx for p in load_puzzles(file=path, rows=parse_range("1"))] == [1]


def test_the_cli_says_it_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    code = reasoning.cli.main(["game24", "run", "--range", "999-900", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err == "reasoning: error: --range 999-900: start 999 is after end 900\n"


@pytest.mark.parametrize("puzzle", ["4 5 6", "4 5 6 10 11", "4.5 5 6 10", "a b c d", ""])
def test_solve_and_check_take_only_what_a_run_could_ask(capsys: pytest.CaptureFixture[str], puzzle: str) -> None:
    # Three numbers once gave "not solvable" with exit 0, and check graded them: a game-24 puzzle is four numbers.
    for argv in (["solve", puzzle], ["check", puzzle, "Answer: 4 * 6 = 24"]):
        assert reasoning.cli.main(["game24", *argv]) == 2
        out = capsys.readouterr()
        assert out.out == "" and out.err.startswith("reasoning: error: a puzzle is four whole numbers"), out
    # A puzzle written as a run takes it ("4,5,6,10") is answered under its normal form.
    for written in ("4,5,6,10", "04 5 06 10", "\t4 5  6 10 "):
        assert reasoning.cli.main(["game24", "solve", written]) == 0
        assert json.loads(capsys.readouterr().out)["puzzle"] == "4 5 6 10"


@pytest.mark.parametrize("output", ["(10 - 6) * 5 + 4\n= 24", "= 24", "steps\n====="])
def test_a_last_line_with_no_answer_is_not_said_to_have_one(output: str) -> None:
    # Said "nothing after 'Answer:' on the last line" for a last line that has no "Answer:" (a model that writes the
    # expression and then "= 24" on a line of its own).
    verdict = check_answer("4 5 6 10", output)
    assert not verdict.correct and "nothing after 'Answer:'" not in verdict.reason, verdict.reason


@pytest.mark.parametrize(
    ("puzzle", "output"),
    [
        ("4 5 6 10", "Answer: (10 - 6) * 5 + 4.00001 = 24"),  # said "uses 4 5 6 10, not the puzzle's 4 5 6 10"
        ("1 1 24 999999", "Answer: 24 * 1 + 1 / 999999 = 24"),  # said "equals 24, not 24"
    ],
)
def test_a_reason_never_contradicts_itself(puzzle: str, output: str) -> None:
    # The numbers and the value are rounded to 4 significant digits (format_number), so a near miss read as a hit.
    verdict = check_answer(puzzle, output)
    assert not verdict.correct
    assert verdict.reason not in ("uses 4 5 6 10, not the puzzle's 4 5 6 10", "equals 24, not 24"), verdict.reason
