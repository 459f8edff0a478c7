"""The request and result types every backend speaks.

A `GenerationRequest` is either a plain prompt (completion) or a list of chat messages, plus sampling options.
A `GenerationResult` holds `n` completions, each with its text, finish reason and token count; a backend that
streams (`LanguageModel.stream`) yields them in pieces, as `CompletionDelta`s.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "MAX_SAMPLES",
    "Completion",
    "CompletionDelta",
    "DecodingConfig",
    "DecodingMode",
    "DecodingStats",
    "FinishReason",
    "GenerationRequest",
    "GenerationResult",
    "Message",
]

FinishReason = Literal["stop", "length", "error", "unknown"]
MAX_SAMPLES = 1024  # the most samples one request may ask for (`GenerationRequest.n`)
DecodingMode = Literal["greedy", "jacobi", "gs_jacobi", "hybrid", "sliding", "lookahead"]


class DecodingConfig(BaseModel):
    """How a local model decodes a greedy (temperature 0) request; see `reasoning.decoding` for the modes.

    Every mode gives the greedy output (exactly, in fp32); they differ in model calls. `block` is the window
    (forward width) of every mode except `jacobi`, whose window is the whole continuation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: DecodingMode = "greedy"
    block: int = Field(default=16, ge=1, le=512)
    ngram: int = Field(default=3, ge=1, le=64)  # lookahead: match this many trailing tokens (down to 1)
    fallback: bool = True  # switch to greedy once the mode has lost more time than allowed below
    fallback_max_loss: float = Field(default=0.02, ge=0.0)  # the loss allowed, as a share of greedy's time
    fallback_grace: float = Field(default=2.0, ge=0.0)  # plus this many one-token forwards' time


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class GenerationRequest(BaseModel):
    """What to generate: a prompt *or* chat messages, and how to sample.

    `n` is the number of samples. `seed`, where the backend honours it, makes sampling repeatable. `sample_offset`
    numbers the samples: they are samples `sample_offset .. sample_offset + n - 1` of this request, and every
    backend draws sample `k` with seed `seed + k`, so sample `k` is the same however it is fetched (alone, in a
    run, or after a cache filled the others). `decoding` picks a parallel (Jacobi-family) decoder for greedy
    requests on backends that have one (the torch backend, our server); it changes the number of model calls, not
    the output, so it is not part of the cache key, nor is `sample_offset` (the cache keys each sample by its
    number).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    n: int = Field(default=1, ge=1, le=MAX_SAMPLES)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=256, ge=1)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    sample_offset: int = Field(default=0, ge=0)
    decoding: DecodingConfig | None = None

    @field_validator("decoding", mode="before")
    @classmethod
    def _mode_name(cls, value: Any) -> Any:
        # `decoding="lookahead"` is short for `decoding=DecodingConfig(mode="lookahead")`.
        return {"mode": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _prompt_xor_messages(self) -> GenerationRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        if self.messages is not None and not self.messages:
            raise ValueError("`messages` must not be empty")
        return self

    @classmethod
    def chat(cls, content: str, *, system: str | None = None, **options: Any) -> GenerationRequest:
        """A one-turn chat request: an optional system message, then `content` as the user."""
        messages = [Message(role="system", content=system)] if system is not None else []
        messages.append(Message(role="user", content=content))
        return cls(messages=tuple(messages), **options)

    @property
    def is_chat(self) -> bool:
        return self.messages is not None

    def sampling_key(self) -> dict[str, Any]:
        """Everything that defines one sample's distribution: the request less `n`, `sample_offset` and
        `decoding`."""
        return self.model_dump(mode="json", exclude={"n", "sample_offset", "decoding"})

    def sample_seed(self, index: int) -> int | None:
        """The seed of the request's `index`-th sample (0-based within this request): `seed + sample_offset +
        index`, or None without a seed."""
        return None if self.seed is None else self.seed + self.sample_offset + index

    def digest(self) -> str:
        """A stable hash of the whole request (used in logs; never contains secrets)."""
        # `sample_offset` 0 is left out, so a request's hash is what it was before the field existed.
        dump = self.model_dump(mode="json", exclude={"sample_offset"} if self.sample_offset == 0 else None)
        blob = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class DecodingStats(BaseModel):
    """How one sample was decoded by a backend that reports it (the torch backend, our server).

    `tokens_per_call` is the output tokens over the model calls (the prompt's forward included); a cached sample
    has no stats. `batch_size` is the mean number of sequences in those calls (1: decoded alone; the torch
    backend's `reasoning.batching` decodes concurrent samples together), `speculative_calls` how many of them were
    lookahead steps taken while the sample decoded alone in a batch."""

    model_config = ConfigDict(frozen=True)

    mode: DecodingMode | Literal["sample"]
    model_calls: int
    tokens_per_call: float
    seconds: float
    fell_back: bool = False
    batch_size: float = 1.0
    speculative_calls: int = 0


class Completion(BaseModel):
    """One sample."""

    model_config = ConfigDict(frozen=True)

    text: str
    finish_reason: FinishReason = "unknown"
    completion_tokens: int = 0
    decoding: DecodingStats | None = None


class CompletionDelta(BaseModel):
    """A piece of one completion, as `LanguageModel.stream` yields it.

    `index` is the completion's number in the request (0 .. n-1); `text` the text that follows the pieces before
    (possibly empty; never part of a stop string, never half a character). The last delta of a completion has its
    `finish_reason`, and with it the completion's `completion_tokens`, the request's `prompt_tokens` and how the
    completion was decoded (`decoding`, where the backend reports it); earlier deltas have `finish_reason` None."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    text: str = ""
    finish_reason: FinishReason | None = None
    completion_tokens: int = 0
    prompt_tokens: int = 0
    decoding: DecodingStats | None = None


class GenerationResult(BaseModel):
    """The `n` completions of a request, with the model that produced them and the prompt's token count.

    `cached` counts how many completions came from the engine's cache rather than the backend; `billed_*` are the
    tokens the backend was actually paid for in producing this result (zero when all came from the cache); `shared`
    is true when another caller's identical request, already in flight, answered this one (billed to that caller).
    """

    model_config = ConfigDict(frozen=True)

    model: str
    completions: tuple[Completion, ...]
    prompt_tokens: int = 0
    cached: int = 0
    billed_prompt_tokens: int = 0
    billed_completion_tokens: int = 0
    shared: bool = False

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.completions]

    @property
    def text(self) -> str:
        """The first completion's text."""
        return self.completions[0].text

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.completions)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
