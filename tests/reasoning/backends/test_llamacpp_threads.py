"""llama.cpp's OpenMP threads wait passively unless the user says otherwise: spinning threads stalled every other
process on a busy machine (an IO run of 3 puzzles: 125 s against 35 s beside a benchmark on 2 cores)."""

import os

import pytest

from reasoning.backends.llamacpp import LlamaCppModel
from reasoning.errors import ModelFileError

pytest.importorskip("llama_cpp")


def test_the_first_model_sets_passive_waiting(monkeypatch, tmp_path):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with pytest.raises(ModelFileError):
        LlamaCppModel(tmp_path / "missing.gguf")  # set before llama_cpp loads, so before the file is looked at

    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_the_users_own_setting_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    with pytest.raises(ModelFileError):
        LlamaCppModel(tmp_path / "missing.gguf")

    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
