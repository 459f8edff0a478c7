"""Exact arithmetic for the game of 24: an expression parser over rationals (never `eval` or `sympify`),
the answer checker, a step checker for "a op b = c (left: ...)" thoughts, and an exact solver."""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

__all__ = [
    "ExpressionError",
    "StepCheck",
    "Verdict",
    "check_answer",
    "check_step",
    "evaluate",
    "format_number",
    "parse_numbers",
    "solve",
]

MAX_EXPRESSION_CHARS = 500
MAX_NUMBER_CHARS = 100  # a number in a puzzle, a "left:" list or a step; keeps every result printable
MAX_SOLVE_NUMBERS = 5  # the exhaustive search takes about a second for five numbers and minutes for six
# Digits are ASCII only: `\d` would also take "２４" or "٢٤", which no puzzle holds.
_TOKEN = re.compile(r"\s*(?:([0-9]+(?:\.[0-9]+)?)|([-+*/()×÷−xX]))")
# A number in a puzzle or a "left:" list: "4", "-2", "1.5" or an exact fraction "1/3" (the plug-in writes those).
# Not `Fraction`'s whole syntax: "1e99999999" would build a hundred-million-digit integer (minutes of CPU).
_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?(?:/[0-9]+)?")
_OPS = {"×": "*", "x": "*", "X": "*", "÷": "/", "−": "-"}


class ExpressionError(ValueError):
    """The text is not an arithmetic expression we accept. A message quotes the characters as they were written
    ("×", not the "*" it is read as) and says where they are 1-based ("at character 5": the fifth character of the
    text given to `evaluate`)."""


class _Token(NamedTuple):
    """A token: `kind` is the operator as read ("*" for "×", "x" or "X"; "/" for "÷"; "-" for "−") or the
    number's digits; `at` is its 0-based offset in the text; `written` is the text as written there."""

    kind: str
    at: int
    written: str

    def where(self) -> str:
        """`'×' at character 5`: what was written, and its 1-based position."""
        return f"{self.written!r} at {_character(self.at)}"


def _character(offset: int) -> str:
    """`character 5` for the 0-based offset 4: positions in messages count from 1, as a reader does."""
    return f"character {offset + 1}"


def _tokens(text: str) -> list[_Token]:
    """The tokens of `text`, in order; `ExpressionError` for a character no token starts with."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            at = len(text) - len(text[pos:].lstrip())  # the offending character, not the blank before it
            hint = ": powers are not allowed" if text[at] == "^" else ""
            raise ExpressionError(f"unexpected {text[at]!r} at {_character(at)}{hint}")
        written = match.group(1) or match.group(2)
        out.append(_Token(_OPS.get(written, written), match.end() - len(written), written))
        pos = match.end()
    return out


class _Parser:
    # expr := term (("+" | "-") term)* ; term := factor (("*" | "/") factor)* ;
    # factor := ("+" | "-") factor | number | "(" expr ")"
    # Every error quotes the offending token as written and its 1-based position in the text.
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.numbers: list[Fraction] = []

    def peek(self) -> str | None:
        return self.tokens[self.pos].kind if self.pos < len(self.tokens) else None

    def next(self) -> _Token:
        """The next token (only when `peek` is not None)."""
        return self.tokens[self.pos]

    def take(self) -> _Token:
        if self.peek() is None:
            raise ExpressionError(f"the expression ends after {self.tokens[-1].where()}")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expr(self, depth: int) -> Fraction:
        value = self.term(depth)
        while self.peek() in ("+", "-"):
            op, rhs = self.take(), self.term(depth)
            value = value + rhs if op.kind == "+" else value - rhs
        return value

    def term(self, depth: int) -> Fraction:
        value = self.factor(depth)
        while self.peek() in ("*", "/"):
            op, rhs = self.take(), self.factor(depth)
            if op.kind == "/" and rhs == 0:
                raise ExpressionError(f"division by zero: the {op.where()} divides by 0")
            value = value * rhs if op.kind == "*" else value / rhs
        return value

    def factor(self, depth: int) -> Fraction:
        if depth > 50:
            raise ExpressionError("expression nested too deeply")
        token = self.take()
        if token.kind in ("+", "-"):
            inner = self.factor(depth + 1)
            return inner if token.kind == "+" else -inner
        if token.kind == "(":
            value = self.expr(depth + 1)
            if self.peek() is None:
                raise ExpressionError(f"missing ')' for the {token.where()}")
            if self.peek() != ")":
                found = self.next()
                raise ExpressionError(f"expected ')' at {_character(found.at)} for the {token.where()}, "
                                      f"found {found.written!r}")  # fmt: skip
            self.take()
            return value
        if token.kind[0].isdigit():
            number = Fraction(token.kind)
            self.numbers.append(number)
            return number
        previous = self.tokens[self.pos - 2] if self.pos >= 2 else None
        if token.written == "*" and previous is not None and (previous.written, previous.at) == ("*", token.at - 1):
            raise ExpressionError(f"'**' at {_character(previous.at)}: powers are not allowed")
        raise ExpressionError(f"expected a number or '(' at {_character(token.at)}, found {token.written!r}")


def evaluate(text: str) -> tuple[Fraction, list[Fraction]]:
    """The exact value of an arithmetic expression and the numbers it uses, in order; `ExpressionError` (quoting
    the text as written, with its 1-based position) when `text` is not one."""
    parser = _Parser(_tokens(text))
    if not parser.tokens:
        raise ExpressionError("empty expression")
    value = parser.expr(0)
    if parser.peek() is None:
        return value, parser.numbers
    extra = parser.next()
    if extra.kind == ")":
        raise ExpressionError(f"unexpected ')' at {_character(extra.at)}: no '(' to close")
    raise ExpressionError(f"expected an operator at {_character(extra.at)}, found {extra.written!r}")


def parse_numbers(text: str) -> list[Fraction]:
    """A puzzle or a "left:" list: numbers separated by spaces, e.g. "4 5 6 10", "1.5 -2 8" or "1/3 8"."""
    parts = text.split()
    if not parts:
        raise ExpressionError("no numbers")
    try:
        if not all(len(p) <= MAX_NUMBER_CHARS and _NUMBER.fullmatch(p) for p in parts):
            raise ValueError
        return [Fraction(p) for p in parts]
    except (ValueError, ZeroDivisionError):
        raise ExpressionError(f"not a list of numbers: {text[:80]!r}") from None


def format_number(value: Fraction) -> str:
    """Integers as integers, others as short decimals (the paper's format)."""
    if value.denominator == 1:
        return str(value.numerator)
    try:
        return f"{float(value):.4g}"
    except OverflowError:  # beyond a float's range (1e308), e.g. "9999...9 / 7": the same format, by hand
        digits = str(abs(round(value)))
        return f"{'-' if value < 0 else ''}{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"


@dataclass(frozen=True)
class Verdict:
    """Whether a model's final output solves the puzzle, and why not."""

    correct: bool
    reason: str
    expression: str | None = None
    value: str | None = None


def _precise(value: Fraction) -> str:
    # 15 significant digits, for where `format_number`'s 4 would make a reason contradict itself ("equals 24, not
    # 24" for 24.000001; "uses 4 5 6 10, not the puzzle's 4 5 6 10" for 4.00001).
    return format_number(value) if value.denominator == 1 else f"{float(value):.15g}"


def _listed(numbers: Counter[Fraction], show: Callable[[Fraction], str] = format_number) -> str:
    return " ".join(show(n) for n in sorted(numbers.elements()))


def check_answer(puzzle: str, output: str) -> Verdict:
    """Check a model's whole final output the way the paper's checker reads it: the last line, after "Answer:",
    left of "="; the numbers used must be the puzzle's, each exactly once; the value must be exactly 24.

    The reason is one line a reader of the report understands: "ok", "empty output", "no expression after
    'Answer:' on the last line", "no expression (and no 'Answer:') on the last line", "not arithmetic: ..." (with
    where the reading stopped: the character as written and its position in `expression`, counted from 1; "(the
    last line has no 'Answer:')" when it has none), "uses 4 6, not the puzzle's 4 5 6 10", or "equals 54, not 24".
    Numbers in it (and `value`) are shown as the paper shows them (`format_number`: 4 significant digits), to 15
    where 4 would make the reason contradict itself."""
    try:
        wanted = Counter(parse_numbers(puzzle))
    except ExpressionError as exc:
        return Verdict(False, f"bad puzzle: {exc}")
    if not output.strip():
        return Verdict(False, "empty output", "")
    last = output.strip().split("\n")[-1].strip()
    marked = re.search(r"(?i)answer\s*:", last) is not None
    # After the last "Answer:" (the paper's checker drops every "answer: "), left of the first "=".
    expression = re.sub(r"(?i)^.*answer\s*:\s*", "", last).split("=")[0].strip()
    if not expression:
        missing = "no expression after 'Answer:'" if marked else "no expression (and no 'Answer:')"
        return Verdict(False, f"{missing} on the last line", expression)
    try:
        value, used = evaluate(expression)
    except ExpressionError as exc:
        where = "" if marked else " (the last line has no 'Answer:')"
        return Verdict(False, f"not arithmetic{where}: {exc}", expression)
    shown = format_number(value)
    if shown == "24" and value != 24:
        shown = _precise(value)
    if Counter(used) != wanted:
        for show in (format_number, _precise):
            uses, numbers = _listed(Counter(used), show), _listed(wanted, show)
            if uses != numbers:
                return Verdict(False, f"uses {uses}, not the puzzle's {numbers}", expression, shown)
        return Verdict(False, f"uses numbers close to but not exactly the puzzle's {numbers}", expression, shown)
    if value != 24:
        if shown == "24":  # closer than 15 digits tell
            return Verdict(False, f"equals 24 only approximately (off by {float(value - 24):.3g})", expression, shown)
        return Verdict(False, f"equals {shown}, not 24", expression, shown)
    return Verdict(True, "ok", expression, "24")


_STEP = re.compile(
    r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([-+*/×÷−xX])\s*(-?[0-9]+(?:\.[0-9]+)?)\s*=\s*(-?[0-9]+(?:\.[0-9]+)?)\s*"
    r"\(left:\s*([^)]*)\).*$"
)  # a short remark after the list, e.g. "(left: 3 8 13) (repeated)", is tolerated; the numbers are checked


@dataclass(frozen=True)
class StepCheck:
    ok: bool
    reason: str
    left: tuple[Fraction, ...] = ()


def _close(written: Fraction, text: str, exact: Fraction) -> bool:
    # Accept an exact result, or one rounded to the decimals written ("8 / 3 = 2.67"; trailing zeros do not
    # count). The decimals are read from the text, not through a float: 1e400 is beyond a float's range.
    if written == exact:
        return True
    decimals = len(text.partition(".")[2].rstrip("0"))
    return decimals > 0 and abs(written - exact) <= Fraction(1, 2 * 10**decimals)


def check_step(numbers: list[Fraction], line: str) -> StepCheck:
    """Check one thought "a op b = c (left: ...)" against the current numbers, exactly."""
    match = _STEP.match(line)
    if match is None:
        return StepCheck(False, "not of the form 'a op b = c (left: ...)'")
    a, op, b, c, left_text = match.groups()
    if max(len(a), len(b), len(c)) > MAX_NUMBER_CHARS:
        return StepCheck(False, f"a number longer than {MAX_NUMBER_CHARS} characters")
    fa, fb, fc = Fraction(a), Fraction(b), Fraction(c)
    pool = Counter(numbers)
    for operand in (fa, fb):
        if pool[operand] <= 0:
            return StepCheck(False, f"{format_number(operand)} is not among the numbers left")
        pool[operand] -= 1
    read = _OPS.get(op, op)  # the reason quotes `op` as written: "8 × 3 is 24, not 25"
    if read == "/" and fb == 0:
        return StepCheck(False, "division by zero")
    exact = {"+": fa + fb, "-": fa - fb, "*": fa * fb, "/": fa / fb if fb else Fraction(0)}[read]
    if not _close(fc, c, exact):
        return StepCheck(False, f"{a} {op} {b} is {format_number(exact)}, not {c}")
    try:
        left = parse_numbers(left_text)
    except ExpressionError:
        return StepCheck(False, "unreadable 'left' list")
    expected = Counter({k: v for k, v in pool.items() if v > 0})
    expected[fc] += 1
    if Counter(left) != expected:
        return StepCheck(False, "the 'left' numbers are wrong")
    return StepCheck(True, "ok", tuple(left))


@functools.lru_cache(maxsize=65536)
def _solve(numbers: tuple[Fraction, ...], target: Fraction) -> str | None:
    if len(numbers) == 1:
        return format_number(numbers[0]) if numbers[0] == target else None
    return _search(tuple((n, format_number(n)) for n in numbers), target)


def _search(items: tuple[tuple[Fraction, str], ...], target: Fraction) -> str | None:
    if len(items) == 1:
        return items[0][1] if items[0][0] == target else None
    for i, j in itertools.combinations(range(len(items)), 2):
        (a, ea), (b, eb) = items[i], items[j]
        rest = tuple(items[k] for k in range(len(items)) if k not in (i, j))
        candidates = [(a + b, f"({ea} + {eb})"), (a * b, f"({ea} * {eb})"), (a - b, f"({ea} - {eb})"),
                      (b - a, f"({eb} - {ea})")]  # fmt: skip
        if b != 0:
            candidates.append((a / b, f"({ea} / {eb})"))
        if a != 0:
            candidates.append((b / a, f"({eb} / {ea})"))
        for value, text in candidates:
            found = _search((*rest, (value, text)), target)
            if found is not None:
                return found
    return None


def solve(numbers: list[Fraction] | str, target: int = 24) -> str | None:
    """One expression using every number once that equals `target` exactly, or `None` if there is none.
    At most `MAX_SOLVE_NUMBERS` numbers (an `ExpressionError` otherwise: the search grows factorially)."""
    values = parse_numbers(numbers) if isinstance(numbers, str) else list(numbers)
    if len(values) > MAX_SOLVE_NUMBERS:
        raise ExpressionError(f"the solver takes at most {MAX_SOLVE_NUMBERS} numbers; got {len(values)}")
    found = _solve(tuple(sorted(values)), Fraction(target))
    if found is not None and found.startswith("(") and found.endswith(")") and len(values) > 1:
        inner = found[1:-1]
        if evaluate(inner)[0] == target:
            return inner
    return found
