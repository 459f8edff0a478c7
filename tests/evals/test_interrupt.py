"""Ctrl-C during an eval run on the embedded model (llama.cpp in process): the run stops as interrupted (exit 130),
with a partial summary and report of the records on disk, and closes its files, instead of freeing the model under
a running decode (which was a segfault, return code -11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, require

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]


def finished_records(path: Path) -> int:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return 0
    return text.count("\n")  # a line is a record once its newline is written


def test_ctrl_c_during_a_run_on_the_embedded_model_exits_130_with_a_partial_report(embedded_gguf_path, tmp_path):
    require("llama_cpp")
    out = tmp_path / "run"
    command = [sys.executable, "-X", "faulthandler", "-m", "reasoning.cli", "game24", "run", "--method", "io",
               "--range", "900-920", "--out", str(out), "--backend", "llamacpp", "--parallel", "2"]  # fmt: skip
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    with (tmp_path / "stderr").open("w+") as stderr:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr)  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while finished_records(out / "results.jsonl") < 1:
                assert proc.poll() is None, f"the run ended before its first record: {proc.returncode}"
                assert time.monotonic() < deadline, "no record in 300 s"
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends; the next puzzle's decode is running now
            code = proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr.seek(0)
        printed = stderr.read()
    assert code == 130, f"return code {code}\n{printed[-4000:]}"
    assert "reasoning: interrupted" in printed
    records = finished_records(out / "results.jsonl")
    assert 1 <= records < 21
    # The partial outputs say what is on disk; the cache was closed (SQLite removes its WAL files on a clean close).
    assert (out / "summary.json").is_file() and (out / "report.html").is_file()
    assert not (out / "cache.sqlite-wal").exists() and not (out / "cache.sqlite-shm").exists()
