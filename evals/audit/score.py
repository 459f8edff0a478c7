"""`reasoning audit extract`: the audit's answer reader on your own completions, one JSON verdict per line.

    reasoning audit extract "The best answer is: (B) Paris" --choices 3
    reasoning audit extract "A) or (B)" --choices 3 --no-cot
    reasoning audit extract < completions.jsonl      # {"output": "...", "choices": 3, "cot": true} a line

A verdict is `{"answer": 0-based index or null, "letter": "B" or null, "unparsed": reason or null}`, read by
`extract_answer` as an audit run reads its twins ("cot" defaults to true; other keys are ignored). Every line of
stdin gets one line out (`evals.stdin`): a line that is not such an object, an empty one too, gets
`{"error": "stdin line N: ..."}` in its place and one line on stderr; the other lines are still read, and the exit
status is 1.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from reasoning.errors import ConfigurationError

from ..stdin import answer_lines, shown
from .extract import Unparsed, extract_answer

__all__ = ["register_extract", "verdict"]

MAX_CHOICES = 26  # the letters A to Z
EXPECTED = '{"output": "...", "choices": K} (one JSON object a line, UTF-8)'


def verdict(output: str, choices: int, *, cot: bool = True) -> dict[str, Any]:
    """What the audit reads in `output` for a question with `choices` choices."""
    answer = extract_answer(output, choices, cot=cot)
    if isinstance(answer, Unparsed):
        return {"answer": None, "letter": None, "unparsed": answer.reason}
    return {"answer": answer, "letter": chr(ord("A") + answer), "unparsed": None}


def register_extract(audit_sub: Any) -> None:
    """Add `extract` to the `reasoning audit` subcommands."""
    extract = audit_sub.add_parser("extract", help="read the answer letter in your own completions; JSON per line")
    extract.add_argument("output", nargs="?", help="one completion (omit to read JSON lines on stdin)")
    extract.add_argument("--choices", type=int, help=f"how many answer choices the question had (1 to {MAX_CHOICES})")
    extract.add_argument("--no-cot", dest="cot", action="store_false",
                         help="a direct answer: completes a prompt ending 'The best answer is: ('")  # fmt: skip
    extract.set_defaults(run=_extract)


def _choices(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHOICES:
        raise ConfigurationError(f"{what} must be a whole number from 1 to {MAX_CHOICES}; got {shown(value)}")
    return value


def _answer(item: dict[str, Any]) -> dict[str, Any]:
    """One stdin line's verdict; `ConfigurationError` saying what is wrong with the line."""
    if not isinstance(item["output"], str):
        raise ConfigurationError(f'"output" must be a string; got {type(item["output"]).__name__}')
    cot = item.get("cot", True)
    if not isinstance(cot, bool):
        raise ConfigurationError(f'"cot" must be true or false; got {shown(cot)}')
    return verdict(item["output"], _choices(item["choices"], '"choices"'), cot=cot)


def _extract(args: argparse.Namespace) -> int:
    if args.output is not None:
        if args.choices is None:
            raise ConfigurationError("give --choices with the output (how many answer choices the question had)")
        print(json.dumps(verdict(args.output, _choices(args.choices, "--choices"), cot=args.cot)))
        return 0
    if args.choices is not None or not args.cot:
        raise ConfigurationError('--choices and --no-cot go with one output; on stdin each line has "choices", "cot"')
    return answer_lines(_answer, EXPECTED, ("output", "choices"))
