"""`benchmarks/llamacpp_threads.py`: each thread configuration measured in its own child process, alternating, and the
medians tabulated (the children are stand-ins here; the script itself is run by hand on a quiet machine)."""

from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace

from tests.benchmarks.scripts import load


def test_counts_alternate_in_children_and_the_medians_are_tabulated(monkeypatch, capsys):
    bench = load("llamacpp_threads")
    asked: list[str] = []
    timings = {"1/1": iter([8.0, 9.0, 8.5]), "1/2": iter([4.0, 4.4, 4.2])}

    real = subprocess.run

    def child(command, **options):
        if "--one" not in command:  # platform.processor() runs `uname -p`
            return real(command, **options)
        threads = command[command.index("--one") + 1]
        asked.append(threads)
        prefill = next(timings[threads])
        return SimpleNamespace(stdout="noise\n" + json.dumps({"prefill_s": prefill, "tokens_per_s": 10 / prefill}))

    monkeypatch.setattr(subprocess, "run", child)
    assert bench.main(["--configs", "1/1,1/2", "--prompt-tokens", "800", "--repeats", "3"]) == 0
    assert asked == ["1/1", "1/2"] * 3
    table = capsys.readouterr().out
    assert "| 1/1 | 8.50 | 94 | 1.2 |" in table and "| 1/2 | 4.20 | 190 | 2.4 |" in table
