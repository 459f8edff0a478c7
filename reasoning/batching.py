"""Batched decoding: many sequences (greedy or sampled) decode together, one forward per step for all of them.

A search sends its requests in bursts (a BFS step of game 24: ~40 value prompts x 3 samples at once), and a CPU
or GPU forward over a batch of B one-token rows costs far less than B forwards. `decode_batch` runs the batch as
nanoGPT's `generate` runs one sequence, with what a batch needs on top:

- each prompt is prefilled (`reasoning.decoding.prefill_together`: what follows its longest prefix in
  `prefix_cache` is run, the prompts that found one in one forward together, the others alone and first, so that
  the burst's later prompts find their few-shot prefix) and its KV cache is
  merged into the batch's, left-padded to the longest (an attention mask hides the padding; position ids count
  each row's own tokens); the samples of one prompt waiting side by side (a request's `n`) share its prefill,
  their rows copies of its keys and values;
- every step forwards each row's newest token; each row stops on its own EOS, stop string or `max_tokens` and
  leaves the batch (its rows of the KV cache are dropped, and the padding no row needs any more is trimmed);
- sequences arriving while the batch runs join it between two steps (continuous batching, `joining`);
- a sequence whose caller gave up (`Sequence.cancel`) leaves before the next forward; one whose callbacks raise,
  or whose prefill raises (an empty prompt), leaves with that error (`Sequence.error`), the others go on;
- when a single greedy sequence is left and nothing waits, the spare compute guesses ahead (`speculate` > 1): a
  lookahead step verifies `speculate - 1` guesses (n-grams of the prompt and output, of other sequences' outputs
  in a shared `NGramPool`, else the Jacobi trajectory) and keeps every one that greedy would have made. As
  `reasoning.decoding`'s parallel modes do, it is timed against greedy (the batch's fastest one-row one-token step,
  timed first if none was, after an untimed warm-up) and falls back to one-token steps for good once it has lost
  more time than `DecodingConfig` allows (`fallback_max_loss`, `fallback_grace`): its result says `fell_back`.

Exactness: a row of the batch sees the same keys and values as the sequence alone, so in fp32 greedy output
equals `reasoning.decoding.decode`'s token for token (tested), and a sampled row draws with its own
`torch.Generator` as `reasoning.decoding.sample` does (the same seed, the same tokens). In bf16 a batched forward
may round a near tie the other way (`benchmarks/batching.py` reports such mismatches with their margins).

Why not transformers' own continuous batching (`generate_batch`, `ContinuousBatchingManager`, 5.24): read, not
adopted. It samples the whole batch with one generation config (`do_sample`, temperature, top_p fixed per
manager) from torch's global RNG (one `torch.manual_seed` per manager, `torch.multinomial` over all rows), so a
sample cannot have its own seed and a greedy and a sampled request cannot share a batch; it knows EOS and
`max_new_tokens` but no stop strings (ours are matched on the decoded text); and it runs its own background
thread with its own queue, beside the model's `WorkerThread` that cancellation and `aclose()` are built on. Its
paged attention packs sequences into one flattened row, a different computation from our unbatched forwards,
with no fp32 token-for-token guarantee to lean on.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .decoding import (
    DecodeResult,
    OnCommit,
    Stop,
    _draw,
    _fill,
    _losing,
    _matched,
    _NGrams,
    _Output,
    _pad,
    prefill_together,
    sliding_window,
)
from .prefix_cache import PrefixCache
from .types import DecodingConfig

__all__ = ["BatchStats", "NGramPool", "Sequence", "decode_batch", "sliding_window"]

_clock = time.perf_counter  # times the steps for the lookahead's fallback (a test scripts it)


@dataclass
class BatchStats:
    """Where a batched decoder's time went (seconds, wall clock on the decoding thread), summed over its batches.

    `prefills`: prompts prefilled (the samples of one prompt share one; those with a cached prefix run in one
    forward together), `prefill_seconds` their time (the prefix cache's restore and store included); `steps`:
    decoding forwards over the batch, `step_rows` the rows they carried (`step_rows / steps` is the mean batch
    size), `speculative_steps` those that were a lone sequence's lookahead step, `step_seconds` their time
    (sampling and stop checks included); `copy_seconds`: merging a newcomer's keys and values into the batch's and
    dropping those of the rows that left."""

    prefills: int = 0
    prefill_seconds: float = 0.0
    steps: int = 0
    step_rows: int = 0
    speculative_steps: int = 0
    step_seconds: float = 0.0
    copy_seconds: float = 0.0

    def __str__(self) -> str:
        mean = self.step_rows / self.steps if self.steps else 0.0
        return (f"prefill {self.prefill_seconds:.1f} s ({self.prefills} prompts), decode {self.step_seconds:.1f} s "
                f"({self.steps} steps, mean batch {mean:.1f}, {self.speculative_steps} lookahead), cache copies "
                f"{self.copy_seconds:.1f} s")  # fmt: skip


@dataclass(eq=False)
class Sequence:
    """One sample to decode: `prompt` (token ids), up to `max_tokens` output tokens, ended early by a token in `eos`
    or by `stop(tokens)` (asked after each commit); greedy at `temperature` 0, else drawn within the nucleus `top_p`
    by a `torch.Generator` seeded with `seed`. `on_commit(tokens)` gets the output tokens as they are made.

    Set `cancel` (a `threading.Event`, any object with `is_set()`) to make it leave before the next forward.
    After `decode_batch`: `result` (tokens, finish, forwards), or `error` (what its callbacks raised, or the
    ValueError of a draw from logits with nothing to draw from: NaN, inf, every token masked), or neither
    if it was cancelled; `batch_sizes` holds the batch size of every forward it took part in (prefill: 1), and
    `speculative` the number of those that were lookahead steps (`result.fell_back`: its lookahead lost too much
    time and stopped), `computed` the prompt tokens its prefill ran."""

    prompt: list[int]
    max_tokens: int
    eos: frozenset[int]
    stop: Stop | None = None
    on_commit: OnCommit | None = None
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    cancel: Any = None
    result: Any = None  # reasoning.decoding.DecodeResult once finished
    error: BaseException | None = None
    batch_sizes: list[int] = field(default_factory=list)
    speculative: int = 0
    computed: int = 0  # prompt tokens its prefill ran (the rest came from the prefix cache)
    on_leave: Callable[[Sequence], None] | None = None  # called (on the decoding thread) when it leaves the batch
    _out: Any = None
    _generator: Any = None
    _ngrams: Any = None
    _trajectory: list[int] = field(default_factory=list)
    _started: float = 0.0
    _spent: float = 0.0  # seconds in its lookahead steps
    _made: int = 0  # tokens its lookahead steps committed
    _fell_back: bool = False  # its lookahead lost too much time: one-token steps from then on

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def cancelled(self) -> bool:
        return self.cancel is not None and bool(self.cancel.is_set())


class NGramPool:
    """Recent outputs of all sequences, as guesses for a lone sequence's lookahead steps: `guess(tokens)` looks up
    the last `n` (down to 2) tokens of `tokens` and gives up to `size` tokens that followed them in an output seen
    before. Bounded: the `capacity` most recently added keys are kept (oldest out first)."""

    def __init__(self, n: int = 3, size: int = 8, capacity: int = 20_000) -> None:
        self.n, self.size, self.capacity = n, size, capacity
        self._follow: collections.OrderedDict[tuple[int, ...], list[int]] = collections.OrderedDict()

    def add(self, tokens: list[int]) -> None:
        for k in range(2, self.n + 1):
            for i in range(len(tokens) - k):
                key = tuple(tokens[i : i + k])
                self._follow[key] = tokens[i + k : i + k + self.size]
                self._follow.move_to_end(key)
        while len(self._follow) > self.capacity:
            self._follow.popitem(last=False)

    def guess(self, tokens: list[int]) -> list[int]:
        for k in range(min(self.n, len(tokens)), 1, -1):
            follow = self._follow.get(tuple(tokens[-k:]))
            if follow:
                return follow
        return []


def decode_batch(
    model: Any,
    sequences: list[Sequence],
    *,
    joining: Callable[[], list[Sequence]] | None = None,
    checkpoint: Callable[[], None] | None = None,
    max_batch: int = 64,
    speculate: int = 0,
    pool: NGramPool | None = None,
    ngram: int = 3,
    prefix_cache: PrefixCache | None = None,
    stats: BatchStats | None = None,
    config: DecodingConfig | None = None,
) -> None:
    """Decode `sequences` together until every one has left (finished, cancelled or failed); see the module doc.

    `joining()` is asked between steps for sequences to add (at most `max_batch` decode at once; the rest wait
    in line); `checkpoint()` is called before every forward (it may raise to stop the whole batch: a closing
    model). `speculate` is the lookahead window (tokens per forward) of a lone greedy sequence, 0 or 1 for none;
    `pool` shares n-grams across sequences (their outputs are added as they finish); `prefix_cache` lends each
    prefill the keys and values of its prompt's longest cached prefix; `stats` (if given) adds up where the time
    went; `config` (default: `DecodingConfig()`) sets the lookahead's fallback (`fallback`, `fallback_max_loss`,
    `fallback_grace`). Results go on the sequences. A model with sliding-window attention layers (`sliding_window`)
    decodes its sequences one at a time: the batch's left-padded cache does not fit their windowed one (not built)."""
    import torch

    if sliding_window(model):  # one at a time, and no lookahead: it rolls the cache back, which a window refuses
        max_batch, speculate = 1, 0
    config = config or DecodingConfig()

    batch = _Batch(model)
    waiting = collections.deque(sequences)
    while True:
        # 1. Newcomers join, as many as there is room for: the samples of one prompt share its prefill, and the
        #    prompts with a cached prefix prefill together (`prefill_together`); each sample's first token comes
        #    from its prefill's logits (greedy, or drawn with its own generator).
        waiting.extend(joining() if joining is not None else [])
        groups = _newcomers(waiting, max_batch - len(batch.rows), pool)
        if groups:
            if checkpoint is not None:
                checkpoint()
            started = time.perf_counter()
            for seq in (seq for group in groups for seq in group):
                seq._started = started
                seq._generator = torch.Generator(device="cpu").manual_seed(seq.seed)
            prefills = prefill_together(model, [group[0].prompt for group in groups], prefix_cache)
            if stats is not None:
                stats.prefills += len(groups)
                stats.prefill_seconds += time.perf_counter() - started
            for group, done in zip(groups, prefills, strict=True):
                _join(batch, group, done, pool, stats)
        # 2. Those cancelled or failed meanwhile leave; no one left and no one waiting: done.
        started = time.perf_counter()
        batch.drop([s for s in batch.rows if s.cancelled() or s.error is not None or s._out.done], pool)
        if stats is not None:
            stats.copy_seconds += time.perf_counter() - started
        if not batch.rows:
            if waiting or (joining is not None and _more(waiting, joining)):
                continue
            return
        if checkpoint is not None:
            checkpoint()
        started = time.perf_counter()
        # 3. One step: a lookahead step for a lone greedy sequence (see `_lookahead`), else one token for every row.
        lookahead = _lookahead(batch, bool(waiting), speculate, config)
        if lookahead:
            _speculate(batch, batch.rows[0], speculate, pool, ngram, config)
        else:
            logits = batch.step()
            # Greedy rows' tokens in one argmax over the batch (one per row costs ~0.5 ms each over a large vocab).
            argmax = logits.argmax(dim=-1).tolist() if any(s.greedy for s in batch.rows) else []
            for i, (seq, row) in enumerate(zip(list(batch.rows), logits, strict=True)):
                seq.batch_sizes.append(len(logits))
                token = argmax[i] if seq.greedy else _next(seq, row)
                if token is not None:
                    _add(seq, [token])
        if stats is not None:
            stats.steps += 1
            stats.step_rows += len(batch.rows)
            stats.speculative_steps += lookahead
            stats.step_seconds += time.perf_counter() - started


def _lookahead(batch: _Batch, waiting: bool, speculate: int, config: DecodingConfig) -> bool:
    # Whether the next step is a lookahead step: a lone greedy sequence, nothing waiting, a window, its lookahead not
    # abandoned, and greedy's cost known (a one-row one-token step timed; until then plain steps time one).
    seq = batch.rows[0]
    alone = len(batch.rows) == 1 and not waiting and seq.greedy and speculate > 1 and not seq._fell_back
    return alone and (batch.one < float("inf") or not config.fallback)


def _newcomers(waiting: collections.deque[Sequence], room: int, pool: NGramPool | None) -> list[list[Sequence]]:
    # The waiting sequences there is room for, in groups sharing a prompt (those cancelled while waiting leave).
    groups = []
    while waiting and room > 0:
        group = _same_prompt(waiting, room)
        room -= len(group)
        for seq in [s for s in group if s.cancelled()]:
            group.remove(seq)
            _leave(seq, pool)
        if group:
            groups.append(group)
    return groups


def _join(batch: _Batch, group: list[Sequence], done: Any, pool: NGramPool | None, stats: BatchStats | None) -> None:
    # A group's prefill (or the error it raised) done: each sample's first token; those not finished join the batch.
    if isinstance(done, BaseException):  # this prompt cannot run (no tokens, too long for the model): its samples fail
        for seq in group:
            seq.error = done
            _leave(seq, pool)
        return
    group[0].computed = done.computed
    going = []
    for seq in group:
        seq.batch_sizes.append(1)
        first = _next(seq, done.logits)
        if first is not None and _start(seq, first):
            going.append(seq)
        else:
            _leave(seq, pool)
    if going:
        started = time.perf_counter()
        batch.join(going, done.cache)
        if stats is not None:
            stats.copy_seconds += time.perf_counter() - started


def _same_prompt(waiting: collections.deque[Sequence], room: int) -> list[Sequence]:
    # The next waiting sequence and those right behind it with the same prompt (a request's n samples), `room` at most.
    group = [waiting.popleft()]
    while waiting and len(group) < room and waiting[0].prompt == group[0].prompt:
        group.append(waiting.popleft())
    return group


def _more(waiting: collections.deque[Sequence], joining: Callable[[], list[Sequence]]) -> bool:
    waiting.extend(joining())
    return bool(waiting)


def _next(seq: Sequence, logits: Any) -> int | None:
    # The next token after `logits` (vocab,): greedy's argmax, or a draw from the sequence's own generator; None if
    # there is nothing to draw from (NaN or infinite logits): this sequence alone fails.
    if seq.greedy:
        return int(logits.argmax().item())
    try:
        return _draw(logits, seq.temperature, seq.top_p, seq._generator)
    except ValueError as exc:
        seq.error = exc
        return None


def _start(seq: Sequence, first: int) -> bool:
    # The sequence's output begins with the prefill's token; False if it is finished (or failed) already.
    try:
        seq._out = _Output(first, max_tokens=seq.max_tokens, eos=seq.eos, stop=seq.stop, on_commit=seq.on_commit)
    except Exception as exc:  # a callback of this sequence raised: it alone fails
        seq.error = exc
        return False
    return not seq._out.done


def _add(seq: Sequence, tokens: list[int], accepted: int | None = None) -> None:
    try:
        seq._out.add(tokens, accepted)
    except Exception as exc:  # a callback of this sequence raised: it alone fails
        seq.error = exc


def _leave(seq: Sequence, pool: NGramPool | None) -> None:
    # The result of a finished sequence (none for a cancelled or failed one); its output feeds the n-gram pool.
    out = seq._out
    if out is not None and seq.error is None and not seq.cancelled():
        tokens = out.tokens[: out.cut]
        seq.result = DecodeResult(tokens=tokens, finish=out.finish, model_calls=len(seq.batch_sizes),
                                  seconds=time.perf_counter() - seq._started, fell_back=seq._fell_back,
                                  accepted=out.accepted)  # fmt: skip
        if pool is not None:
            pool.add(tokens)
    if seq.on_leave is not None:
        seq.on_leave(seq)


def _speculate(batch: _Batch, seq: Sequence, width: int, pool: NGramPool | None, ngram: int,
               config: DecodingConfig) -> None:  # fmt: skip
    """One lookahead step of a lone greedy sequence (as `reasoning.decoding._sliding`'s): verify `width - 1`
    guesses after the newest token in one forward and keep every one greedy would have made; once its lookahead
    steps have lost more time against one-token steps than `config` allows, the sequence stops speculating."""
    out = seq._out
    if seq._ngrams is None:
        seq._ngrams = _NGrams(seq.prompt, out.tokens, ngram, width - 1)
    # 1. Guesses: what followed the newest tokens in another output, else in this prompt/output, else the trajectory.
    recent = seq.prompt[-pool.n :] + out.tokens[-pool.n :] if pool is not None else []  # the pool reads n at most
    guesses = (pool.guess(recent) if pool is not None else []) or seq._ngrams.guess(seq._trajectory)
    window = [out.last, *_fill(guesses, out.last, width - 1)]
    # 2. One forward over the window (timed); the guesses equal to the prediction after an exact prefix are exact.
    logits = batch.step(window)
    predictions = [int(t) for t in logits[0].argmax(dim=-1).tolist()]
    exact = predictions[: _matched(window, predictions) + 1]
    # 3. The fallback: its lookahead steps' time and tokens against greedy's (`reasoning.decoding._Stopwatch`'s rule).
    seq._spent += batch.seconds
    seq._made += len(exact)
    seq._fell_back = _losing(seq._spent, seq._made, batch.one, config)
    # 4. Keep their keys and values (drop the rest), and the exact tokens; the rest is the next trajectory.
    batch.keep(len(exact), width)
    seq.batch_sizes.append(1)
    seq.speculative += 1
    seq._trajectory = predictions[len(exact) :]
    # 5. Commit them one by one, as greedy would: a stop string or EOS among them ends the output where greedy's ends.
    for i, token in enumerate(exact):
        _add(seq, [token], len(exact) if i == 0 else 0)
        if seq._out.done or seq.error is not None:
            break


class _Batch:
    """The rows decoding together: their KV cache (one `DynamicCache`, rows left-padded to a common length), the
    attention mask over its positions (0 on padding) and each row's own length (its next position id). Steps are
    timed: `seconds` is the last one's, `one` the fastest one-row one-token step's (inf: none timed; the first
    such step pays one-off warm-ups and is not timed), greedy's cost for the lookahead's fallback."""

    def __init__(self, model: Any) -> None:
        import torch

        self.torch, self.model = torch, model
        self.device = next(model.parameters()).device
        self.rows: list[Sequence] = []
        self.cache: Any = None
        self.mask: Any = None  # (rows, positions): 1 on a token, 0 on padding
        self.lengths: list[int] = []
        self.seconds = 0.0
        self.one = float("inf")
        self._warm = False

    def join(self, seqs: list[Sequence], cache: Any) -> None:
        """Add prefilled sequences sharing one prompt: its cache (one row) repeated for each, and the batch's,
        left-padded to the longer, then stacked."""
        torch = self.torch
        length, count = cache.get_seq_length(), len(seqs)
        if count > 1:
            for layer in cache.layers:
                layer.keys = layer.keys.repeat(count, 1, 1, 1)
                layer.values = layer.values.repeat(count, 1, 1, 1)
        ones = torch.ones(count, length, dtype=torch.long, device=self.device)
        if self.cache is None:
            from .kv_cache import append_in_place  # imports transformers, as the batch's model needs anyway

            self.cache, self.mask = append_in_place(cache), ones  # a step writes in place (no torch.cat)
        else:
            total = max(length, self.mask.shape[1])
            for mine, theirs in zip(self.cache.layers, cache.layers, strict=True):
                mine.keys = torch.cat([_pad(mine.keys, total), _pad(theirs.keys, total)])
                mine.values = torch.cat([_pad(mine.values, total), _pad(theirs.values, total)])
            self.mask = torch.cat([_pad(self.mask, total, dim=1), _pad(ones, total, dim=1)])
        self.rows.extend(seqs)
        self.lengths.extend([length] * count)

    def step(self, window: list[int] | None = None) -> Any:
        """One forward over each row's newest token (or, with one row, over `window`); logits (rows, vocab), or
        (1, len(window), vocab). The new keys and values are appended to the cache."""
        torch = self.torch
        tokens = [[s._out.last] for s in self.rows] if window is None else [window]
        width = len(tokens[0])
        ids = torch.tensor(tokens, device=self.device)
        positions = torch.tensor([[n + i for i in range(width)] for n in self.lengths], device=self.device)
        self.mask = torch.cat([self.mask, torch.ones(len(tokens), width, dtype=torch.long, device=self.device)], 1)
        padded = not bool(self.mask.all())
        started = _clock()
        with torch.inference_mode():
            # Without padding no mask is passed: a lone sequence runs exactly as `reasoning.decoding` runs it.
            logits = self.model(input_ids=ids, cache=self.cache, position_ids=positions, use_cache=True,
                                attention_mask=self.mask if padded else None).logits  # fmt: skip
        if len(tokens) == 1 and self.device.type != "cpu":
            torch.accelerator.synchronize(self.device)  # an accelerator's forward has not finished when it returns
        self.seconds = _clock() - started
        if len(tokens) == 1 and width == 1:  # a one-row one-token step: greedy's cost (the first one untimed)
            if self._warm:
                self.one = min(self.one, self.seconds)
            self._warm = True
        self.lengths = [n + width for n in self.lengths]
        return logits[:, -1] if window is None else logits

    def keep(self, count: int, width: int) -> None:
        """After a `window` step: keep the first `count` of its `width` positions, drop the others."""
        if width > count:
            self.cache.crop(-(width - count))
            self.mask = self.mask[:, : self.mask.shape[1] - (width - count)]
            self.lengths = [n - (width - count) for n in self.lengths]

    def drop(self, leaving: list[Sequence], pool: NGramPool | None) -> None:
        """Remove `leaving`'s rows from the cache, trim the padding columns no row needs, and let them go."""
        if not leaving:
            return
        torch = self.torch
        keep = [i for i, s in enumerate(self.rows) if s not in leaving]
        if keep:
            index = torch.tensor(keep, device=self.device)
            mask = self.mask[index]
            first = int(mask.any(dim=0).long().argmax())  # padding columns before it are empty in every row
            for layer in self.cache.layers:
                layer.keys = layer.keys[index, :, first:]
                layer.values = layer.values[index, :, first:]
            self.mask = mask[:, first:]
        else:
            self.cache = self.mask = None
        self.rows = [self.rows[i] for i in keep]
        self.lengths = [self.lengths[i] for i in keep]
        for seq in leaving:
            _leave(seq, pool)
