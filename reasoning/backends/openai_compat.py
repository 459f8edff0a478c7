"""Any OpenAI-compatible server: OpenAI, vLLM's server, llama.cpp's server, Ollama."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import openai

from ..errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BackendError,
    BadRequestError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from ..types import Completion, FinishReason, GenerationRequest, GenerationResult
from .base import LanguageModel

__all__ = ["OpenAICompatibleModel", "parse_retry_after"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "eos": "stop",
    "content_filter": "stop",
}


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if present."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return float(lowered["retry-after-ms"]) / 1000.0
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils
    import time

    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


class OpenAICompatibleModel(LanguageModel):
    """A model behind an OpenAI-compatible HTTP API, through the `openai` package's async client.

    Parameters
    ----------
    model:
        The model name the server expects.
    base_url:
        The server's `/v1` URL; `None` means OpenAI itself.
    api_key:
        Sent as a bearer token and never logged. Local servers accept any string.
    timeout:
        Seconds for one HTTP request. The client's own retries are off: the `Engine` retries.
    n_per_request:
        `None` (default) asks for `n` samples in one request and falls back to `n` requests the first time a
        server returns fewer choices or rejects `n`; `True`/`False` force either way.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        n_per_request: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = model
        self.base_url = base_url
        self._n_per_request = n_per_request
        self._extra_body = dict(extra_body or {})
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=0,
        )

    def __repr__(self) -> str:  # no api key in reprs
        return f"OpenAICompatibleModel(model={self.name!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        if request.n == 1 or self._n_per_request is False:
            return await self._fan_out(request)
        try:
            result = await self._call(request, request.n, request.seed)
        except BadRequestError:
            if self._n_per_request:
                raise
            self._n_per_request = False  # e.g. "n is not supported"; the fan-out will re-raise a real 400
            return await self._fan_out(request)
        if len(result.completions) == request.n:
            return result
        if self._n_per_request:
            raise MalformedResponseError(
                f"asked for {request.n} choices, got {len(result.completions)}", model=self.name
            )
        # The server ignores `n` (llama.cpp's does): keep what came and ask for the rest one by one.
        self._n_per_request = False
        rest = await self._fan_out(request, start=len(result.completions))
        return GenerationResult(
            model=self.name,
            completions=result.completions + rest.completions,
            prompt_tokens=result.prompt_tokens,
        )

    async def _fan_out(self, request: GenerationRequest, start: int = 0) -> GenerationResult:
        seeds = [None if request.seed is None else request.seed + i for i in range(start, request.n)]
        results = await asyncio.gather(*(self._call(request, 1, seed) for seed in seeds))
        completions = tuple(c for r in results for c in r.completions)
        prompt_tokens = results[0].prompt_tokens if results else 0
        return GenerationResult(model=self.name, completions=completions, prompt_tokens=prompt_tokens)

    async def _call(self, request: GenerationRequest, n: int, seed: int | None) -> GenerationResult:
        options: dict[str, Any] = {
            "model": self.name,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
        }
        if n != 1:
            options["n"] = n
        if request.stop:
            options["stop"] = list(request.stop)
        if seed is not None:
            options["seed"] = seed
        if self._extra_body:
            options["extra_body"] = self._extra_body
        try:
            if request.messages is not None:
                messages: Any = [m.model_dump() for m in request.messages]
                response: Any = await self._client.chat.completions.create(messages=messages, **options)
            else:
                response = await self._client.completions.create(prompt=request.prompt or "", **options)
            return self._parse(response, chat=request.messages is not None)
        except BackendError:
            raise
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APITimeoutError:
            raise APITimeoutError("request timed out", model=self.name) from None
        except openai.APIConnectionError as exc:
            raise APIConnectionError(
                f"connection failed: {type(exc.__cause__ or exc).__name__}", model=self.name
            ) from None
        except (ValueError, TypeError, AttributeError, KeyError, openai.APIResponseValidationError) as exc:
            # json.JSONDecodeError is a ValueError: the body was not the JSON it claimed to be.
            raise MalformedResponseError(
                f"unparseable response: {type(exc).__name__}: {exc}"[:300], model=self.name
            ) from None

    def _status_error(self, exc: openai.APIStatusError) -> APIStatusError:
        status = exc.status_code
        body = _short_body(exc)
        message = f"HTTP {status} from server"
        if status == 429:
            return RateLimitError(
                message, model=self.name, body=body, retry_after=parse_retry_after(exc.response.headers)
            )
        if status >= 500:
            return ServerError(message, model=self.name, status=status, body=body)
        return BadRequestError(message, model=self.name, status=status, body=body)

    def _parse(self, response: Any, *, chat: bool) -> GenerationResult:
        if isinstance(response, str) or not isinstance(getattr(response, "choices", None), list):
            raise MalformedResponseError("response has no `choices` list", model=self.name)
        completions = []
        for choice in sorted(response.choices, key=lambda c: getattr(c, "index", 0) or 0):
            text = choice.message.content if chat else choice.text
            if text is None and chat:
                text = ""  # a chat message may be empty, e.g. only a refusal or tool call
            if not isinstance(text, str):
                raise MalformedResponseError("a choice has no text", model=self.name)
            completions.append(Completion(text=text, finish_reason=_FINISH.get(choice.finish_reason or "", "unknown")))
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        # Usage comes per response; spread the completion tokens over the choices, remainder to the first.
        if completions:
            share, extra = divmod(completion_tokens, len(completions))
            completions = [
                c.model_copy(update={"completion_tokens": share + (extra if i == 0 else 0)})
                for i, c in enumerate(completions)
            ]
        return GenerationResult(model=self.name, completions=tuple(completions), prompt_tokens=prompt_tokens)


def _short_body(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    if body is None:
        return None
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return text[:500]
