"""`reasoning audit extract`: the audit's answer reader on your own completions, one JSON verdict per line.

    reasoning audit extract "The best answer is: (B) Paris" --choices 3
    reasoning audit extract "A) or (B)" --choices 3 --no-cot
    reasoning audit extract < completions.jsonl      # {"output": "...", "choices": 3, "cot": true} a line

A verdict is `{"answer": 0-based index or null, "letter": "B" or null, "unparsed": reason or null}`, read by
`extract_answer` as an audit run reads its twins ("cot" defaults to true; other keys are ignored). A line of stdin
that is not such an object gets `{"error": "..."}` in its place and one line on stderr naming its number; the other
lines are still read, and the exit status is 1. Blank lines are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from reasoning.errors import ConfigurationError

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


def _shown(value: object) -> str:
    return json.dumps(value)[:40]


def _choices(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHOICES:
        raise ConfigurationError(f"{what} must be a whole number from 1 to {MAX_CHOICES}; got {_shown(value)}")
    return value


def _request(raw: bytes) -> tuple[str, int, bool]:
    """One stdin line's output, choices and cot; `ConfigurationError` saying what is wrong with it."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"not UTF-8 text (byte {raw[exc.start]:#04x}); expected {EXPECTED}") from None
    try:
        item = json.loads(line)
    # ValueError: not JSON (or a number too long to read); RecursionError: "[[[[..." nested too deep to read.
    except (ValueError, RecursionError):
        raise ConfigurationError(f"not JSON; expected {EXPECTED}") from None
    if not isinstance(item, dict):
        raise ConfigurationError(f"not a JSON object; expected {EXPECTED}")
    missing = [key for key in ("output", "choices") if key not in item]
    if missing:
        raise ConfigurationError(f"no {' or '.join(repr(k) for k in missing)}; expected {EXPECTED}")
    if not isinstance(item["output"], str):
        raise ConfigurationError(f'"output" must be a string; got {type(item["output"]).__name__}')
    cot = item.get("cot", True)
    if not isinstance(cot, bool):
        raise ConfigurationError(f'"cot" must be true or false; got {_shown(cot)}')
    return item["output"], _choices(item["choices"], '"choices"'), cot


def _stdin() -> Iterator[tuple[int, bytes]]:
    # Bytes, decoded line by line, so that a line which is not UTF-8 is reported by its number.
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        if raw.strip():
            yield number, raw


def _extract(args: argparse.Namespace) -> int:
    if args.output is not None:
        if args.choices is None:
            raise ConfigurationError("give --choices with the output (how many answer choices the question had)")
        print(json.dumps(verdict(args.output, _choices(args.choices, "--choices"), cot=args.cot)))
        return 0
    if args.choices is not None or not args.cot:
        raise ConfigurationError('--choices and --no-cot go with one output; on stdin each line has "choices", "cot"')
    failed = 0
    for number, raw in _stdin():
        try:
            output, choices, cot = _request(raw)
        except ConfigurationError as exc:
            failed += 1
            print(f"reasoning: error: stdin line {number}: {exc}", file=sys.stderr, flush=True)
            print(json.dumps({"error": f"stdin line {number}: {exc}"}), flush=True)
            continue
        print(json.dumps(verdict(output, choices, cot=cot)), flush=True)
    return 1 if failed else 0
