"""A base URL without `/v1`: the 404 names the URL that answered it (credentials and query left out) and suggests
`/v1`; the suggestion works. Against a real loopback HTTP server that serves only under /v1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from reasoning import GenerationRequest, OpenAICompatibleModel
from reasoning.cli import main
from reasoning.errors import BadRequestError
from reasoning.testing.raw_http import read_message, write_response

COMPLETION = {"choices": [{"index": 0, "text": "hello", "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 1, "completion_tokens": 1}}  # fmt: skip


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while (message := await read_message(reader, is_request=True)) is not None:
            path = message[0].split(" ")[1]
            if path.split("?")[0] in ("/v1/completions", "/v1/chat/completions"):
                await write_response(writer, 200, json.dumps(COMPLETION).encode())
            else:
                await write_response(writer, 404, b'{"error": "not found"}')
    finally:
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """`http://127.0.0.1:PORT` of a server with /v1/completions and a 404 for every other path."""
    listener = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield f"http://127.0.0.1:{port}"


async def ask(base_url: str) -> str:
    async with OpenAICompatibleModel("m", base_url=base_url) as model:
        result = await model.generate(GenerationRequest(prompt="hi", max_tokens=4))
    return result.completions[0].text


async def test_a_404_names_the_url_and_suggests_v1(server: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        await ask(server)  # the reported case: "HTTP 404 from server"
    message = str(caught.value)
    assert message.startswith(f"HTTP 404 from server at {server}/completions (no such endpoint: is /v1 missing from "
                              f"the base URL? try {server}/v1)")  # fmt: skip
    assert caught.value.status == 404
    assert await ask(server + "/v1") == "hello"  # the suggestion works


async def test_the_url_shown_has_no_credentials_or_query(server: str) -> None:
    secret = "hunter2-very-secret"
    host = server.removeprefix("http://")
    with pytest.raises(BadRequestError) as caught:
        await ask(f"http://user:{secret}@{host}/api")
    message = str(caught.value)
    assert secret not in message
    assert f"HTTP 404 from server at http://[redacted]@{host}/api/completions" in message
    assert f"try http://[redacted]@{host}/api/v1)" in message
    with pytest.raises(BadRequestError) as caught:
        await ask(f"{server}/api?key={secret}")  # a key some servers take in the query
    assert secret not in str(caught.value) and f"at {server}/api" in str(caught.value)


async def test_a_404_under_v1_names_the_url_without_the_hint(server: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        await ask(server + "/v1/v1")
    assert str(caught.value).startswith(f"HTTP 404 from server at {server}/v1/v1/completions (model=")


def test_the_cli_says_it_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> tuple[int, str]:
        listener = await asyncio.start_server(_serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        async with listener:
            code = await asyncio.to_thread(main, ["generate", "hi", "--base-url", url, "--model", "m"])
        return code, url

    code, url = asyncio.run(scenario())
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"reasoning: error: HTTP 404 from server at {url}/chat/completions (no such endpoint")
    assert f"try {url}/v1)" in err
