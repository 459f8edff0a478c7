"""`--range`: which 0-based rows of a data file an eval reads (game 24, creative writing)."""

from __future__ import annotations

from reasoning.errors import ConfigurationError

__all__ = ["parse_range"]


def parse_range(text: str, *, example: str = "0-99") -> range:
    """ "900-999" (inclusive, 0-based rows) or "950"; a mistake is a `ConfigurationError` saying what is wrong with
    it (the form shown with `example`)."""
    form = f"a range is START-END of 0-based rows, e.g. {example}, or one row"
    start_text, dash, end_text = text.strip().partition("-")
    if dash and not end_text.strip():
        raise ConfigurationError(f"--range {text}: no end after '-' ({form})")
    if dash and not start_text.strip():
        raise ConfigurationError(f"--range {text}: rows start at 0 ({form})")
    try:
        start = int(start_text)
        end = int(end_text) if dash else start
    except ValueError:
        raise ConfigurationError(f"--range {text}: {form}") from None
    if start < 0 or end < 0:
        raise ConfigurationError(f"--range {text}: rows start at 0 ({form})")
    if end < start:
        raise ConfigurationError(f"--range {text}: start {start} is after end {end}")
    return range(start, end + 1)
