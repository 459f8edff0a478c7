"""A replay backend built from the published GPT-4 Tree-of-Thoughts run (Yao et al., 2023).

For one puzzle's record it answers each propose request with the lines GPT-4 proposed for that state, and each
value request with samples that reproduce GPT-4's summed value for that state (sure 20 / likely 1 /
impossible 0.001). Requests are matched by their prompt text, built with our own prompts from the logged states,
so a search that asks anything the logged search did not ask fails loudly (`ReplayMissError`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from reasoning.backends.base import LanguageModel
from reasoning.errors import BackendError
from reasoning.tree import Node
from reasoning.types import Completion, GenerationRequest, GenerationResult

from .task import Game24Task, node_depth

__all__ = ["ReplayMissError", "ReplayModel", "load_log", "value_samples"]


class ReplayMissError(BackendError):
    """The replay has no answer for this request: the search asked something the logged run did not."""


def load_log(path: str | Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(Path(path).read_text())
    return records


def value_samples(value: float, n: int) -> list[str]:
    """`n` value outputs whose words sum to `value` (sure 20, likely 1, impossible 0.001; other lines count 0)."""
    for sure in range(n + 1):
        for likely in range(n + 1 - sure):
            for impossible in range(n + 1 - sure - likely):
                if abs(20 * sure + likely + 0.001 * impossible - value) < 1e-6:
                    words = ["sure"] * sure + ["likely"] * likely + ["impossible"] * impossible
                    return words + ["no verdict"] * (n - len(words))
    raise ValueError(f"value {value} is not a sum of {n} value words")


def _blocks(ys: list[str], new_ys: list[str]) -> list[list[str]]:
    """Split a step's candidates into the proposals of each kept state (each block starts with its state).

    Two identical adjacent states are split where the first proposal repeats: the log does not record the
    boundary, and the one such case in the published run splits cleanly there."""
    out, pos = [], 0
    for k, y in enumerate(ys):
        start = pos
        while pos < len(new_ys) and new_ys[pos].startswith(y):
            if pos > start and k + 1 < len(ys) and ys[k + 1] == y and new_ys[pos] == new_ys[start]:
                break
            pos += 1
        out.append(new_ys[start:pos])
    if pos != len(new_ys):
        raise ValueError("the step's candidates do not split into blocks of its states")
    return out


def _content(request: GenerationRequest) -> str:
    if request.messages is not None:
        return request.messages[-1].content
    return request.prompt or ""


class ReplayModel(LanguageModel):
    """Answers one puzzle's propose and value requests from the published log.

    The k-th time the same propose prompt is asked, the k-th logged proposal list for it is returned (two
    states with the same numbers left were proposed from separately in the original run).

    `strict=False` serves searches that leave the logged path (e.g. with thoughts filtered): a propose prompt
    asked more often than logged gets its last logged answer again, and an unknown prompt gets an empty answer
    (no thoughts) or, for a value prompt, samples with no verdict (value 0). `misses` counts those.
    """

    def __init__(self, record: dict[str, Any], task: Game24Task | None = None, *, strict: bool = True) -> None:
        self.record = record
        self.strict = strict
        self.misses = 0
        self.puzzle = record["steps"][0]["x"]
        self.task = task or Game24Task(self.puzzle)
        self.name = f"gpt-4-replay/{record['idx']}"
        self.propose: dict[str, list[str]] = defaultdict(list)
        self.values: dict[str, float] = {}
        self._served: dict[str, int] = defaultdict(int)
        for step in record["steps"]:
            for y, block in zip(step["ys"], _blocks(step["ys"], step["new_ys"]), strict=True):
                node = _node(y)
                prompt = _content(self.task.propose_request(node))
                self.propose[prompt].append("\n".join(c[len(y) : -1] for c in block))
            seen: set[str] = set()
            for y, value in zip(step["new_ys"], step["values"], strict=True):
                if y in seen:  # a duplicate: the original gave it 0 without asking
                    continue
                seen.add(y)
                node = _node(y)
                prompt = _content(self.task.value_request(node))
                if prompt in self.values and abs(self.values[prompt] - value) > 1e-9:
                    raise ValueError(f"conflicting logged values for one prompt in puzzle {record['idx']}")
                self.values[prompt] = value

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        prompt = _content(request)
        if prompt in self.propose:
            # With a seed, the sample's number names the logged proposal (sample k of a request is drawn with seed
            # + k, `GenerationRequest.sample_seed`): robust to requests arriving out of order. Without one,
            # requests are served in arrival order.
            seed = request.sample_seed(0)
            k = seed if seed is not None else self._served[prompt]
            outputs = self.propose[prompt]
            if k >= len(outputs):
                if self.strict:
                    raise ReplayMissError(f"propose prompt asked {k + 1} times, logged {len(outputs)}", model=self.name)
                self.misses += 1
                k = len(outputs) - 1
            self._served[prompt] = k + 1
            texts = [outputs[k]] + [""] * (request.n - 1)
        elif prompt in self.values:
            texts = value_samples(self.values[prompt], request.n)
        elif self.strict:
            raise ReplayMissError("no logged answer for this prompt", model=self.name)
        else:
            self.misses += 1
            texts = [""] * request.n
        completions = tuple(Completion(text=t, finish_reason="stop") for t in texts)
        return GenerationResult(model=self.name, completions=completions)


def _node(state: str) -> Node[str]:
    return Node(state=state, depth=node_depth(state))
