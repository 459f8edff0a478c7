"""Creative-writing prompts (the Tree-of-Thoughts text task, Yao et al. 2023, Section 4.2). The wording is ours; the
formats follow the paper: an output is "Plan:" then "Passage:"; a vote ends "The best choice is N"; the coherency
judge ends "Thus the coherency score is N" with N from 1 to 10.

The input of a task is one line of four sentences; the passage is four short paragraphs, the k-th ending with the
k-th sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "PASSAGE",
    "PLAN",
    "PLAN_STOP",
    "SCORE_RANGE",
    "cot_prompt",
    "io_prompt",
    "read_score",
    "score_prompt",
    "vote_prompt",
]

PLAN = "Plan:\n"  # how a plan starts (the paper's format)
PASSAGE = "Passage:\n"  # how the passage after a plan starts; the text after the last one is what the judge reads
# Where a plan ends: before its passage (the paper's first step stops there and votes on plans alone).
PLAN_STOP = ("\nPassage:",)
SCORE_RANGE = range(1, 11)  # the judge's scale, 1 to 10 (paper, Section 4.2)

_TASK = """Write a coherent passage of four short paragraphs. Each paragraph must end with one of these four \
sentences, in the order given: {input}
"""

_PLAN_THEN_WRITE = """
First make a plan, then write the passage. Use this format:

Plan:
your plan

Passage:
your passage
"""

_VOTE = """Below are an instruction and several choices for it. Decide which choice is the most promising: analyze \
each choice in detail, then write as your last line "The best choice is N", where N is the number of the choice.

Instruction: {task}
"""

_SCORE = """Analyze the following passage for coherency: does it read as one piece, with each part leading to \
the next? Then write as your last line "Thus the coherency score is N", where N is a whole number from 1 to 10.

Passage:
{passage}
"""
# Where the analysis starts: a raw completion after the last choice, or the passage, would go on writing it.
_ANALYSIS = "\nAnalysis:\n"

# The number's digits are taken whole (possessive `{1,3}+`): "10.5" is off the scale, not "1" followed by "0.5".
_SCORE_LINE = re.compile(r"coherency\s+score\s+is\s*:?\s*\**\s*(\d{1,3}+)(?![\d.]\d)", re.IGNORECASE)


def io_prompt(sentences: str) -> str:
    """The instruction alone: the passage is written at once (the paper's IO baseline)."""
    return _TASK.format(input=sentences.strip())


def cot_prompt(sentences: str) -> str:
    """The instruction, asking for a plan and then the passage (the paper's CoT baseline, and the prompt each
    tree-of-thought step samples from: a plan first, then a passage continuing the kept plan)."""
    return io_prompt(sentences) + _PLAN_THEN_WRITE


def vote_prompt(sentences: str, choices: Sequence[str]) -> str:
    """Ask which of `choices` (numbered from 1, each shown whole) best carries out the instruction for
    `sentences`. Unlike the paper's prompt, ours shows the instruction the choices are for."""
    shown = "".join(f"\nChoice {i}:\n{choice}\n" for i, choice in enumerate(choices, start=1))
    return _VOTE.format(task=io_prompt(sentences).strip()) + shown + _ANALYSIS


def score_prompt(passage: str) -> str:
    """Ask the judge for the coherency of `passage` on the 1-10 scale."""
    return _SCORE.format(passage=passage.strip()) + _ANALYSIS


def read_score(text: str) -> int | None:
    """The judge's score: the last "coherency score is N" in `text`, N in 1..10 (as the paper's reader, which
    takes the last); None when there is none or it is off the scale ("0", "11", "7.5")."""
    found = _SCORE_LINE.findall(text)
    if not found:
        return None
    score = int(found[-1])
    return score if score in SCORE_RANGE else None
