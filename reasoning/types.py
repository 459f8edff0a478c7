"""The request and result types every backend speaks.

A `GenerationRequest` is either a plain prompt (completion) or a list of chat messages, plus sampling options.
A `GenerationResult` holds `n` completions, each with its text, finish reason and token count.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Completion", "FinishReason", "GenerationRequest", "GenerationResult", "Message"]

FinishReason = Literal["stop", "length", "error", "unknown"]


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class GenerationRequest(BaseModel):
    """What to generate: a prompt *or* chat messages, and how to sample.

    `n` is the number of samples. `seed`, where the backend honours it, makes sampling repeatable; for sample `i`
    backends that issue one call per sample use `seed + i` so samples stay distinct.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    n: int = Field(default=1, ge=1, le=1024)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=256, ge=1)
    stop: tuple[str, ...] = ()
    seed: int | None = None

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
        """Everything that defines one sample's distribution: the request less `n`."""
        return self.model_dump(mode="json", exclude={"n"})

    def digest(self) -> str:
        """A stable hash of the whole request (used in logs; never contains secrets)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Completion(BaseModel):
    """One sample."""

    model_config = ConfigDict(frozen=True)

    text: str
    finish_reason: FinishReason = "unknown"
    completion_tokens: int = 0


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
