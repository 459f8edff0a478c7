"""What the Linear layers of one decoder step cost on this CPU, and what fusing or prepacking them buys (issue 18:
why the batched torch decoder's step cannot get much cheaper here), at the embedded model's shapes (Qwen2.5-0.5B:
hidden 896, MLP 4864, q/o 896x896, k/v 896x128 with bias, 24 layers, lm_head 896x151936), random weights.

Per dtype and M rows (input (M, 1, hidden): a decode step of M sequences), the median over `--repeats` runs of the
ms per call of `--calls` calls (after a warm-up run; torch.inference_mode) of one layer's attention projections
(q+k+v+o) and MLP (gate, up, silu(gate)*up, down): plain, gate and up fused into one Linear, and all three prepacked
by oneDNN (`torch.utils.mkldnn.to_mkldnn`, input viewed as (M, hidden)); and of the lm_head, plain and prepacked.
Step's Linear total = layers*(attn + MLP) + lm_head; tokens/s = M / total. Fused and prepacked outputs are checked
against plain ones: the largest |difference| is printed, one beyond the dtype's tolerance as a warning line.

    python benchmarks/linear_cost.py [--rows 1,8,18,32] [--dtype bfloat16[,float32]] [--threads N] [--repeats 5]
        [--calls 50] [--hidden 896] [--intermediate 4864] [--kv 128] [--vocab 151936] [--layers 24] [--json PATH]

How to read it: down a column, a time growing much slower than M means reading the weights bounds the layer, so
its floor is their bytes over the memory bandwidth and only fewer bytes (a smaller dtype) lower it. Where fused or
prepacked is not clearly below plain, that rewrite buys the decoder nothing here. `--threads`: at most the free cores.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe
from _timing import time_call

Fn = Callable[[torch.Tensor], Any]
TOLERANCE = {torch.float32: 1e-4}  # of the plain output's largest magnitude (at least 1); other dtypes: 0.05
COLUMNS = {"attn_ms": "attn proj ms (q+k+v+o)", "mlp_ms": "MLP ms", "mlp_fused_ms": "MLP fused ms",
           "mlp_prepacked_ms": "MLP prepacked ms", "lm_head_ms": "lm_head ms", "lm_head_prepacked_ms":
           "lm_head prepacked ms", "total_ms": "step's Linear total ms", "tokens_per_s": "tokens/s"}  # fmt: skip


def linear(k: int, n: int, dtype: torch.dtype, bias: bool = False) -> torch.nn.Linear:
    """A Linear K -> N (weight (N, K)) with torch's default random init, in `dtype`."""
    return torch.nn.Linear(k, n, bias=bias, dtype=dtype).eval()


def mlp_weights(hidden: int, intermediate: int, dtype: torch.dtype, seed: int = 0) -> dict[str, torch.nn.Linear]:
    """Random gate and up (hidden -> intermediate) and down (intermediate -> hidden) Linears, no bias."""
    torch.manual_seed(seed)
    gate, up = linear(hidden, intermediate, dtype), linear(hidden, intermediate, dtype)
    return {"gate": gate, "up": up, "down": linear(intermediate, hidden, dtype)}


def mlp(weights: Mapping[str, Fn]) -> Fn:
    """Qwen2's MLP: x (..., hidden) -> down(silu(gate(x)) * up(x)) (..., hidden); weights: gate, up, down."""
    gate, up, down = weights["gate"], weights["up"], weights["down"]
    return lambda x: down(F.silu(gate(x)) * up(x))


def fused_mlp(weights: dict[str, torch.nn.Linear]) -> Fn:
    """The same MLP with gate and up in one Linear (hidden -> 2*intermediate, their weights concatenated)."""
    gate, up, down = weights["gate"], weights["up"], weights["down"]
    both = linear(gate.in_features, 2 * gate.out_features, gate.weight.dtype)
    with torch.no_grad():
        both.weight.copy_(torch.cat([gate.weight, up.weight]))

    def forward(x: torch.Tensor) -> Any:
        g, u = both(x).chunk(2, dim=-1)
        return down(F.silu(g) * u)

    return forward


def prepacked(module: torch.nn.Linear, dtype: torch.dtype) -> Fn | None:
    """A copy of `module` with its weights prepacked by oneDNN, called on its input viewed as (M, K) (output (M, N));
    None where oneDNN is unavailable or cannot pack or run it in `dtype`."""
    if not torch.backends.mkldnn.is_available():  # type: ignore[no-untyped-call]
        return None
    try:
        with warnings.catch_warnings():  # torch.utils.mkldnn's ScriptModules: torch.jit is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            from torch.utils import mkldnn

            copied = torch.nn.Sequential(copy.deepcopy(module))
            packed = mkldnn.to_mkldnn(copied, dtype)  # type: ignore[no-untyped-call]
        with torch.inference_mode():
            packed(torch.zeros(1, module.in_features, dtype=dtype))
    except (AssertionError, RuntimeError):  # to_mkldnn asserts on some dtypes, oneDNN raises on others
        return None
    return lambda x: packed(x.reshape(-1, x.shape[-1]))


def prepacked_mlp(weights: dict[str, torch.nn.Linear], dtype: torch.dtype) -> Fn | None:
    """The MLP with gate, up and down prepacked (output (M, hidden)); None where any cannot be."""
    packed = {name: fn for name, module in weights.items() if (fn := prepacked(module, dtype)) is not None}
    return mlp(packed) if len(packed) == len(weights) else None


def largest_difference(got: Fn, want: Fn, x: torch.Tensor) -> tuple[float, float]:
    """Largest |got(x) - want(x)| (shapes may differ by a size-1 dim), and the largest |want(x)|."""
    with torch.inference_mode():
        a, b = got(x).float(), want(x).float()
    return (a.reshape(b.shape) - b).abs().max().item(), b.abs().max().item()


def measure(dtype: torch.dtype, rows: list[int], sizes: argparse.Namespace, calls: int, repeats: int
            ) -> list[dict[str, Any]]:  # fmt: skip
    """One record per M: every variant's ms (None where unavailable), the step's total and tokens/s, max diffs."""
    torch.manual_seed(0)
    h, kv = sizes.hidden, sizes.kv
    attn = [linear(h, h, dtype, True), linear(h, kv, dtype, True), linear(h, kv, dtype, True), linear(h, h, dtype)]
    weights, head = mlp_weights(h, sizes.intermediate, dtype, seed=1), linear(h, sizes.vocab, dtype)
    variants: dict[str, Fn | None] = {"attn": lambda x: [p(x) for p in attn], "mlp": mlp(weights),
        "mlp_fused": fused_mlp(weights), "mlp_prepacked": prepacked_mlp(weights, dtype), "lm_head": head,
        "lm_head_prepacked": prepacked(head, dtype)}  # fmt: skip
    checks = {"mlp_fused": "mlp", "mlp_prepacked": "mlp", "lm_head_prepacked": "lm_head"}
    records = []
    for m in rows:
        x = torch.randn(m, 1, h, dtype=dtype)
        record: dict[str, Any] = {"dtype": str(dtype).removeprefix("torch."), "rows": m, "max_diff": {}}
        for name, fn in variants.items():
            record[f"{name}_ms"] = None if fn is None else time_call(fn, x, calls, repeats)
        total = sizes.layers * (record["attn_ms"] + record["mlp_ms"]) + record["lm_head_ms"]
        record |= {"total_ms": total, "tokens_per_s": m / total * 1000}
        for name, plain in checks.items():
            got, want = variants[name], variants[plain]
            if got is None or want is None:
                record["max_diff"][name] = None
                continue
            diff, scale = largest_difference(got, want, x)
            record["max_diff"][name] = diff
            if diff > (tol := TOLERANCE.get(dtype, 0.05) * max(1.0, scale)):
                print(f"warning: {record['dtype']} M={m}: {name} differs from {plain} by {diff:.3g} (> {tol:.3g})")
        records.append(record)
    return records


def report(records: list[dict[str, Any]]) -> str:
    """One markdown table of `records` (one dtype), and the largest difference of each checked variant."""

    def cell(value: float | None, key: str) -> str:
        return "(not available)" if value is None else f"{value:.0f}" if key == "tokens_per_s" else f"{value:.3f}"

    lines = ["| M | " + " | ".join(COLUMNS.values()) + " |", "| --- " * (len(COLUMNS) + 1) + "|"]
    lines += [f"| {r['rows']} | " + " | ".join(cell(r[k], k) for k in COLUMNS) + " |" for r in records]
    worst = {k: [r["max_diff"][k] for r in records if r["max_diff"][k] is not None] for k in records[0]["max_diff"]}
    lines.append("\nlargest |difference| from plain: " + ", ".join(
        f"{k} {max(v):.3g}" if v else f"{k} (not available)" for k, v in worst.items()))  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1,8,18,32", help="M: rows of one decode step, comma-separated")
    parser.add_argument("--dtype", default="bfloat16", help="one dtype or several, comma-separated")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell, after one warm-up run")
    parser.add_argument("--calls", type=int, default=50, help="calls per run")
    for name, default in [("hidden", 896), ("intermediate", 4864), ("kv", 128), ("vocab", 151936), ("layers", 24)]:
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--json", type=Path, default=None, help="also write every number here as JSON")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {describe()}")
    onednn = "available" if torch.backends.mkldnn.is_available() else "not available"  # type: ignore[no-untyped-call]
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), oneDNN {onednn}; {args.repeats} repeats of "
          f"{args.calls} calls; hidden {args.hidden}, MLP {args.intermediate}, k/v {args.kv}, vocab {args.vocab}, "
          f"{args.layers} layers")  # fmt: skip
    records = []
    for name in args.dtype.split(","):
        found = measure(getattr(torch, name), [int(m) for m in args.rows.split(",")], args, args.calls, args.repeats)
        print(f"\n## {name}: ms per layer (attn, MLP) and per step (lm_head, total)\n\n{report(found)}")
        records += found
    if args.json:
        sizes = {k: getattr(args, k) for k in ("hidden", "intermediate", "kv", "vocab", "layers")}
        args.json.write_text(json.dumps({"machine": describe(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "calls": args.calls, "repeats": args.repeats, "sizes": sizes,
            "records": records}, indent=2) + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
