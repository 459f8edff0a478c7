"""Model backends behind the one `LanguageModel` interface. Heavy ones import their libraries lazily."""

from __future__ import annotations

from typing import Any

from .base import LanguageModel
from .openai_compat import OpenAICompatibleModel
from .pool import EndpointPool, EndpointStats

__all__ = [
    "EndpointPool",
    "EndpointStats",
    "LanguageModel",
    "OpenAICompatibleModel",
    "embedded_model",
    "fastest_embedded_backend",
]


def fastest_embedded_backend() -> str:
    """`"llamacpp"` where llama-cpp-python imports (several times faster on a CPU), else `"torch"`."""
    import importlib.util

    return "llamacpp" if importlib.util.find_spec("llama_cpp") is not None else "torch"


def embedded_model(backend: str | None = None, **options: Any) -> LanguageModel:
    """The embedded default model on `backend` (`"llamacpp"`, `"torch"`; default: the fastest available)."""
    from ..errors import ConfigurationError

    backend = backend or fastest_embedded_backend()
    if backend == "llamacpp":
        from .llamacpp import LlamaCppModel

        return LlamaCppModel.embedded(**options)
    if backend == "torch":
        from .torch_local import TorchModel

        return TorchModel.embedded(**options)
    raise ConfigurationError(f"unknown local backend {backend!r}; choose 'llamacpp' or 'torch'")
