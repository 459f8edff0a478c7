"""Every worked example in our game-of-24 prompts is correct, checked exactly."""

import re

from evals.game24 import check_answer, check_step, solve
from evals.game24.arith import parse_numbers
from prompts import game24 as p


def examples(prompt: str) -> list[tuple[str, list[str]]]:
    blocks = re.split(r"^Input: ", prompt, flags=re.M)[1:]
    return [(b.split("\n")[0], b.split("\n")[1:]) for b in blocks if "{input}" not in b]


def test_io_and_cot_answers_are_correct():
    for prompt in (p.io_prompt("{input}"), p.cot_prompt("{input}")):
        shown = examples(prompt)
        assert len(shown) == 5
        for puzzle, lines in shown:
            answer = next(line for line in lines if line.startswith("Answer:"))
            assert check_answer(puzzle, answer).correct, (puzzle, answer)


def test_cot_steps_are_exact():
    for puzzle, lines in examples(p.cot_prompt("{input}")):
        numbers = parse_numbers(puzzle)
        for line in lines:
            if "(left:" in line:
                result = check_step(numbers, line)
                assert result.ok, (line, result.reason)
                numbers = list(result.left)
        assert numbers == [24]


def test_propose_example_steps_are_exact():
    (puzzle, lines), = examples(p.propose_prompt("{input}"))  # fmt: skip
    steps = [line for line in lines if "(left:" in line]
    assert len(steps) == 8
    for line in steps:
        assert check_step(parse_numbers(puzzle), line).ok, line


def test_lenient_propose_example_steps_are_exact():
    # The steps-only prompt for lenient thoughts: every example line is a correct step on the example's numbers.
    from evals.game24.thoughts import read_step

    text = p.propose_prompt("{input}", left=False)
    puzzle = re.findall(r"^Input: (\d+(?: \d+)*)$", text, flags=re.M)[0]
    steps = [line for line in text.split("\n") if " = " in line and not line.startswith("Pick")]
    assert len(steps) == 9 and not any("left" in line for line in steps)
    for line in steps:
        assert read_step(parse_numbers(puzzle), line) is not None, line
    assert p.propose_prompt("1 2 3 4", left=False).endswith("Input: 1 2 3 4\nPossible next steps:\n")


def test_value_example_labels_agree_with_the_solver():
    text = p.value_prompt("{input}")
    blocks = re.findall(r"^Input: (\d+(?: \d+)*)\n(.*?)^(sure|likely|impossible)$", text, flags=re.M | re.S)
    assert [b[2] for b in blocks].count("sure") == 2 and [b[2] for b in blocks].count("impossible") == 3
    for numbers, _, label in blocks:
        solvable = solve(numbers) is not None
        assert solvable if label == "sure" else True
        assert not solvable if label == "impossible" else True


def test_value_last_step_judgements_are_right():
    text = p.value_last_step_prompt("{input}", "{answer}")
    cases = re.findall(r"Input: (.*)\nAnswer: (.*)\nJudge:\n(sure|impossible)", text)
    assert len(cases) == 6
    for puzzle, answer, label in cases:
        assert check_answer(puzzle, answer).correct == (label == "sure"), (puzzle, answer)


def test_prompt_builders_fill_in():
    assert p.propose_prompt("1 2 3 4").endswith("Input: 1 2 3 4\nPossible next steps:\n")
    assert p.cot_prompt("1 2 3 4", steps="1 + 2 = 3 (left: 3 3 4)\n").endswith("Steps:\n1 + 2 = 3 (left: 3 3 4)\n")
    assert p.value_prompt("3 8").endswith("\nInput: 3 8\n")
    assert p.value_last_step_prompt("1 2 3 4", "1 * 2 * 3 * 4 = 24").endswith("Answer: 1 * 2 * 3 * 4 = 24\nJudge:")
