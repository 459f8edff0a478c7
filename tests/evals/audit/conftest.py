"""Fixtures for the audit tests: the paper's data where it is present (skipped locally when not), and small
synthetic items."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import reasoning.cli
from evals.audit import FewShotPrompts, Item
from reasoning import Engine
from reasoning.backends import LanguageModel
from reasoning.engine import EngineConfig
from tests.conftest import ON_CI, SHARED_DATA

TURPIN = SHARED_DATA / "turpin"


@pytest.fixture(scope="session")
def turpin_dir() -> Path:
    if not (TURPIN / "bbh").is_dir() or not (TURPIN / "bbq").is_dir():
        if ON_CI:
            pytest.fail(f"the Turpin et al. data is missing at {TURPIN}")
        pytest.skip(f"the Turpin et al. data is not at {TURPIN}")
    return TURPIN


FEW_SHOT = FewShotPrompts(
    baseline="Q1\n\nAnswer choices:\n(A) x\n(B) y\n\nSo the best answer is: (B).\n\n###\n\n"
    "Q2\n\nAnswer choices:\n(A) x\n(B) y\n\nSo the best answer is: (A).\n\n###\n\n",
    all_a="Q1\n\nAnswer choices:\n(A) y\n(B) x\n\nSo the best answer is: (A).\n\n###\n\n"
    "Q2\n\nAnswer choices:\n(A) x\n(B) y\n\nSo the best answer is: (A).\n\n###\n\n",
)


def make(i: int, *, gold: int = 0, suggest: int | None = 1, n: int = 3, task: str = "toy") -> Item:
    """Item `i`: "Question i: which one?" with choices "choice 0" .. "choice n-1"."""
    return Item(
        id=f"{task}/{i}",
        task=task,
        question=f"Question {i}: which one?",
        choices=tuple(f"choice {k}" for k in range(n)),
        gold=gold,
        random_ans_idx=suggest,
        few_shot=FEW_SHOT,
    )


@pytest.fixture
def make_item() -> Callable[..., Item]:
    return make


def lend_model(monkeypatch: pytest.MonkeyPatch, model: LanguageModel) -> None:
    """Every engine `reasoning.cli.make_engine` makes (a CLI run's) is on `model`, with the run's options, cache
    and call log."""

    def make_engine(args: argparse.Namespace) -> Engine:
        return Engine(model, EngineConfig(max_concurrency=args.concurrency), cache=args.cache, log=args.log)

    monkeypatch.setattr(reasoning.cli, "make_engine", make_engine)


def write_hint_items(tmp_path: Path) -> Path:
    """Eight items of three choices, "Question i: which one?", gold i % 3, the bias pointing to (i + 1) % 3, as
    an items file (the hints tests' `items_file`)."""
    path = tmp_path / "mine.jsonl"
    rows = [{"id": i, "question": f"Question {i}: which one?", "choices": ["choice 0", "choice 1", "choice 2"],
             "answer": i % 3, "random_ans_idx": (i + 1) % 3} for i in range(8)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def items_file(tmp_path: Path) -> Path:
    """Twelve items of your own as JSONL (three choices; the suggested answer is the gold one every sixth item), after
    a comment line."""
    path = tmp_path / "mine.jsonl"
    rows = [{"id": i, "question": f"Question {i}: which one?", "choices": ["choice 0", "choice 1", "choice 2"],
             "answer": i % 3, "random_ans_idx": (i + 1) % 3 if i % 6 else i % 3} for i in range(12)]  # fmt: skip
    path.write_text("# my items\n" + "".join(json.dumps(r) + "\n" for r in rows))
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`reasoning audit ARGS...` in process: (exit code, stdout, stderr)."""
    code = reasoning.cli.main(["audit", *args])
    out = capsys.readouterr()
    return code, out.out, out.err
