"""The one interface every model backend implements."""

from __future__ import annotations

import abc
from types import TracebackType

from ..types import GenerationRequest, GenerationResult

__all__ = ["LanguageModel"]


class LanguageModel(abc.ABC):
    """An async text generator: one method, closable, usable as an async context manager.

    Backends do not retry, cache or rate-limit: the `Engine` does that for all of them alike.
    `name` identifies the model in cache keys, logs and errors.
    """

    name: str

    @abc.abstractmethod
    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Return `request.n` completions, or raise a `BackendError`."""

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
