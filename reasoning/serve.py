"""Serve any `LanguageModel` as an OpenAI-compatible HTTP endpoint (non-streaming).

The point is the local torch model with parallel (Jacobi-family) decoding: any OpenAI client, including our own
`OpenAICompatibleModel`, can then use it remotely. A request may name its decoder in an extra body field,
`"decoding": "lookahead"` or `{"mode": "gs_jacobi", "block": 8}`; each choice reports how it was decoded in an
extra `"decoding"` field (model calls, tokens per call, seconds).

    async with ModelServer(TorchModel.embedded(), port=8000) as server:
        print(server.url)  # http://127.0.0.1:8000/v1

Routes: `GET /v1/models`, `POST /v1/completions`, `POST /v1/chat/completions`, `GET /health`. Errors come back in
OpenAI's shape, `{"error": {"message", "type", "code"}}`, with the status a client's retry logic expects (400 for a
bad request, 429 / 5xx passed on from a backend, with the `Retry-After` and `retry-after-ms` it named).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
import uuid
from typing import Any

import pydantic

from ._http import BodyTooLarge, read_message, retry_after_headers, write_response
from .backends.base import LanguageModel
from .errors import APIStatusError, RateLimitError, ReasoningError
from .types import GenerationRequest, GenerationResult

__all__ = ["ModelServer"]

# OpenAI's request fields we map onto GenerationRequest; other OpenAI fields are accepted and ignored, except
# those whose meaning we cannot honour (they get a 400 rather than a silently different answer).
_UNSUPPORTED = ("stream", "logprobs", "top_logprobs", "echo", "best_of", "suffix", "tools", "functions")


class ModelServer:
    """An OpenAI-compatible HTTP server on `host:port` in front of `model` (`port=0` picks a free port).

    `api_key`, when given, must be sent as `Authorization: Bearer <key>`; it is compared in constant time and
    never logged. Requests run concurrently; a backend that can only run one at a time (torch) queues them."""

    def __init__(
        self,
        model: LanguageModel,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        served_name: str | None = None,
        api_key: str | None = None,
        max_body: int = 8 * 1024 * 1024,
    ) -> None:
        self.model = model
        self.host = host
        self.port = port
        self.served_name = served_name or model.name
        self._api_key = api_key
        self._max_body = max_body
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self.requests = 0

    def __repr__(self) -> str:  # no api key in reprs
        return f"ModelServer(model={self.served_name!r}, url={self.url!r})"

    @property
    def url(self) -> str:
        """The `/v1` base URL clients use."""
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> ModelServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def stop(self) -> None:
        """Stop listening, close every connection and cancel the requests still being answered: nothing the
        server started outlives it (a generation for a client that is gone would only burn the model's time)."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            handlers = list(self._handlers)
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> ModelServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            while True:  # keep-alive: many requests per connection
                try:
                    message = await read_message(reader, is_request=True, max_body=self._max_body)
                except BodyTooLarge as exc:
                    await write_response(writer, 413, _error(str(exc), "invalid_request_error"))
                    return
                except ValueError:
                    await write_response(writer, 400, _error("malformed HTTP request", "invalid_request_error"))
                    return
                if message is None:
                    return
                start_line, headers, body = message
                parts = start_line.split(" ")
                if len(parts) != 3:
                    await write_response(writer, 400, _error("malformed request line", "invalid_request_error"))
                    return
                status, content, extra = await self._route(parts[0], parts[1].split("?", 1)[0], headers, body)
                await write_response(writer, status, content, extra)
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except asyncio.CancelledError:
            return  # the server is stopping: an idle keep-alive connection just ends
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        path = path.rstrip("/")
        if method == "GET" and path == "/health":
            return 200, b'{"status":"ok"}', {}
        if self._api_key is not None:
            sent = headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(sent.encode(), self._api_key.encode()):
                return 401, _error("invalid API key", "authentication_error"), {}
        if method == "GET" and path == "/v1/models":
            data = [{"id": self.served_name, "object": "model", "created": 0, "owned_by": "reasoning"}]
            return 200, json.dumps({"object": "list", "data": data}).encode(), {}
        routes = {"/v1/completions": False, "/v1/chat/completions": True}
        if path not in routes:
            return 404, _error(f"no route {method} {path}", "invalid_request_error"), {}
        if method != "POST":
            return 405, _error(f"{path} takes POST", "invalid_request_error"), {}
        chat = routes[path]
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return 400, _error("the body is not JSON", "invalid_request_error"), {}
        try:
            request = _to_request(payload, chat=chat)
        except (ValueError, TypeError) as exc:  # pydantic.ValidationError is a ValueError
            return 400, _error(_describe(exc), "invalid_request_error"), {}
        self.requests += 1
        try:
            result = await self.model.generate(request)
        except APIStatusError as exc:
            # Passed on with the wait the upstream named (a 429, or a 503 while it loads), so the client's backoff
            # waits as the upstream asked.
            kind = "rate_limit_error" if isinstance(exc, RateLimitError) else "upstream_error"
            return exc.status or 500, _error(str(exc), kind), retry_after_headers(exc.retry_after)
        except ReasoningError as exc:
            return 500, _error(str(exc), "server_error"), {}
        except Exception as exc:  # never a dropped connection: the client gets a 500 it can retry
            return 500, _error(f"{type(exc).__name__}: {exc}"[:300], "server_error"), {}
        return 200, json.dumps(_to_response(result, self.served_name, chat=chat)).encode(), {}


def _to_request(payload: Any, *, chat: bool) -> GenerationRequest:
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    for name in _UNSUPPORTED:
        if payload.get(name):
            raise ValueError(f"`{name}` is not supported by this server")
    options: dict[str, Any] = {
        k: payload[k]
        for k in ("n", "temperature", "top_p", "max_tokens", "seed", "decoding")
        if payload.get(k) is not None
    }
    if payload.get("max_completion_tokens") is not None:
        options["max_tokens"] = payload["max_completion_tokens"]
    stop = payload.get("stop")
    if stop is not None:
        options["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
    if chat:
        messages = payload.get("messages")
        if not isinstance(messages, list):
            raise ValueError("`messages` must be a list")
        return GenerationRequest.model_validate({"messages": [_message(m) for m in messages], **options})
    prompt = payload.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]  # one prompt in a list is common; several would need several results
    if not isinstance(prompt, str):
        raise ValueError("`prompt` must be a string")
    options.setdefault("max_tokens", 16)  # OpenAI's completions default
    return GenerationRequest(prompt=prompt, **options)


def _message(message: Any) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise ValueError("each message must be an object")
    content = message.get("content")
    if isinstance(content, list):  # the content-parts form: text parts only
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        content = "".join(t for t in texts if isinstance(t, str))
    return {"role": message.get("role"), "content": content}


def _to_response(result: GenerationResult, name: str, *, chat: bool) -> dict[str, Any]:
    choices = []
    for i, completion in enumerate(result.completions):
        choice: dict[str, Any] = {"index": i, "finish_reason": completion.finish_reason}
        if chat:
            choice["message"] = {"role": "assistant", "content": completion.text}
        else:
            choice["text"] = completion.text
            choice["logprobs"] = None
        if completion.decoding is not None:
            choice["decoding"] = completion.decoding.model_dump()
        choices.append(choice)
    return {
        "id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": name,
        "choices": choices,
        "usage": {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "total_tokens": result.total_tokens,
        },
    }


def _describe(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
    return str(exc)


def _error(message: str, kind: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "code": None}}).encode()
