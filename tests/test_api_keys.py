"""A planted API key never reaches a file, a log, the console or an exception, whatever a hostile server does.

The server below knows the key (it is sent to it) and tries every way to hand it back: error bodies of every
status that echo the key and the whole Authorization header, and completions whose text contains the key. The
CLI runs of every command that calls a model then get grepped, byte by byte, for the key: every file under the
test's folder (the SQLite cache with its WAL, the JSONL call log, results, summaries, reports, and HOME and TMPDIR,
which point there too), stdout and stderr. In process, every error raised and the model object are checked too.

A key echoed into a completion is the server's doing, but a run folder is something people share: the client
replaces its own key (16 characters or more) in completions with `[redacted]`, as it does in error bodies.
"""

from __future__ import annotations

import http.server
import json
import os
import shlex
import subprocess
import sys
import threading
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reasoning import (
    BackendError,
    BadRequestError,
    CallLog,
    Engine,
    EngineConfig,
    GenerationRequest,
    MalformedResponseError,
    OpenAICompatibleModel,
    RateLimitError,
    ResponseCache,
    RetryPolicy,
    ServerError,
)
from tests.conftest import SHARED_DATA

FAST = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)
# Plausible for every eval: a game-of-24 answer and a multiple-choice answer (unparsed ones are fine too).
REPLY = "Answer: (10 - 4) * 5 - 6 = 24\nSo the best answer is: (A)."


def planted() -> str:
    return f"sk-planted-{uuid.uuid4().hex}"


class Hostile(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible server on loopback that hands the key back wherever it can.

    `plan` is the cycle of answers, one per request: "ok" (a normal completion), "echo" (a completion whose text
    holds the key and the Authorization header), or an HTTP status, answered with a JSON error body that echoes
    the key and every request header. Statuses listed in `text_bodies` are answered with a plain-text body.
    """

    def __init__(self, key: str, plan: tuple[str | int, ...], text_bodies: tuple[int, ...] = ()) -> None:
        self.key, self.plan, self.text_bodies = key, plan, text_bodies
        self.seen_auth: list[str] = []
        self.answered: list[str | int] = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                auth = self.headers.get("Authorization", "")
                with server._lock:
                    what = server.plan[len(server.answered) % len(server.plan)]
                    server.answered.append(what)
                    server.seen_auth.append(auth)
                status, payload, kind = server.answer(what, self.path, body, dict(self.headers.items()))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client that gave up (a run that failed and closed its other requests)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def answer(
        self, what: str | int, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, bytes, str]:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if isinstance(what, int):
            if what in self.text_bodies:
                return what, f"denied: {auth} (key {self.key})".encode(), "text/plain"
            error = {"error": {"message": f"Incorrect API key provided: {self.key}", "type": "invalid_request_error",
                               "authorization": auth, "headers": headers, "code": what}}  # fmt: skip
            return what, json.dumps(error).encode(), "application/json"
        text = REPLY if what == "ok" else f"{REPLY} By the way, your key is {self.key} and you sent {auth!r}."
        n = int(body.get("n") or 1)
        chat = path.endswith("/chat/completions")
        content = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
        choices = [{"index": i, "finish_reason": "stop", **content} for i in range(n)]
        answer = {"object": "chat.completion" if chat else "text_completion", "model": "hostile", "choices": choices,
                  "usage": {"prompt_tokens": 3, "completion_tokens": 2 * n}}  # fmt: skip
        return 200, json.dumps(answer).encode(), "application/json"


@pytest.fixture
def hostile_server() -> Iterator[Any]:
    servers: list[Hostile] = []

    def start(key: str, plan: tuple[str | int, ...], text_bodies: tuple[int, ...] = ()) -> Hostile:
        servers.append(Hostile(key, plan, text_bodies))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def files_holding(root: Path, needle: str) -> list[str]:
    """Every file under `root` whose bytes hold `needle`, or for a planted key its random part alone (a key cut
    or re-prefixed still shows)."""
    secret = needle.removeprefix("sk-planted-").encode()
    return [str(p) for p in sorted(root.rglob("*")) if p.is_file() and secret in p.read_bytes()]


def cli(tmp_path: Path, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OPENAI_API_KEY=key, HOME=str(home), TMPDIR=str(home / "tmp"),
               XDG_CACHE_HOME=str(home / ".cache"), REASONING_CACHE_DIR=str(home / ".cache" / "reasoning"))  # fmt: skip
    return subprocess.run([sys.executable, "-m", "reasoning.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)  # fmt: skip


def model_options(server: Hostile, run: Path) -> list[str]:
    return ["--base-url", server.url, "--model", "hostile", "--cache", str(run / "cache.sqlite"),
            "--log", str(run / "calls.jsonl")]  # fmt: skip


def data_dir() -> Path:
    turpin = SHARED_DATA / "turpin"
    if not turpin.is_dir():
        pytest.skip(f"shared data missing: {turpin}")
    return turpin


# Every request cycle: a retryable error that echoes the key, a normal answer, an answer that echoes the key, the
# other retryable status. Retries land on the next entry, so every run completes and meets each case.
MIXED: tuple[str | int, ...] = (429, "echo", "ok", 500, "echo", "ok")


def commands(run: Path) -> dict[str, list[str]]:
    """Each command that calls a model, on a few items: enough requests to meet every answer in `MIXED`."""
    data, out = shlex.quote(str(data_dir())), shlex.quote(str(run))
    lines = {
        "generate": "generate 'What is 2 + 2?' -n 3 --temperature 0.7 --json",
        "game24": f"game24 run --method cot --samples 2 --puzzle '4 5 6 10' --puzzle '1 2 3 4' --puzzle '2 3 4 5' "
        f"--out {out}",
        "audit": f"audit run --tasks sports_understanding --limit 2 --cot both --data {data} --out {out}",
        "supericl": f"supericl run --tasks sports_understanding --limit 2 --shots 2 --explain --data {data} "
        f"--out {out}",
    }
    return {name: shlex.split(line) for name, line in lines.items()}


@pytest.mark.parametrize("command", ["generate", "game24", "audit", "supericl"])
def test_cli_runs_against_a_hostile_server_write_the_key_nowhere(
    tmp_path: Path, hostile_server: Any, command: str
) -> None:
    key = planted()
    server = hostile_server(key, MIXED)
    run = tmp_path / "run"
    out = cli(tmp_path, key, *commands(run)[command], *model_options(server, run))
    assert out.returncode == 0, out.stderr[-3000:]
    # The key was in play: sent on every request, and handed back in error bodies and completions.
    assert server.seen_auth and set(server.seen_auth) == {f"Bearer {key}"}
    assert {429, "echo"} <= set(server.answered)
    assert command == "generate" or {500, "ok"} <= set(server.answered)
    assert key not in out.stdout and key not in out.stderr
    assert files_holding(tmp_path, key) == []
    # What the server echoed into completions is there, redacted: the runs did store its output.
    assert files_holding(tmp_path, "[redacted]"), sorted(p.name for p in tmp_path.rglob("*"))
    assert (run / "cache.sqlite").exists() and (run / "calls.jsonl").exists()


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_a_fatal_error_that_echoes_the_key_is_one_line_without_it(
    tmp_path: Path, hostile_server: Any, status: int
) -> None:
    key = planted()
    server = hostile_server(key, (status,), text_bodies=(404,))
    run = tmp_path / "run"
    out = cli(tmp_path, key, *commands(run)["game24"], *model_options(server, run))
    # (Not asserted: no traceback. game24 can print one at shutdown here, when sibling calls still in flight
    # find the client closed under them: a shutdown-order bug, not a key leak.)
    assert out.returncode == 2 and f"reasoning: error: HTTP {status} from server" in out.stderr
    assert key not in out.stdout + out.stderr and files_holding(tmp_path, key) == []
    record = json.loads((run / "calls.jsonl").read_text().splitlines()[0])
    assert record["error"] == "BadRequestError" and record["status"] == status


def test_generate_with_a_key_from_another_variable(tmp_path: Path, hostile_server: Any) -> None:
    key = planted()
    server = hostile_server(key, (401,))
    env = dict(os.environ, MY_KEY=key)
    env.pop("OPENAI_API_KEY", None)
    argv = [sys.executable, "-m", "reasoning.cli", "generate", "hi", "--api-key-env", "MY_KEY"]
    out = subprocess.run([*argv, *model_options(server, tmp_path)], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 2 and server.seen_auth == [f"Bearer {key}"]
    assert key not in out.stdout + out.stderr and files_holding(tmp_path, key) == []


# ---- in process: every error and the model object ----


def chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it links to (cause, context, group members)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += list(getattr(current, "exceptions", ()))


def assert_clean(exc: BaseException, key: str) -> None:
    for e in chain(exc):
        for text in (str(e), repr(e), repr(e.args), repr(vars(e))):
            assert key not in text, f"{type(e).__name__}: {text[:300]}"
    printed = "".join(traceback.format_exception(exc))
    assert key not in printed


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429, 500, 502, 503])
@pytest.mark.parametrize("chat", [False, True])
async def test_every_status_error_is_clean(hostile_server: Any, status: int, chat: bool) -> None:
    key = planted()
    server = hostile_server(key, (status,), text_bodies=(404, 502))
    model = OpenAICompatibleModel("hostile", base_url=server.url, api_key=key)
    request = GenerationRequest.chat("hi") if chat else GenerationRequest(prompt="hi")
    async with model:
        with pytest.raises(BackendError) as info:
            await model.generate(request)
    error = info.value
    expected = RateLimitError if status == 429 else ServerError if status >= 500 else BadRequestError
    assert type(error) is expected and error.status == status  # type: ignore[attr-defined]
    body = error.body  # type: ignore[attr-defined]
    assert body and "[redacted]" in body and key not in body
    assert "Bearer [redacted]" in body  # the echoed header, whole
    assert_clean(error, key)
    assert error.__context__ is None  # the openai error, which holds the request and its headers, is not kept
    assert key not in repr(model) and key not in str(model)


async def test_a_key_straddling_the_body_excerpts_cut_is_not_left_in_part(hostile_server: Any) -> None:
    key = planted()
    server = hostile_server(key, (400,))
    model = OpenAICompatibleModel("hostile", base_url=server.url, api_key=key)

    def long_body(what: str | int, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, bytes, str]:
        text = "x" * 495 + key + " and more"  # the 500-character excerpt cuts through the key
        return 400, text.encode(), "text/plain"

    server.answer = long_body  # type: ignore[method-assign]
    async with model:
        with pytest.raises(BadRequestError) as info:
            await model.generate(GenerationRequest(prompt="hi"))
    body = info.value.body or ""
    assert body == "x" * 495 + "[redacted]"[:5] and key[:5] not in body


@pytest.mark.parametrize(
    "bad",
    [
        "not json at all {key}",
        {"choices": [{"index": 0, "text": "ok"}], "usage": {"prompt_tokens": "{key}"}},
        {"choices": [{"index": 0, "text": "ok", "decoding": {"mode": "{key}", "block": "{key}"}}]},
        {"choices": [{"index": 0, "text": ["{key}"]}]},
        {"choices": "{key}"},
    ],
    ids=["not-json", "usage", "decoding", "text-list", "choices-str"],
)
async def test_malformed_answers_quoting_the_key_are_clean(hostile_server: Any, bad: Any) -> None:
    key = planted()
    server = hostile_server(key, (200,))
    payload = (json.dumps(bad) if not isinstance(bad, str) else bad).replace("{key}", key).encode()

    def malformed(what: str | int, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, bytes, str]:
        return 200, payload, "application/json"

    server.answer = malformed  # type: ignore[method-assign]
    async with OpenAICompatibleModel("hostile", base_url=server.url, api_key=key) as model:
        with pytest.raises(MalformedResponseError) as info:
            await model.generate(GenerationRequest(prompt="hi"))
    assert "unparseable response" in str(info.value) or "choice" in str(info.value)
    assert_clean(info.value, key)


async def test_through_the_engine_retries_cache_and_log_stay_clean(tmp_path: Path, hostile_server: Any) -> None:
    key = planted()
    server = hostile_server(key, (429, 500, "echo", 401))
    model = OpenAICompatibleModel("hostile", base_url=server.url, api_key=key)
    cache, log = ResponseCache(tmp_path / "cache.sqlite"), CallLog(tmp_path / "calls.jsonl")
    config = EngineConfig(retry=RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02))
    async with Engine(model, config, cache=cache, log=log) as engine:
        first = await engine.generate(GenerationRequest(prompt="a", n=2, temperature=0.7))  # 429, 500, then echo
        with pytest.raises(BadRequestError) as info:
            await engine.generate(GenerationRequest(prompt="b"))  # 401: not retried
        assert key not in repr(engine.model)
    cache.close()
    log.close()
    assert all("[redacted]" in t and key not in t for t in first.texts)
    assert_clean(info.value, key)
    assert files_holding(tmp_path, key) == []
    assert server.answered == [429, 500, "echo", 401]


async def test_a_short_placeholder_key_is_not_redacted_from_text(hostile_server: Any) -> None:
    server = hostile_server("EMPTY", ("echo",))
    async with OpenAICompatibleModel("hostile", base_url=server.url, api_key="EMPTY") as model:
        result = await model.generate(GenerationRequest(prompt="hi"))
    assert "your key is EMPTY" in result.text  # not a secret; replacing it would garble ordinary words


def test_the_model_object_does_not_show_the_key() -> None:
    key = planted()
    model = OpenAICompatibleModel("m", base_url="http://127.0.0.1:9/v1", api_key=key)
    assert key not in repr(model) and key not in str(model) and key not in f"{model!r} {model}"
