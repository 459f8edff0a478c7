"""Shared fixtures: the embedded model file and a real llama.cpp OpenAI-compatible server on loopback.

Everything that needs the embedded model shares one server and one in-process model per test session. On CI
(`CI` set) a missing llama-cpp-python or model is an error, not a skip: those tests are the proof.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ON_CI = bool(os.environ.get("CI"))
SHARED_DATA = Path(os.environ.get("REASONING_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-gpu", action="store_true", help="run tests that need a CUDA GPU")
    parser.addoption("--run-paid", action="store_true", help="run tests that call paid APIs")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "gpu" in item.keywords and not config.getoption("--run-gpu"):
            item.add_marker(pytest.mark.skip(reason="needs --run-gpu"))
        if "paid" in item.keywords and not config.getoption("--run-paid"):
            item.add_marker(pytest.mark.skip(reason="needs --run-paid"))


def require(module: str) -> None:
    """Skip locally, fail on CI, when an optional dependency is missing."""
    if importlib.util.find_spec(module) is None:
        if ON_CI:
            pytest.fail(f"{module} is not installed, but CI must run these tests")
        pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="session")
def embedded_gguf_path() -> Path:
    from reasoning import embedded_gguf

    try:
        return embedded_gguf()
    except Exception as exc:
        if ON_CI:
            pytest.fail(f"embedded model unavailable: {exc}")
        pytest.skip(f"embedded model unavailable: {exc}")


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(proc: subprocess.Popen[bytes], url: str, log: Path, *, name: str, timeout: float) -> None:
    """Poll `url`/v1/models until it answers 200; fail with the log's tail if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not start: {log.read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def llama_server(embedded_gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama.cpp server (llama-cpp-python[server]) on loopback serving the embedded model; yields /v1 URL."""
    require("llama_cpp")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(embedded_gguf_path),
                "--model_alias",
                "embedded",
                "--n_threads",
                "2",
                "--n_ctx",
                "4096",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url, log, name="llama.cpp server", timeout=120)
        yield url + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def llama_model(embedded_gguf_path: Path):  # type: ignore[no-untyped-def]
    """The embedded model in process on llama.cpp, shared by the session (by each worker, under pytest-xdist).

    One generation thread: on this project's 2-core machines, with the toolkit's `OMP_WAIT_POLICY=PASSIVE`, greedy
    decoding ran faster on one than on two (19.9 against 16.5 tok/s; `benchmarks/llamacpp_threads.py`, BENCHMARKS.md,
    2026-12-02), and one thread never waits on a core the other xdist worker holds. Prefill keeps llama-cpp-python's
    default `n_threads_batch` (the CPU count): an 800-token prompt in 7.9 s against 13.1 s on one thread.
    """
    require("llama_cpp")
    from reasoning.backends.llamacpp import LlamaCppModel

    return LlamaCppModel.embedded(n_threads=1)


@pytest.fixture(scope="session")
def torch_model(embedded_gguf_path: Path):  # type: ignore[no-untyped-def]
    """The embedded model in torch fp32 (converted once and cached), shared by the session."""
    require("torch")
    require("transformers")
    from reasoning.backends.torch_local import TorchModel

    return TorchModel.embedded(dtype="float32")


# --- hypothesis profiles (property and fuzz tests) -------------------------------------------------------------
# "ci" (chosen when CI is set) is reproducible: the same examples on every run, no example database. Both profiles
# have no deadline, since this machine's CPUs are shared and a slow example is not a failing one. Pick one by hand
# with HYPOTHESIS_PROFILE=dev|ci.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, database=None, max_examples=100, deadline=None,
                                      print_blob=True)  # fmt: skip
_hypothesis_settings.register_profile("dev", max_examples=100, deadline=None)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if ON_CI else "dev"))
