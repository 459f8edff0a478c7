"""Load: requests through the engine and an endpoint pool to loopback stand-in servers (in a child process), at
concurrency 1 (the engine's own cost per call) and at high concurrency (adds waiting for the event loop, which one
Python process shares among all callers). Prints what the process held before, at the peak and after.

    python benchmarks/load.py [--requests 10000] [--concurrency 500] [--servers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from reasoning.testing.load import run_load

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--servers", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(
        "| requests | concurrency | servers | ok | failed | seconds | req/s | engine overhead p50 / p99 (ms) "
        "| HTTP call p50 (ms) | tasks / sockets / fds before | peak sockets | after |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|")
    for requests, concurrency in ((min(args.requests, 2000), 1), (args.requests, args.concurrency)):
        with tempfile.TemporaryDirectory() as tmp:
            r = await run_load(
                requests=requests, concurrency=concurrency, servers=args.servers, cache=Path(tmp) / "c.sqlite"
            )
        b, a = r.before, r.after
        print(
            f"| {r.requests} | {r.concurrency} | {r.servers} | {r.succeeded} | {r.failed} | {r.seconds:.1f} "
            f"| {r.requests / r.seconds:.0f} | {r.overhead_p50_ms:.2f} / {r.overhead_p99_ms:.2f} "
            f"| {r.backend_p50_ms:.2f} | {b.tasks} / {b.sockets} / {b.fds} | {r.peak_sockets} "
            f"| {a.tasks} / {a.sockets} / {a.fds} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
