"""torch's OpenMP threads wait passively unless the user says otherwise: spinning ones made a sampled replay 2.3x
slower beside one busy thread on 2 cores (BENCHMARKS.md, 2026-12-02). OpenMP reads the setting when torch loads,
so the backend sets it before loading torch, which importing the backend does not."""

import os
import subprocess
import sys

import pytest

from reasoning.errors import ModelFileError

pytest.importorskip("torch")

PROBE = """
import os, sys
from reasoning.backends.torch_local import TorchModel
loaded_by_import = "torch" in sys.modules
try:
    TorchModel(sys.argv[1])
except Exception as exc:
    print(type(exc).__name__)
print(loaded_by_import, os.environ.get("OMP_WAIT_POLICY"), "torch" in sys.modules)
"""


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_passive_waiting_is_set_before_torch_loads(tmp_path, given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    run = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "missing")], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert run.stdout.split() == ["ModelFileError", "False", expected, "True"], run.stderr


def test_the_users_own_setting_wins_in_process(monkeypatch, tmp_path):
    from reasoning.backends.torch_local import TorchModel

    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    with pytest.raises(ModelFileError):
        TorchModel(tmp_path / "missing")
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
