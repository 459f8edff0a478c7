"""The one interface every model backend implements."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from types import TracebackType

from ..types import CompletionDelta, GenerationRequest, GenerationResult

__all__ = ["LanguageModel"]


class LanguageModel(abc.ABC):
    """An async text generator: one method, closable, usable as an async context manager; optionally streaming.

    Backends do not retry, cache or rate-limit: the `Engine` does that for all of them alike.
    `name` identifies the model in cache keys, logs and errors.
    """

    name: str

    @abc.abstractmethod
    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Return `request.n` completions, or raise a `BackendError`."""

    async def stream(self, request: GenerationRequest) -> AsyncIterator[CompletionDelta]:
        """The `request.n` completions in pieces, as they are made: each completion's deltas in order, the last
        one with its finish reason (completions may interleave). Raises what `generate` raises.

        Closing the iterator early (or cancelling its consumer) stops the generation. This default calls `generate`
        and yields each completion whole; backends that decode token by token override it."""
        result = await self.generate(request)
        for index, completion in enumerate(result.completions):
            yield CompletionDelta(
                index=index,
                text=completion.text,
                finish_reason=completion.finish_reason,
                completion_tokens=completion.completion_tokens,
                prompt_tokens=result.prompt_tokens,
                decoding=completion.decoding,
            )

    async def aclose(self) -> None:  # noqa: B027 - backends without resources need not override
        """Release connections, threads or weights."""

    async def __aenter__(self) -> LanguageModel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()
