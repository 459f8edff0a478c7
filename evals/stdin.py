"""JSON lines on stdin, one verdict a line: what `reasoning game24 check` and `reasoning audit extract` read.

Every input line gets exactly one output line, in order, so line N of the output answers line N of the input: the
command's verdict, or `{"error": "stdin line N: ..."}` for a line that is not what the command reads (not UTF-8,
not JSON, not an object, a field missing or of the wrong type, or an empty line), with the same message on stderr.
The other lines are still answered, and the exit status is 1 if any line was bad. A final newline ends the last
line; it does not start another.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from reasoning.errors import ConfigurationError

__all__ = ["answer_lines", "read_object", "shown", "string_field"]


def shown(value: object) -> str:
    """A JSON value as an error quotes it: its JSON text, cut at 40 characters."""
    return json.dumps(value)[:40]


def read_object(raw: bytes, expected: str) -> dict[str, Any]:
    """One line as a JSON object; `ConfigurationError` saying what is wrong with it (`expected` describes a good
    line, e.g. '{"output": "...", "choices": K} (one JSON object a line, UTF-8)')."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"not UTF-8 text (byte {raw[exc.start]:#04x}); expected {expected}") from None
    if not line.strip():
        raise ConfigurationError("empty line")
    try:
        item = json.loads(line)
    # ValueError: not JSON (or a number too long to read); RecursionError: "[[[[..." nested too deep to read.
    except (ValueError, RecursionError):
        raise ConfigurationError(f"not JSON; expected {expected}") from None
    if not isinstance(item, dict):
        raise ConfigurationError(f"not a JSON object; expected {expected}")
    return item


def string_field(item: dict[str, Any], key: str, example: str) -> str:
    """`item[key]`, which must be there and be a string; `ConfigurationError` otherwise (a number or a list is
    refused, not turned into text and graded)."""
    value = item[key]
    if not isinstance(value, str):
        raise ConfigurationError(f'"{key}" must be a string, e.g. {json.dumps(example)}; got {_typed(value)}')
    return value


def _typed(value: object) -> str:
    """A decoded JSON value with the JSON name of its type where the text alone may not say it: "array [4, 5]",
    "number 24"; "true", "null"."""
    kinds = ((bool, ""), (int | float, "number "), (list, "array "), (dict, "object "))
    return next((name for kind, name in kinds if isinstance(value, kind)), "") + shown(value)


def answer_lines(
    answer: Callable[[dict[str, Any]], dict[str, Any]],
    expected: str,
    required: Iterable[str],
    lines: Iterable[bytes] | None = None,
) -> int:
    """Print `answer(item)` as one JSON line for every line of `lines` (default: stdin, read as bytes so that a line
    which is not UTF-8 is reported by its number), or the line's error (see the module docstring). `answer` raises
    `ConfigurationError` for an item it refuses. Returns the exit status: 1 if any line was bad, else 0."""
    required = list(required)
    failed = 0
    for number, raw in enumerate(sys.stdin.buffer if lines is None else lines, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark, as Windows editors write UTF-8
        try:
            item = read_object(raw, expected)
            missing = [key for key in required if key not in item]
            if missing:
                raise ConfigurationError(f"no {' or '.join(repr(k) for k in missing)}; expected {expected}")
            verdict = answer(item)
        except ConfigurationError as exc:
            failed += 1
            print(f"reasoning: error: stdin line {number}: {exc}", file=sys.stderr, flush=True)
            print(json.dumps({"error": f"stdin line {number}: {exc}"}), flush=True)
            continue
        print(json.dumps(verdict), flush=True)
    return 1 if failed else 0
