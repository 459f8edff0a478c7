"""Timing a call in a benchmark: the median over several runs of many calls, after one warm-up run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def time_call(fn: Callable[[Any], Any], x: Any, calls: int, repeats: int) -> float:
    """Median ms of one call of fn(x) over `repeats` runs of `calls` calls, after a warm-up run of `calls` calls
    (under torch.inference_mode)."""
    times = []
    with torch.inference_mode():
        for i in range(repeats + 1):
            start = time.perf_counter()
            for _ in range(calls):
                fn(x)
            if i:
                times.append((time.perf_counter() - start) / calls)
    return float(statistics.median(times)) * 1000
