"""Fixtures for the SuperICL tests: the BBH data where it is present (skipped locally when not, an error on CI), and
a six-item toy task whose plug-in and scripted model have planted behaviour (hand-computed in `test_metrics`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.supericl import Dataset, Example
from reasoning import GenerationRequest
from reasoning.plugins import FunctionPlugin
from tests.conftest import ON_CI, SHARED_DATA

TURPIN = SHARED_DATA / "turpin"


@pytest.fixture(scope="session")
def turpin_dir() -> Path:
    if not (TURPIN / "bbh").is_dir():
        if ON_CI:
            pytest.fail(f"the Turpin et al. data is missing at {TURPIN}")
        pytest.skip(f"the Turpin et al. data is not at {TURPIN}")
    return TURPIN


# item: (gold, plug-in label and confidence (None: it raises), SuperICL answer, ICL answer)
PLAN = {
    1: ("yes", ("yes", 0.95), "yes", "yes"),
    2: ("yes", ("no", 0.55), "yes", "no"),
    3: ("no", ("no", 0.85), "yes", "no"),
    4: ("no", ("yes", 0.65), "maybe", "yes"),
    5: ("yes", None, "yes", "yes"),
    6: ("no", ("yes", 0.92), "no", "no"),
}


def toy_dataset(items: int = 6) -> Dataset:
    train = tuple(Example(id=f"toy/train/{i}", task="toy", text=f"train {i}", label=("yes", "no")[i % 2])
                  for i in range(4))  # fmt: skip
    test = tuple(Example(id=f"toy/{i}", task="toy", text=f"item {i}", label=PLAN[i][0]) for i in range(1, items + 1))
    return Dataset("toy", ("no", "yes"), train, test)


def toy_plugin_fn(texts: list[str]) -> list[tuple[str, float]]:
    out = []
    for text in texts:
        if text.startswith("train"):
            out.append(("yes", 0.8))
            continue
        plan = PLAN[int(text.split()[1])][1]
        if plan is None:
            raise RuntimeError(f"cannot score {text!r}")
        out.append(plan)
    return out


def toy_plugin() -> FunctionPlugin:
    return FunctionPlugin(toy_plugin_fn, name="toy-plugin")


def toy_answer(request: GenerationRequest, _: int) -> str:
    """The planted answers: the last block's item decides, and whether the prompt is SuperICL's. Explanation
    requests get "because item <i>"."""
    text = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages or ())
    last = text.rsplit("Input: ", 1)[1]
    item = int(last.split("\n", 1)[0].split()[1])
    if "Explanation for overriding" in last or (request.messages and len(request.messages) > 1):
        return f"because item {item}"
    return " " + PLAN[item][2 if "toy-plugin" in text else 3]  # only SuperICL prompts name the plug-in
