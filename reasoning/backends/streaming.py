"""Text released as a backend makes it: never part of a stop string, never half a character.

A backend that decodes token by token re-decodes its output so far after each step and hands it to a
`StreamedText`, which releases only what is final: it holds back a trailing part that could still become a stop
string (the completion is cut before a stop string, which must never reach a client) and a trailing half
character (a decoder shows an incomplete UTF-8 sequence as U+FFFD; the next token completes it). The pieces it
releases, joined, are the text the non-streaming call returns.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["StreamedText", "first_stop"]

_REPLACEMENT = "\ufffd"  # what a decoder shows for an incomplete (or invalid) UTF-8 sequence


def first_stop(text: str, stops: Sequence[str]) -> int | None:
    """Where the first of `stops` begins in `text` (the completion is cut there), or None."""
    positions = [p for p in (text.find(s) for s in stops if s) if p >= 0]
    return min(positions) if positions else None


class StreamedText:
    """The released part of a completion's text as it grows.

    `update(text)` takes the whole output so far (decoded) and returns the piece that became final; `finish(text)`
    takes the completion's final text (already cut at its stop string) and returns the rest. `stopped` is true once
    a stop string has appeared (the text is final up to it)."""

    def __init__(self, stop: Sequence[str] = ()) -> None:
        self.stop = tuple(s for s in stop if s)
        self.released = ""
        self.stopped = False

    def update(self, text: str) -> str:
        cut = first_stop(text, self.stop)
        if cut is not None:
            self.stopped = True
            final = text[:cut]
        else:
            final = text[: len(text) - self._stop_prefix(text)]
        final = final.rstrip(_REPLACEMENT)  # a half character: the next token completes it (or `finish` shows it)
        if len(final) <= len(self.released) or not final.startswith(self.released):
            return ""  # nothing new (or the decoder rewrote earlier text: wait for `finish`)
        piece = final[len(self.released) :]
        self.released = final
        return piece

    def finish(self, text: str) -> str:
        """The rest of the final `text` after what was released."""
        if not text.startswith(self.released):  # cannot happen with a prefix-stable decoder; released is released
            return ""
        piece = text[len(self.released) :]
        self.released = text
        return piece

    def _stop_prefix(self, text: str) -> int:
        """The length of the longest tail of `text` that begins some stop string (and may yet complete it)."""
        longest = 0
        for stop in self.stop:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest
