"""Prompt prefix reuse for the torch decoders: the keys and values of recent prompts, keyed by their token ids.

A tree search sends many prompts that share a long few-shot prefix (game 24's value prompts share ~270 of ~280
tokens). `PrefixCache` keeps the KV cache of recent prompts; a new prompt copies the keys and values of its longest
common prefix with any of them into its own cache (a `transformers.DynamicCache` or `StaticCache`) and runs only the
rest — at least its last token, whose logits give the first output token. This is vLLM's automatic prefix caching
and SGLang's radix cache in their simplest form: whole prompts in a least-recently-used list, bounded by the
positions held.

The reused keys and values were computed in a forward of another width than a whole-prompt prefill's, so the logits
differ in rounding (~1e-5 in fp32, ~0.1 in bf16 on the embedded model): greedy output is the same except at a near
tie, as for the parallel decoders.

Used on the model's one worker thread: not thread-safe.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_PREFIX_CACHE_TOKENS", "PrefixCache", "PrefixCacheStats"]

# Positions kept by default: ~15 game-24 value prompts; 12 KiB a position for the embedded model in bf16 (24 layers
# x 2 KV heads x 64 dims x keys and values), so ~48 MiB (~96 MiB in fp32).
DEFAULT_PREFIX_CACHE_TOKENS = 4096


@dataclass
class PrefixCacheStats:
    """What the prefills that consulted the cache ran: prompt tokens sent, reused from the cache, computed."""

    prefills: int = 0
    hits: int = 0  # prefills that reused at least one position
    tokens_sent: int = 0
    tokens_reused: int = 0
    tokens_computed: int = 0
    evictions: int = 0

    def __str__(self) -> str:
        share = self.tokens_computed / self.tokens_sent if self.tokens_sent else 0.0
        return (f"prompt tokens computed {self.tokens_computed} of {self.tokens_sent} sent ({share:.0%}); "
                f"{self.hits} of {self.prefills} prefills reused a prefix")  # fmt: skip


class PrefixCache:
    """Keys and values of recent prompts, least recently used first out, at most `max_tokens` positions in all.

    `restore(prompt, cache)` copies the longest cached prefix of `prompt` (at most all of it but its last token)
    into an empty `cache` and says how many positions it copied; after the rest of the prompt has run,
    `store(prompt, cache)` keeps a copy of the prompt's keys and values (shape (1, kv heads, positions, head dim) a
    layer). A prompt longer than `max_tokens` is not kept. `stats` counts what the prefills computed.
    `nbytes` is the memory held (bytes).
    """

    def __init__(self, max_tokens: int = DEFAULT_PREFIX_CACHE_TOKENS) -> None:
        if max_tokens < 0:
            raise ValueError(f"max_tokens must be >= 0, got {max_tokens}")
        self.max_tokens = max_tokens
        self.stats = PrefixCacheStats()
        # prompt token ids -> [(keys, values) per layer], least recently used first
        self._entries: OrderedDict[tuple[int, ...], list[tuple[Any, Any]]] = OrderedDict()
        self._held = 0  # positions held in all entries

    @property
    def tokens(self) -> int:
        """Positions held (each: keys and values in every layer)."""
        return self._held

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + v.nbytes for layers in self._entries.values() for k, v in layers)

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, prompt: list[int]) -> tuple[tuple[int, ...] | None, int]:
        """The cached prompt sharing the longest prefix with `prompt`, and how many positions of it to reuse (at
        most `len(prompt) - 1`: the last token always runs, for its logits)."""
        best: tuple[int, ...] | None = None
        length = 0
        limit = len(prompt) - 1
        for key in self._entries:
            n = _common(key, prompt, limit)
            if n > length:
                best, length = key, n
        return best, length

    def restore(self, prompt: list[int], cache: Any) -> int:
        """Copy the keys and values of `prompt`'s longest cached prefix into `cache` (empty: a DynamicCache or a
        StaticCache long enough) and count the prefill in `stats`; the number of positions copied."""
        key, reused = self.match(prompt) if _plain(cache) else (None, 0)
        if key is not None and reused:
            self._entries.move_to_end(key)
            for layer, (keys, values) in enumerate(self._entries[key]):
                cache.update(keys[:, :, :reused], values[:, :, :reused], layer)
            self.stats.hits += 1
        self.stats.prefills += 1
        self.stats.tokens_sent += len(prompt)
        self.stats.tokens_reused += reused
        self.stats.tokens_computed += len(prompt) - reused
        return reused

    def store(self, prompt: list[int], cache: Any) -> None:
        """Keep a copy of the keys and values of `prompt`, whose prefill `cache` holds at positions 0 .. len - 1,
        then evict least recently used prompts until at most `max_tokens` positions are held."""
        n = len(prompt)
        if n == 0 or n > self.max_tokens or not _plain(cache):
            return
        key = tuple(prompt)
        for other in list(self._entries):
            if _common(other, key, len(other)) == len(other) and len(other) <= n:
                self._drop(other)  # a prefix of this prompt (or this prompt again): the new entry holds it
            elif _common(other, key, n) == n:
                self._entries.move_to_end(other)  # this prompt is a prefix of a cached one: nothing new
                return
        self._entries[key] = [(layer.keys[:, :, :n].clone(), layer.values[:, :, :n].clone()) for layer in cache.layers]
        self._held += n
        while self._held > self.max_tokens:
            self._drop(next(iter(self._entries)))
            self.stats.evictions += 1

    def clear(self) -> None:
        self._entries.clear()
        self._held = 0

    def _drop(self, key: tuple[int, ...]) -> None:
        del self._entries[key]
        self._held -= len(key)


def _plain(cache: Any) -> bool:
    # Whether every layer keeps all positions (no sliding window, no linear attention state): only then are the
    # first n positions of its keys and values the prompt's first n tokens'.
    return all(type(layer).__name__ in ("DynamicLayer", "SpareLayer", "StaticLayer") for layer in cache.layers)


def _common(a: tuple[int, ...], b: list[int] | tuple[int, ...], limit: int) -> int:
    # The length of the common prefix of a and b, at most `limit`.
    n = min(len(a), len(b), limit)
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n
