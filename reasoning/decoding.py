"""Greedy, sampled and parallel (Jacobi-family) decoding for a Hugging Face causal LM in torch.

Santilli et al. (ACL 2023) decode several tokens per model call by fixed-point iteration: guess a window of
future tokens, run one forward over the window, and replace each guess with the model's greedy prediction given
the guesses before it. A guess that equals the prediction made from an exact prefix is itself exact, so the
fixed point is exactly the greedy output. Modes (`DecodingConfig.mode`):

- `greedy`: one token per forward (`_greedy`).
- `jacobi`: parallel Jacobi — the whole continuation (`max_tokens`) is one block, iterated to its fixed point.
- `gs_jacobi`: block Gauss-Seidel-Jacobi — blocks of `block` tokens, Jacobi inside a block, blocks in sequence,
  `max_tokens` decoded once the blocks start (EOS cut afterwards).
- `hybrid`: `gs_jacobi` that stops at the first block holding EOS or a stop string (no length needed).
- `sliding`: beyond the paper — the window advances by the converged prefix after every forward (every token
  that already matches greedy is committed at once) and is refilled with the trajectory's guesses.
- `lookahead`: `sliding` whose guesses come from n-grams seen in the prompt, the output and the Jacobi
  trajectory (as lookahead and prompt-lookup decoding do), verified in the same forward.

The three block modes are `_blocks`, the two window modes `_sliding`. Each runs on a `_Runner`: the model and its
KV cache, where `forward(tokens)` computes and `commit(count)` keeps the first `count` of those tokens' keys and
values. The KV cache of the parallel modes is preallocated (`transformers.StaticCache`) and addressed by position:
rolling back rejected guesses is O(1) — its write pointer moves back, the next forward writes over them, and causal
masking hides them until then.

Every parallel mode runs behind a `_Stopwatch` around its runner and gives up once it has lost more than a small
allowance of time against greedy (forwards timed as it runs: a one-token forward is the yardstick); greedy then
finishes the output, so a mode is never much slower than greedy. `sample` is greedy's sibling for temperature > 0.

Every function takes `on_commit(tokens)`, called with the output tokens each commit adds, in order (their
concatenation is `DecodeResult.tokens`): a streaming server emits them as they are made.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import ConfigurationError
from .prefix_cache import PrefixCache
from .types import DecodingConfig

__all__ = [
    "DecodeResult",
    "DecodingConfig",
    "Divergence",
    "OnCommit",
    "Prefill",
    "decode",
    "divergence",
    "prefill",
    "prefill_together",
    "sample",
    "sliding_window",
]

OnCommit = Callable[[list[int]], None]  # the output tokens a commit added, in order
Stop = Callable[[list[int]], bool]  # whether the output so far contains a stop string


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
    """The model, its KV cache and a length pointer: `forward(tokens)` runs the model over `tokens` at positions
    `length ..`, and the caller decides how many of them to keep (`commit`). `capacity` preallocates a static cache
    of that many positions (parallel modes roll back often: a preallocated cache makes that a pointer move); None
    grows one as it goes (greedy and sampling never roll back, and a growing cache attends over fewer positions).
    With a `prefix_cache`, the prefill reuses the keys and values of the prompt's longest cached prefix."""

    def __init__(self, model: Any, capacity: int | None, prefix_cache: PrefixCache | None = None) -> None:
        import torch
        from transformers import DynamicCache, StaticCache

        self.torch = torch
        self.model = model
        self.device = next(model.parameters()).device
        self.cache: Any = (
            DynamicCache(config=model.config)
            if capacity is None
            else StaticCache(config=model.config, max_cache_len=capacity)
        )
        self.length = 0  # positions [0, length) hold committed tokens' keys and values
        self.calls = 0
        self.prefix_cache = prefix_cache
        self.reused = 0  # prompt positions the prefill copied from the prefix cache
        self._pending = 0  # tokens the last forward wrote past `length`

    def logits(self, tokens: list[int], *, last_only: bool = False) -> Any:
        """Logits after each of `tokens` (after the last only, for a prefill), shape (len(tokens) or 1, vocab)."""
        torch = self.torch
        assert self._pending == 0, "commit() must follow every forward()"
        ids = torch.tensor([tokens], device=self.device)
        positions = torch.arange(self.length, self.length + len(tokens), device=self.device)[None]
        with torch.inference_mode():
            # The prefill needs only its last position's logits (the vocabulary projection is costly).
            logits = self.model(input_ids=ids, cache=self.cache, position_ids=positions, use_cache=True,
                                logits_to_keep=1 if last_only else 0).logits[0]  # fmt: skip
        self.calls += 1
        self._pending = len(tokens)
        return logits

    def forward(self, tokens: list[int]) -> list[int]:
        """Greedy predictions after each of `tokens` (given the committed prefix and the tokens before it)."""
        return [int(t) for t in self.torch.argmax(self.logits(tokens), dim=-1).tolist()]

    def prefill(self, prompt: list[int]) -> Any:
        """Run and keep the whole prompt; the logits after its last token (the first output token's). With a
        prefix cache: copy in the keys and values of its longest cached prefix, run the rest (at least the last
        token), then cache the prompt's."""
        self.restore(prompt)
        logits = self.logits(prompt[self.reused :], last_only=True)[-1]
        self.commit(len(prompt) - self.reused)
        self.keep(prompt)
        return logits

    def restore(self, prompt: list[int]) -> None:
        """Copy in the keys and values of `prompt`'s longest cached prefix (none without a prefix cache)."""
        cached = self.prefix_cache
        self.length = self.reused = cached.restore(prompt, self.cache) if cached is not None else 0

    def keep(self, prompt: list[int]) -> None:
        """Cache the keys and values of `prompt`, which the cache holds whole now (with a prefix cache)."""
        if self.prefix_cache is not None:
            self.prefix_cache.store(prompt, self.cache)

    def commit(self, count: int) -> None:
        """Keep the first `count` positions the last forward wrote. The static cache's write pointer moves back
        over the rest (O(1), no copy); the next forward overwrites them, and causal masking hides them."""
        if self._pending > count:
            self.cache.crop(-(self._pending - count))
        self.length += count
        self._pending = 0


class _Stopwatch:
    """The runner with its forwards timed, for the fallback: `losing(produced)` says when parallel decoding has lost
    more time than allowed against greedy.

    Greedy would have spent `produced` one-token forwards on the tokens produced since the warm-up forward (a
    parallel mode starts with two one-token forwards: the first pays one-off warm-ups and is not timed, the second
    is the yardstick). The loss allowed is `fallback_max_loss` of that plus `fallback_grace` one-token forwards, so
    a mode that does not pay costs at most that much on any CPU (a wide forward costs ~1x a one-token forward on
    some, ~2x on others), and a mode ahead of greedy goes on."""

    def __init__(self, runner: _Runner, config: DecodingConfig) -> None:
        self.runner = runner
        self.config = config
        self.one = float("inf")  # the fastest one-token forward (a loaded machine slows some; the fastest is fair)
        self.spent = 0.0  # seconds in forwards after the warm-up one
        self._warm = False

    def forward(self, tokens: list[int]) -> list[int]:
        start = time.perf_counter()
        predictions = self.runner.forward(tokens)
        elapsed = time.perf_counter() - start
        if self._warm:
            self.spent += elapsed
            if len(tokens) == 1:
                self.one = min(self.one, elapsed)
        self._warm = True
        return predictions

    def commit(self, count: int) -> None:
        self.runner.commit(count)

    def losing(self, produced: int) -> bool:
        return _losing(self.spent, produced, self.one, self.config)


def _losing(spent: float, produced: int, one: float, config: DecodingConfig) -> bool:
    """Whether `spent` seconds for `produced` tokens lost more against greedy (`one` second a token, inf: not timed
    yet) than `config` allows: `fallback_max_loss` of greedy's time plus `fallback_grace` one-token forwards."""
    if not config.fallback or one == float("inf"):
        return False
    loss = spent - produced * one
    return loss > (config.fallback_max_loss * produced + config.fallback_grace) * one


class _Output:
    """The output so far (committed, exact tokens) and whether it is finished: EOS (excluded from the output), a
    stop string (`stop`, asked after every commit) or `max_tokens`. `accepted` records what each forward added."""

    def __init__(self, first: int, *, max_tokens: int, eos: frozenset[int], stop: Stop | None,
                 on_commit: OnCommit | None) -> None:  # fmt: skip
        self.tokens = [first]  # the prefill's prediction: exact and free
        self.accepted: list[int] = []  # not the prefill's
        self.max_tokens, self.eos, self.stop, self.on_commit = max_tokens, eos, stop, on_commit
        self.done, self.finish, self.cut = False, "length", 0
        self._update()

    @property
    def last(self) -> int:
        """The newest token: exact, its key and value not yet in the cache."""
        return self.tokens[-1]

    @property
    def produced(self) -> int:
        """Tokens produced after the prefill's and the warm-up forward's (what the fallback weighs)."""
        return len(self.tokens) - 2

    def add(self, tokens: list[int], accepted: int | None = None) -> None:
        """Append exact tokens, one forward's; `accepted` is what that forward counts as added (default: them)."""
        self.accepted.append(len(tokens) if accepted is None else accepted)
        self.tokens.extend(tokens)
        self._update()

    def _update(self) -> None:
        # Where the output ends (EOS excluded) and why; the part of it that is new goes to `on_commit`.
        before = self.cut
        self.done, self.finish, self.cut = self._finished()
        if self.on_commit is not None and self.cut > before:
            self.on_commit(self.tokens[before : self.cut])

    def _finished(self) -> tuple[bool, str, int]:
        for i, token in enumerate(self.tokens[: self.max_tokens]):
            if token in self.eos:
                return True, "stop", i
        cut = min(len(self.tokens), self.max_tokens)
        if self.stop is not None and self.stop(self.tokens[:cut]):
            return True, "stop", cut
        return len(self.tokens) >= self.max_tokens, "length", cut


def decode(
    model: Any,
    prompt: list[int],
    *,
    max_tokens: int,
    eos: frozenset[int],
    config: DecodingConfig | None = None,
    stop: Stop | None = None,
    on_commit: OnCommit | None = None,
    prefix_cache: PrefixCache | None = None,
) -> DecodeResult:
    """Greedy-equivalent decoding of up to `max_tokens` tokens after `prompt` (token ids), by `config.mode`.

    `stop(tokens)` says whether the output so far contains a stop string; `on_commit(tokens)` gets the output
    tokens each commit adds; `prefix_cache` lends the prefill a cached prefix of the prompt (and keeps this one's).
    The result holds the tokens (EOS excluded), why decoding ended, and the model calls it took. Raises
    `ConfigurationError` for a parallel mode on a model with sliding-window layers (`sliding_window`)."""
    config = config or DecodingConfig()
    started = time.perf_counter()
    mode = config.mode
    if mode != "greedy" and sliding_window(model):
        raise ConfigurationError(f"{mode} decoding rolls the KV cache back, which a model with sliding-window "
                                 "attention layers (Mistral, Gemma 2) cannot do: decode it greedily")  # fmt: skip
    width = max_tokens if mode == "jacobi" else max(2, config.block)
    # 1. Prefill: one forward over the prompt; its last prediction is the first output token.
    runner = _Runner(model, None if mode == "greedy" else len(prompt) + max_tokens + width + 1, prefix_cache)
    first = int(runner.torch.argmax(runner.prefill(prompt)).item())
    out = _Output(first, max_tokens=max_tokens, eos=eos, stop=stop, on_commit=on_commit)
    gave_up = False
    if mode == "greedy":
        _greedy(runner, out)
    else:
        # 2. Two one-token forwards, timed: the first pays one-off warm-ups, the second is greedy's cost per token.
        watch = _Stopwatch(runner, config)
        _greedy(watch, out, steps=2)
        # 3. The parallel mode, until the output is finished or the mode gives up; then greedy finishes it.
        if out.done:
            pass
        elif mode in ("sliding", "lookahead"):
            ngrams = _NGrams(prompt, out.tokens, config.ngram, width - 1)
            gave_up = _sliding(watch, out, width, ngrams.guess if mode == "lookahead" else lambda guesses: guesses)
        else:
            gave_up = _blocks(watch, out, width, whole=mode == "gs_jacobi")
        if gave_up:
            _greedy(runner, out)
    return DecodeResult(tokens=out.tokens[: out.cut], finish=out.finish, model_calls=runner.calls,
                        seconds=time.perf_counter() - started, fell_back=gave_up, accepted=out.accepted)  # fmt: skip


def _greedy(runner: _Runner | _Stopwatch, out: _Output, steps: int | None = None) -> None:
    """One token per forward until the output is finished (or for `steps` forwards)."""
    while not out.done and steps != 0:
        # 1. One forward over the newest token: the model's prediction after it is the next token.
        (token,) = runner.forward([out.last])
        # 2. Keep the newest token's key and value, and the prediction as the output's next token.
        runner.commit(1)
        out.add([token])
        steps = None if steps is None else steps - 1


def _sliding(watch: _Stopwatch, out: _Output, width: int, guess: Callable[[list[int]], list[int]]) -> bool:
    """The window modes: every forward verifies `width - 1` guesses after the newest token and commits every one
    that matches greedy. `guess(trajectory)` gives the next guesses from the model's predictions after the
    rejected ones (`sliding` uses them as they are; `lookahead` prefers an n-gram continuation). True if it gave
    up against greedy before the output was finished."""
    guesses = guess([])
    while not out.done:
        # 1. Give up once the wide forwards have lost more time than allowed against greedy.
        if watch.losing(out.produced):
            return True
        # 2. One forward over the newest token and the guesses after it (a fixed width).
        window = [out.last, *_fill(guesses, out.last, width - 1)]
        predictions = watch.forward(window)
        # 3. The guesses that equal the prediction after an exact prefix are exact, and so is the prediction after
        #    the last of them: keep their keys and values (the rest is overwritten by the next forward).
        exact = predictions[: _matched(window, predictions) + 1]
        watch.commit(len(exact))
        out.add(exact)
        # 4. Next guesses: what the model predicted after the rejected guesses (the Jacobi trajectory), or better.
        guesses = guess(predictions[len(exact) :])
    return False


def _blocks(watch: _Stopwatch, out: _Output, width: int, *, whole: bool) -> bool:
    """The block modes: blocks of `width - 1` guesses after the newest token, each iterated by Jacobi updates to
    its fixed point (every guess exact), then committed whole. `whole` decodes `max_tokens` tokens before the
    output is cut at EOS or a stop string (`gs_jacobi`, as in the paper); otherwise decoding stops after the
    first block that finishes the output. True if it gave up against greedy before the output was finished."""
    while len(out.tokens) < out.max_tokens if whole else not out.done:
        # 1. Give up once the wide forwards have lost more time than allowed against greedy.
        if watch.losing(out.produced):
            return True
        # 2. A new block: every guess starts as a copy of the newest token.
        guesses: list[int] = []
        known = 0  # exact tokens found at the head of the block so far
        while True:
            # 3. One forward over the newest token and the block's guesses.
            window = [out.last, *_fill(guesses, out.last, width - 1)]
            predictions = watch.forward(window)
            exact = predictions[: _matched(window, predictions) + 1]
            if len(exact) == width:
                break
            # 4. Not converged: each guess becomes the prediction before it (a Jacobi update); nothing is kept,
            #    unless the block has lost more time than allowed: then its exact head is kept and it gives up.
            new, known = max(0, len(exact) - known), max(known, len(exact))
            if watch.losing(out.produced):
                watch.commit(len(exact))
                out.add(exact, accepted=new)
                return True
            watch.commit(0)
            out.accepted.append(new)
            guesses = predictions[: width - 1]
        # 5. Converged: every guess and the prediction after the last one are exact; keep the block.
        watch.commit(width)
        out.add(predictions, accepted=width - known)
    return False


def _fill(guesses: list[int], last: int, size: int) -> list[int]:
    # A fixed-width window: truncate, or pad by repeating the last guess.
    filler = guesses[-1] if guesses else last
    return (guesses + [filler] * size)[:size]


def _matched(window: list[int], predictions: list[int]) -> int:
    # How many guesses (window[1:]) equal the prediction after the tokens before them, in a row from the start.
    n = 0
    while n + 1 < len(window) and window[n + 1] == predictions[n]:
        n += 1
    return n


class _NGrams:
    """Lookahead's guesses from n-grams: the newest tokens looked up in the prompt and output so far (prompt
    lookup), else the continuation the Jacobi trajectory predicted after the newest token (lookahead's n-gram
    pool), else the trajectory itself."""

    def __init__(self, prompt: list[int], output: list[int], n: int, size: int) -> None:
        self.prompt, self.output = prompt, output  # `output` is the live output list: it grows as tokens commit
        self.n, self.size = max(1, n), size
        self.pool: dict[int, list[int]] = {}

    def guess(self, trajectory: list[int]) -> list[int]:
        if trajectory:
            self.pool[self.output[-1]] = trajectory
        seq = self.prompt + self.output
        for n in range(min(self.n, len(seq) - 1), 0, -1):
            key = seq[-n:]
            # The most recent earlier occurrence of the last n tokens, and what followed it.
            for start in range(len(seq) - n - 1, -1, -1):
                if seq[start : start + n] == key:
                    follow = seq[start + n : start + n + self.size]
                    if follow:
                        return follow
        return self.pool.get(seq[-1], [])[: self.size] or trajectory


def sliding_window(model: Any) -> bool:
    """Whether `model`'s KV cache keeps only a window of recent positions in some layer (Mistral, Gemma 2; the
    layers transformers' `DynamicCache` builds for its config say so). Such a cache cannot be rolled back once
    the window is full, and a left-padded batch does not fit it."""
    from transformers import DynamicCache

    return any("SlidingWindow" in type(layer).__name__ for layer in DynamicCache(config=model.config).layers)


def sample(
    model: Any,
    prompt: list[int],
    *,
    max_tokens: int,
    eos: frozenset[int],
    temperature: float,
    top_p: float = 1.0,
    seed: int = 0,
    stop: Stop | None = None,
    on_commit: OnCommit | None = None,
    prefix_cache: PrefixCache | None = None,
) -> DecodeResult:
    """Sampling's sibling of greedy decoding: one token per forward, drawn from the model's distribution at
    `temperature` (> 0) within the nucleus `top_p`, with a `torch.Generator` seeded with `seed` (the same seed, the
    same tokens). `stop`, `on_commit`, `prefix_cache` and the result as for `decode` (mode "greedy" fields;
    nothing falls back)."""
    import torch

    started = time.perf_counter()
    generator = torch.Generator(device="cpu").manual_seed(seed)
    # 1. Prefill: one forward over the prompt gives the first token's logits.
    runner = _Runner(model, None, prefix_cache)
    logits = runner.prefill(prompt)
    out = _Output(_draw(logits, temperature, top_p, generator), max_tokens=max_tokens, eos=eos, stop=stop,
                  on_commit=on_commit)  # fmt: skip
    while not out.done:
        # 2. One forward over the newest token gives the logits of the token after it; keep its key and value.
        logits = runner.logits([out.last])[-1]
        runner.commit(1)
        # 3. Draw the next token from the tempered nucleus.
        out.add([_draw(logits, temperature, top_p, generator)])
    return DecodeResult(tokens=out.tokens[: out.cut], finish=out.finish, model_calls=runner.calls,
                        seconds=time.perf_counter() - started, accepted=out.accepted)  # fmt: skip


class Prefill(NamedTuple):
    """A prompt's prefill: its KV cache (a `transformers.DynamicCache` holding every prompt position), the logits
    after its last token (shape (vocab,)), and how many of its tokens were run (the rest came from the cache)."""

    cache: Any
    logits: Any
    computed: int


def prefill(model: Any, prompt: list[int], prefix_cache: PrefixCache | None = None) -> Prefill:
    """Run `prompt` (token ids, at least one) through `model` into a new DynamicCache, reusing the longest prefix
    `prefix_cache` holds and keeping this prompt's there: what a batched decoder needs for each sequence."""
    runner = _Runner(model, None, prefix_cache)
    logits = runner.prefill(prompt)
    return Prefill(runner.cache, logits, len(prompt) - runner.reused)


def prefill_together(model: Any, prompts: list[list[int]], prefix_cache: PrefixCache | None) -> list[Any]:
    """Prefill `prompts` (token ids, at least one each) as `prefill` does, those with a cached prefix in one forward.

    A burst of a search's prompts shares a few-shot prefix, so after the first most of them find all but a short
    rest (their suffix: ~10-60 tokens of a ~280-token game-24 prompt) in `prefix_cache`. Their rests run as the rows
    of one forward (`_rests_together`) rather than one forward each: a forward over B short rows costs far less than
    B forwards (`benchmarks/forward_cost.py`, suffix prefills). A prompt with nothing cached runs alone (its rest is
    the whole prompt), before the prompts after it are looked up, which then find its prefix. Each prompt's keys and
    values are its own (one row, every position its prompt's), exactly what `prefill` would hold but for rounding (a
    forward of another shape), and are cached as `prefill`'s.

    Returns, per prompt in order, its `Prefill` or the exception its prefill raised (the others go on)."""
    runners = [_Runner(model, None, prefix_cache) for _ in prompts]
    done: list[Any] = [None] * len(prompts)
    for i, (runner, prompt) in enumerate(zip(runners, prompts, strict=True)):
        try:
            # In order: a prompt with nothing cached runs alone at once and is cached, so that the burst's later
            # prompts sharing its few-shot prefix find it (were all looked up first, none would).
            runner.restore(prompt)
            if not runner.reused:
                done[i] = _alone(runner, prompt)
        except Exception as exc:  # no tokens, or too long for the model: this prompt fails, the others go on
            done[i] = exc
    together = [i for i in range(len(prompts)) if done[i] is None]
    if len(together) > 1:
        try:
            logits = _rests_together([runners[i] for i in together], [prompts[i] for i in together])
        except Exception:  # one of them cannot run: each runs alone below and fails alone
            logits = []
        for i, row in zip(together, logits, strict=False):
            runners[i].keep(prompts[i])
            done[i] = Prefill(runners[i].cache, row, len(prompts[i]) - runners[i].reused)
    for i, (runner, prompt) in enumerate(zip(runners, prompts, strict=True)):
        if done[i] is None:
            try:
                done[i] = _alone(runner, prompt)
            except Exception as exc:  # this prompt cannot run: it fails, the others go on
                done[i] = exc
    return done


def _alone(runner: _Runner, prompt: list[int]) -> Prefill:
    # One forward over what follows the prompt's restored prefix; the runner then holds, and caches, the prompt.
    logits = runner.logits(prompt[runner.reused :], last_only=True)[-1]
    runner.commit(len(prompt) - runner.reused)
    runner.keep(prompt)
    return Prefill(runner.cache, logits, len(prompt) - runner.reused)


def _rests_together(runners: list[_Runner], prompts: list[list[int]]) -> list[Any]:
    """One forward over the rests of `prompts` after their restored prefixes (each runner holds one, at least one
    position); each runner then holds its whole prompt. The logits after each prompt's last token, (vocab,) each.

    The rows' layout, P the longest prefix and S the longest rest: the cache holds each prefix left-padded to P,
    the input each rest left-padded to S; an attention mask hides both paddings (a padding input sees its row's
    prefix, so no query is left with nothing to attend to), and position ids count each row's own tokens."""
    import torch
    from transformers import DynamicCache

    model = runners[0].model
    device = runners[0].device
    prefix = [runner.reused for runner in runners]
    rests = [prompt[n:] for prompt, n in zip(prompts, prefix, strict=True)]
    p, s = max(prefix), max(len(rest) for rest in rests)
    # 1. The batch's cache: every row's prefix, left-padded to P.
    cache: Any = DynamicCache(config=model.config)
    for index, layer in enumerate(cache.layers):
        keys = torch.cat([_pad(runner.cache.layers[index].keys, p) for runner in runners])
        values = torch.cat([_pad(runner.cache.layers[index].values, p) for runner in runners])
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values
    # 2. The input: every rest left-padded to S (a padding input repeats the rest's first token, hidden by the mask).
    mask = torch.zeros(len(runners), p + s, dtype=torch.long, device=device)
    ids, positions = [], []
    for row, (n, rest) in enumerate(zip(prefix, rests, strict=True)):
        mask[row, p - n : p] = 1
        mask[row, p + s - len(rest) :] = 1
        ids.append([rest[0]] * (s - len(rest)) + rest)
        positions.append([n] * (s - len(rest)) + list(range(n, n + len(rest))))
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor(ids, device=device), cache=cache, use_cache=True,
                       position_ids=torch.tensor(positions, device=device), attention_mask=mask,
                       logits_to_keep=1).logits[:, -1]  # fmt: skip
    # 3. Each runner keeps its own row, without the padding: its prompt's positions in order.
    for row, (runner, n, rest) in enumerate(zip(runners, prefix, rests, strict=True)):
        columns = torch.cat([torch.arange(p - n, p), torch.arange(p + s - len(rest), p + s)]).to(device)
        for mine, batch in zip(runner.cache.layers, cache.layers, strict=True):
            mine.keys = batch.keys[row : row + 1].index_select(2, columns)
            mine.values = batch.values[row : row + 1].index_select(2, columns)
        runner.length += len(rest)
        runner.calls += 1
    return list(logits)


def _pad(tensor: Any, total: int, dim: int = 2) -> Any:
    # Left-pad `tensor` with zeros along `dim` to `total` positions.
    import torch

    missing = total - tensor.shape[dim]
    if missing == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([torch.zeros(shape, dtype=tensor.dtype, device=tensor.device), tensor], dim=dim)


def _draw(logits: Any, temperature: float, top_p: float, generator: Any) -> int:
    # The tempered nucleus (`_nucleus`), then an exponential race: the token with the largest p_i / E_i, E_i ~
    # Exp(1) i.i.d. (as -log U, U uniform from `generator`), wins with probability p_i (the Gumbel-max trick;
    # `torch.multinomial` draws one sample the same way). A race is robust to the last-bit differences between a
    # prompt run whole, from the prefix cache or in a batch: only a near tie between two finalists can flip, where
    # a draw through the cumulative distribution in vocabulary order moves its boundaries by the sum of every
    # earlier token's rounding, enough to pick another tail token 1-2% of the time (`benchmarks/draw_cost.py`,
    # tested). U is float64: a float32 U lies on a 2^-24 grid, so E >= 6e-8 and a token under ~1e-7 of the rest's
    # mass would win too rarely (tested); it is kept above 0 (E = inf would let a lone nucleus token lose to token
    # 0). The race runs on the CPU, where `generator` is (logits from a GPU are copied, 1.2 MB a draw in float64).
    # `torch.multinomial` took ~5 ms over the 152k vocabulary on a 2-core CPU (its `exponential_` alone ~3 ms),
    # this 2.6-3.9 ms (BENCHMARKS.md, issue 18). Raises ValueError as `_nucleus`.
    import torch

    probs = _nucleus(logits, temperature, top_p).cpu()  # float32; divided by a float64 E, the ratio is float64
    uniform = torch.rand(probs.shape, generator=generator, dtype=torch.float64)
    exponential = uniform.clamp_(min=torch.finfo(torch.float64).tiny).log_().neg_()
    return int((probs / exponential).argmax().item())


def _nucleus(logits: Any, temperature: float, top_p: float) -> Any:
    # Softmax of the tempered logits (vocab,), zeroed outside the smallest set of top tokens holding `top_p` of
    # the mass (the top token at least, whatever `top_p`). Raises ValueError for a temperature not above 0, or for
    # logits whose largest is NaN, +inf or -inf (every token masked): there is nothing to draw from.
    import torch

    scaled = logits.float()
    top = scaled.max()  # NaN if any logit is NaN
    if not temperature > 0 or not torch.isfinite(top):
        raise ValueError(f"cannot draw a token at temperature {temperature} from logits whose largest is "
                         f"{top.item()} (NaN, inf or every token masked)")  # fmt: skip
    # Shifted by the largest before tempering: a tiny temperature then gives 0 there and -inf below, never inf - inf.
    probs = torch.softmax((scaled - top) / max(temperature, torch.finfo(torch.float32).tiny), dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
        keep[0] = True
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    return probs


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
