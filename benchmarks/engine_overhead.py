"""Engine overhead per request: the engine (cache miss, cache hit) against calling the backend directly.

Two backends, side by side in one process:
- `scripted`: a `ScriptedModel` that answers at once, so the difference is the engine's own cost;
- `http`: `OpenAICompatibleModel` against the stand-in OpenAI-compatible server on loopback (`FaultProxy` with no
  upstream, answering at once), the path a real deployment takes.

Requests are sequential (one in flight) so latency, not throughput, is measured. Run:

    python benchmarks/engine_overhead.py [--requests 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from reasoning import (
    Engine,
    GenerationRequest,
    LanguageModel,
    OpenAICompatibleModel,
    ResponseCache,
    ScriptedModel,
)
from reasoning.testing import FaultProxy

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe


async def timed(calls: list[Callable[[], Awaitable[object]]]) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        await call()
        out.append(time.perf_counter() - start)
    return out


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(0.99 * (len(ordered) - 1))] * 1e6


async def measure(name: str, model: LanguageModel, n: int, cache_path: Path) -> None:
    requests = [GenerationRequest(prompt=f"question {i}", temperature=0.7, max_tokens=16) for i in range(n)]
    # Warm up connections and code paths on both sides.
    for r in requests[:20]:
        await model.generate(r.model_copy(update={"prompt": "warm " + (r.prompt or "")}))
    direct = await timed([lambda r=r: model.generate(r) for r in requests])
    engine = Engine(model, cache=ResponseCache(cache_path))
    miss = await timed([lambda r=r: engine.generate(r, tag="bench") for r in requests])
    hit = await timed([lambda r=r: engine.generate(r, tag="bench") for r in requests])
    assert engine.spend.calls == n and engine.spend.cached_samples == n
    d50, d99 = summary(direct)
    m50, m99 = summary(miss)
    h50, h99 = summary(hit)
    print(f"{name:9} direct    p50 {d50:8.1f} us  p99 {d99:8.1f} us")
    print(
        f"{name:9} miss      p50 {m50:8.1f} us  p99 {m99:8.1f} us  added p50 {m50 - d50:+8.1f} us  "
        f"ratio {m50 / d50:5.2f}x"
    )
    print(f"{name:9} hit       p50 {h50:8.1f} us  p99 {h99:8.1f} us  vs direct {h50 / d50:5.2f}x")
    engine.cache.close() if engine.cache else None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    print(f"machine: {describe()}; requests per row: {args.requests}")
    with tempfile.TemporaryDirectory() as tmp:
        await measure("scripted", ScriptedModel(lambda r, i: "answer"), args.requests, Path(tmp) / "a.sqlite")
        async with FaultProxy() as server:
            model = OpenAICompatibleModel("stub", base_url=server.url + "/v1")
            await measure("http", model, args.requests, Path(tmp) / "b.sqlite")
            await model.aclose()


if __name__ == "__main__":
    asyncio.run(main())
