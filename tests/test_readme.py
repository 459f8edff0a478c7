"""The README's ten-line example runs as written against the embedded model."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_ten_line_example_is_short():
    example = python_blocks()[0]
    code_lines = [line for line in example.splitlines() if line.strip()]
    assert len(code_lines) <= 11


@pytest.mark.model
def test_ten_line_example_runs(embedded_gguf_path, tmp_path):
    example = python_blocks()[0]
    for run in range(2):
        out = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True,
                             timeout=600)  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        samples = [line for line in out.stdout.splitlines() if line.startswith("- ")]
        assert len(samples) == 3
        spend = out.stdout.splitlines()[-1]
        if run == 0:
            assert "calls=1" in spend and "cached_samples=0" in spend
        else:
            assert "calls=0" in spend and "cached_samples=3" in spend
    assert (tmp_path / "runs" / "cache.sqlite").exists()
