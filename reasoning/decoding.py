"""Greedy and parallel (Jacobi-family) decoding for a Hugging Face causal LM in torch.

Santilli et al. (ACL 2023) decode several tokens per model call by fixed-point iteration: guess a window of
future tokens, run one forward over the window, and replace each guess with the model's greedy prediction given
the guesses before it. A guess that equals the prediction made from an exact prefix is itself exact, so the
fixed point is exactly the greedy output. Modes (`DecodingConfig.mode`):

- `greedy`: one token per forward.
- `jacobi`: parallel Jacobi — the whole continuation (`max_tokens`) is one block, iterated to its fixed point.
- `gs_jacobi`: block Gauss-Seidel-Jacobi — blocks of `block` tokens, Jacobi inside a block, blocks in sequence,
  `max_tokens` decoded (EOS cut afterwards).
- `hybrid`: `gs_jacobi` that stops at the first block holding EOS or a stop string (no length needed).
- `sliding`: beyond the paper — the window advances by the converged prefix after every forward (every token
  that already matches greedy is committed at once) and is refilled with the trajectory's guesses.
- `lookahead`: `sliding` whose guesses come from n-grams seen in the prompt, the output and the Jacobi
  trajectory (as lookahead and prompt-lookup decoding do), verified in the same forward.

Every mode falls back to plain greedy once it has lost more than a small allowance of time against greedy (forwards
timed as it runs: a one-token forward is the yardstick), so it is never much slower than greedy. The KV cache of the
parallel modes is preallocated (`transformers.StaticCache`) and addressed by position: rolling back rejected
guesses is O(1) — its write pointer moves back, the next forward writes over them, and causal masking hides
them until then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .types import DecodingConfig

__all__ = ["DecodeResult", "DecodingConfig", "Divergence", "decode", "divergence"]


@dataclass
class DecodeResult:
    tokens: list[int]
    finish: str  # "stop" (EOS or stop string) or "length"
    model_calls: int = 0
    seconds: float = 0.0
    fell_back: bool = False
    accepted: list[int] = field(default_factory=list)  # tokens committed by each forward

    @property
    def tokens_per_call(self) -> float:
        return len(self.tokens) / self.model_calls if self.model_calls else 0.0


class _Runner:
    """The model, a preallocated KV cache and a length pointer: `forward(tokens)` runs the model over `tokens`
    at positions `length ..`, and the caller decides how many of them to keep (`commit`)."""

    def __init__(self, model: Any, prompt: list[int], capacity: int, *, static: bool = True) -> None:
        import torch
        from transformers import DynamicCache, StaticCache

        self.torch = torch
        self.model = model
        self.device = next(model.parameters()).device
        # Parallel modes roll back often: a preallocated cache makes that a pointer move. Plain greedy never rolls
        # back, and a growing cache attends over fewer positions.
        self.cache: Any = (
            StaticCache(config=model.config, max_cache_len=capacity) if static else DynamicCache(config=model.config)
        )
        self.length = 0  # positions [0, length) hold committed tokens' keys and values
        self.calls = 0
        self.times: dict[int, list[float]] = {}  # seconds per forward, by width
        self.spent = 0.0  # seconds in forwards after the first one past the prefill (which pays one-off warm-ups)
        self._pending = 0  # tokens the last forward wrote past `length`
        # Prefill the whole prompt: its last prediction is the first output token, exact and free.
        self.first = self.forward(prompt, last_only=True)[-1]
        self.commit(len(prompt))

    def forward(self, tokens: list[int], *, last_only: bool = False) -> list[int]:
        """Greedy predictions after each of `tokens` (given the committed prefix and the tokens before it)."""
        torch = self.torch
        assert self._pending == 0, "commit() must follow every forward()"
        ids = torch.tensor([tokens], device=self.device)
        positions = torch.arange(self.length, self.length + len(tokens), device=self.device)[None]
        start = time.perf_counter()
        with torch.inference_mode():
            # The prefill needs only its last position's logits (the vocabulary projection is costly).
            logits = self.model(input_ids=ids, cache=self.cache, position_ids=positions, use_cache=True,
                                logits_to_keep=1 if last_only else 0).logits[0]  # fmt: skip
        if not last_only:
            elapsed = time.perf_counter() - start
            if self.calls > 1:
                self.spent += elapsed
                self.times.setdefault(len(tokens), []).append(elapsed)
        self.calls += 1
        self._pending = len(tokens)
        return [int(t) for t in torch.argmax(logits, dim=-1).tolist()]

    def commit(self, count: int) -> None:
        """Keep the first `count` positions the last forward wrote. The static cache's write pointer moves back
        over the rest (O(1), no copy); the next forward overwrites them, and causal masking hides them."""
        if self._pending > count:
            self.cache.crop(-(self._pending - count))
        self.length += count
        self._pending = 0


def decode(
    model: Any,
    prompt: list[int],
    *,
    max_tokens: int,
    eos: frozenset[int],
    config: DecodingConfig | None = None,
    stop: Callable[[list[int]], bool] | None = None,
) -> DecodeResult:
    """Greedy-equivalent decoding of up to `max_tokens` tokens after `prompt` (token ids).

    `stop(tokens)` says whether the output so far contains a stop string. The result holds the tokens (EOS
    excluded), why decoding ended, and the model calls it took."""
    config = config or DecodingConfig()
    mode = config.mode
    width = 1 if mode == "greedy" else (max_tokens if mode == "jacobi" else max(2, config.block))
    started = time.perf_counter()
    runner = _Runner(model, prompt, capacity=len(prompt) + max_tokens + width + 1, static=mode != "greedy")
    out: list[int] = [runner.first]
    progress: list[int] = []  # exact tokens each forward added (what "accepted per call" reports)
    ngrams = _NGrams(prompt, config.ngram) if mode == "lookahead" else None
    blocks = mode in ("jacobi", "gs_jacobi", "hybrid")
    greedy = mode == "greedy"
    fell_back = False
    last = runner.first  # the newest exact token; its key is not in the cache yet
    guesses: list[int] = []
    known = 0  # block modes: exact tokens at the head of the current block's window
    done, finish, cut = _finished(out, eos, stop, max_tokens)
    if ngrams is not None:
        ngrams.extend(out)
    probe = 0 if greedy else 2  # one-token forwards first: the second one's time is the yardstick for the fallback
    while not done:
        # 1. One forward over the newest exact token and the guesses after it (fixed width).
        window = [last] if greedy or probe else [last, *_fill(guesses, last, width - 1)]
        probe = max(0, probe - 1)
        predictions = runner.forward(window)
        matched = _matched(window, predictions)  # guesses equal to the prediction after an exact prefix
        exact = predictions[: matched + 1]  # all exact: each follows an exact prefix
        if blocks and len(window) > 1 and matched < len(window) - 1:
            # 2a. Block not converged: Jacobi update of every guess, nothing committed yet.
            progress.append(max(0, len(exact) - known))
            known = max(known, len(exact))
            guesses = predictions[: width - 1]
            if not _losing(config, runner, len(out) - 2):
                runner.commit(0)
            else:
                greedy = fell_back = True
                _commit(runner, out, exact)
                last = exact[-1]
                done, finish, cut = _finished(out, eos, stop, max_tokens)
            continue
        # 2b. Commit the exact tokens; the cache already holds keys for the window's exact part.
        progress.append(len(exact) - known if blocks and not greedy else len(exact))
        known = 0
        _commit(runner, out, exact)
        last = exact[-1]
        done, finish, cut = _finished(out, eos, stop, max_tokens)
        if done and mode == "gs_jacobi" and not greedy and len(out) < max_tokens:
            done = False  # block GS-Jacobi needs the output length: it decodes all of it, then cuts at EOS
        if done:
            break
        # 3. Next guesses: what the model predicted after the rejected guesses (the Jacobi trajectory), or
        #    for lookahead an n-gram continuation of the newest tokens when one is known.
        guesses = [] if blocks else predictions[matched + 1 :]
        if ngrams is not None:
            ngrams.add_trajectory(last, guesses)
            ngrams.extend(exact)
            guesses = ngrams.guess(width - 1) or guesses
        if not greedy and _losing(config, runner, len(out) - 2):
            greedy = fell_back = True
    return DecodeResult(
        tokens=out[:cut],
        finish=finish,
        model_calls=runner.calls,
        seconds=time.perf_counter() - started,
        fell_back=fell_back,
        accepted=progress,
    )


def _fill(guesses: list[int], last: int, size: int) -> list[int]:
    # A fixed-width window: truncate, or pad by repeating the last guess.
    filler = guesses[-1] if guesses else last
    return (guesses + [filler] * size)[:size]


def _matched(window: list[int], predictions: list[int]) -> int:
    n = 0
    while n + 1 < len(window) and window[n + 1] == predictions[n]:
        n += 1
    return n


def _commit(runner: _Runner, out: list[int], exact: list[int]) -> None:
    # Keys of the window's first len(exact) tokens are exact; the rest are overwritten by the next forward.
    runner.commit(len(exact))
    out.extend(exact)


def _finished(
    out: list[int], eos: frozenset[int], stop: Callable[[list[int]], bool] | None, max_tokens: int
) -> tuple[bool, str, int]:
    """Whether decoding is over, why, and where the output ends (EOS excluded)."""
    for i, token in enumerate(out[:max_tokens]):
        if token in eos:
            return True, "stop", i
    cut = min(len(out), max_tokens)
    if stop is not None and stop(out[:cut]):
        return True, "stop", cut
    return len(out) >= max_tokens, "length", cut


def _losing(config: DecodingConfig, runner: _Runner, produced: int) -> bool:
    """Parallel decoding has lost more time than allowed against greedy: fall back to greedy.

    Greedy would have spent `produced` one-token forwards on the tokens produced since the warm-up forward (the
    forwards after the prefill start with two one-token wide, to time one). The loss allowed is `fallback_max_loss`
    of that plus `fallback_grace` one-token forwards, so a mode that does not pay costs at most that much on any
    CPU (a wide forward costs ~1x a one-token forward on some, ~2x on others), and a mode ahead of greedy goes on."""
    one = runner.times.get(1)
    if not config.fallback or not one:
        return False
    step = min(one)  # a loaded machine slows some forwards; the fastest is the fair yardstick
    loss = runner.spent - produced * step
    return loss > (config.fallback_max_loss * produced + config.fallback_grace) * step


class _NGrams:
    """Guesses from n-grams: the newest tokens looked up in the prompt and output so far (prompt lookup), and
    continuations the Jacobi trajectory predicted after a token (lookahead's n-gram pool)."""

    def __init__(self, prompt: list[int], n: int) -> None:
        self.tokens = list(prompt)
        self.n = max(1, n)
        self.pool: dict[int, list[int]] = {}

    def extend(self, tokens: list[int]) -> None:
        self.tokens.extend(tokens)

    def add_trajectory(self, token: int, continuation: list[int]) -> None:
        if continuation:
            self.pool[token] = continuation

    def guess(self, size: int) -> list[int]:
        seq = self.tokens
        for n in range(min(self.n, len(seq) - 1), 0, -1):
            key = seq[-n:]
            # The most recent earlier occurrence of the last n tokens, and what followed it.
            for start in range(len(seq) - n - 1, -1, -1):
                if seq[start : start + n] == key:
                    follow = seq[start + n : start + n + size]
                    if follow:
                        return follow
        return self.pool.get(seq[-1], [])[:size]


@dataclass(frozen=True)
class Divergence:
    """Where two decodings of one prompt part, and how close the model's choice was there.

    `margin` is the logit of `expected` minus that of `got`, computed by one forward over the prompt and the
    common prefix; `ulp` is the spacing of the model dtype's numbers at the size of `expected`'s logit. A margin of
    a few ulps is a near tie: a forward of another width may round it the other way."""

    position: int
    expected: int
    got: int
    margin: float
    ulp: float

    @property
    def near_tie(self) -> bool:
        return abs(self.margin) <= 4 * self.ulp


def divergence(model: Any, prompt: list[int], expected: list[int], got: list[int]) -> Divergence | None:
    """The first position where `got` differs from `expected` (both continuations of `prompt`), or None."""
    import math

    import torch

    position = next((i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), None)
    if position is None:
        return None
    device = next(model.parameters()).device
    ids = torch.tensor([prompt + expected[:position]], device=device)
    with torch.inference_mode():
        logits = model(input_ids=ids, logits_to_keep=1).logits[0, -1]
    high, low = float(logits[expected[position]]), float(logits[got[position]])
    ulp = 2.0 ** math.floor(math.log2(abs(high) or 1.0)) * float(torch.finfo(logits.dtype).eps)
    return Divergence(position, expected[position], got[position], high - low, ulp)
