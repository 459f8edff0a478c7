import json
import subprocess
import sys

import pytest

from reasoning.cli import main
from reasoning.testing import FaultProxy


def run(*args: str, env=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reasoning.cli", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_unknown_subcommand_exits_with_usage():
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_bad_option_value_is_one_line_no_traceback():
    out = run("generate", "hi", "-n", "0", "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "invalid option" in out.stderr


def test_server_down_is_one_line_no_traceback():
    out = run("generate", "hi", "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("reasoning: error: connection failed")


async def test_generate_against_a_server_json_output(tmp_path):
    async with FaultProxy() as server:
        import asyncio

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "reasoning.cli", "generate", "hi", "-n", "2", "--json",
            "--base-url", server.url + "/v1", "--model", "stub", "--log", str(tmp_path / "log.jsonl"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    assert [line["text"] for line in lines] == ["stub reply 0", "stub reply 1"]
    assert json.loads((tmp_path / "log.jsonl").read_text())["n"] == 2


async def test_generate_spreads_over_repeated_base_urls(tmp_path):
    import asyncio

    async with FaultProxy() as gone:
        dead = gone.url + "/v1"
    # That server is closed now: requests sent there fail over to the live one.
    async with FaultProxy() as one:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "reasoning.cli", "generate", "hi", "-n", "3", "--json", "--temperature", "1",
            "--base-url", dead, "--base-url", one.url + "/v1", "--model", "stub",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    assert len(stdout.decode().splitlines()) == 3 and one.stats.requests >= 1


def test_api_key_never_in_output_or_log(tmp_path):
    import os

    env = dict(os.environ, MY_KEY="sk-planted-secret-123")
    out = run("generate", "hi", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--api-key-env", "MY_KEY",
              "--log", str(tmp_path / "log.jsonl"), env=env)  # fmt: skip
    assert "sk-planted-secret-123" not in out.stdout + out.stderr
    log = tmp_path / "log.jsonl"
    assert log.exists() and "sk-planted-secret-123" not in log.read_text()


@pytest.mark.model
def test_generate_on_the_embedded_model(embedded_gguf_path):
    out = run("generate", "What is 4 + 5? Answer with the number only.", "--max-tokens", "8")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "9"


@pytest.mark.model
def test_model_subcommand(embedded_gguf_path):
    out = run("model")
    assert out.returncode == 0
    info = json.loads(out.stdout)
    assert info["verified"] and info["gguf"] == str(embedded_gguf_path)
