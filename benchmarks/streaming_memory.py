"""Memory of large runs: an audit over a generated 10,000-item JSONL and a game-24 run over a 10,000-line puzzle
file, each through the real command line (`reasoning.cli.main`) in a process of its own, against a loopback stub
OpenAI-compatible server (`FaultProxy` without an upstream) in another.

While a run goes, RSS (/proc/self/status VmRSS) and Python allocations (tracemalloc, current, after a collection)
are noted when the first item and the 1,000th, 2,000th, 5,000th and 10,000th have their record appended (from the
progress line, shown right after each append); then the same after the run (the summary and report read the whole
results file back) and the peak RSS (VmHWM). The command line loads the items before the first one runs (they are
the input); what the run adds as items finish is the growth from item 1,000 on.

    python benchmarks/streaming_memory.py [--items 10000] [--parallel 16]

The audit is chain of thought with one bias (two calls an item); the game-24 run is the IO method (one call a
puzzle: the tree searches make ~45 calls a puzzle, which would measure the stub server instead).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

MARKS = (1000, 2000, 5000, 10000)


def respond(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A multiple-choice prompt gets a letter chosen by a hash of the prompt; anything else a game-24 answer."""
    content = "\n".join(m["content"] for m in body.get("messages") or []) or str(body.get("prompt") or "")
    if "Answer choices:" in content:
        h = int(hashlib.sha256(content.encode()).hexdigest()[:8], 16)
        letters = re.findall(r"^\(([A-Z])\) ", content, flags=re.M) or ["A"]
        text = f"Weighing each option in turn. So the best answer is: ({letters[h % len(letters)]})."
    else:
        text = "Answer: (1 + 2) * 8 = 24"
    n = int(body.get("n") or 1)
    choices = [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
               for i in range(n)]  # fmt: skip
    usage = {"prompt_tokens": len(content.split()), "completion_tokens": n * len(text.split())}
    return {"id": "stub", "object": "chat.completion", "model": body.get("model"), "choices": choices, "usage": usage}


def serve() -> None:
    from reasoning.testing import FaultProxy

    async def run() -> None:
        async with FaultProxy(responder=respond) as server:
            print(server.port, flush=True)
            await asyncio.Event().wait()

    asyncio.run(run())


def status(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))


def sample() -> dict[str, float]:
    gc.collect()
    return {"rss_mib": status("VmRSS") / 2**20, "python_mib": tracemalloc.get_traced_memory()[0] / 2**20}


def child(kind: str, url: str, folder: Path, items: int, parallel: int) -> None:
    """One run, in this process, measured; prints one JSON line."""
    import reasoning.cli
    from evals.progress import StatusLine

    out = folder / f"{kind}-run"
    common = ["--base-url", url, "--model", "stub", "--out", str(out), "--parallel", str(parallel),
              "--concurrency", str(parallel)]  # fmt: skip
    if kind == "audit":
        argv = ["audit", "run", "--items", str(folder / "items.jsonl"), "--biases", "suggested-answer", *common]
    else:
        argv = ["game24", "run", "--method", "io", "--puzzles-file", str(folder / "puzzles.txt"), "--range",
                f"0-{items - 1}", *common]  # fmt: skip
    marks = [1, *(m for m in MARKS if m <= items)]
    samples: list[dict[str, Any]] = []
    show = StatusLine.show

    def sampled(self: StatusLine, done: int, fields: str) -> None:
        # Every eval's progress line is shown right after a record is appended: sample there, in the run's thread.
        show(self, done, fields)
        if marks and done >= marks[0]:
            samples.append({"mark": marks.pop(0), "items": done, "seconds": time.perf_counter() - started,
                            **sample()})  # fmt: skip

    StatusLine.show = sampled  # type: ignore[method-assign]
    tracemalloc.start()
    before = sample()
    started = time.perf_counter()
    code = reasoning.cli.main(argv)
    seconds = time.perf_counter() - started
    after = sample()
    print(json.dumps({"kind": kind, "code": code, "seconds": seconds, "before": before, "samples": samples,
                      "after": after, "peak_rss_mib": status("VmHWM") / 2**20}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--parallel", type=int, default=16, help="--parallel and --concurrency of both runs")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["audit", "game24"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.child:
        child(args.child, args.url, args.dir, args.items, args.parallel)
        return

    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with (folder / "items.jsonl").open("w") as f:
            for i in range(args.items):
                n = 3 + i % 3
                item = {"id": f"q{i}", "task": f"task{i % 4}", "question": f"Question {i}: which fits?",
                        "choices": [f"option {i}.{k}" for k in range(n)], "answer": i % n}  # fmt: skip
                f.write(json.dumps(item) + "\n")
        (folder / "puzzles.txt").write_text("".join(f"{1 + i % 13} {1 + i // 13 % 13} {1 + i // 169 % 13} "
                                                    f"{1 + i % 7}\n" for i in range(args.items)))  # fmt: skip
        server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = f"http://127.0.0.1:{server.stdout.readline().strip()}/v1"
            for kind in ("audit", "game24"):
                run = subprocess.run([sys.executable, __file__, "--child", kind, "--url", url, "--dir", str(folder),
                                      "--items", str(args.items), "--parallel", str(args.parallel)],
                                     capture_output=True, text=True, check=False)  # fmt: skip
                if run.returncode != 0 or not run.stdout.strip():
                    print(f"{kind}: failed\n{run.stderr[-3000:]}")
                    continue
                report(json.loads(run.stdout.strip().splitlines()[-1]), args.parallel)
        finally:
            server.terminate()
            server.wait()


def report(result: dict[str, Any], parallel: int) -> None:
    what = "pairs (2 calls each)" if result["kind"] == "audit" else "puzzles (IO, 1 call each)"
    print(f"\n{result['kind']}: {what}, --parallel {parallel}; exit {result['code']}, {result['seconds']:.1f} s")
    print(f"{'':>20} {'items':>7} {'RSS MiB':>8} {'Python MiB':>11}")
    before = result["before"]
    print(f"{'before the run':>20} {0:>7} {before['rss_mib']:>8.1f} {before['python_mib']:>11.2f}")
    for s in result["samples"]:
        label = "first item" if s["mark"] == 1 else f"item {s['mark']}"
        print(f"{label:>20} {s['items']:>7} {s['rss_mib']:>8.1f} {s['python_mib']:>11.2f}")
    samples = [s for s in result["samples"] if s["mark"] >= 1000]
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        items = last["items"] - first["items"]
        grown = last["python_mib"] - first["python_mib"]
        print(f"{'growth':>20} {items:>7} {last['rss_mib'] - first['rss_mib']:>+8.1f} {grown:>+11.2f}   "
              f"({grown * 2**20 / max(1, items):+.0f} B of Python memory an item)")  # fmt: skip
    after = result["after"]
    print(f"{'after summary+report':>20} {'':>7} {after['rss_mib']:>8.1f} {after['python_mib']:>11.2f}")
    print(f"{'peak RSS':>20} {'':>7} {result['peak_rss_mib']:>8.1f}")


if __name__ == "__main__":
    main()
