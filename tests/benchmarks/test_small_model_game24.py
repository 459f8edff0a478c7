"""`benchmarks/small_model_game24.py` without the embedded model: its method table as `reasoning game24 run` options
(read back by the real CLI parser), `--part` slices, one CLI call per method that stops at the first failure, and
`--report-only` on run folders made with a scripted model (`tests/evals/game24/test_compare.py`'s `make_run`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

import reasoning.cli
from evals.game24.cli import method_config
from evals.game24.data import Puzzle
from tests.benchmarks.scripts import load
from tests.evals.game24.test_compare import NUMBERS, make_run


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load("small_model_game24")


def test_parts_are_contiguous_slices_that_cover_the_range_once(bench: ModuleType) -> None:
    rows = range(900, 1000)
    for n in (1, 2, 3, 4, 7, 100, 101):
        parts = [bench.part_rows(rows, k, n) for k in range(1, n + 1)]
        assert [idx for part in parts for idx in part] == list(rows)
        sizes = [len(part) for part in parts]
        assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    assert bench.part_rows(rows, 2, 3) == range(934, 967) and bench.range_text(range(934, 967)) == "934-966"
    assert bench.part_rows(range(900, 902), 3, 3) == range(0) and bench.range_text(range(950, 951)) == "950"
    assert bench.parse_part("2/4") == (2, 4)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0", "/2"):
        with pytest.raises(bench.ConfigurationError, match=f"--part {bad}: give K/N"):
            bench.parse_part(bad)


def test_the_method_table_is_these_cli_options(bench: ModuleType, tmp_path: Path) -> None:
    out, rows = tmp_path / "out", range(900, 905)
    tot = ["--method", "tot-bfs", "--breadth", "5", "--propose-samples", "3", "--max-tokens", "128"]
    plugin = ["--plugin-file", str(out / "game24-plugin.pkl")]
    expected = {
        "io": ["--method", "io", "--samples", "1"],
        "cot": ["--method", "cot", "--samples", "1"],
        "tot-plugin": [*tot, "--evaluator", "plugin", "--plugin-threshold", "0.5", *plugin],
        "tot-cascade": [*tot, "--evaluator", "plugin", *plugin],
        "tot-llm": [*tot, "--evaluator", "llm"],
        "tot-solver": [*tot, "--evaluator", "solver"],
        "tot-paper": ["--method", "tot-bfs", "--breadth", "5", "--evaluator", "plugin", "--thoughts", "paper",
                      "--answer", "model", *plugin],
    }  # fmt: skip
    assert [m.name for m in bench.METHODS] == list(expected)
    for method in bench.METHODS:
        argv = bench.cli_args(method, out, rows)
        tail = ["--range", "900-904", "--out", str(out / method.name)]
        assert argv == ["game24", "run", *expected[method.name], *tail]
    # The real parser takes each command line, and the run's config is what the table says (the plug-in file is
    # there, so nothing is trained).
    (out / "game24-plugin.pkl").parent.mkdir(parents=True)
    (out / "game24-plugin.pkl").write_bytes(b"")
    configs = {m.name: method_config(reasoning.cli.build_parser().parse(bench.cli_args(m, out, rows)))
               for m in bench.METHODS}  # fmt: skip
    assert (configs["io"].method, configs["io"].samples, configs["cot"].method) == ("io", 1, "cot")
    for name, evaluator in (("tot-plugin", "plugin"), ("tot-cascade", "plugin"), ("tot-llm", "llm"),
                            ("tot-solver", "solver")):  # fmt: skip
        config = configs[name]
        assert (config.method, config.breadth, config.evaluator, config.propose_samples) == ("tot-bfs", 5, evaluator, 3)
        assert (config.max_tokens, config.thoughts, config.answer) == (128, "lenient", "program")
    paper = configs["tot-paper"]
    assert (paper.evaluator, paper.thoughts, paper.answer, paper.propose_samples) == ("plugin", "paper", "model", 1)
    assert configs["tot-plugin"].plugin == paper.plugin == str(out / "game24-plugin.pkl")
    # The plug-in alone (never unsure), and the cascade that asks the model below 0.9.
    assert (configs["tot-plugin"].plugin_threshold, configs["tot-cascade"].plugin_threshold) == (0.5, 0.9)
    assert configs["tot-solver"].plugin is None and not configs["tot-paper"].chat  # raw completion, locally


def test_a_part_runs_each_method_through_the_cli_and_stops_at_the_first_that_fails(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[list[str]] = []

    def cli(argv: Sequence[str]) -> int:
        calls.append(list(argv))
        return 130 if "cot" in argv else 0  # Ctrl-C during the second method

    out = tmp_path / "bench"
    code = bench.main(["--range", "900-909", "--part", "2/3", "--methods", "io,cot,tot-llm", "--out", str(out)],
                      cli=cli)  # fmt: skip
    assert code == 130
    assert calls == [bench.cli_args(bench.BY_NAME[name], out, range(904, 907)) for name in ("io", "cot")]
    said = capsys.readouterr().out
    assert "part 2/3: rows 904-906 of 900-909" in said and "== cot stopped (exit 130)" in said
    # The report is still made (nothing finished: the fake CLI wrote no folder), and says where each part ran.
    assert "| io | 0 of 10 (not run yet) |" in said and (out / "compare.html").is_file()
    ran = [json.loads(line) for line in (out / "machines.jsonl").read_text().splitlines()]
    assert [(r["method"], r["range"]) for r in ran] == [("io", "904-906"), ("cot", "904-906")]
    assert said.splitlines()[0] == f"machine: {bench.describe()}"

    calls.clear()
    assert bench.main(["--range", "900-901", "--part", "3/3", "--out", str(out)], cli=cli) == 0
    assert calls == [] and "part 3/3 of 900-901 is empty" in capsys.readouterr().out
    assert bench.main(["--part", "1/2", "--methods", "io", "--out", str(out), "--dry-run"], cli=cli) == 0
    assert calls == [] and capsys.readouterr().out == f"reasoning {' '.join(calls_for(bench, out))}\n"


def calls_for(bench: ModuleType, out: Path) -> list[str]:
    return list(bench.cli_args(bench.BY_NAME["io"], out, range(900, 950)))


async def test_report_only_compares_what_the_folders_hold_each_on_its_own_puzzles(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench"
    puzzles = [Puzzle(900 + i, numbers) for i, numbers in enumerate(NUMBERS)]  # rows 900-909
    await make_run(out / "io", "io", set(NUMBERS[:3]), puzzles=[*puzzles, Puzzle(950, "4 5 6 10")])
    await make_run(out / "cot", "cot", set(NUMBERS[:4]), puzzles=puzzles[:6])  # partial: 6 of 10, 4 solved
    started = await make_run(out / "tot-llm", "io", set())  # a run killed before its first puzzle finished
    (started / "results.jsonl").write_text("")

    def no_model(argv: Sequence[str]) -> int:
        raise AssertionError(f"--report-only ran {argv}")

    capsys.readouterr()
    assert bench.main(["--range", "900-909", "--out", str(out), "--report-only"], cli=no_model) == 0
    table = capsys.readouterr().out
    assert "| io | 10 | 3 | 30.0% | [6.7%, 65.2%] | 1.0 |" in table  # row 950 is outside the range: left out
    assert "| cot | 6 of 10 (partial) | 4 | 66.7% |" in table
    assert "| tot-plugin | 0 of 10 (not run yet) |" in table and "| tot-solver | 0 of 10 (not run yet) |" in table
    assert "IO 7.3%" in table and "— (a ceiling)" in table and "ToT (b=5) 74%" in table
    assert "machine: " in table and "(this report; no run recorded its machine)" in table and "model: s\n" in table
    assert "On the 6 puzzles every method with records finished: io 3/6, cot 4/6." in table

    data = json.loads((out / "compare.json").read_text())
    assert (data["range"], data["puzzles"], data["complete"]) == ("900-909", 10, False)
    methods = {m["name"]: m for m in data["methods"]}
    assert methods["io"]["complete"] and methods["io"]["row"]["solved"] == 3
    assert not methods["cot"]["complete"] and methods["cot"]["row"]["puzzles"] == 6
    assert methods["tot-llm"]["row"] is None and methods["tot-llm"]["missing"] == "no puzzle finished yet"
    assert methods["tot-paper"]["row"] is None and methods["tot-paper"]["missing"] == "not run yet"
    # On the 6 puzzles both finished: io solved 3 of them, cot 4.
    assert [(r["name"], r["puzzles"], r["solved"]) for r in data["common"]["rows"]] == [("io", 6, 3), ("cot", 6, 4)]
    html = (out / "compare.html").read_text()
    assert html.startswith("<!doctype html>") and '<table id="compare">' in html and '<table id="common">' in html
    assert "cot: 6 of 10" in html and "<script" not in html


def test_a_machines_line_cut_short_and_an_out_that_is_a_file_are_not_a_traceback(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A process killed while it wrote its machines line (or a disk that filled) left it cut short: the report
    # failed on it with a JSONDecodeError, every time after.
    out = tmp_path / "bench"
    out.mkdir()
    (out / "machines.jsonl").write_text('{"method": "io", "machine": "box A"}\n{"method": "cot", "mach\n[1]\n')
    assert bench.machines(out) == ["box A"]
    assert bench.main(["--range", "900-901", "--out", str(out), "--report-only"]) == 0
    assert "machine: box A\n" in capsys.readouterr().out
    # --out naming a file: one line saying so, exit 2 (was a FileExistsError traceback).
    afile = tmp_path / "afile"
    afile.write_text("")
    assert bench.main(["--range", "900-901", "--out", str(afile), "--report-only"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("small_model_game24.py: error: ") and str(afile) in err and len(err.splitlines()) == 1
