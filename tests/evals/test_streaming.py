"""Large runs stream: the three runners hold no per-item state once an item's record is on disk, so memory after
1,000 and after 3,000 finished items is the same, and records reach the results file as they finish.

Measured in process on a stub model (no HTTP: the runner is what is measured), results file and response cache on
disk, with tracemalloc (Python allocations: exact, and unaffected by other processes on a noisy machine):
- GROWTH_BOUND, from item 1,000 to item 3,000: 256 KiB, under 128 bytes an item, while the smallest record a runner
  could keep (a game-24 IO record) is over 1 KiB, an entry of the audit about 3 KiB; keeping a record, a task or a
  ledger entry per item fails it (the runners before streaming grew 6 MiB (audit) and 32 MiB (SuperICL) here).
- LEVEL_BOUND, at item 1,000 over the start: 2 MiB, what the runner holds at once (the items in flight, for SuperICL
  a chunk of 256 item runs, about 1 MiB, and first-use caches); a task made up front per item of 3,000 takes
  over 5 MiB (the game-24 runner before streaming: 5 MiB; audit 9 MiB; SuperICL 15 MiB).
RSS is checked loosely (RSS_BOUND): SQLite's page cache (up to 2 MiB) and allocator slack are outside tracemalloc.

Results files are read back a line at a time, lines ending at "\n" only (the last two tests).
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evals.audit import Item, Setting, SuggestedAnswer
from evals.audit import runner as audit
from evals.game24 import runner as game24
from evals.game24.data import Puzzle
from evals.game24.methods import MethodConfig
from evals.supericl import Dataset, Example, Options, prepare
from evals.supericl import runner as supericl
from reasoning import Engine, EngineConfig
from reasoning.backends.base import LanguageModel
from reasoning.errors import ConfigurationError
from reasoning.plugins import FunctionPlugin
from reasoning.types import Completion, GenerationRequest, GenerationResult

ITEMS = 3000
FIRST = 1000
GROWTH_BOUND = 256 * 1024
LEVEL_BOUND = 2 * 1024 * 1024
RSS_BOUND = 16 * 1024 * 1024
NULL = open(os.devnull, "w")  # progress lines go nowhere (a StringIO would grow with every line)


class Stub(LanguageModel):
    """Answers every request at once from a function of its text; keeps nothing."""

    name = "stub"

    def __init__(self, reply: Callable[[str], str]) -> None:
        self.reply = reply

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        text = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages or ())
        out = self.reply(text)
        completions = tuple(Completion(text=out, finish_reason="stop", completion_tokens=len(out.split()))
                            for _ in range(request.n))  # fmt: skip
        return GenerationResult(model=self.name, completions=completions, prompt_tokens=len(text.split()))


def rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


class Memory:
    """Traces Python allocations from construction to `stop()`; `sample(done)` (from a runner's progress) notes
    them and RSS when `done` reaches one of `marks`."""

    def __init__(self, *marks: int) -> None:
        self.marks = marks
        self.at: dict[int, tuple[int, int]] = {}
        tracemalloc.start()
        gc.collect()
        self.start = tracemalloc.get_traced_memory()[0]

    def sample(self, done: int) -> None:
        if done in self.marks and done not in self.at:
            gc.collect()  # count only what is still reachable
            self.at[done] = (tracemalloc.get_traced_memory()[0], rss())

    def stop(self) -> None:
        tracemalloc.stop()

    def check(self, name: str, results: Path, records: int) -> None:
        assert lines(results) == records
        (py0, rss0), (py1, rss1) = self.at[self.marks[0]], self.at[self.marks[-1]]
        print(f"\n{name}: from item {FIRST} to {ITEMS}, Python allocations {(py1 - py0) / 1024:+.0f} KiB, RSS "
              f"{(rss1 - rss0) / 2**20:+.1f} MiB; at item {FIRST}, {(py0 - self.start) / 1024:.0f} KiB over the "
              "start")  # fmt: skip
        assert py1 - py0 < GROWTH_BOUND
        assert py0 - self.start < LEVEL_BOUND
        assert rss1 - rss0 < RSS_BOUND


def engine(model: LanguageModel, folder: Path) -> Engine:
    return Engine(model, EngineConfig(max_concurrency=8), cache=folder / "cache.sqlite")


async def test_game24_streams(tmp_path: Path) -> None:
    puzzles = [Puzzle(i, f"{1 + i % 13} {1 + i // 13 % 13} {1 + i // 169 % 13} {1 + i % 7}") for i in range(ITEMS)]
    results = game24.ResultsFile(tmp_path / "results.jsonl")

    class Sampled(game24.Progress):
        def update(self, record: dict[str, Any]) -> None:
            super().update(record)
            memory.sample(self.done)
            # Appended as it finished: the file has a line for every finished puzzle.
            assert self.done % 500 or lines(results.path) == self.done

    memory = Memory(FIRST, ITEMS)
    try:
        async with engine(Stub(lambda _: "Answer: (1 + 2) * 8 = 24"), tmp_path) as shared:
            await game24.run_eval(puzzles, lambda _: shared, MethodConfig(method="io"), results, model="stub",
                                  parallel=16, progress=Sampled(ITEMS, stream=NULL))  # fmt: skip
    finally:
        memory.stop()
    memory.check("game24", results.path, ITEMS)


def pick_a_letter(text: str) -> str:
    h = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    letters = re.findall(r"^\(([A-Z])\) ", text, flags=re.M) or ["A"]
    return f"Weighing each option. So the best answer is: ({letters[h % len(letters)]})."


async def test_audit_streams(tmp_path: Path) -> None:
    items = [Item(id=f"q{i}", task=f"t{i % 4}", question=f"Question {i}: which one fits?",
                  choices=tuple(f"option {i}.{k}" for k in range(3 + i % 3)), gold=i % 3, random_ans_idx=(i + 1) % 3)
             for i in range(ITEMS)]  # fmt: skip
    sampling = audit.Sampling(chat=True)
    results = audit.RunFolder(tmp_path).bind(audit.RunInfo(model="stub", sampling=sampling))

    class Sampled(audit.Progress):
        def update(self, entry: audit.Entry) -> None:
            super().update(entry)
            memory.sample(self.done)
            assert self.done % 500 or lines(results.path) == self.done

    memory = Memory(FIRST, ITEMS)
    try:
        async with engine(Stub(pick_a_letter), tmp_path) as stub:
            await audit.run_audit(items, [SuggestedAnswer()], [Setting(cot=True, few_shot=False)], stub, results,
                                  sampling, parallel=16, progress=Sampled(ITEMS, NULL))  # fmt: skip
    finally:
        memory.stop()
    memory.check("audit", results.path, ITEMS)


async def test_supericl_streams(tmp_path: Path) -> None:
    labels = ("no", "yes")
    train = tuple(Example(id=f"train/{i}", task="toy", text=f"train {i}", label=labels[i % 2]) for i in range(8))
    test = tuple(Example(id=f"toy/{i}", task="toy", text=f"item {i}", label=labels[i % 2]) for i in range(ITEMS))
    dataset = Dataset("toy", labels, train, test)
    plugin = FunctionPlugin(lambda texts: [(labels[len(t) % 2], 0.5 + len(t) % 5 / 10) for t in texts], name="p")
    options = Options(shots=2)
    shots, task = await prepare(dataset, plugin, options)
    results = supericl.RunFolder(tmp_path).bind(supericl.RunInfo(model="stub", options=options, tasks={"toy": task}))
    methods = 4  # a record per method

    class Sampled(supericl.Progress):
        def update(self, records: Any) -> None:
            super().update(records)
            memory.sample(self.done)
            assert self.done % 500 or lines(results.path) == self.done

    memory = Memory(FIRST * methods, ITEMS * methods)
    try:
        async with engine(Stub(lambda text: " " + labels[len(text) % 2]), tmp_path) as stub:
            await supericl.run_supericl([(dataset, plugin, shots)], stub, results, options, parallel=16,
                                        progress=Sampled(ITEMS * methods, NULL))  # fmt: skip
    finally:
        memory.stop()
    memory.check("supericl", results.path, ITEMS * methods)


def test_results_are_read_line_by_line_on_newlines_only(tmp_path: Path) -> None:
    # A model's text may hold U+2028 (LINE SEPARATOR), written as is in JSON; `str.splitlines` would cut there.
    record = supericl.Record(key="a|icl", item_id="a", task="t", method="icl", text="x\u2028y", gold="yes",
                             answer="yes", correct=True, outcome="answered", completion="yes\u2028no")  # fmt: skip
    results = supericl.ResultsFile(tmp_path / "results.jsonl")
    results.append([record])
    assert "\u2028" in results.path.read_text(encoding="utf-8")
    assert list(results.records()) == [record] and results.load() == {"a|icl": record}


def test_a_results_line_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    results = supericl.ResultsFile(tmp_path / "results.jsonl")
    results.append([supericl.Record(key="a|icl", item_id="a", task="t", method="icl", text="x", gold="yes",
                                    answer="yes", correct=True, outcome="answered")])  # fmt: skip
    with results.path.open("ab") as f:
        f.write(b'{"key": "\xff"}\n')
    with pytest.raises(ConfigurationError, match=r"results.jsonl:2: not UTF-8 text"):
        results.load()
