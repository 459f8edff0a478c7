"""`reasoning game24 compare`: run folders made by the eval on a scripted model, side by side, with exact intervals,
on the puzzles common to all by default; a bad folder is one line and nothing is written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import reasoning.cli
from evals.game24.arith import solve
from evals.game24.compare import Row, comparison_html, load_run, make_row, method_options, short_names
from evals.game24.data import Puzzle
from evals.game24.eval import Game24Eval, summarize
from evals.game24.methods import MethodConfig
from evals.game24.report import render_report
from evals.harness import csp, run_eval
from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from tests.evals.harness.test_harness import ITEMS, Echo, answer

NUMBERS = ["4 5 6 10", "1 1 4 6", "1 2 3 4", "2 3 4 5", "1 1 3 8", "2 2 2 3", "1 2 3 8", "3 3 8 8", "1 5 5 5",
           "6 6 6 6"]  # fmt: skip
PUZZLES = [Puzzle(i, numbers) for i, numbers in enumerate(NUMBERS)]


def answering(right: set[str], samples: set[int] | None = None):  # type: ignore[no-untyped-def]
    """A model that answers the puzzles `right` correctly (on the samples `samples`; None: every sample) and the
    others wrongly. The puzzle is the one whose numbers come last in the prompt (after the few-shot examples)."""

    def reply(request: GenerationRequest, index: int) -> str:
        text = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages or ())
        numbers = max(NUMBERS, key=text.rfind)
        if numbers in right and (samples is None or index in samples):
            return f"Answer: {solve(numbers)} = 24"
        return "Answer: (1 + 1) * 1 = 24"

    return reply


async def make_run(out: Path, method: str, right: set[str], *, puzzles: list[Puzzle] = PUZZLES, samples: int = 1,
                   correct_samples: set[int] | None = None, model: str = "s") -> Path:  # fmt: skip
    config = MethodConfig(method=method, samples=samples)
    async with Engine(ScriptedModel(answering(right, correct_samples), name=model), cache=ResponseCache()) as engine:
        await run_eval(Game24Eval(config, puzzles), out, engine, model=model, identity={"--method": method})
    return out


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # not what the runs said
    code = reasoning.cli.main(["game24", "compare", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_two_runs_side_by_side_with_exact_intervals(capsys, tmp_path: Path) -> None:
    io = await make_run(tmp_path / "io", "io", set(NUMBERS[:3]))
    cot = await make_run(tmp_path / "cot", "cot", set(NUMBERS[:5]), model="other")
    code, out, err = cli(capsys, str(io), str(cot), "--format", "json")
    assert code == 0 and err == ""
    first, second = json.loads(out)
    assert first["run"] == str(io) and first["method"] == "io" and first["options"] == {"samples": 1}
    assert (first["model"], first["puzzles"], first["solved"], first["interval_on"]) == ("s", 10, 3, "success")
    assert first["success"] == pytest.approx(0.3)
    # Clopper-Pearson 95% for 3 of 10 and 5 of 10 (the tabulated values).
    assert (first["low"], first["high"]) == pytest.approx((0.0667, 0.6525), abs=1e-4)
    assert (second["model"], second["solved"], second["method"]) == ("other", 5, "cot")
    assert (second["low"], second["high"]) == pytest.approx((0.1871, 0.8129), abs=1e-4)
    assert first["calls_per_puzzle"] == 1.0 and first["prompt_tokens_per_puzzle"] > 0
    assert first["completion_tokens_per_puzzle"] > 0 and first["measured_seconds_per_puzzle"] >= 0
    assert list(first) == list(Row.__dataclass_fields__)

    code, table, err = cli(capsys, str(io), str(cot))
    assert code == 0 and err == ""
    head, io_line, cot_line, *key_and_legend = table.splitlines()
    assert head.split() == ["run", "method", "puzzles", "solved", "success", "95%", "CI", "calls", "tokens", "seconds"]
    # A run per line under its folder's short name; the folders, options and models listed below the table.
    assert " ".join(io_line.split()).startswith("io io 10 3 30.0% [6.7, 65.2] 1.0 ")
    assert " ".join(cot_line.split()).startswith("cot cot 10 5 50.0% [18.7, 81.3] 1.0 ")
    assert key_and_legend[:2] == [f"  io   io (samples 1); model s — {io}",
                                  f"  cot  cot (samples 1); model other — {cot}"]  # fmt: skip
    assert key_and_legend[2].startswith("Calls, tokens and seconds are per puzzle. 95% CI: exact (Clopper-Pearson)")
    assert max(map(len, table.splitlines()[:3])) <= 80 and max(map(len, key_and_legend[2:])) <= 100


async def test_a_mean_over_samples_puts_the_interval_on_puzzles_solved_by_any_output(capsys, tmp_path: Path) -> None:
    # IO with 2 samples, the first right on 4 puzzles: success 0.5 on each, so the interval is on 4 of 10 solved.
    io = await make_run(tmp_path / "io", "io", set(NUMBERS[:4]), samples=2, correct_samples={0})
    code, out, _ = cli(capsys, str(io), "--format", "json")
    (row,) = json.loads(out)
    assert code == 0 and row["options"] == {"samples": 2}
    assert row["success"] == pytest.approx(0.2) and (row["solved"], row["interval_on"]) == (4, "any_correct")
    assert (row["low"], row["high"]) == pytest.approx((0.1216, 0.7376), abs=1e-4)
    code, table, _ = cli(capsys, str(io))
    assert "20.0% [12.2, 73.8]* 1.0" in " ".join(table.splitlines()[1].split())
    assert table.splitlines()[2] == "model: s"  # the same model for every run: said once


async def test_runs_are_compared_on_their_common_puzzles_unless_told_otherwise(capsys, tmp_path: Path) -> None:
    every = await make_run(tmp_path / "all", "io", set(NUMBERS[:3]))
    some = await make_run(tmp_path / "some", "cot", set(NUMBERS), puzzles=PUZZLES[2:8])
    code, out, err = cli(capsys, str(every), str(some), "--format", "json")
    assert code == 0
    assert err == (f"compared on the 6 puzzles common to all 2 runs ({every}: 10, {some}: 6); --all-puzzles keeps "
                   "each run's own\n")  # fmt: skip
    rows = json.loads(out)
    assert [(r["puzzles"], r["solved"]) for r in rows] == [(6, 1), (6, 6)]
    code, out, err = cli(capsys, str(every), str(some), "--format", "json", "--all-puzzles")
    assert code == 0 and err == ""
    assert [(r["puzzles"], r["solved"]) for r in json.loads(out)] == [(10, 3), (6, 6)]
    # The same numbers under other puzzle numbers (`--puzzle` runs count from 0) are other puzzles: none in common.
    moved = await make_run(tmp_path / "moved", "io", set(), puzzles=[Puzzle(20 + p.idx, p.numbers) for p in PUZZLES])
    code, out, err = cli(capsys, str(every), str(moved))
    assert code == 2 and out == ""
    assert err == (f"reasoning: error: the runs have no puzzle in common ({every}: 10, {moved}: 10); --all-puzzles "
                   "compares each on its own puzzles\n")  # fmt: skip


async def test_a_bad_folder_is_one_line_and_nothing_is_written(capsys, tmp_path: Path) -> None:
    good = await make_run(tmp_path / "good", "io", set(NUMBERS[:3]))
    empty = tmp_path / "empty"
    empty.mkdir()
    file = tmp_path / "file.txt"
    file.write_text("x\n")
    no_records = await make_run(tmp_path / "none", "io", set())
    (no_records / "results.jsonl").write_text("")
    not_started = await make_run(tmp_path / "stopped", "io", set())  # stopped before its first record
    (not_started / "results.jsonl").unlink()
    other = tmp_path / "echo"
    async with Engine(ScriptedModel(answer)) as engine:
        await run_eval(Echo(ITEMS[:1]), other, engine, model="scripted")
    html = tmp_path / "compare.html"
    expected = {
        tmp_path / "missing": f"no such folder: {tmp_path / 'missing'}",
        empty: f"{empty} is not a game-24 run folder (no run.json)",
        file: f"{file} is not a folder; give the --out folder of a game-24 run",
        no_records: f"{no_records / 'results.jsonl'} holds no records",
        not_started: f"{not_started} holds no records yet (no results.jsonl): the run stopped before it finished "
        "one; rerun its command to go on",
        other: f"{other} holds a run of `reasoning echo`, not of `reasoning game24`: use `reasoning echo` with it, "
        "or another folder",
    }
    for bad, message in expected.items():
        code, out, err = cli(capsys, str(good), str(bad), "--html", str(html))
        assert (code, out, err) == (2, "", f"reasoning: error: {message}\n")
        assert not html.exists()
    assert not (tmp_path / "missing").exists()


async def test_html_is_one_self_contained_page_in_the_report_shell(capsys, tmp_path: Path) -> None:
    io = await make_run(tmp_path / "i<o", "io", set(NUMBERS[:3]))
    cot = await make_run(tmp_path / "cot", "cot", set(NUMBERS[:5]), puzzles=PUZZLES[:8])
    html = tmp_path / "out" / "compare.html"
    code, out, err = cli(capsys, str(io), str(cot), "--html", str(html))
    assert code == 0 and out.splitlines()[0].startswith("run ")
    assert err.splitlines() == [err.splitlines()[0], f"compare: {html}"] and "common to all 2 runs" in err
    text = html.read_text()
    assert text.startswith("<!doctype html>") and f'content="{csp()}"' in text
    assert "<script" not in text and "http" not in text.replace("http-equiv", "")
    assert '<table id="compare">' in text and "common to all 2 runs" in text
    assert "i&lt;o" in text and "i<o" not in text  # every string escaped
    assert text.count("<tr>") == 3  # the head and a row per run, on the 8 puzzles both have: 3 and 5 of 8 solved
    assert '<span class="ci">[8.5, 75.5]</span>' in text and '<span class="ci">[24.5, 91.5]</span>' in text


async def test_the_rows_options_and_the_reports_comparison_section(tmp_path: Path) -> None:
    assert method_options(MethodConfig(method="io", samples=5)) == {"samples": 5}
    tree = method_options(MethodConfig(method="tot-bfs", breadth=3, evaluator="solver"))
    assert {k: tree[k] for k in ("breadth", "evaluator")} == {"breadth": 3, "evaluator": "solver"}
    assert set(tree) <= {"breadth", "evaluator", "thoughts", "answer", "propose_samples"}
    # The options a newer config has are shown when it has them.
    newer = SimpleNamespace(method="tot-dfs", breadth=2, evaluator="llm", thoughts="paper", answer="model")
    assert method_options(newer) == {"breadth": 2, "evaluator": "llm", "thoughts": "paper", "answer": "model"}  # type: ignore[arg-type]
    assert method_options(None) == {}
    run = load_run(await make_run(tmp_path / "io", "io", set(NUMBERS[:3])))
    row = dataclasses.replace(make_row(run), method="tot-bfs", options={"breadth": 5, "propose_samples": 2})
    assert row.method_label() == "tot-bfs (breadth 5, propose-samples 2)"
    fragment = comparison_html([row])
    assert fragment.startswith('<div class="wide"><table id="compare">') and "<html" not in fragment
    # The report embeds it under its own heading; without one the report is as it was.
    summary = summarize(run.records)
    with_it = render_report(run.records, summary, {}, comparison=fragment)
    assert "<h2>Compared with other runs</h2>" in with_it and fragment in with_it
    assert "Compared with other runs" not in render_report(run.records, summary, {})


def test_short_names_tell_the_folders_apart_with_as_few_trailing_parts_as_needed() -> None:
    assert short_names(["runs/demo/io", "runs/demo/tot"]) == ["io", "tot"]
    assert short_names(["a/x/tot", "b/x/tot", "c/io"]) == ["a/x/tot", "b/x/tot", "io"]
    assert short_names(["a/tot", "b/tot"]) == ["a/tot", "b/tot"]
    assert short_names(["same", "same"]) == ["same", "same"]  # the same folder twice: its whole path
    assert short_names(["/abs/runs/tot"]) == ["tot"]
