"""The README's code runs as written against the embedded model: the ten-line example and the tutorials.

A tutorial's blocks are marked in README.md by an HTML comment directly above each fenced block:
`<!-- tutorial: NAME -->`, or `<!-- tutorial: NAME file=PATH -->` for a block the reader saves as PATH.
`tutorial(NAME)` returns them in README order and `run_block` runs one in a folder as a reader would.
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
MARKED = re.compile(r"<!-- tutorial: (?P<name>[\w-]+)(?: file=(?P<file>\S+))? -->\n+```(?P<lang>\w+)\n(?P<code>.*?)```",
                    flags=re.S)  # fmt: skip


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@dataclass(frozen=True)
class Block:
    """One fenced block of a tutorial: its language (`python`, `bash`, ...), its code, and the file it is saved
    as (None: it is run)."""

    lang: str
    code: str
    file: str | None = None


def tutorial(name: str) -> list[Block]:
    """The README's blocks marked `<!-- tutorial: name -->`, in order; fails the test if there is none."""
    blocks = [Block(m["lang"], m["code"], m["file"]) for m in MARKED.finditer(README.read_text()) if m["name"] == name]
    assert blocks, f"README.md has no block marked <!-- tutorial: {name} -->"
    return blocks


def run_block(
    block: Block, cwd: Path, *, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str] | None:
    """Do what a reader does with `block` in the folder `cwd`: save it as its file (returns None), or run it, a
    python block with this venv's python, a shell block with bash (`set -euo pipefail`) with the venv's scripts
    (`reasoning`) first on PATH, and `env` added to the environment. The exit status is the caller's to check."""
    if block.file is not None:
        path = cwd / block.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.code)
        return None
    if block.lang == "python":
        script = cwd / "tutorial_block.py"
        script.write_text(block.code)
        command = [sys.executable, script.name]
    elif block.lang in ("bash", "sh", "shell"):
        command = ["bash", "-c", "set -euo pipefail\n" + block.code]
    else:
        raise ValueError(f"cannot run a {block.lang} block")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    environ = {**os.environ, "PATH": path, **(env or {})}
    return subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout)


def test_ten_line_example_is_short():
    example = python_blocks()[0]
    code_lines = [line for line in example.splitlines() if line.strip()]
    assert len(code_lines) <= 11


@pytest.mark.model
def test_ten_line_example_runs(embedded_gguf_path, tmp_path):
    example = python_blocks()[0]
    for run in range(2):
        out = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True,
                             timeout=600)  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        samples = [line for line in out.stdout.splitlines() if line.startswith("- ")]
        assert len(samples) == 3
        spend = out.stdout.splitlines()[-1]
        if run == 0:
            assert "calls=1" in spend and "cached_samples=0" in spend
        else:
            assert "calls=0" in spend and "cached_samples=3" in spend
    assert (tmp_path / "runs" / "cache.sqlite").exists()


def test_tutorial_blocks_are_found_by_marker(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- tutorial: demo file=x.py -->\n```python\nA = 1\n```\ntext\n<!-- tutorial: other -->\n"
                      "```bash\necho no\n```\n<!-- tutorial: demo -->\n\n```bash\necho hi\n```\n")  # fmt: skip
    monkeypatch.setattr(sys.modules[__name__], "README", readme)
    assert tutorial("demo") == [Block("python", "A = 1\n", "x.py"), Block("bash", "echo hi\n")]
    assert run_block(tutorial("demo")[0], tmp_path) is None and (tmp_path / "x.py").read_text() == "A = 1\n"
    assert run_block(tutorial("demo")[1], tmp_path).stdout == "hi\n"
    with pytest.raises(AssertionError, match="no block marked"):
        tutorial("missing")


# A line the tree-of-thought tutorial prints per search, then its cost.
SEARCH_LINE = re.compile(r"(?P<name>bfs|dfs|astar): (?P<answer>.+?)(?: \(value (?P<value>[\d.]+)\))?; stopped "
                         r"(?P<stopped>\w+), \d+ outputs, (?P<nodes>\d+) nodes")  # fmt: skip
COST_LINE = re.compile(r"  spend (?P<calls>\d+) calls, \d+ tokens; paid (?P<paid>\d+) calls")


def reaches_target(answer: str) -> bool:
    """Whether "4 + 9 = 13; 13 + 2 = 15; 15 - 5 = 10" starts at 4, uses 9, 2 and 5 once each, adds up, and ends at
    10: the tutorial's puzzle."""
    total, used = 4, []
    for step in answer.split("; "):
        a, op, b, _, c = step.split()
        if int(a) != total or int(c) != (int(a) + int(b) if op == "+" else int(a) - int(b)):
            return False
        total = int(c)
        used.append(int(b))
    return sorted(used) == [2, 5, 9] and total == 10


@pytest.mark.model
def test_tree_of_thought_tutorial_runs(embedded_gguf_path, tmp_path):
    (block,) = tutorial("tot")
    outputs = []
    for _ in range(2):
        out = run_block(block, tmp_path)
        assert out.returncode == 0, out.stderr[-3000:]
        outputs.append(out.stdout)
    lines = outputs[0].splitlines()
    assert len(lines) == 6, outputs[0]
    searches = [SEARCH_LINE.fullmatch(line) for line in lines[0::2]]
    costs = [COST_LINE.fullmatch(line) for line in lines[1::2]]
    assert all(searches) and all(costs), outputs[0]
    assert [m["name"] for m in searches] == ["bfs", "dfs", "astar"]
    found = [m for m in searches if m["answer"] != "none"]
    assert found, outputs[0]  # the embedded model gets at least one search to 10
    for m in found:  # the checker is exact: what a search returns as best with value 1.0 is right
        assert m["value"] == "1.0" and reaches_target(m["answer"]), m[0]
    # spend is the same on the second run; everything is then served from the cache, so nothing is paid.
    again = outputs[1].splitlines()
    assert again[0::2] == lines[0::2]
    assert [COST_LINE.fullmatch(line)["calls"] for line in again[1::2]] == [m["calls"] for m in costs]
    assert [COST_LINE.fullmatch(line)["paid"] for line in again[1::2]] == ["0", "0", "0"]
    tree = json.loads((tmp_path / "astar-tree.json").read_text())
    assert len(tree["nodes"]) == int(searches[2]["nodes"]) and len(tree["edges"]) == len(tree["nodes"]) - 1


def test_eval_tutorial_runs_resumes_and_reports(embedded_gguf_path, tmp_path):
    # The reader's `pip install` goes to a folder of this test's own (PIP_TARGET), put on the path, so the venv is
    # left as it was; everything else runs as the README says.
    blocks = tutorial("eval")
    for block in blocks:
        if block.file is not None:
            run_block(block, tmp_path)
    site = tmp_path / "site"
    env = {"PIP_TARGET": str(site), "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    commands = [b for b in blocks if b.file is None]
    assert len(commands) == 1
    done = run_block(commands[0], tmp_path, env=env)
    assert done is not None and done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "runs" / "capitals"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["countries"] == 8 and 0.0 <= summary["accuracy"] <= 1.0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in records) == sorted(
        ["France", "Japan", "Italy", "Egypt", "Canada", "Kenya", "Peru", "Norway"]
    )
    paid = [line for line in done.stderr.splitlines() if line.startswith("this process paid for")]
    assert paid[0].startswith("this process paid for 4 calls") and paid[1].startswith("this process paid for 4 calls")
    assert "(4 resumed)" in done.stderr  # the second run's status line
    assert "accuracy" in done.stdout and "countries  8" in done.stdout
    assert '<table id="records">' in (out / "report.html").read_text()
    # A rerun that changes what a record is (the model) is refused in one line, the folder as it was.
    before = (out / "results.jsonl").read_bytes()
    again = subprocess.run([str(Path(sys.executable).parent / "reasoning"), "capitals", "run", "--out", str(out),
                            "--base-url", "http://127.0.0.1:9/v1", "--model", "other"],
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--model" in again.stderr, again.stderr
    assert (out / "results.jsonl").read_bytes() == before
