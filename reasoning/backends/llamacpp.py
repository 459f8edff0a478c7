"""llama.cpp in process (`llama-cpp-python`): the fastest way to run a GGUF model on a CPU."""

from __future__ import annotations

import functools
import os
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ..errors import BackendError, ConfigurationError, ModelFileError
from ..types import Completion, CompletionDelta, FinishReason, GenerationRequest, GenerationResult
from .base import LanguageModel
from .worker import WorkerThread

__all__ = ["LlamaCppModel"]


class LlamaCppModel(LanguageModel):
    """A GGUF model run by llama.cpp in this process.

    Calls run one at a time on the model's own worker thread (a llama.cpp context is not thread-safe), so the event
    loop stays free. A cancelled call stops before its next token; `aclose()` frees the context on that thread once
    the calls in flight have stopped (`WorkerThread`), and later calls raise `BackendError`.
    `LlamaCppModel.embedded()` loads the toolkit's embedded default model.

    Prompt prefix reuse: llama-cpp-python keeps the context's tokens between calls and runs only what follows the
    longest prefix a new prompt shares with them (the previous prompt and its completion). `prompt_cache_bytes`
    adds its `LlamaRAMCache`: the context's state after each call, kept by its tokens (least recently used out,
    at most that many bytes), restored when a prompt shares a longer prefix with one of them than with the context
    (a value prompt after a proposal finds the last value prompt's prefix there; ~3.8 MB a game-24 prompt).
    A reused prefix changes the numerics: a short tail runs through other kernels than a whole prompt's batch, so
    greedy text can differ from the whole prompt's at a near tie and depends on the calls before (3 of 10 game-24
    value prompts within 48 tokens); `reuse_prefix=False` runs every prompt whole, for output independent of
    history. `prompt_tokens_sent` and `prompt_tokens_evaluated` count the prompt tokens of all calls and those the
    model ran.

    Threads: `n_threads` (default: the CPU count, at most 8). The first model built in a process sets
    `OMP_WAIT_POLICY=PASSIVE` unless the environment sets it (llama.cpp's threads then sleep between forwards rather
    than spin, which stalls everything else on a busy machine); set `OMP_WAIT_POLICY=ACTIVE` for spinning. It has no
    effect if `llama_cpp` was imported before the first model was built.
    """

    # Set by __init__; an object built without it (a test's stand-in with a fake `Llama`) reuses prefixes and counts.
    reuse_prefix = True
    prompt_tokens_sent = 0
    prompt_tokens_evaluated = 0

    def __init__(
        self,
        model_path: str | Path,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        reuse_prefix: bool = True,
        prompt_cache_bytes: int = 0,
    ) -> None:
        # llama.cpp's OpenMP threads spin between forwards by default. On a machine with other work (a benchmark, a
        # second process, a loaded CI runner) spinning threads take the cores the others need: `reasoning game24 run
        # --method io --range 903-905` took 125 s with OMP_WAIT_POLICY=ACTIVE against 35 s passive, beside a running
        # benchmark on 2 cores (2026-12-01).
        # OpenMP reads the setting when its library loads (with llama_cpp, just below), so it is set before that,
        # and a user's own OMP_WAIT_POLICY wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_cache import LlamaRAMCache
        except ImportError:
            raise ConfigurationError(
                "the llama.cpp backend needs llama-cpp-python: pip install 'reasoning-toolkit[llamacpp]'"
            ) from None
        path = Path(model_path)
        if not path.is_file():
            raise ModelFileError(f"no model file at {path}")
        self.name = name or path.stem
        llama: Any = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads or max(1, min(os.cpu_count() or 1, 8)),
            verbose=False,
        )
        if prompt_cache_bytes > 0 and reuse_prefix:
            llama.set_cache(LlamaRAMCache(capacity_bytes=prompt_cache_bytes))
        self.reuse_prefix = reuse_prefix
        self.prompt_tokens_sent = 0  # every call's prompt tokens
        self.prompt_tokens_evaluated = 0  # those the model ran (the rest: a reused prefix)
        worker = self._worker
        self._prompt_tokens: int | None = None  # set on the thread by a call's first forward
        # `Llama.generate` runs one `eval` per forward (the prompt, then each token): checking there stops an
        # abandoned call between two forwards, with the context's state whole (the next call reuses its prefix).
        forward = llama.eval

        def eval_unless_abandoned(tokens: Any) -> None:
            worker.checkpoint()
            forward(tokens)
            if self._prompt_tokens is None:  # the call's first forward is its prompt's (after any reused prefix)
                self._prompt_tokens = int(llama.n_tokens)
                self.prompt_tokens_sent += self._prompt_tokens
                self.prompt_tokens_evaluated += len(tokens)

        llama.eval = eval_unless_abandoned
        self._llama = llama

    @functools.cached_property
    def _worker(self) -> WorkerThread:
        return WorkerThread(self.name)  # its thread starts with the first call

    @classmethod
    def embedded(cls, **options: Any) -> LlamaCppModel:
        from ..embedded import EMBEDDED_MODEL, embedded_gguf

        return cls(embedded_gguf(), name=EMBEDDED_MODEL.name, **options)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        completions: list[Completion] = []
        prompt_tokens = 0
        for i in range(request.n):
            # llama.cpp needs an explicit seed per sample or every sample would repeat the first.
            seed = request.sample_seed(i)  # sample k of the whole request: seed + k
            if seed is None:
                seed = random.getrandbits(31)
            try:
                out = await self._worker.run(self._run, request, seed)
            except ValueError as exc:  # e.g. the prompt is longer than the context
                raise BackendError(f"llama.cpp rejected the request: {exc}", model=self.name) from None
            choice = out["choices"][0]
            text = choice["message"]["content"] if request.is_chat else choice["text"]
            finish: FinishReason = "length" if choice.get("finish_reason") == "length" else "stop"
            usage = out.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens", 0))
            completions.append(
                Completion(
                    text=text or "",
                    finish_reason=finish,
                    completion_tokens=int(usage.get("completion_tokens", 0)),
                )
            )
        return GenerationResult(model=self.name, completions=tuple(completions), prompt_tokens=prompt_tokens)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[CompletionDelta]:
        for i in range(request.n):
            seed = request.sample_seed(i)
            if seed is None:
                seed = random.getrandbits(31)

            def run(emit: Callable[[CompletionDelta], None], index: int = i, seed: int = seed) -> None:
                self._stream_one(request, seed, index, emit)

            try:
                async for delta in self._worker.stream(run):
                    yield delta
            except ValueError as exc:
                raise BackendError(f"llama.cpp rejected the request: {exc}", model=self.name) from None

    def _stream_one(
        self, request: GenerationRequest, seed: int, index: int, emit: Callable[[CompletionDelta], None]
    ) -> None:
        """One sample with llama.cpp's streaming, on the thread: a delta per token, then one with the finish."""
        finish: FinishReason = "stop"
        tokens = 0
        for chunk in self._run(request, seed, stream=True):
            choice = chunk["choices"][0]
            piece = (choice.get("delta") or {}).get("content") if request.is_chat else choice.get("text")
            if piece:
                tokens += 1  # llama.cpp streams one chunk per token (what it held back comes with a later one)
                emit(CompletionDelta(index=index, text=piece))
            if choice.get("finish_reason") == "length":
                finish = "length"
        emit(CompletionDelta(index=index, finish_reason=finish, completion_tokens=tokens,
                             prompt_tokens=self._prompt_tokens or 0))  # fmt: skip

    def _run(self, request: GenerationRequest, seed: int, *, stream: bool = False) -> Any:
        options: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stop": list(request.stop) or None,
            "seed": seed,
            "stream": stream,
        }
        self._prompt_tokens = None
        if not self.reuse_prefix:
            self._llama.reset()  # the context forgets its tokens: the whole prompt runs
        if request.messages is not None:
            messages = [m.model_dump() for m in request.messages]
            return self._llama.create_chat_completion(messages=messages, **options)
        return self._llama.create_completion(prompt=request.prompt or "", **options)

    async def aclose(self) -> None:
        """Stop the calls in flight (before their next token), then free the model on its thread."""
        await self._worker.close(getattr(self._llama, "close", None))
