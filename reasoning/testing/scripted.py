"""A scripted `LanguageModel` for unit tests, yours and ours (like httpx's `MockTransport`)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable

from ..backends.base import LanguageModel
from ..errors import ConfigurationError
from ..types import Completion, GenerationRequest, GenerationResult

__all__ = ["ScriptedModel"]

Reply = str | Completion | BaseException
Handler = Callable[[GenerationRequest, int], Reply | Awaitable[Reply]]


def _approx_tokens(text: str) -> int:
    # Scripted text has no tokenizer; a whitespace count keeps accounting visible and deterministic.
    return max(1, len(text.split())) if text else 0


class ScriptedModel(LanguageModel):
    """Answers from a list of replies (consumed in order, one per sample) or a function of the request.

    A reply is a string, a `Completion`, or an exception to raise. A handler is called once per sample as
    `handler(request, sample_index)` and may be async; `sample_index` is the sample's number among all samples of
    the request (`request.sample_offset + i` for the request's `i`-th), so the engine's sample `k` always gets `k`,
    however it was fetched. `calls` records every request the model received, so tests
    can assert what was (or was not) sent.

    >>> model = ScriptedModel(["4 + 5 = 9 (left: 6 9 10)"])
    """

    def __init__(
        self,
        replies: Iterable[Reply] | Handler,
        *,
        name: str = "scripted",
        delay: float = 0.0,
    ) -> None:
        self.name = name
        self.delay = delay
        self.calls: list[GenerationRequest] = []
        if callable(replies):
            self._handler: Handler | None = replies
            self._queue: list[Reply] = []
        else:
            self._handler = None
            self._queue = list(replies)

    async def _reply(self, request: GenerationRequest, index: int) -> Reply:
        if self._handler is not None:
            out = self._handler(request, index)
            return await out if inspect.isawaitable(out) else out
        if not self._queue:
            raise ConfigurationError(f"ScriptedModel {self.name!r} ran out of scripted replies")
        return self._queue.pop(0)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        completions = []
        for i in range(request.n):
            reply = await self._reply(request, request.sample_offset + i)
            if isinstance(reply, BaseException):
                raise reply
            if isinstance(reply, str):
                reply = Completion(text=reply, finish_reason="stop", completion_tokens=_approx_tokens(reply))
            completions.append(reply)
        prompt = request.prompt if request.prompt is not None else " ".join(m.content for m in request.messages or ())
        return GenerationResult(model=self.name, completions=tuple(completions), prompt_tokens=_approx_tokens(prompt))
