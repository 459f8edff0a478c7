"""A Hugging Face causal LM in torch with a KV cache, on CPU or GPU (the `[local]` extra).

Decoding is ours (`reasoning.decoding`: greedy, its parallel equivalents, sampling) rather than `generate()`, because
the parallel (Jacobi) decoders build on it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

from ..decoding import OnCommit, decode, sample
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
    decoding:
        The default for greedy requests (temperature 0) that name none (`GenerationRequest.decoding`): a
        `DecodingConfig` selects greedy or a parallel (Jacobi-family) mode; the output is the same, the number of
        model calls differs (each completion's `decoding` stats report them).
    prefix_cache_tokens:
        Positions of recent prompts' keys and values kept for reuse (`reasoning.prefix_cache`): a prompt sharing a
        prefix with one of them runs only the rest. 0 turns it off; `prefix_cache.stats` counts prompt tokens sent,
        reused and computed.

    Calls run one at a time on the model's own worker thread; a cancelled call stops before its next forward, and
    `aclose()` returns once the calls in flight have stopped (`WorkerThread`); later calls raise `BackendError`.
    `stream` yields the text as the decoder commits tokens (a stop string never, half a character never).
    """

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
    ) -> None:
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
        eos = self.model.generation_config.eos_token_id
        eos_ids = list(eos) if isinstance(eos, list) else [eos]
        if self.tokenizer.eos_token_id is not None:
            eos_ids.append(self.tokenizer.eos_token_id)
        self.eos_token_ids = frozenset(int(i) for i in eos_ids if i is not None)
        self.decoding = decoding
        self.prefix_cache = PrefixCache(prefix_cache_tokens) if prefix_cache_tokens > 0 else None

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
        prompt_ids = self.encode(request)
        completions = []
        for i in range(request.n):
            seed = request.sample_seed(i)  # sample k of the whole request: seed + k
            if seed is None:
                seed = time.time_ns() % (2**31) + i
            try:
                completions.append(await self._worker.run(self._decode, prompt_ids, request, seed))
            except RuntimeError as exc:
                raise BackendError(f"torch decoding failed: {exc}", model=self.name) from None
        return GenerationResult(model=self.name, completions=tuple(completions), prompt_tokens=len(prompt_ids))

    async def stream(self, request: GenerationRequest) -> AsyncIterator[CompletionDelta]:
        prompt_ids = self.encode(request)
        for i in range(request.n):
            seed = request.sample_seed(i)  # as `generate`: sample k of the whole request gets seed + k
            if seed is None:
                seed = time.time_ns() % (2**31) + i

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
                async for delta in self._worker.stream(run):
                    yield delta
            except RuntimeError as exc:
                raise BackendError(f"torch decoding failed: {exc}", model=self.name) from None

    async def aclose(self) -> None:
        """Stop the calls in flight (before their next forward) and end the worker thread; the weights go with the
        object."""
        await self._worker.close()

    def _decode(self, prompt_ids: list[int], request: GenerationRequest, seed: int,
                on_commit: OnCommit | None = None) -> Completion:  # fmt: skip
        """One sample of `request` after `prompt_ids`: greedy at temperature 0 (by the request's or the model's
        decoding mode), else sampled with `seed`. `on_commit(tokens)` gets the output tokens as they are made."""

        def stop(tokens: list[int]) -> bool:
            self._worker.checkpoint()  # asked after each commit: an abandoned call stops here, between forwards
            if not request.stop:
                return False
            # Stop strings are matched on the decoded text (and cut below), as OpenAI servers do.
            return _first_stop(self.tokenizer.decode(tokens, skip_special_tokens=True), request.stop) is not None

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
        text = self.tokenizer.decode(result.tokens, skip_special_tokens=True)
        cut = _first_stop(text, request.stop) if request.stop else None
        if cut is not None:
            text = text[:cut]
        stats = DecodingStats(mode=mode, model_calls=result.model_calls, tokens_per_call=result.tokens_per_call,
                              seconds=result.seconds, fell_back=result.fell_back)  # fmt: skip
        finish: FinishReason = "stop" if result.finish == "stop" else "length"
        return Completion(text=text, finish_reason=finish, completion_tokens=len(result.tokens), decoding=stats)


def _check_transformers() -> None:
    # Our decoding loops pass the KV cache as `cache=` (transformers >= 5.24); older releases that call it
    # `past_key_values` silently ignore the unknown argument and decode garbage without a cache.
    from importlib.metadata import version

    found = version("transformers")
    parts = [int(p) if p.isdigit() else 0 for p in found.split(".")[:2]]
    if tuple(parts) < (5, 24):
        raise ConfigurationError(f"the torch backend needs transformers >= 5.24 (found {found})")


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    positions = [p for p in (text.find(s) for s in stops) if p >= 0]
    return min(positions) if positions else None
