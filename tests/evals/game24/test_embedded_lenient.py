"""Lenient thoughts and program-written answers (the defaults off the replay) on the embedded model, on three puzzles.

A 0.5B model may solve none of them; what is checked is that its real output went through the repair: every step
in the tree is a correct step on its parent's numbers, written canonically with the numbers left that we computed,
and every answer is right by construction."""

import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from evals.game24.arith import check_answer, check_step, parse_numbers
from evals.game24.thoughts import read_step, step_line
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[3]
LINE = re.compile(r"^(\S+) ([-+*/]) (\S+) = (\S+) \(left: ([^)]*)\)$")


def numbers_after(puzzle: str, state: str) -> list[Fraction]:
    """The numbers left after `state` (the puzzle's at the root)."""
    if not state.strip():
        return parse_numbers(puzzle)
    return parse_numbers(state.strip().split("\n")[-1].split("left: ")[1].rstrip(")"))


def test_lenient_bfs_on_the_embedded_model_writes_only_correct_steps(embedded_gguf_path, tmp_path) -> None:
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    command = [sys.executable, "-m", "reasoning.cli", "game24", "run", "--method", "tot-bfs", "--breadth", "2",
               "--evaluator", "solver", "--propose-samples", "1", "--max-tokens", "96", "--range", "900-902",
               "--out", str(tmp_path), "--backend", "llamacpp"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    config = json.loads((tmp_path / "run.json").read_text())["config"]
    assert (config["thoughts"], config["answer"], config["propose_samples"]) == ("lenient", "program", 1)
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["idx"] for r in records) == [900, 901, 902]
    steps = 0
    for record in records:
        puzzle = record["puzzle"]
        assert "evaluate" not in record["calls_by_kind"] and "evaluate" not in record["requests"]  # the solver
        nodes = {node["id"]: node for node in record["tree"]["nodes"]}
        for parent_id, child_id in record["tree"]["edges"]:
            parent, child = nodes[parent_id], nodes[child_id]
            line = child["thought"]
            assert child["state"] == parent["state"] + line + "\n" and child["depth"] == parent["depth"] + 1
            if line.startswith("Answer: "):  # written by the program: only after 24, and right
                assert child["depth"] == 4 and numbers_after(puzzle, parent["state"]) == [24]
                assert check_answer(puzzle, child["state"]).correct, child["state"]
                continue
            left = numbers_after(puzzle, parent["state"])
            match = LINE.match(line)
            assert match is not None and child["depth"] <= 3, line
            step = read_step(left, line)
            assert step is not None and step_line(step) == line, (left, line)  # canonical: reads back as itself
            if "/" not in f"{match[1]} {match[3]} {match[4]} {match[5]}":
                assert check_step(left, line).ok, (left, line)  # the exact step checker agrees
            steps += 1
        for output, verdict in zip(record["outputs"], record["verdicts"], strict=True):
            if len(output.strip().split("\n")) == 4:
                assert verdict["correct"] and check_answer(puzzle, output).correct, output
    assert steps > 0, "no step was read from the model's proposals"
