"""The dtype the torch backend computes in, chosen for the machine unless the user names one.

bf16 where the hardware computes it natively: a GPU (CUDA), or a CPU with avx512_bf16 or AMX (amx_bf16) — there a
bf16 forward is about 2.6x faster than fp32 (issue 18's measurements, `BENCHMARKS.md`); fp32 elsewhere, where bf16
is emulated and slower than fp32. bf16 output may differ from fp32 at near ties (`reasoning.decoding.divergence`),
so a run states the choice and why (`DtypeChoice.reason`).

The CPU's flags come from `/proc/cpuinfo` on Linux, else from torch (`torch.cpu.get_capabilities()`, torch >= 2.8).
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AUTO", "BF16_CPU_FLAGS", "DTYPES", "DtypeChoice", "choose_dtype", "cpu_flags"]

AUTO = "auto"  # choose for the machine
DTYPES = ("float32", "bfloat16", "float16")  # what a user may name
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # CPU flags (as Linux names them) of native bf16 arithmetic


@dataclass(frozen=True)
class DtypeChoice:
    """A dtype (`"float32"`, `"bfloat16"`, `"float16"`) and why it was chosen ("CPU has avx512_bf16")."""

    dtype: str
    reason: str

    def __str__(self) -> str:
        return f"{self.dtype}: {self.reason}"


def choose_dtype(device: str = "cpu", asked: str = AUTO, *, flags: Collection[str] | None = None) -> DtypeChoice:
    """The dtype for a model on `device`: `asked` when it names one, else bf16 where `device` computes it natively
    (CUDA with bf16 support; a CPU whose `flags` — default: this machine's, `cpu_flags()` — hold one of
    `BF16_CPU_FLAGS`) and fp32 elsewhere. `ValueError` for an `asked` that is neither `AUTO` nor one of `DTYPES`."""
    if asked != AUTO:
        if asked not in DTYPES:
            raise ValueError(f"unsupported dtype {asked!r}; choose {AUTO}, {', '.join(DTYPES)}")
        return DtypeChoice(asked, "asked for")
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return DtypeChoice("bfloat16", "CUDA device computes bf16")
        return DtypeChoice("float32", "CUDA device without bf16")
    if device != "cpu":
        return DtypeChoice("float32", f"no native bf16 known for device {device!r}")
    found = set(cpu_flags() if flags is None else flags)
    native = [flag for flag in BF16_CPU_FLAGS if flag in found]
    if native:
        return DtypeChoice("bfloat16", f"CPU has {' and '.join(native)}")
    return DtypeChoice("float32", f"CPU has no native bf16 ({' or '.join(BF16_CPU_FLAGS)})")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags, lower case (`avx512_bf16`, `amx_bf16`, ...): from `/proc/cpuinfo` on Linux, else
    torch's `torch.cpu.get_capabilities()` where torch has it; empty when neither says."""
    cpuinfo = Path("/proc/cpuinfo")
    found = _cpuinfo_flags(cpuinfo.read_text(errors="replace")) if cpuinfo.is_file() else None
    if found is not None:
        return found
    try:
        import torch
    except ImportError:
        return frozenset()
    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is None:
        return frozenset()
    return frozenset(str(name).lower() for name, on in capabilities().items() if on is True)


def _cpuinfo_flags(text: str) -> frozenset[str] | None:
    # The first processor's flags in /proc/cpuinfo's format (x86 "flags", ARM "Features"); None if it has none.
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.lower().split())
    return None
