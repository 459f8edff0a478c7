"""A trained plug-in as the cheap value evaluator of tree-of-thought BFS on the game of 24 (a `Cascade`): value calls
saved and puzzles solved, with and without it, side by side.

The plug-in (`evals.game24.plugin`) is gradient boosting on hand-made features of the numbers left, trained here on
solver-labelled states from the puzzles outside rows 900-999. In the cascade it values the states it is sure about
(confidence >= t); the LLM value evaluator is asked about the rest, and about final answers, which it never judges.

Part 1 — the replay of the published GPT-4 run (puzzles 900-999, b=5, propose + value x3, greedy, the paper's
settings). Without the plug-in the search follows the log exactly. With it, the search may keep states GPT-4 did not
keep: the replay then has no proposals for them (the branch ends) and no value for them (the lenient replay answers
"no verdict", value 0); both are counted as "off the logged path". The exact solver as the evaluator is the
reference: what a perfect value function does with GPT-4's proposals.

Part 2 — the embedded model (llama.cpp in process) on a few puzzles, BFS with breadth 2, thoughts checked
(`--check-steps`; `--unchecked` values every proposed line, as the paper does), one value sample, completion prompts,
at most 24 calls per puzzle: value calls and success with and without the plug-in.

    python benchmarks/game24_plugin.py [--thresholds 0.8 0.9 0.95 0.99] [--embedded 3] [--unchecked]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.game24 import Game24Config, Game24Task, ReplayModel, load_log, solver_evaluator
from evals.game24.arith import ExpressionError, parse_numbers, solve
from evals.game24.data import load_puzzles
from evals.game24.plugin import TEST_ROWS, plugin_cascade, train_game24_plugin
from reasoning import Engine, ResponseCache
from reasoning.backends import LanguageModel
from reasoning.evaluators import Evaluator
from reasoning.plugins import SklearnPlugin, predict_safely
from reasoning.tree import SearchBudget, SearchContext
from search import bfs

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tot"
LOG = DATA / "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"
EvaluatorFor = Callable[[Game24Task], Evaluator[str]]


async def plugin_quality(plugin: SklearnPlugin, records: list[dict[str, Any]], thresholds: list[float]) -> None:
    """The plug-in against the solver on every numbers-left state GPT-4 valued in the log."""
    states = set()
    for record in records:
        task = Game24Task(record["steps"][0]["x"])
        for step in record["steps"]:
            for y in step["new_ys"]:
                last = y.strip().split("\n")[-1]
                if "left: " in last:
                    states.add(task.current_numbers(y))
    texts, truth = [], []
    for text in sorted(states):
        try:
            truth.append(solve(parse_numbers(text)) is not None)
            texts.append(text)
        except ExpressionError:
            continue
    predictions = await predict_safely(plugin, texts)
    wanted = ["solvable" if t else "unsolvable" for t in truth]
    right = [getattr(p, "label", None) == w for p, w in zip(predictions, wanted, strict=True)]
    print(f"  plug-in vs the solver on the {len(texts)} distinct numbers-left states GPT-4 valued: "
          f"{100 * sum(right) / len(right):.1f}% right")  # fmt: skip
    for t in thresholds:
        sure = [r for r, p in zip(right, predictions, strict=True) if getattr(p, "confidence", 0.0) >= t]
        print(f"    confidence >= {t:g}: {100 * len(sure) / len(right):5.1f}% of states, "
              f"{100 * sum(sure) / max(1, len(sure)):5.1f}% of them right")  # fmt: skip


async def replay_row(records: list[dict[str, Any]], evaluator_for: EvaluatorFor, strict: bool) -> dict[str, Any]:
    solved = first = value_calls = misses = escalated = judged = 0
    for record in records:
        task = Game24Task(record["steps"][0]["x"], Game24Config(zero_unfinished=False))
        model = ReplayModel(record, task, strict=strict)
        ctx = SearchContext(Engine(model, cache=ResponseCache()), tag="p")
        result = await bfs(task, evaluator_for(task), ctx, breadth=5, steps=4)
        verdicts = [task.check(n.state) for n in result.outputs]
        solved += any(verdicts)
        first += bool(verdicts) and verdicts[0]
        value_calls += ctx.calls["evaluate"]
        misses += model.misses
        by = [n.info.get("evaluated_by") for n in ctx.tree.nodes]
        escalated += by.count("expensive")
        judged += by.count("cheap")
    return {"solved": solved, "first": first, "value_calls": value_calls, "misses": misses,
            "escalated": escalated, "plugin_valued": judged}  # fmt: skip


async def part1(plugin: SklearnPlugin, thresholds: list[float]) -> None:
    records = load_log(LOG)
    print(f"Part 1: ToT BFS b=5 on the replay of the published GPT-4 run, puzzles 900-999 ({len(records)})")
    await plugin_quality(plugin, records, thresholds)
    rows = [("LLM value (the log)", await replay_row(records, lambda task: task.evaluator(), strict=True))]
    for t in thresholds:
        row = await replay_row(records, lambda task, t=t: plugin_cascade(task, plugin, threshold=t), strict=False)
        rows.append((f"plug-in cascade t={t:g}", row))
    rows.append(("exact solver (reference)", await replay_row(records, solver_evaluator, strict=False)))
    base = rows[0][1]["value_calls"]
    print(f"  {'evaluator':26} {'solved':>7} {'first':>6} {'value calls':>12} {'saved':>7} {'escalated':>10} "
          f"{'plug-in valued':>15} {'off the log':>12}")  # fmt: skip
    for label, r in rows:
        saved = f"{100 * (1 - r['value_calls'] / base):6.1f}%"
        print(f"  {label:26} {r['solved']:>4}/100 {r['first']:>6} {r['value_calls']:>12} {saved:>7} "
              f"{r['escalated']:>10} {r['plugin_valued']:>15} {r['misses']:>12}")  # fmt: skip
    print("  (value calls: backend calls for values, each distinct value prompt once per puzzle as the engine's cache"
          " and the paper's value cache do; escalated: states the cascade asked the LLM about, final answers always;"
          " plug-in valued: states whose value is the plug-in's; off the log: requests the replay could not answer,"
          " given an empty answer)")  # fmt: skip


async def embedded_row(
    model: LanguageModel, puzzles: list[Any], evaluator_for: EvaluatorFor, check_steps: bool
) -> dict[str, Any]:
    solved = value_calls = calls = escalated = 0
    seconds = 0.0
    for puzzle in puzzles:
        task = Game24Task(puzzle.numbers, Game24Config(n_value=1, check_steps=check_steps, chat=False,
                                                       propose_max_tokens=96, value_max_tokens=32, seed=0))  # fmt: skip
        engine = Engine(Borrowed(model), cache=ResponseCache())
        ctx = SearchContext(engine, tag="p", budget=SearchBudget(max_calls=24))
        started = time.perf_counter()
        result = await bfs(task, evaluator_for(task), ctx, breadth=2, steps=4)
        seconds += time.perf_counter() - started
        solved += any(task.check(n.state) for n in result.outputs)
        value_calls += ctx.calls["evaluate"]
        calls += engine.spend.calls
        escalated += sum(n.info.get("evaluated_by") == "expensive" for n in ctx.tree.nodes)
    return {"solved": solved, "value_calls": value_calls, "calls": calls, "seconds": seconds, "escalated": escalated}


class Borrowed(LanguageModel):
    """The one in-process model lent to each engine (closing the engine leaves it open)."""

    def __init__(self, model: LanguageModel) -> None:
        self.model = model
        self.name = model.name

    async def generate(self, request: Any) -> Any:
        return await self.model.generate(request)


async def part2(plugin: SklearnPlugin, n_puzzles: int, threshold: float, check_steps: bool) -> None:
    from reasoning.backends.llamacpp import LlamaCppModel

    puzzles = [p for p in load_puzzles(file=DATA / "24.csv") if p.idx in TEST_ROWS][:n_puzzles]
    model = LlamaCppModel.embedded(n_threads=2)
    thoughts = "checked thoughts" if check_steps else "every proposed line valued"
    print(f"Part 2: the embedded model ({model.name}, llama.cpp, 2 threads), BFS b=2 with {thoughts}, one "
          f"value sample, puzzles {puzzles[0].idx}-{puzzles[-1].idx}")  # fmt: skip
    baseline = await embedded_row(model, puzzles, lambda task: task.evaluator(), check_steps)
    cascade = await embedded_row(model, puzzles, lambda task: plugin_cascade(task, plugin, threshold=threshold),
                                 check_steps)  # fmt: skip
    rows = [("LLM value", baseline), (f"plug-in cascade t={threshold:g}", cascade)]
    await model.aclose()
    base = rows[0][1]["value_calls"]
    for label, r in rows:
        saved = f"{100 * (1 - r['value_calls'] / base):.1f}%" if base else "—"
        print(f"  {label:22} solved {r['solved']}/{len(puzzles)}  value calls {r['value_calls']:3} (saved {saved})  "
              f"all calls {r['calls']:3}  escalated {r['escalated']:3}  wall {r['seconds']:6.1f} s")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.8, 0.9, 0.95, 0.99])
    parser.add_argument("--embedded", type=int, default=3, help="puzzles on the embedded model (0: skip part 2)")
    parser.add_argument("--embedded-threshold", type=float, default=0.9)
    parser.add_argument("--unchecked", action="store_true",
                        help="part 2: value every proposed line, as the paper does")  # fmt: skip
    parser.add_argument("--skip-replay", action="store_true", help="part 2 only")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    started = time.perf_counter()
    puzzles = [p for p in load_puzzles(file=DATA / "24.csv") if p.idx not in TEST_ROWS]
    plugin = train_game24_plugin(puzzles)
    print(f"plug-in: {plugin.name} trained on states of {len(puzzles)} puzzles (rows outside 900-999) in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    if not args.skip_replay:
        await part1(plugin, args.thresholds)
    if args.embedded:
        await part2(plugin, args.embedded, args.embedded_threshold, check_steps=not args.unchecked)


if __name__ == "__main__":
    asyncio.run(main())
