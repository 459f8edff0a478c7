"""llama.cpp's speed on the embedded model by thread counts: a long prompt's prefill, and greedy tokens.

llama-cpp-python has two counts: `n_threads` runs generation (one token a forward) and `n_threads_batch` runs
prefill (a prompt's tokens at once; default: the CPU count). A configuration `T/B` is the pair. Each runs in its own
process (OpenMP reads its settings when llama.cpp loads), the configurations alternating `--repeats` times; each run
has one untimed warm-up, then times a prompt of `--prompt-tokens` tokens (`max_tokens=1`, a fresh context) and
`--new-tokens` greedy tokens after a one-line prompt (no stop). The median of the repeats is printed per
configuration, with the machine, `OMP_WAIT_POLICY` and the load average before and after.

`tests/conftest.py` gives the test suite's llama.cpp model one generation thread.

Usage:
    python benchmarks/llamacpp_threads.py [--configs 1/1,1/2,2/2] [--prompt-tokens 800] [--new-tokens 128]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe


def measure(threads: int, batch: int, prompt_tokens: int, new_tokens: int) -> dict[str, float]:
    """One process's timing: prefill seconds of the long prompt, and greedy tokens a second (no stop)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # the toolkit's default (LlamaCppModel)
    from llama_cpp import Llama

    from reasoning.embedded import embedded_gguf

    llm = Llama(model_path=str(embedded_gguf()), n_ctx=4096, n_threads=threads, n_threads_batch=batch, verbose=False)
    words = "The quick brown fox jumps over the lazy dog. " * (prompt_tokens // 10 + 1)
    prompt = llm.detokenize(llm.tokenize(words.encode())[:prompt_tokens]).decode(errors="ignore")
    llm.create_completion("Warm up.", max_tokens=4, temperature=0)

    def timed(text: str, max_tokens: int) -> tuple[float, int]:
        llm.reset()
        started = time.perf_counter()
        out = llm.create_completion(text, max_tokens=max_tokens, temperature=0, stop=[])
        return time.perf_counter() - started, int(out["usage"]["completion_tokens"])

    prefill, _ = timed(prompt, 1)
    seconds, written = timed("Write a long story about a dragon.", new_tokens)
    return {"prefill_s": prefill, "tokens_per_s": written / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="1/1,1/2,2/2", help="comma-separated n_threads/n_threads_batch pairs")
    parser.add_argument("--prompt-tokens", type=int, default=800)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: measure this T/B, print JSON
    args = parser.parse_args(argv)
    if args.one is not None:
        threads, batch = (int(n) for n in args.one.split("/"))
        print(json.dumps(measure(threads, batch, args.prompt_tokens, args.new_tokens)))
        return 0
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    policy = os.environ.get("OMP_WAIT_POLICY", "PASSIVE (the toolkit's default)")
    print(f"machine: {describe()}; OMP_WAIT_POLICY={policy}; load average before: {os.getloadavg()[0]:.2f}")
    runs: dict[str, list[dict[str, float]]] = {c: [] for c in configs}
    for _ in range(args.repeats):
        for c in configs:
            child = [sys.executable, __file__, "--one", c, "--prompt-tokens", str(args.prompt_tokens),
                     "--new-tokens", str(args.new_tokens)]  # fmt: skip
            done = subprocess.run(child, capture_output=True, text=True, check=True)
            runs[c].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"| n_threads/n_threads_batch | prefill of {args.prompt_tokens} tokens, s | prompt tok/s | greedy tok/s |")
    print("|---|---|---|---|")
    for c in configs:
        prefill = statistics.median(r["prefill_s"] for r in runs[c])
        speed = statistics.median(r["tokens_per_s"] for r in runs[c])
        print(f"| {c} | {prefill:.2f} | {args.prompt_tokens / prefill:.0f} | {speed:.1f} |")
    print(f"median of {args.repeats}; load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
