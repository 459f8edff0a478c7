"""Serve any `LanguageModel` as an OpenAI-compatible HTTP endpoint, streaming or not (Starlette on uvicorn).

The point is the local torch model with parallel (Jacobi-family) decoding: any OpenAI client, including our own
`OpenAICompatibleModel`, can then use it remotely. A request may name its decoder in an extra body field,
`"decoding": "lookahead"` or `{"mode": "gs_jacobi", "block": 8}`; each choice reports how it was decoded in an
extra `"decoding"` field (model calls, tokens per call, seconds).

    async with ModelServer(TorchModel.embedded(), port=8000) as server:
        print(server.url)  # http://127.0.0.1:8000/v1

Routes: `GET /v1/models`, `POST /v1/completions`, `POST /v1/chat/completions`, `GET /health`. Errors come back in
OpenAI's shape, `{"error": {"message", "type", "code"}}`, with the status a client's retry logic expects (400 for a
bad request, 401 for a wrong API key, 413 for a body over `max_body`, 429 / 5xx passed on from a backend, with the
`Retry-After` and `retry-after-ms` it named).

`"stream": true` answers with server-sent events as OpenAI sends them: `data: {chunk}` events (`text_completion`
or `chat.completion.chunk` objects; for chat, each choice's first delta names the role), each choice's last chunk
with its `finish_reason` (and its `decoding`), then `data: [DONE]`. With `"stream_options": {"include_usage": true}`
a last chunk with no choices carries the usage. Text is streamed as the backend makes it (`LanguageModel.stream`).
A backend error before the first chunk is an HTTP error as above; after it, the stream ends with an event
`data: {"error": {...}}` and `data: [DONE]`. A client that disconnects stops its generation (streaming or not).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pydantic
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ._http import retry_after_headers
from .backends.base import LanguageModel
from .errors import APIStatusError, RateLimitError, ReasoningError
from .types import CompletionDelta, GenerationRequest, GenerationResult

__all__ = ["ModelServer"]

T = TypeVar("T")

# OpenAI's request fields we map onto GenerationRequest; other OpenAI fields are accepted and ignored, except
# those whose meaning we cannot honour (they get a 400 rather than a silently different answer).
_UNSUPPORTED = ("logprobs", "top_logprobs", "echo", "best_of", "suffix", "tools", "functions")
_KEEP_ALIVE = 60  # seconds an idle connection stays open: longer than clients keep one (httpx: 5 s)


class _Refused(Exception):
    """A request answered with an error before it reaches the model: the status, OpenAI's error and headers."""

    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, headers or {}

    def response(self) -> JSONResponse:
        response = JSONResponse(_error(str(self), self.kind), self.status)
        # Named as servers write them (`Retry-After`): Starlette would send every name in lower case.
        response.raw_headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
        return response


class ModelServer:
    """An OpenAI-compatible HTTP server on `host:port` in front of `model` (`port=0` picks a free port).

    `api_key`, when given, must be sent as `Authorization: Bearer <key>`; it is compared in constant time and
    never logged. Requests run concurrently; a backend that can only run one at a time (torch) queues them.
    `max_body` is the largest request body accepted, in bytes (413 above it)."""

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
        self._server: uvicorn.Server | None = None
        self._stopped = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()  # requests being answered, and streams' generations
        self.requests = 0
        self._app = Starlette(
            routes=[
                Route("/health", self._health, methods=["GET"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/completions", self._completions, methods=["POST"]),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
            ],
            exception_handlers={HTTPException: self._http_error},
        )

    def __repr__(self) -> str:  # no api key in reprs
        return f"ModelServer(model={self.served_name!r}, url={self.url!r})"

    @property
    def url(self) -> str:
        """The `/v1` base URL clients use."""
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> ModelServer:
        """Listen on `host:port` (raises `OSError` if it cannot); returns at once, serving in the background."""
        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server((self.host, self.port), family=family)
        config = uvicorn.Config(
            self._asgi, interface="asgi3", lifespan="off", log_config=None, access_log=False, proxy_headers=False,
            server_header=False, timeout_keep_alive=_KEEP_ALIVE,
        )  # fmt: skip
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        try:
            await server.startup(sockets=[listener])
        except BaseException:
            listener.close()
            raise
        self.port = int(server.servers[0].sockets[0].getsockname()[1])  # the real port when `port` was 0
        self._server, self._stopping = server, False
        self._stopped.clear()
        return self

    async def serve_forever(self) -> None:
        """Serve until `stop()` (from another task) or until cancelled."""
        if self._server is None:
            await self.start()
        await self._stopped.wait()

    async def stop(self) -> None:
        """Stop listening, close every connection and cancel the requests still being answered: nothing the
        server started outlives it (a generation for a client that is gone would only burn the model's time)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()  # cut, not answered: a client must not take a half answer for one
        while self._tasks or server.server_state.tasks:
            tasks = [*self._tasks, *server.server_state.tasks]
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for listener in server.servers:
            await listener.wait_closed()
        self._stopped.set()

    async def __aenter__(self) -> ModelServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- the ASGI app -------------------------------------------------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._stopping:
            return  # (a request that raced the stop: its connection is cut)
        task = asyncio.current_task()
        if task is not None:
            self._tracked(task)
        try:
            await self._app(scope, receive, send)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # The server is stopping and has cut the connection: nothing to answer, nobody to answer.

    def _tracked(self, task: asyncio.Task[T]) -> asyncio.Task[T]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        try:
            self._check_key(request)
        except _Refused as refused:
            return refused.response()
        path = request.url.path
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "another method")
            return JSONResponse(_error(f"{path} takes {allowed}", "invalid_request_error"), 405)
        if exc.status_code == 404:
            return JSONResponse(_error(f"no route {request.method} {path}", "invalid_request_error"), 404)
        return JSONResponse(_error(str(exc.detail), "invalid_request_error"), exc.status_code)

    def _check_key(self, request: Request) -> None:
        if self._api_key is None:
            return
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), self._api_key.encode()):
            raise _Refused(401, "invalid API key", "authentication_error")

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _models(self, request: Request) -> Response:
        try:
            self._check_key(request)
        except _Refused as refused:
            return refused.response()
        data = [{"id": self.served_name, "object": "model", "created": 0, "owned_by": "reasoning"}]
        return JSONResponse({"object": "list", "data": data})

    async def _completions(self, request: Request) -> Response:
        return await self._generate(request, chat=False)

    async def _chat(self, request: Request) -> Response:
        return await self._generate(request, chat=True)

    async def _generate(self, http: Request, *, chat: bool) -> Response:
        try:
            self._check_key(http)
            payload = await self._payload(http)
            request = _to_request(payload, chat=chat)
            stream, include_usage = _stream_options(payload)
            self.requests += 1
            if stream:
                return await self._stream(http, request, chat=chat, include_usage=include_usage)
            result = await _unless_disconnected(http, self.model.generate(request))
        except _Refused as refused:
            return refused.response()
        except ClientDisconnect:
            return Response(status_code=499)  # nobody reads it
        except Exception as exc:
            return _backend_error(exc).response()
        return JSONResponse(_to_response(result, self.served_name, chat=chat))

    async def _payload(self, http: Request) -> Any:
        declared = http.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body:
            raise _Refused(413, f"body over {self._max_body} bytes", "invalid_request_error")
        body = bytearray()
        async for chunk in http.stream():
            body += chunk
            if len(body) > self._max_body:
                raise _Refused(413, f"body over {self._max_body} bytes", "invalid_request_error")
        try:
            return json.loads(body or b"null")
        except ValueError:
            raise _Refused(400, "the body is not JSON", "invalid_request_error") from None

    async def _stream(self, http: Request, request: GenerationRequest, *, chat: bool, include_usage: bool) -> Response:
        """Wait for the first delta (an error before it is an HTTP error), then stream the rest as events."""
        queue: asyncio.Queue[CompletionDelta | Exception | None] = asyncio.Queue()
        producer = self._tracked(asyncio.ensure_future(_produce(self.model.stream(request), queue)))
        try:
            first = await _unless_disconnected(http, queue.get())
        except BaseException:
            producer.cancel()
            raise
        if isinstance(first, Exception):
            producer.cancel()
            raise first
        chunks = _Chunks(self.served_name, chat=chat, n=request.n, include_usage=include_usage)

        async def events() -> AsyncIterator[bytes]:
            try:
                for chunk in chunks.opening():
                    yield _event(chunk)
                item: CompletionDelta | Exception | None = first
                while item is not None:
                    if isinstance(item, Exception):
                        failure = _backend_error(item)
                        yield _event(_error(str(failure), failure.kind))
                        break
                    yield _event(chunks.delta(item))
                    item = await queue.get()
                else:
                    if include_usage:
                        yield _event(chunks.usage())
                yield b"data: [DONE]\n\n"
            finally:
                producer.cancel()  # the client is gone (or all was sent): the generation stops

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


async def _produce(deltas: AsyncIterator[CompletionDelta], queue: asyncio.Queue[Any]) -> None:
    """Move a backend's deltas to `queue`, then None (the end) or the exception that ended them. Cancelled, it
    closes the backend's iterator, which stops the generation."""
    try:
        async for delta in deltas:
            queue.put_nowait(delta)
    except Exception as exc:
        queue.put_nowait(exc)
    else:
        queue.put_nowait(None)
    finally:
        close = getattr(deltas, "aclose", None)  # an async generator left early: its cleanup runs now
        if close is not None:
            await close()


async def _unless_disconnected(http: Request, work: Awaitable[T]) -> T:
    """`await work`, cancelled if the client disconnects first (then raises `ClientDisconnect`)."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(http.receive))
    try:
        await asyncio.wait([task, gone], return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)  # the model has let go when this returns
    if task.cancelled():
        raise ClientDisconnect
    return task.result()


async def _disconnected(receive: Callable[[], Awaitable[Any]]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _backend_error(exc: Exception) -> _Refused:
    if isinstance(exc, _Refused):
        return exc
    if isinstance(exc, APIStatusError):
        # Passed on with the wait the upstream named (a 429, or a 503 while it loads), so the client's backoff
        # waits as the upstream asked.
        kind = "rate_limit_error" if isinstance(exc, RateLimitError) else "upstream_error"
        return _Refused(exc.status or 500, str(exc), kind, retry_after_headers(exc.retry_after))
    if isinstance(exc, ReasoningError):
        return _Refused(500, str(exc), "server_error")
    # Never a dropped connection: the client gets a 500 it can retry.
    return _Refused(500, f"{type(exc).__name__}: {exc}"[:300], "server_error")


class _Chunks:
    """OpenAI's streamed objects for one request: `text_completion` or `chat.completion.chunk` chunks."""

    def __init__(self, name: str, *, chat: bool, n: int, include_usage: bool) -> None:
        self.chat, self.n, self.include_usage = chat, n, include_usage
        self.head = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": name,
        }
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def opening(self) -> list[dict[str, Any]]:
        """Chat: each choice's first delta names the role (with empty content), as OpenAI's first chunks do."""
        if not self.chat:
            return []
        return [self._chunk({"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                             "finish_reason": None}) for i in range(self.n)]  # fmt: skip

    def delta(self, delta: CompletionDelta) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": delta.index}
        if self.chat:
            choice["delta"] = {"content": delta.text} if delta.text or delta.finish_reason is None else {}
        else:
            choice["text"] = delta.text
        choice["logprobs"] = None
        choice["finish_reason"] = delta.finish_reason
        if delta.finish_reason is not None:
            self.prompt_tokens = delta.prompt_tokens
            self.completion_tokens += delta.completion_tokens
            if delta.decoding is not None:
                choice["decoding"] = delta.decoding.model_dump()
        return self._chunk(choice)

    def usage(self) -> dict[str, Any]:
        usage = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                 "total_tokens": self.prompt_tokens + self.completion_tokens}  # fmt: skip
        return {**self.head, "choices": [], "usage": usage}

    def _chunk(self, choice: dict[str, Any]) -> dict[str, Any]:
        chunk: dict[str, Any] = {**self.head, "choices": [choice]}
        if self.include_usage:
            chunk["usage"] = None  # as OpenAI sends it: every chunk but the last has a null usage
        return chunk


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _stream_options(payload: dict[str, Any]) -> tuple[bool, bool]:
    """Whether to stream, and whether to end the stream with the usage."""
    stream = payload.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _Refused(400, "`stream` must be true or false", "invalid_request_error")
    options = payload.get("stream_options")
    if options is None:
        return bool(stream), False
    if not stream:
        raise _Refused(400, "`stream_options` is only allowed when `stream` is true", "invalid_request_error")
    if not isinstance(options, dict) or not isinstance(options.get("include_usage", False), bool):
        raise _Refused(400, '`stream_options` must be an object like {"include_usage": true}', "invalid_request_error")
    return True, bool(options.get("include_usage"))


def _to_request(payload: Any, *, chat: bool) -> GenerationRequest:
    try:
        return _parse_request(payload, chat=chat)
    except (ValueError, TypeError) as exc:  # pydantic.ValidationError is a ValueError
        raise _Refused(400, _describe(exc), "invalid_request_error") from None


def _parse_request(payload: Any, *, chat: bool) -> GenerationRequest:
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


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": None}}
