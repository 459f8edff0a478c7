"""Thoughts read for what they mean: a proposed line "a op b = c" checked exactly against the numbers left, the
numbers left then computed by us (the model's "(left: ...)" is advice, not truth), and the final answer written by
the program from a path of such steps.

A 0.5B model gets the arithmetic of a step right far more often than its "left" list (measured on puzzles 900-919:
55% of proposed lines had correct arithmetic on available numbers and a wrong list), so the bookkeeping is ours:

    >>> step = read_step(parse_numbers("4 5 6 10"), "1. 10 - 6 = 4 (left: 4 5)")
    >>> step_line(step)
    '10 - 6 = 4 (left: 4 4 5)'
    >>> answer_from_steps("4 5 6 10", "10 - 6 = 4 (left: 4 4 5)\\n4 + 5 = 9 (left: 4 9)\\n")
    >>> answer_from_steps("4 5 6 10", "10 - 6 = 4 (left: 4 4 5)\\n4 * 5 = 20 (left: 4 20)\\n4 + 20 = 24 (left: 24)\\n")
    'Answer: 10 - 6 + 4 * 5 = 24'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .arith import MAX_EXPRESSION_CHARS, MAX_NUMBER_CHARS, ExpressionError, check_answer, parse_numbers

__all__ = ["Step", "answer_from_steps", "exact_text", "left_text", "read_step", "step_line"]

# An operand: a whole number, a decimal, or an exact fraction "8/3" (how we write non-integers in a "left" list).
# The regex backtracks, so "12/3" is also read as 12 / 3 when no operator follows the fraction.
_OPERAND = r"-?[0-9]+(?:/[0-9]+|\.[0-9]+)?"
_LEFT_SIDE = re.compile(rf"^\(?\s*({_OPERAND})\s*([-+*/×÷−–xX])\s*({_OPERAND})\s*\)?$")
# The result ends where the number ends: not read from the first digits of "9e9", "9^2", "9²", "9,000", "9,5", "9%" or
# a digit of another script ("9٥").
_RESULT = re.compile(rf"^\s*({_OPERAND})(?!\d|[./,]\d|[eE][-+]?\d|\s*\^|%|[\u00b2\u00b3\u00b9\u2070-\u2079])")
# What a model puts before a step: "1.", "2)", "-", "*", "Step 1:".
_MARKER = re.compile(r"^\s*(?:(?:step\s*)?[0-9]+\s*[.):]\s+|[-*•]\s+|step\s*[0-9]+\s*[.):]?\s*)", re.IGNORECASE)
_OPS = {"×": "*", "x": "*", "X": "*", "÷": "/", "−": "-", "–": "-"}
_LINE = re.compile(rf"^({_OPERAND}) ([-+*/]) ({_OPERAND}) = ({_OPERAND}) \(left: [^)]*\)$")


@dataclass(frozen=True)
class Step:
    """One step: `a op b = result`, and the numbers `left` after it (sorted), all exact."""

    a: Fraction
    op: str
    b: Fraction
    result: Fraction
    left: tuple[Fraction, ...]


def exact_text(value: Fraction) -> str:
    """A number as we write it in a state: "8", "-2", "2.5" (a decimal only when it is exact) or "8/3"."""
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    # A float holds the decimal exactly only when the numerator has at most 53 bits (and then never overflows).
    if d == 1 and len(str(value.denominator)) <= 6 and abs(value.numerator) < 2**53:
        text = f"{value.numerator / value.denominator}"
        if "e" not in text and Fraction(text) == value:  # 1/65536 is "1.52587890625e-05": no list reads it
            return text
    return f"{value.numerator}/{value.denominator}"


def left_text(numbers: Sequence[Fraction]) -> str:
    """The numbers left, sorted, as a state writes them: "4 4 5"."""
    return " ".join(exact_text(x) for x in sorted(numbers))


def _number(text: str) -> Fraction | None:
    if len(text) > MAX_NUMBER_CHARS:
        return None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def _same(written: Fraction, text: str, exact: Fraction) -> bool:
    # Exact, or rounded to the decimals written ("8 / 3 = 2.67", "2.67 * 9 = 24" for 8/3 * 9).
    if written == exact:
        return True
    decimals = len(text.partition(".")[2].rstrip("0")) if "/" not in text else 0
    return decimals > 0 and abs(written - exact) <= Fraction(1, 2 * 10**decimals)


def _take(pool: list[Fraction], text: str) -> Fraction | None:
    """Remove from `pool` the number `text` names and return it: the number it is exactly, else the one number it
    is a rounded decimal of (None when it rounds two different numbers of `pool`: which one is meant is unknown)."""
    written = _number(text)
    if written is None:
        return None
    if written in pool:
        return pool.pop(pool.index(written))
    rounded = {value for value in pool if _same(written, text, value)}
    if len(rounded) != 1:
        return None
    return pool.pop(pool.index(rounded.pop()))


def read_step(numbers: Sequence[Fraction], line: str) -> Step | None:
    """`line` read as one step "a op b = c" on `numbers`, or None.

    Accepted when a and b are among `numbers` (two of them: "4 + 4" needs two 4s), op is + - * / (also written
    × x ÷ −) and c is a op b, exactly or rounded to the decimals written. A list marker ("1.", "-", "Step 2:")
    before the step and anything after c (the model's "(left: ...)", a remark) are ignored; the numbers left are
    computed here. Refused: an operand not in `numbers` (e.g. the prompt example's 12), wrong arithmetic, division
    by zero, more than one operation on the left of "=", and an answer line."""
    text = _MARKER.sub("", line.replace("**", "").replace("`", "").strip(), count=1)  # markdown emphasis is no step
    lhs, eq, rhs = text.partition("=")
    if not eq:
        return None
    match, result = _LEFT_SIDE.match(lhs.strip()), _RESULT.match(rhs)
    if match is None or result is None:
        return None
    pool = list(numbers)
    a, b = _take(pool, match.group(1)), None
    if a is not None:
        b = _take(pool, match.group(3))
    if a is None or b is None:
        return None
    op = _OPS.get(match.group(2), match.group(2))
    if op == "/" and b == 0:
        return None
    exact = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else Fraction(0)}[op]
    written = _number(result.group(1))
    if written is None or not _same(written, result.group(1), exact):
        return None
    return Step(a, op, b, exact, tuple(sorted([*pool, exact])))


def step_line(step: Step) -> str:
    """The step as a state line, with the numbers left that we computed: "10 - 6 = 4 (left: 4 4 5)"."""
    a, b, c = (exact_text(x) for x in (step.a, step.b, step.result))
    return f"{a} {step.op} {b} = {c} (left: {left_text(step.left)})"


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _operand(expr: tuple[str, int], op: str, right: bool) -> str:
    text, prec = expr
    # Parenthesize a lower-precedence operand, and an equal-precedence right operand of - and /.
    if prec < _PRECEDENCE[op] or (right and prec == _PRECEDENCE[op] and op in "-/"):
        return f"({text})"
    return text


def answer_from_steps(puzzle: str, state: str) -> str | None:
    """The answer line "Answer: <expression> = 24" that the steps of `state` (lines written by `step_line`) spell
    out, when they use the puzzle's numbers and end at 24 alone; else None. The expression is rebuilt from the
    steps themselves (each number's expression carried along), so it is as exact as the steps; and the line is
    returned only when `check_answer` takes it (a puzzle number written "1/3" or "-2" is one number in the puzzle but
    not in an expression, and the checker reads at most `MAX_EXPRESSION_CHARS`: a longer puzzle is refused at once).
    """
    if len(puzzle) > MAX_EXPRESSION_CHARS:
        return None
    try:
        items: list[tuple[Fraction, tuple[str, int]]] = [(x, (exact_text(x), 3)) for x in parse_numbers(puzzle)]
    except ExpressionError:
        return None
    for line in state.strip().split("\n") if state.strip() else []:
        match = _LINE.match(line.strip())
        if match is None:
            return None
        ops = [_number(match.group(k)) for k in (1, 3, 4)]
        if any(x is None for x in ops):
            return None
        a, b, c = (x for x in ops if x is not None)
        op = match.group(2)
        taken = []
        for value in (a, b):
            where = next((i for i, (v, _) in enumerate(items) if v == value and i not in taken), None)
            if where is None:
                return None
            taken.append(where)
        (_, ea), (_, eb) = items[taken[0]], items[taken[1]]
        exact = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else None}[op]
        if exact is None or exact != c:
            return None
        expr = (f"{_operand(ea, op, False)} {op} {_operand(eb, op, True)}", _PRECEDENCE[op])
        items = [item for i, item in enumerate(items) if i not in taken] + [(c, expr)]
    if len(items) != 1 or items[0][0] != 24:
        return None
    line = f"Answer: {items[0][1][0]} = 24"
    return line if check_answer(puzzle, line).correct else None
