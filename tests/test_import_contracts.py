"""The import contracts of pyproject.toml (`[tool.importlinter]`) hold: the layers go one way (evals above search and
prompts, both above reasoning), no package has an import cycle among its modules, and the three evals import
nothing of each other. `make lint` runs the same check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint_imports is None:
        pytest.skip(f"lint-imports is not installed beside {sys.executable} (the dev extra: pip install -e '.[dev]')")
    out = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "3 kept, 0 broken" in out.stdout
