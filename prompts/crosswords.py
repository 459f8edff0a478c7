"""Mini-crossword prompts. The wording is ours; the formats follow Yao et al. (2023): the clues are lines "h1. clue"
(rows h1..h5, columns v1..v5), an answer is 5 rows of 5 letters separated by spaces after "Output:", a proposal is a
line "h1. apple (medium)" with a confidence certain / high / medium / low, and a prune verdict ends with a line
sure / maybe / impossible.

The worked examples are games 1 and 2 of the paper's mini0505.json, which are not among its 20 test games (0, 5, ...,
95).
"""

from __future__ import annotations

__all__ = [
    "CONFIDENCE",
    "PRUNE_STOP",
    "PRUNE_WORDS",
    "cot_prompt",
    "io_prompt",
    "propose_prompt",
    "prune_prompt",
]

# The paper's ad hoc map from a proposal's confidence to a score, summed over the samples of one proposal request.
CONFIDENCE: dict[str, float] = {"certain": 1.0, "high": 0.5, "medium": 0.2, "low": 0.1}
# The words a prune verdict's last line may be; any other last line counts as no verdict.
PRUNE_WORDS = ("sure", "maybe", "impossible")
# Where a prune reply ends: before an example of its own (a raw completion goes on writing examples).
PRUNE_STOP = ("\nClue:",)

_EXAMPLES = [
    (
        """h1. An agendum; something to be done
h2. One who wires
h3. To stir up; to remove from office
h4. Ascended; awakened
h5. To put into action
v1. Mindful; conscious
v2. A gadget
v3. Notched or uneven, as if gnawed away (cognate with "erode")
v4. Not ever
v5. Drenched; drowned""",
        ["AGEND", "WIRER", "AMOVE", "RISEN", "EXERT"],
        ["AWARE", "GIMIX", "EROSE", "NEVER", "DRENT"],
    ),
    (
        """h1. A male friend
h2. Something big and important
h3. Things that enter; data given to a computer program
h4. To besiege
h5. More healthy; a coin
v1. A Mennonite sect, named for Jacob Ammann
v2. A craze
v3. To force; to drive
v4. To dig out roughly
v5. On the outside""",
        ["AMIGO", "MAMOU", "INPUT", "SIEGE", "HALER"],
        ["AMISH", "MANIA", "IMPEL", "GOUGE", "OUTER"],
    ),
]

_TASK = ("Solve a 5x5 mini crossword: 5 horizontal clues (h1-h5, the rows) and 5 vertical clues (v1-v5, the columns), "
         "each answered by a 5-letter word.")  # fmt: skip


def _rows(rows: list[str]) -> str:
    return "\n".join(" ".join(row) for row in rows)


def io_prompt(clues: str) -> str:
    """The input-output prompt: the task, worked examples, then `clues` (10 lines "h1. ..."); the model writes the
    5 rows, letters separated by spaces, after "Output:"."""
    shots = "".join(f"Input:\n{x}\n\nOutput:\n{_rows(rows)}\n\n" for x, rows, _ in _EXAMPLES)
    how = "Write the filled grid as 5 rows of 5 letters separated by spaces."
    return f"{_TASK} {how}\n\n{shots}Input:\n{clues}\n\nOutput:\n"


def cot_prompt(clues: str) -> str:
    """The chain-of-thought prompt: as `io_prompt`, but each example first answers every clue ("h1. clue: WORD")
    under "Thoughts:", then writes the grid after "Output:"."""
    shots = ""
    for x, rows, cols in _EXAMPLES:
        lines = x.split("\n")
        thoughts = "\n".join(f"{line}: {word}" for line, word in zip(lines, rows + cols, strict=True))
        shots += f"Input:\n{x}\n\nThoughts:\n{thoughts}\n\nOutput:\n{_rows(rows)}\n\n"
    return (f"{_TASK} First think which word answers each clue, then write the filled grid as 5 rows of 5 letters "
            f"separated by spaces.\n\n{shots}Input:\n{clues}\n\nThoughts:\n")  # fmt: skip


def propose_prompt(board: str) -> str:
    """The propose prompt for one state: `board` is the state as `Board.render` writes it (the grid, then the clues
    under Unfilled / Filled / Changed with their letters, "_" for an empty cell). The model lists candidate words,
    one a line "h1. apple (medium)"."""
    return (
        "We are solving a 5x5 mini crossword; every answer is a word of exactly 5 letters.\n\n"
        f"{board}\n"
        "List candidate answers for the unfilled or changed clues, each agreeing with the letters already on the "
        'board, one a line in the form "h1. apple (medium)", where the word in brackets is your confidence: certain, '
        'high, medium or low. Say "certain" only when no other word can fit.\n'
    )


def prune_prompt(clue: str, letters: str) -> str:
    """The prune prompt for one clue: `letters` are its 5 cells, lower case, "_" empty, separated by spaces
    ("m o _ o _"). The model reasons briefly and ends with one line: sure, maybe or impossible (can a word fit)."""
    return (
        'Can a 5-letter word answer the clue and fit the letters given ("_" is an unknown letter)? Reason in one '
        "line, then answer on the last line with one word: sure, maybe or impossible.\n\n"
        "Clue: A sweet fruit: a p p _ e\n"
        "Apple is a fruit and fits a p p _ e.\nsure\n\n"
        "Clue: A large body of water: o _ e _ n\n"
        "Ocean fits o _ e _ n, but the clue could also mean sea or lake.\nmaybe\n\n"
        "Clue: To move quickly: q x z _ _\n"
        "No English word starts with q x z.\nimpossible\n\n"
        f"Clue: {clue}: {letters}\n"
    )
