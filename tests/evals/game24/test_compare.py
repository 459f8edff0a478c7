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


async def test_a_results_file_of_another_run_is_not_said_to_hold_no_records(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # read_run says "(N other records)" when the file holds only another run's records, but the game-24 eval drops
    # those as it reads them (read_record), so a full file of another config's records read "holds no records".
    io = await make_run(tmp_path / "io", "io", set(NUMBERS[:3]))
    cot = await make_run(tmp_path / "cot", "cot", set(NUMBERS[:3]))
    (io / "results.jsonl").write_bytes((cot / "results.jsonl").read_bytes())
    code, out, err = cli(capsys, str(io))
    assert code == 2 and out == ""
    assert err == (f"reasoning: error: {io / 'results.jsonl'} holds no records of the run in run.json (10 lines of "
                   "another run)\n")  # fmt: skip


async def test_html_onto_a_compared_runs_own_file_loses_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `--html io/results.jsonl` replaced the run's records with the HTML page (exit 0): the run was lost.
    io = await make_run(tmp_path / "io", "io", set(NUMBERS[:3]))
    cot = await make_run(tmp_path / "cot", "cot", set(NUMBERS[:5]))
    before = {name: (io / name).read_bytes() for name in ("results.jsonl", "run.json")}
    for name in before:
        code, out, err = cli(capsys, str(io), str(cot), "--html", str(io / name))
        assert code == 2 and out == "" and err.startswith("reasoning: error: ") and len(err.splitlines()) == 1, err
    assert {name: (io / name).read_bytes() for name in before} == before
    # Nor a compared run's own report, a folder, an empty path, or a link to a run's file; a page of ours is replaced.
    (io / "report.html").write_text("<!doctype html><p>the run's report</p>")
    (tmp_path / "link.html").symlink_to(io / "results.jsonl")
    refused = [(io / "report.html", "is a compared run's own report"), (tmp_path, "is a folder"),
               ("", "--html is empty"), (tmp_path / "link.html", "exists and is not an HTML page")]  # fmt: skip
    for bad, message in refused:
        code, out, err = cli(capsys, str(io), str(cot), "--html", str(bad))
        assert (code, out) == (2, "") and message in err and len(err.splitlines()) == 1, err
    assert {name: (io / name).read_bytes() for name in before} == before
    page = tmp_path / "compare.html"
    for _ in range(2):
        code, out, err = cli(capsys, str(io), str(cot), "--html", str(page))
        assert code == 0 and page.read_text().startswith("<!doctype html>")


async def test_a_hand_edited_record_is_one_line_naming_its_field(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:  # fmt: skip
    # A record missing a field the readers use, or holding it as another type, was a traceback (KeyError, TypeError)
    # in report and compare; a NaN was blamed on the eval's summarize().
    io = await make_run(tmp_path / "io", "io", set(NUMBERS[:3]))
    capsys.readouterr()  # not what the run said
    lines = (io / "results.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    edits = {"calls": ({"calls": "3"}, "calls: Input should be a valid integer"),
             "success": ({"success": "1"}, "success: Input should be a valid number"),
             "nan": ({"dollars": float("nan")}, "dollars: Input should be a finite number"),
             "verdicts": ({"verdicts": [{}]}, "verdicts.0.correct: Field required"),
             "outputs": ({"outputs": []}, "outputs and verdicts differ in number"),
             "puzzle": ({"puzzle": None}, "puzzle: Input should be a valid string"),
             "tree": ({"tree": {"nodes": [{"id": "0"}], "edges": []}},
                      "tree.nodes.0.id: Input should be a valid integer"),
             "values": ({"tree": {"nodes": [{"id": 0, "values": ["x"]}], "edges": []}},
                        "tree.nodes.0.values.0: Input should be a valid number")}  # fmt: skip
    for name, (change, why) in edits.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "run.json").write_bytes((io / "run.json").read_bytes())
        (folder / "results.jsonl").write_text("\n".join([json.dumps({**first, **change}), *lines[1:]]) + "\n")
        for command in ("report", "compare"):
            code = reasoning.cli.main(["game24", command, str(folder)])
            out = capsys.readouterr()
            assert code == 2 and out.out == "", (name, command, out)
            assert out.err == (f"reasoning: error: {folder / 'results.jsonl'}:1 is not a game-24 record ({why}); fix "
                               "or move the file\n"), (name, command, out.err)  # fmt: skip
    # A record without a field that was never written by every version (seconds) still reads.
    del first["seconds"]
    (io / "results.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    assert reasoning.cli.main(["game24", "compare", str(io)]) == 0


async def test_the_table_names_folders_where_they_are_and_keeps_runs_on_their_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The same folder typed two ways was named "bk/a" and "a"; a newline in a folder's name split its row; the "*"
    # of an any-output interval pushed its brackets out of line with the others.
    io = await make_run(tmp_path / "a", "io", set(NUMBERS[:4]), samples=2, correct_samples={0})
    odd = await make_run(tmp_path / "new\nline", "io", set(NUMBERS[:3]))
    (tmp_path / "x").mkdir()
    code, table, _ = cli(capsys, str(io), str(tmp_path / "x" / ".." / "a"), str(odd))
    _, first, second, third, *_ = table.splitlines()
    assert code == 0 and first.split()[0] == second.split()[0] == str(io)  # one folder: its whole path, twice
    assert third.split()[0] == "new\\nline"
    assert first.index("]*") == third.index("] ")  # the brackets line up
