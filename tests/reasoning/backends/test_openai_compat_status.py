"""Which HTTP failures are worth another try, decided in one place (`reasoning.errors.retryable_status`) and kept by
a single endpoint, the engine and a pool alike; and a base URL without a scheme, refused before anything is sent.
Against real loopback servers: `http.server` (which answers a POST with 501) and the fault proxy."""

from __future__ import annotations

import asyncio
import http.server
import re
import threading
from collections.abc import Iterator

import pytest

from reasoning import (
    ConfigurationError,
    Engine,
    EngineConfig,
    GenerationRequest,
    OpenAICompatibleModel,
    RetryPolicy,
    ServerError,
)
from reasoning.backends.pool import EndpointPool
from reasoning.cli import main
from reasoning.errors import APIStatusError, retryable_status
from reasoning.testing import Fault, FaultProxy

FAST = RetryPolicy(max_attempts=4, initial_delay=0.001, max_delay=0.01)


class Counting(http.server.BaseHTTPRequestHandler):
    """`python -m http.server`'s handler: no do_POST, so every POST gets 501 Unsupported method."""

    posts = 0

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        type(self).posts += 1
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def static_server() -> Iterator[str]:
    """The base URL of a plain static file server (not OpenAI-compatible)."""
    Counting.posts = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_501_is_said_plainly_and_not_retried(static_server: str) -> None:
    # The reported case: `python -m http.server` behind --base-url was asked five times, as if a 501 would pass.
    model = OpenAICompatibleModel("m", base_url=static_server)
    async with Engine(model, EngineConfig(retry=FAST)) as engine:
        with pytest.raises(ServerError) as caught:
            await engine.generate(GenerationRequest.chat("hi", max_tokens=4))
    error = caught.value
    assert error.status == 501 and not error.retryable and error.attempts == 1 and Counting.posts == 1
    assert str(error).startswith(
        f"HTTP 501 from server at {static_server}/chat/completions: the server does not "
        "implement this endpoint (not an OpenAI-compatible server? check the URL)"
    )


@pytest.mark.parametrize(
    ("status", "retry_after", "retried"),
    [
        (500, None, True),
        (502, None, True),
        (503, None, True),
        (504, None, True),
        (501, None, False),
        (505, None, False),
        (511, None, False),
        (507, None, False),
        (507, 0.01, True),  # any 5xx that names a wait
        (501, 0.01, True),
        (429, None, True),
        (400, None, False),
        (404, 0.01, False),  # a 4xx is the request's, whatever it says
    ],
)
async def test_which_statuses_are_retried(status: int, retry_after: float | None, retried: bool) -> None:
    assert retryable_status(status, retry_after) is retried
    async with FaultProxy() as proxy:
        proxy.inject(*[Fault.http(status, retry_after=retry_after)] * 2)
        model = OpenAICompatibleModel("stub", base_url=proxy.url + "/v1")
        async with Engine(model, EngineConfig(retry=FAST)) as engine:
            if retried:  # two failures, then the stand-in answers
                assert (await engine.generate(GenerationRequest(prompt="hi"))).completions
                assert proxy.stats.requests == 3
            else:
                with pytest.raises(APIStatusError) as caught:
                    await engine.generate(GenerationRequest(prompt="hi"))
                assert caught.value.status == status and caught.value.attempts == 1
                assert proxy.stats.requests == 1


async def test_a_pool_fails_over_from_a_501_ejects_it_at_once_and_retries_only_what_may_pass(
    static_server: str,
) -> None:
    async with FaultProxy() as good:
        static = OpenAICompatibleModel("stub", base_url=static_server)
        pool = EndpointPool([static, OpenAICompatibleModel("stub", base_url=good.url + "/v1")], cooldown=30.0,
                            max_cooldown=60.0)  # fmt: skip
        async with Engine(pool, EngineConfig(retry=FAST)) as engine:
            for i in range(4):
                assert (await engine.generate(GenerationRequest(prompt=f"q{i}"))).completions
        # The 501 endpoint was tried once, taken out at once (eject_after=2 waits for no second 501), and the
        # calls went to the other.
        assert Counting.posts == 1 and not pool.stats[0].healthy and pool.stats[0].ejections == 1
        assert good.stats.requests == 4


async def test_when_every_endpoint_fails_the_pool_raises_the_error_a_retry_may_cure(static_server: str) -> None:
    async with FaultProxy() as busy:
        busy.inject(Fault.http(503))  # once, then it answers
        pool = EndpointPool([OpenAICompatibleModel("stub", base_url=busy.url + "/v1"),
                             OpenAICompatibleModel("stub", base_url=static_server)])  # fmt: skip
        async with Engine(pool, EngineConfig(retry=FAST)) as engine:
            result = await engine.generate(GenerationRequest(prompt="hi"))  # 503 there, 501 here: 503 raised, retried
        assert result.completions and busy.stats.requests == 2 and Counting.posts == 1
        # Every endpoint failing for good: the 501 is raised, and not retried.
        only = EndpointPool([OpenAICompatibleModel("stub", base_url=static_server)])
        async with Engine(only, EngineConfig(retry=FAST)) as engine:
            with pytest.raises(ServerError) as caught:
                await engine.generate(GenerationRequest(prompt="hi"))
        assert caught.value.status == 501 and caught.value.attempts == 1 and Counting.posts == 2


# -- a base URL without a scheme ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "message"),
    [
        # The reported case: five tries, then "connection failed: UnsupportedProtocol".
        ("127.0.0.1:18931/v1", "base URL '127.0.0.1:18931/v1' has no scheme: use http://127.0.0.1:18931/v1"),
        ("localhost:8000/v1", "base URL 'localhost:8000/v1' has no scheme: use http://localhost:8000/v1"),
        ("user:hunter2-secret@10.0.0.1:8000/v1",
         "base URL '[redacted]@10.0.0.1:8000/v1' has no scheme: use http://[redacted]@10.0.0.1:8000/v1"),
        ("ftp://u:hunter2-secret@host/v1", "base URL 'ftp://[redacted]@host/v1' must start with http:// or https://"),
        ("http:///v1", "base URL 'http:///v1' names no host"),
        ("http://u:hunter2-secret@host:80a/v1", "base URL 'http://[redacted]@host:80a/v1' has a port that is not a"),
        ("", "the base URL is empty"),
    ],
)  # fmt: skip
def test_a_base_url_that_cannot_work_is_refused_at_construction(capsys, url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match="^" + re.escape(message)):
        OpenAICompatibleModel("m", base_url=url)
    assert main(["generate", "hi", "--base-url", url, "--model", "m"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"reasoning: error: {message}") and err.count("\n") == 1 and "hunter2" not in err


def test_a_pool_of_one_bad_url_in_the_cli_is_refused_before_anything_is_sent(capsys) -> None:
    argv = ["generate", "hi", "--base-url", "http://127.0.0.1:9/v1", "--base-url", "127.0.0.1:9/v1", "--model", "m"]
    assert main(argv) == 2
    assert (
        capsys.readouterr().err
        == "reasoning: error: base URL '127.0.0.1:9/v1' has no scheme: use http://127.0.0.1:9/v1\n"
    )


def test_http_and_https_urls_are_kept_as_given() -> None:
    for url in ("http://127.0.0.1:8000/v1", "https://api.example.com/v1", "HTTP://[::1]:8000/v1", None):
        assert OpenAICompatibleModel("m", base_url=url).base_url == url
    asyncio.run(OpenAICompatibleModel("m").aclose())
