"""Async LLM reasoning orchestration: one engine in front of any model, for tree-of-thought search, parallel
decoding, small-model plug-ins and chain-of-thought faithfulness audits."""

from .backends import (
    EndpointPool,
    LanguageModel,
    OpenAICompatibleModel,
    embedded_model,
    fastest_embedded_backend,
)
from .embedded import EMBEDDED_MODEL, embedded_gguf, embedded_hf_dir
from .engine import (
    Budget,
    CallLog,
    Engine,
    EngineConfig,
    Pricing,
    RateLimiter,
    ResponseCache,
    RetryPolicy,
    Spend,
)
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BackendError,
    BadRequestError,
    BudgetExceededError,
    CacheError,
    ConfigurationError,
    InterfaceError,
    MalformedResponseError,
    ModelFileError,
    RateLimitError,
    ReasoningError,
    SearchBudgetReached,
    ServerError,
    SessionClosedError,
)
from .search_budget import SearchBudget
from .serve import ModelServer
from .session import Session
from .testing import ScriptedModel
from .types import (
    Completion,
    CompletionDelta,
    DecodingConfig,
    DecodingStats,
    GenerationRequest,
    GenerationResult,
    Message,
)

__version__ = "0.1.0"

__all__ = [
    "EMBEDDED_MODEL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "BackendError",
    "BadRequestError",
    "Budget",
    "BudgetExceededError",
    "CacheError",
    "CallLog",
    "Completion",
    "CompletionDelta",
    "ConfigurationError",
    "DecodingConfig",
    "DecodingStats",
    "EndpointPool",
    "Engine",
    "EngineConfig",
    "GenerationRequest",
    "GenerationResult",
    "InterfaceError",
    "LanguageModel",
    "MalformedResponseError",
    "Message",
    "ModelFileError",
    "ModelServer",
    "OpenAICompatibleModel",
    "Pricing",
    "RateLimitError",
    "RateLimiter",
    "ReasoningError",
    "ResponseCache",
    "RetryPolicy",
    "ScriptedModel",
    "SearchBudget",
    "SearchBudgetReached",
    "ServerError",
    "Session",
    "SessionClosedError",
    "Spend",
    "__version__",
    "embedded_gguf",
    "embedded_hf_dir",
    "embedded_model",
    "fastest_embedded_backend",
]
