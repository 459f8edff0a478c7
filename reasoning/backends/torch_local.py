"""A Hugging Face causal LM in torch with a KV cache, on CPU or GPU (the `[local]` extra).

Decoding is ours (`reasoning.decoding`: greedy, its parallel equivalents, sampling) rather than `generate()`, because
the parallel (Jacobi) decoders build on it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import os
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal, cast

from ..batching import BatchStats, NGramPool, Sequence, decode_batch, sliding_window
from ..decoding import DecodeResult, OnCommit, Stop, decode, sample
from ..errors import BackendError, ConfigurationError, ModelFileError
from ..prefix_cache import DEFAULT_PREFIX_CACHE_TOKENS, PrefixCache
from ..types import (
    Completion,
    CompletionDelta,
    DecodingConfig,
    DecodingMode,
    DecodingStats,
    FinishReason,
    GenerationRequest,
    GenerationResult,
)
from .attention import use_packed_sdpa
from .base import LanguageModel
from .streaming import StreamedText
from .torch_dtype import AUTO, choose_dtype
from .worker import WorkerThread

__all__ = ["TorchModel"]


class TorchModel(LanguageModel):
    """A causal LM loaded with transformers, decoded token by token with a KV cache.

    Parameters
    ----------
    path:
        A Hugging Face model folder (weights, config, tokenizer). `TorchModel.embedded()` converts and caches the
        embedded GGUF model once, then loads the folder.
    dtype:
        `"float32"`, `"bfloat16"`, `"float16"`, or `"auto"` (the default): bf16 where `device` computes it natively
        (a CPU with avx512_bf16 or AMX, a CUDA GPU), else fp32 (`reasoning.backends.torch_dtype`; bf16 forwards are
        ~2.6x faster there, and their output may differ from fp32 at near ties). `dtype_choice` says which and why.
    device:
        `"cpu"`, `"cuda"`, ...
    threads:
        torch's CPU threads (`torch.set_num_threads`; default: torch's, the core count). They wait passively
        between parallel regions (`OMP_WAIT_POLICY=PASSIVE`, set before torch first loads unless the environment
        sets it; it cannot apply if torch was imported before): beside one busy thread a sampled replay took 147.5
        s passive against 339.2 s spinning, on a quiet machine 116.1 s against 105.0 s (BENCHMARKS.md, 2026-12-02).
        Set `OMP_WAIT_POLICY=ACTIVE` before starting Python for the last ~10% on a machine of your own.
    decoding:
        The default for greedy requests (temperature 0) that name none (`GenerationRequest.decoding`): a
        `DecodingConfig` selects greedy or a parallel (Jacobi-family) mode; the output is the same, the number of
        model calls differs (each completion's `decoding` stats report them).
    prefix_cache_tokens:
        Positions of recent prompts' keys and values kept for reuse (`reasoning.prefix_cache`): a prompt sharing a
        prefix with one of them runs only the rest. 0 turns it off; `prefix_cache.stats` counts prompt tokens sent,
        reused and computed.

    max_batch:
        At most this many samples decode together (`reasoning.batching`): the `n` samples of a request and the
        requests that arrive while a batch decodes join it between two steps (sampled requests, and greedy ones in
        greedy mode; a parallel mode decodes its request alone). 1 turns batching off: every sample decodes on its
        own, one after the other (as a model with sliding-window attention layers, Mistral or Gemma 2, always does:
        the batch's padded cache does not fit their windowed one). In fp32 a batched sample is token for token the
        sample decoded alone. The `n` samples of a request share one prefill. `batch_stats`
        (`reasoning.batching.BatchStats`) adds up the time spent in prefills, decoding steps and cache copies.
    speculate:
        The lookahead window (tokens per forward) used when a single greedy sample is left in the batch and nothing
        waits (default 4; 0 or 1: none); its guesses are n-grams: what followed its newest tokens in the recent
        outputs of all requests (a shared, bounded pool), else in its own prompt and output, else its Jacobi
        trajectory. The output is greedy's (exactly, in fp32). Its steps are timed against a one-token step, and a
        sample whose lookahead has lost more time than `decoding`'s fallback allows (default `DecodingConfig()`:
        2% of greedy's time plus two one-token steps) decodes one token a step from then on (`fell_back`).

    Calls run on the model's own worker thread, one at a time or as one batch; a cancelled call stops before its
    next forward without stopping the others in its batch, and `aclose()` returns once the calls in flight have
    stopped (`WorkerThread`); later calls raise `BackendError`. `stream` yields the text as the decoder commits
    tokens (a stop string never, half a character never; the samples of a batched request interleave).
    Each completion's `decoding` stats report its model calls and the mean batch size it decoded in.
    """

    max_batch = 1  # set by __init__; an object built without it (a test's stand-in) decodes each sample alone
    speculate = 0  # set by __init__ (default 4); a stand-in built without it never speculates

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        dtype: str = AUTO,
        device: str = "cpu",
        threads: int | None = None,
        decoding: DecodingConfig | None = None,
        prefix_cache_tokens: int = DEFAULT_PREFIX_CACHE_TOKENS,
        max_batch: int = 32,
        speculate: int = 4,
    ) -> None:
        # torch's OpenMP threads spin between parallel regions by default; beside other work (the event loop, a
        # second process, a loaded CI runner) a spinning thread holds a core that work needs: 2.3x slower on the
        # sampled `--steps 2` replay beside one busy thread (BENCHMARKS.md). OpenMP reads the setting when torch
        # loads, so it is set before that, as `LlamaCppModel` does, and a user's own OMP_WAIT_POLICY wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise ConfigurationError("the torch backend needs: pip install 'reasoning-toolkit[local]'") from None
        _check_transformers()
        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise ModelFileError(f"{folder} is not a Hugging Face model folder (no config.json)")
        try:
            self.dtype_choice = choose_dtype(device, dtype)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        if threads is not None:
            torch.set_num_threads(threads)
        self.name = name or folder.name
        self.device = device
        self.dtype = self.dtype_choice.dtype
        tokenizer_cls: Any = AutoTokenizer
        model_cls: Any = AutoModelForCausalLM
        self.tokenizer: Any = tokenizer_cls.from_pretrained(str(folder))
        self.model: Any = model_cls.from_pretrained(str(folder), dtype=getattr(torch, self.dtype))
        self.model.to(device).eval()
        self.packed_attention = use_packed_sdpa(self.model)  # a decoding step's GQA on the kv heads (CPU)
        eos = self.model.generation_config.eos_token_id
        eos_ids = list(eos) if isinstance(eos, list) else [eos]
        if self.tokenizer.eos_token_id is not None:
            eos_ids.append(self.tokenizer.eos_token_id)
        self.eos_token_ids = frozenset(int(i) for i in eos_ids if i is not None)
        self.decoding = decoding
        self.prefix_cache = PrefixCache(prefix_cache_tokens) if prefix_cache_tokens > 0 else None
        if max_batch < 1:
            raise ConfigurationError(f"max_batch must be at least 1 (got {max_batch})")
        if sliding_window(self.model):  # the batch's left-padded cache does not fit a windowed one (not built),
            max_batch, speculate = 1, 0  # and a window cannot be rolled back (lookahead, the parallel modes)
            if decoding is not None and decoding.mode != "greedy":
                raise ConfigurationError(
                    f"{folder.name} has sliding-window attention layers: {decoding.mode} "
                    "decoding rolls the KV cache back, which they cannot do; use greedy"
                )
        self.max_batch, self.speculate = max_batch, speculate
        self._queue: collections.deque[Sequence] = collections.deque()  # waiting to join the batch
        self._queue_lock = threading.Lock()
        self._inflight: dict[Sequence, Callable[[], None]] = {}  # submitted, not yet left: how to tell its caller
        self._driver: asyncio.Task[None] | None = None
        self._ngrams = NGramPool()
        self.batch_stats = BatchStats()

    @functools.cached_property
    def _worker(self) -> WorkerThread:
        return WorkerThread(self.name)  # its thread starts with the first call

    @classmethod
    def embedded(cls, **options: Any) -> TorchModel:
        from ..embedded import EMBEDDED_MODEL, embedded_hf_dir

        return cls(embedded_hf_dir(), name=EMBEDDED_MODEL.name, **options)

    def encode(self, request: GenerationRequest) -> list[int]:
        """Token ids of the prompt, with the chat template applied for chat requests."""
        if request.messages is not None:
            messages = [m.model_dump() for m in request.messages]
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return list(self.tokenizer(request.prompt or "")["input_ids"])

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        prompt_ids = self._prompt_ids(request)
        if self._batched(request):
            sequences = [self._sequence(prompt_ids, request, i) for i in range(request.n)]
            await self._decode_together(sequences)
            done = tuple(self._completion(s.result, request, s) for s in sequences)
            return GenerationResult(model=self.name, completions=done, prompt_tokens=len(prompt_ids))
        completions = []
        for i in range(request.n):
            seed = _seed(request, i)
            try:
                completions.append(await self._worker.run(self._decode, prompt_ids, request, seed))
            except (RuntimeError, ValueError) as exc:  # torch's; ValueError: logits with nothing to draw from
                raise BackendError(f"torch decoding failed: {exc}", model=self.name) from None
        return GenerationResult(model=self.name, completions=tuple(completions), prompt_tokens=len(prompt_ids))

    async def stream(self, request: GenerationRequest) -> AsyncIterator[CompletionDelta]:
        prompt_ids = self._prompt_ids(request)
        if self._batched(request):
            # Closed with this generator (aclose, a consumer's error): its samples leave the batch before it returns.
            async with contextlib.aclosing(self._stream_together(prompt_ids, request)) as deltas:
                async for delta in deltas:
                    yield delta
            return
        for i in range(request.n):
            seed = _seed(request, i)

            def run(emit: Callable[[CompletionDelta], None], index: int = i, seed: int = seed) -> None:
                # On the worker thread: the output so far re-decoded after each commit; what is final goes out.
                text, tokens = StreamedText(request.stop), list[int]()

                def on_commit(new: list[int]) -> None:
                    tokens.extend(new)
                    piece = text.update(self.tokenizer.decode(tokens, skip_special_tokens=True))
                    if piece:
                        emit(CompletionDelta(index=index, text=piece))

                done = self._decode(prompt_ids, request, seed, on_commit)
                emit(CompletionDelta(index=index, text=text.finish(done.text), finish_reason=done.finish_reason,
                                     completion_tokens=done.completion_tokens, prompt_tokens=len(prompt_ids),
                                     decoding=done.decoding))  # fmt: skip

            try:
                stream = cast(AsyncGenerator[CompletionDelta, None], self._worker.stream(run))  # an async generator
                async with contextlib.aclosing(stream) as deltas:
                    async for delta in deltas:
                        yield delta
            except (RuntimeError, ValueError) as exc:  # torch's; ValueError: logits with nothing to draw from
                raise BackendError(f"torch decoding failed: {exc}", model=self.name) from None

    def _prompt_ids(self, request: GenerationRequest) -> list[int]:
        """`encode(request)`; raises `BackendError` if it has no tokens (an empty prompt: nothing to predict from),
        or if it cannot be encoded (chat messages for a tokenizer without a chat template)."""
        try:
            prompt_ids = self.encode(request)
        except ValueError as exc:  # transformers: "Cannot use chat template functions because ... is not set"
            raise BackendError(f"cannot encode the request: {exc}", model=self.name) from None
        if not prompt_ids:
            raise BackendError("the prompt has no tokens (an empty prompt): the model needs at least one",
                               model=self.name)  # fmt: skip
        return prompt_ids

    async def aclose(self) -> None:
        """Stop the calls in flight (before their next forward) and end the worker thread; the weights go with the
        object."""
        await self._worker.close()

    def _decode(self, prompt_ids: list[int], request: GenerationRequest, seed: int,
                on_commit: OnCommit | None = None) -> Completion:  # fmt: skip
        """One sample of `request` after `prompt_ids`: greedy at temperature 0 (by the request's or the model's
        decoding mode), else sampled with `seed`. `on_commit(tokens)` gets the output tokens as they are made."""

        matches = self._stop(request)

        def stop(tokens: list[int]) -> bool:
            self._worker.checkpoint()  # asked after each commit: an abandoned call stops here, between forwards
            return matches is not None and matches(tokens)

        options: dict[str, Any] = dict(max_tokens=request.max_tokens, eos=self.eos_token_ids, stop=stop,
                                       on_commit=on_commit, prefix_cache=self.prefix_cache)  # fmt: skip
        if request.temperature == 0.0:
            config = request.decoding or self.decoding or DecodingConfig()
            result = decode(self.model, prompt_ids, config=config, **options)
            mode: DecodingMode | Literal["sample"] = config.mode
        else:
            result = sample(self.model, prompt_ids, temperature=request.temperature, top_p=request.top_p, seed=seed,
                            **options)  # fmt: skip
            mode = "sample"
        return self._completion(result, request, None, mode)

    def _stop(self, request: GenerationRequest) -> Stop | None:
        """Whether the output tokens so far contain one of the request's stop strings (None if it has none)."""
        if not request.stop:
            return None
        stops = request.stop

        def stop(tokens: list[int]) -> bool:
            # Stop strings are matched on the decoded text (and cut in `_completion`), as OpenAI servers do.
            return _first_stop(self.tokenizer.decode(tokens, skip_special_tokens=True), stops) is not None

        return stop

    def _completion(self, result: DecodeResult, request: GenerationRequest, batched: Sequence | None,
                    mode: DecodingMode | Literal["sample"] | None = None) -> Completion:  # fmt: skip
        """The completion of a decoded sample (`batched`: its sequence in the batch): its text cut at the first
        stop string, and its stats."""
        text = self.tokenizer.decode(result.tokens, skip_special_tokens=True)
        cut = _first_stop(text, request.stop) if request.stop else None
        if cut is not None:
            text = text[:cut]
        extra: dict[str, Any] = {}
        if batched is not None:
            mode = "greedy" if batched.greedy else "sample"
            sizes = batched.batch_sizes
            extra = dict(batch_size=sum(sizes) / len(sizes), speculative_calls=batched.speculative)
        assert mode is not None
        stats = DecodingStats(mode=mode, model_calls=result.model_calls, tokens_per_call=result.tokens_per_call,
                              seconds=result.seconds, fell_back=result.fell_back, **extra)  # fmt: skip
        finish: FinishReason = "stop" if result.finish == "stop" else "length"
        return Completion(text=text, finish_reason=finish, completion_tokens=len(result.tokens), decoding=stats)

    # Batched decoding: requests hand their samples to a queue; one call on the worker (the driver's) decodes the
    # queue as one batch that newcomers join between steps, until the queue and the batch are empty.

    def _batched(self, request: GenerationRequest) -> bool:
        """Whether `request` decodes in the shared batch: sampled, or greedy in greedy mode (not a parallel one)."""
        if self.max_batch <= 1:
            return False
        return request.temperature != 0.0 or (request.decoding or self.decoding or DecodingConfig()).mode == "greedy"

    def _sequence(self, prompt_ids: list[int], request: GenerationRequest, index: int,
                  on_commit: OnCommit | None = None) -> Sequence:  # fmt: skip
        return Sequence(prompt_ids, request.max_tokens, self.eos_token_ids, stop=self._stop(request),
                        on_commit=on_commit, temperature=request.temperature, top_p=request.top_p,
                        seed=_seed(request, index), cancel=threading.Event())  # fmt: skip

    async def _decode_together(self, sequences: list[Sequence]) -> None:
        """Queue `sequences` for the batch and wait until each has left it. If cancelled meanwhile: they leave
        (those not started at once, the others before their next forward), and `CancelledError` is raised once
        they have. Raises `BackendError` if one failed (a callback raised, the model was closed)."""
        if self._worker.closed:
            raise BackendError("the model is closed", model=self.name)
        loop = asyncio.get_running_loop()
        all_left: asyncio.Future[None] = loop.create_future()
        remaining = len(sequences)

        def left() -> None:  # on the event loop, once per sequence
            nonlocal remaining
            remaining -= 1
            if remaining == 0 and not all_left.done():
                all_left.set_result(None)

        for seq in sequences:
            self._inflight[seq] = left
            seq.on_leave = functools.partial(_call_soon, loop, self._left)
        with self._queue_lock:
            self._queue.extend(sequences)
        if self._driver is None or self._driver.done() or self._driver.get_loop() is not loop:
            self._driver = asyncio.ensure_future(self._drive())
        try:
            await asyncio.wait([all_left])  # unlike awaiting it, cancelling this wait leaves the future alone
        except asyncio.CancelledError:
            for seq in sequences:
                seq.cancel.set()  # a running sequence leaves before its next forward
            with self._queue_lock:
                queued = [s for s in sequences if s in self._queue]
                for seq in queued:
                    self._queue.remove(seq)  # one not started never starts
            for seq in queued:
                self._left(seq)
            while not all_left.done():
                try:
                    await asyncio.wait([all_left])
                except asyncio.CancelledError:
                    pass
            raise
        failed = next((s.error for s in sequences if s.error is not None), None)
        if isinstance(failed, BackendError):
            raise failed
        if failed is not None:
            raise BackendError(f"torch decoding failed: {failed}", model=self.name) from None

    def _left(self, seq: Sequence) -> None:
        # On the event loop: `seq` has left the batch; tell its caller (once).
        left = self._inflight.pop(seq, None)
        if left is not None:
            left()

    async def _drive(self) -> None:
        # Decode the queue on the worker until it is empty (a request queued while the call returns starts another).
        while self._queue:
            try:
                await self._worker.run(self._decode_queue)
            except Exception as exc:  # the model was closed, or decoding failed: every sequence in flight fails
                self._fail_inflight(exc if isinstance(exc, BackendError) else
                                    BackendError(f"torch decoding failed: {exc}", model=self.name))  # fmt: skip
                return
            except asyncio.CancelledError:
                # This driver's event loop is shutting down (asyncio.run's end): the sequences its batch took, some
                # maybe another loop's, would otherwise wait for it forever.
                self._fail_inflight(BackendError("the batch stopped: its event loop was shut down", model=self.name))
                raise

    def _fail_inflight(self, error: BackendError) -> None:
        # Every sequence queued or in flight (none is decoding: the worker has let go) fails with `error`; each
        # caller is told on its own event loop.
        with self._queue_lock:
            self._queue.clear()
        for seq in list(self._inflight):
            if seq.result is None and seq.error is None:
                seq.error = error
            try:
                seq.on_leave(seq) if seq.on_leave is not None else self._left(seq)
            except RuntimeError:  # its event loop is closed: nobody waits for it
                self._inflight.pop(seq, None)

    def _decode_queue(self) -> None:
        # On the worker thread: one batch, joined by whatever is queued between steps.
        def joining() -> list[Sequence]:
            with self._queue_lock:
                taken = list(self._queue)
                self._queue.clear()
            return taken

        decode_batch(self.model, [], joining=joining, checkpoint=self._worker.checkpoint, max_batch=self.max_batch,
                     speculate=self.speculate, pool=self._ngrams, prefix_cache=self.prefix_cache,
                     stats=self.batch_stats, config=self.decoding)  # fmt: skip

    async def _stream_together(self, prompt_ids: list[int], request: GenerationRequest
                               ) -> AsyncGenerator[CompletionDelta, None]:  # fmt: skip
        """`stream` for a batched request: its samples decode together, their deltas interleave."""
        deltas: asyncio.Queue[CompletionDelta] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def watcher(index: int) -> tuple[StreamedText, OnCommit]:
            text, tokens = StreamedText(request.stop), list[int]()

            def on_commit(new: list[int]) -> None:  # on the worker thread: what is final goes out
                tokens.extend(new)
                piece = text.update(self.tokenizer.decode(tokens, skip_special_tokens=True))
                if piece:
                    loop.call_soon_threadsafe(deltas.put_nowait, CompletionDelta(index=index, text=piece))

            return text, on_commit

        watchers = [watcher(i) for i in range(request.n)]
        sequences = [self._sequence(prompt_ids, request, i, on_commit=w[1]) for i, w in enumerate(watchers)]
        together = asyncio.ensure_future(self._decode_together(sequences))
        try:
            while not together.done() or not deltas.empty():
                if not deltas.empty():
                    yield deltas.get_nowait()
                    continue
                getter = asyncio.ensure_future(deltas.get())
                await asyncio.wait([getter, together], return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                else:
                    getter.cancel()
            together.result()
            for i, ((text, _), seq) in enumerate(zip(watchers, sequences, strict=True)):
                done = self._completion(seq.result, request, seq)
                yield CompletionDelta(index=i, text=text.finish(done.text), finish_reason=done.finish_reason,
                                      completion_tokens=done.completion_tokens, prompt_tokens=len(prompt_ids),
                                      decoding=done.decoding)  # fmt: skip
        finally:
            if not together.done():
                together.cancel()  # its samples leave the batch before their next forward
                try:
                    await together
                except asyncio.CancelledError:
                    pass


def _check_transformers() -> None:
    # Our decoding loops pass the KV cache as `cache=` (transformers >= 5.24); older releases that call it
    # `past_key_values` silently ignore the unknown argument and decode garbage without a cache.
    from importlib.metadata import version

    found = version("transformers")
    parts = [int(p) if p.isdigit() else 0 for p in found.split(".")[:2]]
    if tuple(parts) < (5, 24):
        raise ConfigurationError(f"the torch backend needs transformers >= 5.24 (found {found})")


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[Sequence], None], seq: Sequence) -> None:
    loop.call_soon_threadsafe(fn, seq)  # from the worker thread to the event loop


def _seed(request: GenerationRequest, index: int) -> int:
    # Sample k of the whole request gets seed + k; without a seed, one from the clock.
    seed = request.sample_seed(index)
    return time.time_ns() % (2**31) + index if seed is None else seed


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    positions = [p for p in (text.find(s) for s in stops) if p >= 0]
    return min(positions) if positions else None
