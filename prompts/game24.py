"""Game-of-24 prompts. The wording and examples are ours; the formats follow Yao et al. (2023): thoughts are lines
"a op b = c (left: ...)", answers "Answer: <expression> = 24", values end with sure / likely / impossible.

Every example here is checked by the tests with the exact arithmetic checker.
"""

from __future__ import annotations

__all__ = [
    "VALUE_STOP",
    "VALUE_WORDS",
    "cot_prompt",
    "io_prompt",
    "propose_prompt",
    "value_last_step_prompt",
    "value_prompt",
]

# The paper's ad hoc map from value words to numbers (sure 20, likely 1, impossible 0.001).
VALUE_WORDS: dict[str, float] = {"sure": 20.0, "likely": 1.0, "impossible": 0.001}
# Where a value reply ends: before the next example's "Input:" line (a raw completion goes on writing examples).
VALUE_STOP = ("\nInput:",)

_IO = """Combine the four input numbers with + - * / and parentheses to make 24, using every number exactly once.
Input: 1 4 7 9
Answer: (7 - 4) * (9 - 1) = 24
Input: 3 3 6 11
Answer: (3 * 11) - (3 + 6) = 24
Input: 5 5 7 8
Answer: 8 * ((5 + 5) - 7) = 24
Input: 1 2 8 9
Answer: (8 * 9) / (1 + 2) = 24
Input: 2 2 7 10
Answer: 2 * (7 + (10 / 2)) = 24
Input: {input}
"""

_COT = """Combine the four input numbers with + - * / to make 24, using every number exactly once. Work in steps: each \
step takes two of the numbers left and replaces them with the result.
Input: 1 4 7 9
Steps:
7 - 4 = 3 (left: 1 3 9)
9 - 1 = 8 (left: 3 8)
3 * 8 = 24 (left: 24)
Answer: (7 - 4) * (9 - 1) = 24
Input: 3 3 6 11
Steps:
3 + 6 = 9 (left: 3 9 11)
3 * 11 = 33 (left: 9 33)
33 - 9 = 24 (left: 24)
Answer: (3 * 11) - (3 + 6) = 24
Input: 5 5 7 8
Steps:
5 + 5 = 10 (left: 7 8 10)
10 - 7 = 3 (left: 3 8)
8 * 3 = 24 (left: 24)
Answer: 8 * ((5 + 5) - 7) = 24
Input: 1 2 8 9
Steps:
1 + 2 = 3 (left: 3 8 9)
8 * 9 = 72 (left: 3 72)
72 / 3 = 24 (left: 24)
Answer: (8 * 9) / (1 + 2) = 24
Input: 2 2 7 10
Steps:
10 / 2 = 5 (left: 2 5 7)
7 + 5 = 12 (left: 2 12)
2 * 12 = 24 (left: 24)
Answer: 2 * (7 + (10 / 2)) = 24
Input: {input}
"""

_PROPOSE = """Pick two of the input numbers and one operation (+ - * /) to make a new number. List different next \
steps, one per line, as "a op b = c (left: the numbers now left)".
Input: 3 5 7 12
Possible next steps:
3 + 5 = 8 (left: 7 8 12)
12 / 3 = 4 (left: 4 5 7)
7 - 3 = 4 (left: 4 5 12)
5 * 7 = 35 (left: 3 12 35)
12 - 7 = 5 (left: 3 5 5)
3 * 12 = 36 (left: 5 7 36)
12 + 7 = 19 (left: 3 5 19)
7 - 5 = 2 (left: 2 3 12)
Input: {input}
Possible next steps:
"""

# The same, for thoughts read leniently (`evals.game24.thoughts`): steps only, no "left" lists, which the program
# computes. Half the tokens of a line, so a small model lists as many steps in a third of the time.
_PROPOSE_STEPS = """Pick two of the input numbers and one operation (+ - * /) to make a new number. List different \
next steps, one per line, as "a op b = c".
Input: 2 9 10 12
Possible next steps:
2 + 9 = 11
12 / 2 = 6
10 - 2 = 8
9 * 10 = 90
12 - 10 = 2
2 * 12 = 24
12 + 9 = 21
10 - 9 = 1
9 / 2 = 4.5
Input: {input}
Possible next steps:
"""

_VALUE = """Can the numbers reach 24 with + - * /, each used once? Try briefly, then answer sure, likely or impossible.
Input: 11 13
11 + 13 = 24
sure
Input: 4 7 8
(7 - 4) * 8 = 24
sure
Input: 3 8 9
3 * 8 = 24 leaves 9; 9 - 3 = 6, 6 * 8 = 48; not found, but close
likely
Input: 4 9 10
4 * 9 - 10 = 26, 10 + 9 + 4 = 23, (10 - 9) * 4 = 4; nothing works
impossible
Input: 1 1 3
1 + 1 + 3 = 5, (1 + 1) * 3 = 6; all too small
impossible
Input: 2 2 100
100 / 2 / 2 = 25, 100 - 2 - 2 = 96; 100 is too large
impossible
Input: {input}
"""

_VALUE_LAST = """Each answer should combine the input numbers with + - * / into an expression equal to 24, using \
every input number exactly once and no other number. Judge the answer: sure if it is correct, impossible if not.
Input: 1 4 7 9
Answer: (7 - 4) * (9 - 1) = 24
Judge:
sure
Input: 3 3 6 11
Answer: (3 * 11) - (3 + 6) = 24
Judge:
sure
Input: 5 5 7 8
Answer: 8 * (5 + 5) - 7 = 24
Judge:
impossible
Input: 1 2 8 9
Answer: (8 * 9) / 3 = 24
Judge:
impossible
Input: 2 2 7 10
Answer: 2 * (7 + (10 / 2)) = 24
Judge:
sure
Input: 4 6 7 7
Answer: 4 + 6 + 7 + 7 = 24
Judge:
sure
Input: {input}
Answer: {answer}
Judge:"""


def io_prompt(puzzle: str) -> str:
    """Input-output prompting: the answer directly."""
    return _IO.format(input=puzzle)


def cot_prompt(puzzle: str, steps: str | None = None) -> str:
    """Chain-of-thought prompting. With `steps` (the thoughts so far), the model is asked to finish: this is the
    tree search's last step, where only the answer remains to be written."""
    prompt = _COT.format(input=puzzle)
    return prompt if steps is None else prompt + "Steps:\n" + steps


def propose_prompt(numbers: str, *, left: bool = True) -> str:
    """Propose several next steps from the numbers left, each line "a op b = c (left: ...)" as in the paper; with
    `left=False`, "a op b = c" only (for thoughts read leniently, whose "left" lists the program computes)."""
    return (_PROPOSE if left else _PROPOSE_STEPS).format(input=numbers)


def value_prompt(numbers: str) -> str:
    """Judge whether the numbers left can still reach 24."""
    return _VALUE.format(input=numbers)


def value_last_step_prompt(puzzle: str, answer: str) -> str:
    """Judge a finished answer."""
    return _VALUE_LAST.format(input=puzzle, answer=answer)
