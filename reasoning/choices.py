"""One rule for every reader of a model's choice: a statement that commits to more than one option is no answer.

A reader finds the option a statement names ("The best answer is: (B)", "The best choice is 2", a label at the
start of a line); `also_named` reads the rest of that statement, up to its end (a line break, or ".", "!" or "?"
followed by white space or the end of the text). The first other option there decides:

- joined to the one before it by a connective, "or", "and", "/", "&" or "," (then perhaps "either", "both" or a
  hedge, "maybe", "perhaps", "possibly", "probably", and markdown bold), it is named too, and so is each further
  option joined the same way: "(A) or (B)", "(A) and (B)", "(A)/(B)", "(A), (B)", "(A) Paris or (B) London",
  "either (A) or (B)", "both (A) and (B)" (readers accept "either" or "both" before their option);
- otherwise, "(B) because (A) is wrong", "(B), since (A) is ...", the statement names one option, and nothing after
  it counts. Nor does a later sentence: "(B). (A) is wrong."

Readers refuse such a statement with the reason `names_several` writes ("names two choices: (A), (B)"); those of
this package are `vote_choice` here, `evals.audit.extract_answer` and `prompts.supericl.parse_label`. (The value
reader, `reasoning.evaluators.word_values`, takes only a last line that is exactly one word: "likely/sure" is none.)

Time is linear in the text: a reader reads each statement's rest once (it passes the next statement's start as
`endpos`), with patterns whose repetitions cannot backtrack into one another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["CONNECTIVE", "also_named", "names_several", "statement_end", "vote_choice"]

CONNECTIVE = r"(?:,|/|&|\b(?i:or|and)\b)"
_LEAD = r"(?:(?i:either|both|maybe|perhaps|possibly|probably)\s++)?+"
_END = re.compile(r"\n|[.!?](?=\s|$)")
_COUNTS = {2: "two", 3: "three", 4: "four", 5: "five"}


def statement_end(text: str, pos: int, endpos: int | None = None) -> int:
    """Where the statement going on at `pos` ends: its line break or final ".", "!" or "?" (else `endpos`)."""
    limit = len(text) if endpos is None else endpos
    found = _END.search(text, pos, limit)
    return limit if found is None else found.start()


@lru_cache(maxsize=64)
def _link(option: str) -> re.Pattern[str]:
    return re.compile(rf"(?:(?P<connective>{CONNECTIVE})\s*+{_LEAD})?(?:\*\*|__)?{option}")


def also_named(text: str, pos: int, option: str, endpos: int | None = None) -> list[str]:
    """The options joined by a connective to the one that ends at `pos`, in order, up to the end of its statement
    (at most `endpos`). `option` is a regex with a group named "option" (what is returned for each)."""
    named: list[str] = []
    for found in _link(option).finditer(text, pos, statement_end(text, pos, endpos)):
        if found.group("connective") is None:
            break  # another option, not joined to this one: "(B) because (A) is wrong"
        named.append(found.group("option"))
    return named


def names_several(options: Sequence[str]) -> str:
    """The reason a reader gives: "names two choices: (A), (B)"."""
    return f"names {_COUNTS.get(len(options), str(len(options)))} choices: {', '.join(options)}"


_VOTE = re.compile(
    r"best\s++choice\s++is\s*+:?+\s*+(?:\*\*|__)?+\s*+(?:(?:either|both)\s++)?+(?:\*\*|__)?+(\d{1,9})(?!\d|\.\d)",
    re.IGNORECASE,
)
_NUMBER = r"(?<![\w.])(?:(?i:choice)\s++)?(?P<option>\d{1,9})(?!\w|\.\d)"


def vote_choice(text: str, k: int) -> int | None:
    """A vote reader for `LLMVote`: the 0-based choice of "The best choice is N" (N from 1 to `k`), or None.

    Every such statement must name the same N, and none may name two ("The best choice is 1 or 3")."""
    statements = list(_VOTE.finditer(text))
    found: set[int] = set()
    for i, statement in enumerate(statements):
        limit = statements[i + 1].start() if i + 1 < len(statements) else len(text)
        named = {int(x) for x in [statement.group(1), *also_named(text, statement.end(), _NUMBER, limit)]}
        if len(named) > 1:
            return None
        found |= named
    if len(found) != 1:
        return None
    choice = found.pop() - 1
    return choice if 0 <= choice < k else None
