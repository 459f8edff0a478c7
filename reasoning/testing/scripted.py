"""A scripted `LanguageModel` for unit tests, yours and ours (like httpx's `MockTransport`)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence

from ..backends.base import LanguageModel
from ..backends.streaming import StreamedText, first_stop
from ..errors import ConfigurationError
from ..types import Completion, CompletionDelta, FinishReason, GenerationRequest, GenerationResult

__all__ = ["ScriptedModel"]

Piece = str | bytes
Pieces = Sequence[Piece] | AsyncIterable[Piece]
Reply = str | Completion | BaseException | Pieces
Handler = Callable[[GenerationRequest, int], Reply | Awaitable[Reply]]


def _approx_tokens(text: str) -> int:
    # Scripted text has no tokenizer; a whitespace count keeps accounting visible and deterministic.
    return max(1, len(text.split())) if text else 0


def _words(text: str) -> list[str]:
    """`text` in pieces of one word and the whitespace after it (joined, they are `text`)."""
    return re.split(r"(?<=\s)(?=\S)", text)


class ScriptedModel(LanguageModel):
    """Answers from a list of replies (consumed in order, one per sample) or a function of the request.

    A reply is a string, a `Completion`, or an exception to raise. A handler is called once per sample as
    `handler(request, sample_index)` and may be async; `sample_index` is the sample's number among all samples of
    the request (`request.sample_offset + i` for the request's `i`-th), so the engine's sample `k` always gets `k`,
    however it was fetched. `calls` records every request the model received, so tests
    can assert what was (or was not) sent.

    A reply may also be the pieces a model makes one after another, like tokens: a list of `str` or `bytes`
    (UTF-8, so a character may be split across two pieces), or an async iterable of them. Such a reply is handled
    as a real backend handles its tokens: the text is cut before the first of the request's stop strings (finish
    reason "stop"), and `stream` never yields a stop string or half a character. Strings and `Completion`s are
    returned as they are, and streamed word by word; the samples of a request stream interleaved.

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
            elif not isinstance(reply, Completion):
                reply = await _collect(reply, request.stop)
            completions.append(reply)
        return GenerationResult(model=self.name, completions=tuple(completions), prompt_tokens=_prompt_tokens(request))

    async def stream(self, request: GenerationRequest) -> AsyncIterator[CompletionDelta]:
        self.calls.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        async with contextlib.AsyncExitStack() as stack:
            samples = [
                await stack.enter_async_context(contextlib.aclosing(self._sample(request, i))) for i in range(request.n)
            ]
            while samples:  # one delta of each sample in turn, as a server decoding them together sends them
                for sample in list(samples):
                    try:
                        yield await anext(sample)
                    except StopAsyncIteration:
                        samples.remove(sample)

    async def _sample(self, request: GenerationRequest, index: int) -> AsyncGenerator[CompletionDelta, None]:
        reply = await self._reply(request, request.sample_offset + index)
        if isinstance(reply, BaseException):
            raise reply
        prompt_tokens = _prompt_tokens(request)
        if isinstance(reply, str | Completion):
            completion = reply if isinstance(reply, Completion) else Completion(
                text=reply, finish_reason="stop", completion_tokens=_approx_tokens(reply)
            )  # fmt: skip
            *words, last = _words(completion.text)
            for word in words:
                yield CompletionDelta(index=index, text=word)
            yield CompletionDelta(index=index, text=last, finish_reason=completion.finish_reason,
                                  completion_tokens=completion.completion_tokens, prompt_tokens=prompt_tokens,
                                  decoding=completion.decoding)  # fmt: skip
            return
        text = StreamedText(request.stop)
        made = bytearray()
        count = 0
        async with _pieces(reply) as each:
            async for piece in each:
                made += piece.encode() if isinstance(piece, str) else piece
                count += 1
                new = text.update(made.decode("utf-8", errors="replace"))
                if new:
                    yield CompletionDelta(index=index, text=new)
                if text.stopped:
                    break
        final, finish = _finish(made, request.stop)
        yield CompletionDelta(index=index, text=text.finish(final), finish_reason=finish, completion_tokens=count,
                              prompt_tokens=prompt_tokens)  # fmt: skip


async def _aiter(pieces: Pieces) -> AsyncIterator[Piece]:
    if isinstance(pieces, AsyncIterable):
        async for piece in pieces:
            yield piece
    else:
        for piece in pieces:
            yield piece


async def _collect(pieces: Pieces, stop: Sequence[str]) -> Completion:
    made = bytearray()
    count = 0
    async with _pieces(pieces) as each:
        async for piece in each:
            made += piece.encode() if isinstance(piece, str) else piece
            count += 1
            if first_stop(made.decode("utf-8", errors="replace"), stop) is not None:
                break
    text, finish = _finish(made, stop)
    return Completion(text=text, finish_reason=finish, completion_tokens=count)


def _finish(made: bytearray, stop: Sequence[str]) -> tuple[str, FinishReason]:
    # The pieces ran out (the model's end of text) or a stop string came: "stop" either way, cut before it.
    text = made.decode("utf-8", errors="replace")
    cut = first_stop(text, stop)
    return (text if cut is None else text[:cut]), "stop"


@contextlib.asynccontextmanager
async def _pieces(pieces: Pieces) -> AsyncIterator[AsyncIterator[Piece]]:
    """The pieces as an async iterator; an async generator given is closed on the way out (where a model would
    stop decoding)."""
    try:
        yield _aiter(pieces)
    finally:
        if isinstance(pieces, AsyncGenerator):
            await pieces.aclose()


def _prompt_tokens(request: GenerationRequest) -> int:
    prompt = request.prompt if request.prompt is not None else " ".join(m.content for m in request.messages or ())
    return _approx_tokens(prompt)
