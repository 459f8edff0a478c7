"""Any OpenAI-compatible server: OpenAI, vLLM's server, llama.cpp's server, Ollama."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
import pydantic

from .._http import parse_retry_after
from ..errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BackendError,
    BadRequestError,
    ConfigurationError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from ..types import Completion, DecodingStats, FinishReason, GenerationRequest, GenerationResult
from .base import LanguageModel

__all__ = ["OpenAICompatibleModel", "check_base_url", "parse_retry_after"]

REDACTED = "[redacted]"
# A key this long cannot turn up in honest model output by chance; shorter "keys" (a local server's "EMPTY") are
# not secrets and are left alone in completions, where replacing them would garble real text.
_MIN_SECRET_IN_TEXT = 16
# A bearer token a server echoes back, whoever's it is; the digit keeps prose ("bearer tokens") readable.
_BEARER = re.compile(r"(?i)(bearer\s+)(?=[^\s\"',;]*\d)[^\s\"',;]{8,}")

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "eos": "stop",
    "content_filter": "stop",
}


def redact_url(url: str | None) -> str | None:
    """`url` as a message or repr may show it: without any `user:password@` part, query or fragment (where some
    servers take a key, `?api-key=...`)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.query or parts.fragment or "?" in url or "#" in url:
        parts = parts._replace(query="", fragment="")
        url = urlunsplit(parts)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


def _shown_url(url: str) -> str:
    """`url` as an error may show it: `user:password@`, query and fragment left out, whatever the URL's other
    faults."""
    try:
        return redact_url(url) or ""
    except ValueError:  # a port that is not a number
        parts = urlsplit(url)
        return urlunsplit(parts._replace(netloc=f"{REDACTED}@{parts.netloc.rpartition('@')[2]}", query="",
                                         fragment=""))  # fmt: skip


def check_base_url(url: str | None) -> str | None:
    """`url` if it is an http(s) URL with a host (None: OpenAI itself), else `ConfigurationError` saying what to
    give instead. Credentials in it are never shown."""
    if url is None:
        return None
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - it checks the port
    except ValueError:
        raise ConfigurationError(f"base URL {_shown_url(url)!r} has a port that is not a number 0-65535") from None
    if parts.scheme in ("http", "https") and parts.hostname:
        return url
    example = "http://127.0.0.1:8000/v1"
    if not url.strip():
        raise ConfigurationError(f"the base URL is empty: give the server's, e.g. {example}")
    if "://" not in url:  # `127.0.0.1:8000/v1`, `localhost:8000/v1` (read as scheme "localhost")
        shown = _shown_url(f"http://{url}").removeprefix("http://")
        raise ConfigurationError(f"base URL {shown!r} has no scheme: use http://{shown}")
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(f"base URL {_shown_url(url)!r} must start with http:// or https://, e.g. {example}")
    raise ConfigurationError(f"base URL {_shown_url(url)!r} names no host, e.g. {example}")


class OpenAICompatibleModel(LanguageModel):
    """A model behind an OpenAI-compatible HTTP API, through the `openai` package's async client.

    Parameters
    ----------
    model:
        The model name the server expects.
    base_url:
        The server's `/v1` URL, `http://` or `https://` (one without a scheme, `127.0.0.1:8000/v1`, is a
        `ConfigurationError` here, not five failed connections later); `None` means OpenAI itself.
    api_key:
        Sent as a bearer token and never logged. Local servers accept any string. Wherever a server sends it back
        (an error body that echoes the request's headers, a completion's text), it is replaced by `[redacted]`
        before it reaches an error, the cache, a log or a report; in completions only a key of 16 characters or
        more, so that a placeholder like "EMPTY" does not garble real text.
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
        self.base_url = check_base_url(base_url)
        self._n_per_request = n_per_request
        self._extra_body = dict(extra_body or {})
        self._secret = api_key or ""
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=0,
        )

    def __repr__(self) -> str:  # no api key in reprs, nor credentials written into the URL
        return f"OpenAICompatibleModel(model={self.name!r}, base_url={redact_url(self.base_url)!r})"

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        if request.n == 1 or self._n_per_request is False:
            return await self._fan_out(request)
        try:
            # One seed for the run; servers that honour it draw choice i with seed + i (vLLM's rule), as we do.
            result = await self._call(request, request.n, request.sample_seed(0))
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
        seeds = [request.sample_seed(i) for i in range(start, request.n)]
        # A task group, not gather: when one sample fails the others are cancelled, so none keeps running (and
        # spending, past the engine's concurrency limit) while the engine retries the whole request.
        first: BackendError | None = None
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._call(request, 1, seed)) for seed in seeds]
        except BaseExceptionGroup as failed:
            first = next((e for e in failed.exceptions if isinstance(e, BackendError)), None)
            if first is None:
                raise
        if first is not None:
            raise first  # outside the handler, so the error carries no context (the group) with it
        results = [task.result() for task in tasks]
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
        if request.decoding is not None:
            # Our own server (`reasoning serve`) decodes greedy requests this way; send it only when asked,
            # since other servers may reject fields they do not know.
            options["decoding"] = request.decoding.model_dump()
        options.update(self._extra_body)
        chat = request.messages is not None
        if chat:
            options["messages"] = [m.model_dump() for m in request.messages or ()]
        else:
            options["prompt"] = request.prompt or ""
        # The failure is raised after the `except` block, not inside it: an exception raised there would keep the
        # `openai` error as its `__context__`, and that error holds the request, Authorization header included.
        failure: BackendError
        try:
            # The client's generic `post` (its documented route for any endpoint) skips the typed request
            # transform and response models, which cost ~1 ms per call; we validate the JSON ourselves.
            response: Any = await self._client.post(
                "/chat/completions" if chat else "/completions", body=options, cast_to=object
            )
            return self._parse(response, chat=chat)
        except BackendError:
            raise
        except openai.APIStatusError as exc:
            failure = self._status_error(exc)
        except openai.APITimeoutError:
            failure = APITimeoutError("request timed out", model=self.name)
        except openai.APIConnectionError as exc:
            failure = APIConnectionError(f"connection failed: {type(exc.__cause__ or exc).__name__}", model=self.name)
        except (ValueError, TypeError, AttributeError, KeyError, openai.APIResponseValidationError) as exc:
            # json.JSONDecodeError is a ValueError: the body was not the JSON it claimed to be.
            failure = MalformedResponseError(
                self._redact(f"unparseable response: {_describe(exc)}")[:300], model=self.name
            )
        raise failure

    def _status_error(self, exc: openai.APIStatusError) -> APIStatusError:
        status = exc.status_code
        body = self._short_body(exc)
        message = f"HTTP {status} from server at {_endpoint(str(exc.request.url))}"
        if status == 404:
            message += _missing_v1(self.base_url)
        elif status in (405, 501):  # `python -m http.server` answers a POST with 501
            message += ": the server does not implement this endpoint (not an OpenAI-compatible server? check the URL)"
        # A wait the server named counts on any status: a 503 from a server that is loading says how long.
        wait = parse_retry_after(exc.response.headers)
        if status == 429:
            return RateLimitError(message, model=self.name, body=body, retry_after=wait)
        if status >= 500:
            return ServerError(message, model=self.name, status=status, body=body, retry_after=wait)
        return BadRequestError(message, model=self.name, status=status, body=body, retry_after=wait)

    def _redact(self, text: str) -> str:
        """`text` without our API key, nor any bearer token a server echoed back."""
        if self._secret:
            text = text.replace(self._secret, REDACTED)
        return _BEARER.sub(rf"\g<1>{REDACTED}", text)

    def _short_body(self, exc: openai.APIStatusError) -> str | None:
        body = exc.body
        if body is None:
            return None
        text = body if isinstance(body, str) else json.dumps(body, default=str)
        # Redacted before it is cut: a cut through the key would leave a prefix no replacement would find.
        return self._redact(text)[:500]

    def _parse(self, response: Any, *, chat: bool) -> GenerationResult:
        choices = response.get("choices") if isinstance(response, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise MalformedResponseError("response has no `choices` list", model=self.name)
        completions = []
        for choice in sorted(choices, key=lambda c: c.get("index") or 0):
            if chat:
                message = choice.get("message")
                # A chat message may have no content (only a refusal or a tool call): that is an empty text.
                text = (message.get("content") or "") if isinstance(message, dict) else None
            else:
                text = choice.get("text")
            if not isinstance(text, str):
                raise MalformedResponseError("a choice has no text", model=self.name)
            if len(self._secret) >= _MIN_SECRET_IN_TEXT:
                # A server that echoes the key into its output must not get it into our cache and reports.
                text = text.replace(self._secret, REDACTED)
            finish = _FINISH.get(str(choice.get("finish_reason") or ""), "unknown")
            stats = choice.get("decoding")  # our server reports how it decoded; others send nothing
            decoding = DecodingStats.model_validate(stats) if isinstance(stats, dict) else None
            completions.append(Completion(text=text, finish_reason=finish, decoding=decoding))
        usage = response.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        # Usage comes per response; spread the completion tokens over the choices, remainder to the first.
        if completions:
            share, extra = divmod(completion_tokens, len(completions))
            completions = [
                c.model_copy(update={"completion_tokens": share + (extra if i == 0 else 0)})
                for i, c in enumerate(completions)
            ]
        return GenerationResult(model=self.name, completions=tuple(completions), prompt_tokens=prompt_tokens)


def _endpoint(url: str) -> str:
    """A request's URL as an error may show it: no credentials, no query (where some servers take a key)."""
    return redact_url(urlunsplit(urlsplit(url)._replace(query="", fragment=""))) or ""


def _missing_v1(base_url: str | None) -> str:
    """The likely cause of a 404 from a base URL without `/v1` (which OpenAI-compatible servers serve under)."""
    if base_url is None or urlsplit(base_url).path.rstrip("/").endswith("/v1"):
        return ""
    return f" (no such endpoint: is /v1 missing from the base URL? try {_endpoint(base_url).rstrip('/')}/v1)"


def _describe(exc: BaseException) -> str:
    """What went wrong parsing a response, without the response's values: a message that quotes them could
    carry whatever the server put there (a secret, a prefix of one that no redaction would recognise)."""
    name = type(exc).__name__
    if isinstance(exc, json.JSONDecodeError):
        return f"{name}: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, pydantic.ValidationError):
        return f"{name}: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, KeyError | TypeError | AttributeError):
        return f"{name}: {exc}"  # about our code's view of the JSON's shape (a field name, a type), not its values
    return f"{name} in a response field"  # e.g. int() of a usage count: its message quotes the value
