"""Counts in messages: "1 call", "2 calls" (never "1 calls")."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: object, word: str, plural: str | None = None) -> str:
    """`n` and `word`, in the plural (`plural`, default `word + "s"`) unless `n` is 1: `counted(1, "call")` is
    "1 call", `counted(3, "BBQ pair")` "3 BBQ pairs". `n` may be any number, or text that shows one."""
    return f"{n} {word if str(n) in ('1', '1.0') else plural or word + 's'}"
