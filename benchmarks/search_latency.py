"""Tree-of-thought BFS (b=5, propose + value x3, greedy) wall time against a faithful sequential baseline.

Part 1 — latency. A loopback OpenAI-compatible server in its own process (`_replay_server.py`, our stand-in
server) answers every request with the published GPT-4 run's answer for that state, after a fixed delay L.
Side by side in this process, against that server:
- ours: `search.bfs` through the engine (each step's expansions at once, then each step's values at once);
- baseline: the official code's loop, one call at a time (propose each kept state, then value each candidate,
  with its value cache), through the same backend class.
Both must select the same states; we report wall time per puzzle, calls and tokens (counted with the embedded
model's tokenizer where available — GPT-4's tokenizer is not available offline).

Part 2 — thought filtering on the full replay (100 puzzles, in process): the paper's settings against
`--check-steps` (drop thoughts whose arithmetic or remaining numbers are wrong before valuing them):
value calls and puzzles solved.

    python benchmarks/search_latency.py [--latency 0.05] [--puzzles 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from evals.game24 import Game24Config, Game24Task, ReplayModel, load_log
from evals.game24.task import node_depth
from prompts import game24 as prompts
from reasoning import Engine, EngineConfig, GenerationRequest, OpenAICompatibleModel, ResponseCache
from reasoning.tree import Node, SearchContext
from reasoning.types import GenerationResult
from search import bfs

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tot"
LOG = DATA / "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"


def _counter() -> tuple[str, Any]:
    """The embedded model's tokenizer if its converted copy is cached; else whitespace words."""
    try:
        from tokenizers import Tokenizer

        from reasoning.embedded import EMBEDDED_MODEL, cache_dir

        path = cache_dir() / "hf" / f"{EMBEDDED_MODEL.name}-{EMBEDDED_MODEL.sha256[:12]}" / "tokenizer.json"
        tokenizer = Tokenizer.from_file(str(path))
        return "the Qwen2.5 tokenizer", lambda text: len(tokenizer.encode(text).ids)
    except Exception:
        return "whitespace words", lambda text: len(text.split())


COUNTER = _counter()


class CountingReplay(ReplayModel):
    """The replay, reporting prompt tokens of each request (our prompts, counted with `COUNTER`)."""

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        result = await super().generate(request)
        text = request.messages[-1].content if request.messages else request.prompt or ""
        return result.model_copy(update={"prompt_tokens": COUNTER[1](text)})


async def sequential_baseline(task: Game24Task, engine: Engine) -> tuple[list[str], int]:
    """The official BFS loop: one call at a time, value cache by prompt, duplicates valued 0, greedy top 5."""
    value_cache: dict[str, float] = {}
    ys = [""]
    calls = 0
    occurrences: dict[str, int] = {}
    for _ in range(4):
        new_ys: list[str] = []
        for y in ys:
            request = task.propose_request(Node(state=y, depth=node_depth(y)))
            offset = occurrences.get(request.digest(), 0)
            occurrences[request.digest()] = offset + 1
            result = await engine.generate(request, sample_offset=offset)
            calls += 1
            new_ys += [y + line + "\n" for line in result.text.split("\n")]
        values = []
        seen: set[str] = set()
        for y in new_ys:
            if y in seen:
                values.append(0.0)
                continue
            seen.add(y)
            request = task.value_request(Node(state=y, depth=node_depth(y))).model_copy(update={"n": 3})
            key = request.messages[-1].content if request.messages else ""
            if key not in value_cache:
                result = await engine.generate(request)
                calls += 1
                value_cache[key] = sum(prompts.VALUE_WORDS.get(t.strip().split("\n")[-1], 0.0) for t in result.texts)
            values.append(value_cache[key])
        order = sorted(range(len(new_ys)), key=lambda i: values[i], reverse=True)[:5]
        ys = [new_ys[i] for i in order]
    return ys, calls


async def part1(latency: float, n_puzzles: int) -> None:
    import subprocess

    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
        [sys.executable, str(Path(__file__).parent / "_replay_server.py"), str(LOG), "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/v1"
        await _part1(url, latency, n_puzzles)
    finally:
        server.terminate()
        server.wait()


async def _part1(url: str, latency: float, n_puzzles: int) -> None:
    records = load_log(LOG)[:n_puzzles]
    ours_t: list[float] = []
    base_t: list[float] = []
    ours_calls: list[int] = []
    base_calls: list[int] = []
    same = 0
    for record in records:
        puzzle = record["steps"][0]["x"]
        outputs: list[str] = []
        for side in ("ours", "baseline"):
            model = OpenAICompatibleModel(f"replay-{record['idx']}-{side}-{latency}", base_url=url)
            # A step values up to ~40 candidates at once; allow them all in flight.
            engine = Engine(model, EngineConfig(max_concurrency=64), cache=ResponseCache())
            # A seed makes each repeated propose prompt name its sample, so the replay server answers the k-th
            # request for a prompt with the k-th logged answer even when concurrent requests arrive out of order.
            task = Game24Task(puzzle, Game24Config(zero_unfinished=False, seed=0))
            start = time.perf_counter()
            if side == "ours":
                ctx = SearchContext(engine, tag="p")
                result = await bfs(task, task.evaluator(), ctx, breadth=5, steps=4)
                ours_t.append(time.perf_counter() - start)
                ours_calls.append(engine.spend.calls)
                outputs = [n.state for n in result.outputs]
            else:
                baseline_outputs, calls = await sequential_baseline(task, engine)
                base_t.append(time.perf_counter() - start)
                base_calls.append(calls)
                same += baseline_outputs == outputs == record["ys"]
            await engine.aclose()
    mean = statistics.mean
    print(f"Part 1: ToT BFS b=5 on puzzles 900-{899 + n_puzzles}, server latency L = {latency * 1000:.0f} ms "
          "(server in its own process)")  # fmt: skip
    print(f"  ours     wall/puzzle {mean(ours_t):7.3f} s   calls/puzzle {mean(ours_calls):6.1f}")
    print(f"  baseline wall/puzzle {mean(base_t):7.3f} s   calls/puzzle {mean(base_calls):6.1f}")
    print(f"  speedup {mean(base_t) / mean(ours_t):5.1f}x (at most calls / rounds = {mean(base_calls) / 8:.1f}x: "
          "a step needs one round of proposals and one of values)")  # fmt: skip
    target = 2 * 4 * 2 * latency
    verdict = "met" if mean(ours_t) <= target else "NOT met"
    print(f"  target wall/puzzle <= 2 x 4 steps x 2L = {target:.3f} s: {verdict}")
    print(f"  identical final outputs (ours, baseline, log): {same}/{n_puzzles}")


async def part2() -> None:
    rows = []
    for label, check in (("paper settings", False), ("--check-steps", True)):
        solved = first = value_calls = calls = misses = prompt_tokens = 0
        for record in load_log(LOG):
            task = Game24Task(record["steps"][0]["x"], Game24Config(zero_unfinished=False, check_steps=check))
            model = CountingReplay(record, task, strict=not check)
            engine = Engine(model, cache=ResponseCache())
            ctx = SearchContext(engine, tag="p")
            result = await bfs(task, task.evaluator(), ctx, breadth=5, steps=4)
            verdicts = [task.check(n.state) for n in result.outputs]
            solved += any(verdicts)
            first += bool(verdicts) and verdicts[0]
            value_calls += ctx.calls["evaluate"]
            calls += engine.spend.calls
            misses += model.misses
            prompt_tokens += engine.spend.prompt_tokens
        rows.append((label, solved, first, value_calls, calls, misses, prompt_tokens / 100))
    print("Part 2: thought filtering on the replay of puzzles 900-999")
    for label, solved, first, value_calls, calls, misses, prompt in rows:
        print(f"  {label:15} solved {solved}/100 (first {first})  value calls {value_calls}  all calls {calls}"
              f"  off the logged path {misses}  prompt tokens/puzzle {prompt:.0f}")  # fmt: skip
    print(
        f"  (prompt tokens counted with {COUNTER[0]}; the published GPT-4 run spent 13879 prompt and 5479 completion"
        " tokens per puzzle, sharing one value cache across all puzzles)"
    )
    print(f"  value calls saved: {100 * (1 - rows[1][3] / rows[0][3]):.1f}%")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.05, 0.2])
    parser.add_argument("--puzzles", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    for latency in args.latency:
        await part1(latency, args.puzzles)
    await part2()


if __name__ == "__main__":
    asyncio.run(main())
