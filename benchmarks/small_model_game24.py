"""Game of 24 on the embedded 0.5B model (issue 14): IO, CoT and tree-of-thought BFS with three evaluators and the
paper's strict reading, side by side with exact 95% intervals and the paper's GPT-4 figures.

Each method (`METHODS`, below) is one `reasoning game24 run` on the embedded model (Qwen2.5-Coder-0.5B Q4_K_M,
llama.cpp in process, the CLI's default backend), called in this process through the CLI's entry function
(`reasoning.cli.main`), into its own run folder `OUT/<method>`. So every part is the harness's: rerunning the same
command resumes (a killed run loses only the puzzles in flight), and `reasoning game24 report OUT/<method>` works on
each folder. `--part K/N` runs only the K-th of N contiguous slices of the range; the folders are shared, so parts
run one after another (in one session or several) add up. At the end, and alone with `--report-only` (no model
call), the folders are compared (`evals.game24.compare`), each method on the puzzles of the range it finished,
labelled partial when that is not the whole range: `OUT/compare.html`, `OUT/compare.json`, and a markdown table for
BENCHMARKS.md on stdout, with the machine(s) the runs ran on and the paper's GPT-4 figures beside.

    python benchmarks/small_model_game24.py [--range 900-999] [--methods io,cot,...] [--out DIR] [--part K/N]
    python benchmarks/small_model_game24.py --report-only
    python benchmarks/small_model_game24.py --dry-run      # print the `reasoning game24 run` commands, run nothing

Run it from the repository root, with the same `--out` every time: the plug-in's path (`OUT/game24-plugin.pkl`) is
one of a run's options, so another spelling of it is another run (the harness refuses to mix them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import reasoning.cli
from evals.files import has_records, write_atomic
from evals.game24.compare import Row, Run, common_puzzles, comparison_html, load_run, make_row
from evals.game24.data import parse_range
from evals.harness import escape, page
from reasoning.errors import ConfigurationError

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

# The tree searches' headline settings: BFS breadth 5, three proposal samples merged by state, 128-token proposals
# (the lenient reading of thoughts and answers written by the program are the CLI's defaults on a local model).
TOT = ("--method", "tot-bfs", "--breadth", "5", "--propose-samples", "3", "--max-tokens", "128")


@dataclass(frozen=True)
class Method:
    """One row: its name (the run folder's), the `reasoning game24 run` options, what it is, and the paper's nearest
    GPT-4 figure (Yao et al. 2023, Table 2; None where no figure of the paper compares)."""

    name: str
    options: tuple[str, ...]
    what: str
    paper: str | None


METHODS = (
    Method("io", ("--method", "io", "--samples", "1"), "one answer, few-shot", "IO 7.3%"),
    Method("cot", ("--method", "cot", "--samples", "1"), "one chain of thought, few-shot", "CoT 4.0%"),
    Method("tot-plugin", (*TOT, "--evaluator", "plugin", "--plugin-threshold", "0.5"),
           "ToT BFS, the trained plug-in values every state (threshold 0.5: never unsure)", "ToT (b=5) 74%"),
    Method("tot-cascade", (*TOT, "--evaluator", "plugin"),
           "ToT BFS, the plug-in where it is sure (>= 0.9), the model's values elsewhere", "ToT (b=5) 74%"),
    Method("tot-llm", (*TOT, "--evaluator", "llm"), "ToT BFS, the model's own values", "ToT (b=5) 74%"),
    Method("tot-solver", (*TOT, "--evaluator", "solver"),
           "ToT BFS, the exact solver values states: the proposer's ceiling, not a result", None),
    Method("tot-paper", ("--method", "tot-bfs", "--breadth", "5", "--evaluator", "plugin", "--thoughts", "paper",
                         "--answer", "model"),
           "ToT BFS, the paper's reading: every proposed line a thought, the model writes the answer",
           "ToT (b=5) 74%"),
)  # fmt: skip
BY_NAME = {m.name: m for m in METHODS}
PAPER = "IO 7.3%, CoT 4.0%, CoT-SC (k=100) 9.0%, ToT (b=1) 45%, ToT (b=5) 74%"  # Yao et al. 2023, Table 2 (GPT-4)
PLUGIN_FILE = "game24-plugin.pkl"
MACHINES = "machines.jsonl"  # a line per method and part run: where and when it ran
# The default --out: its records, run.json files, machines and plug-in are kept in git (its .gitignore), so the runs
# add up across sessions on fresh machines; commit them after a part.
OUT = "benchmarks/results/small_model_game24"
Cli = Callable[[Sequence[str]], int]


def cli_args(method: Method, out: Path, rows: range) -> list[str]:
    """The `reasoning` command line (less `reasoning`) that runs `method` on the puzzles `rows` into `out/<name>`;
    a method valued by the plug-in shares `out/game24-plugin.pkl` (trained there on first use)."""
    argv = ["game24", "run", *method.options]
    if "plugin" in method.options:
        argv += ["--plugin-file", str(out / PLUGIN_FILE)]
    return [*argv, "--range", range_text(rows), "--out", str(out / method.name)]


def range_text(rows: range) -> str:
    """`rows` as `--range` takes it: "900-999", or "950" for one row."""
    return str(rows[0]) if len(rows) == 1 else f"{rows[0]}-{rows[-1]}"


def parse_part(text: str) -> tuple[int, int]:
    """ "K/N" as (K, N) with 1 <= K <= N; `ConfigurationError` saying what is wrong otherwise."""
    k_text, slash, n_text = text.partition("/")
    try:
        k, n = int(k_text), int(n_text)
    except ValueError:
        k = n = 0
    if not slash or not 1 <= k <= n:
        raise ConfigurationError(f"--part {text}: give K/N with 1 <= K <= N, e.g. 2/4 (the second of four slices)")
    return k, n


def part_rows(rows: range, k: int, n: int) -> range:
    """The K-th (1-based) of `n` contiguous slices of `rows`, their sizes differing by at most one (the first ones
    larger); empty when there are more slices than rows. The slices in order are `rows`, each row once."""
    size, extra = divmod(len(rows), n)
    start = (k - 1) * size + min(k - 1, extra)
    return rows[start : start + size + (k <= extra)]


def run_methods(methods: Sequence[Method], out: Path, rows: range, cli: Cli) -> int:
    """Run each method on `rows` through the CLI, in order; stop at the first that does not exit 0 (130: Ctrl-C,
    143: SIGTERM, 2: an error the CLI named) and return its status; 0 when all finished."""
    for method in methods:
        argv = cli_args(method, out, rows)
        print(f"== {method.name}: reasoning {' '.join(argv)}", flush=True)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / MACHINES, "a", encoding="utf-8") as f:
            when = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            f.write(json.dumps({"method": method.name, "range": range_text(rows), "machine": describe(),
                                "started": when}) + "\n")  # fmt: skip
        code = cli(argv)
        sys.stdout.flush()
        if code != 0:
            print(f"== {method.name} stopped (exit {code}); rerun the same command to resume", flush=True)
            return code
    return 0


@dataclass(frozen=True)
class Result:
    """A method's run folder read back on the puzzles of the range: its row (`evals.game24.compare.Row`) and the
    run, or why there is none (`missing`: not started, no record in the range, or the folder could not be read)."""

    method: Method
    run: Run | None = None
    row: Row | None = None
    missing: str | None = None

    def complete(self, rows: range) -> bool:
        """Whether the method finished every puzzle of `rows` (the records are those of `rows` only)."""
        return self.row is not None and self.row.puzzles == len(rows)

    def as_dict(self, rows: range) -> dict[str, Any]:
        """The method and its row (None when `missing`) as JSON-ready data."""
        method = self.method
        return {"name": method.name, "options": list(method.options), "what": method.what,
                "paper_gpt4": method.paper, "complete": self.complete(rows), "missing": self.missing,
                "row": self.row.as_dict() if self.row is not None else None}  # fmt: skip


def read_results(methods: Sequence[Method], out: Path, rows: range) -> list[Result]:
    """Each method's folder under `out`, its records restricted to the puzzles numbered in `rows` (a folder may hold
    others, from another `--range`)."""
    results = []
    for method in methods:
        folder = out / method.name
        if not (folder / "run.json").is_file():
            results.append(Result(method, missing="not run yet"))
            continue
        if not has_records(folder / "results.jsonl"):  # started, no puzzle finished
            results.append(Result(method, missing="no puzzle finished yet"))
            continue
        try:
            run = load_run(folder)
        except ConfigurationError as exc:  # no record yet, or the folder is locked by a run in progress
            results.append(Result(method, missing=str(exc)))
            continue
        run = replace(run, records=[r for r in run.records if int(r["idx"]) in rows])
        if not run.records:
            results.append(Result(method, missing=f"no puzzle of {range_text(rows)} finished"))
            continue
        results.append(Result(method, run, make_row(run)))
    return results


def machines(out: Path) -> list[str]:
    """The distinct machines the runs under `out` were started on (from `out/machines.jsonl`), in order; a line that
    is not one (cut short by a process killed while writing it) is skipped."""
    path = out / MACHINES
    if not path.is_file():
        return []
    seen = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("machine"), str):
            seen.append(entry["machine"])
    return list(dict.fromkeys(seen))


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def markdown(results: Sequence[Result], rows: range, where: Sequence[str], common: Sequence[tuple[str, Row]]) -> str:
    """The comparison as markdown for BENCHMARKS.md: the machine(s) and model(s), a row per method on the puzzles it
    finished (marked partial when not the whole range), then each on the puzzles all finished (`common`, when their
    puzzles differ), and the paper's figures."""
    models = sorted({r.row.model or "?" for r in results if r.row is not None})
    lines = [
        f"machine: {'; '.join(where) or describe() + ' (this report; no run recorded its machine)'}",
        f"puzzles: rows {range_text(rows)} of tot/24.csv ({len(rows)}); model: {', '.join(models) or '—'}",
        "",
        "| method | puzzles | solved | success | 95% CI | calls/puzzle | tokens/puzzle (prompt + completion) "
        "| s/puzzle (measured) | GPT-4 in the paper |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for result in results:
        method, row = result.method, result.row
        paper = method.paper or "— (a ceiling)"
        if row is None:
            lines.append(f"| {method.name} | 0 of {len(rows)} ({result.missing}) | | | | | | | {paper} |")
            continue
        puzzles = str(row.puzzles) if result.complete(rows) else f"{row.puzzles} of {len(rows)} (partial)"
        seconds = "—" if row.measured_seconds_per_puzzle is None else f"{row.measured_seconds_per_puzzle:.1f}"
        tokens = f"{row.prompt_tokens_per_puzzle:.0f} + {row.completion_tokens_per_puzzle:.0f}"
        lines.append(f"| {method.name} | {puzzles} | {row.solved} | {_percent(row.success)} | "
                     f"[{_percent(row.low)}, {_percent(row.high)}] | {row.calls_per_puzzle:.1f} | {tokens} | "
                     f"{seconds} | {paper} |")  # fmt: skip
    lines += [
        "",
        "95% CI: exact (Clopper-Pearson) on solved / puzzles. Each method on the puzzles of the range it finished; "
        "calls and tokens as if nothing were cached; seconds as measured (wall time a puzzle, puzzles in flight "
        "overlapping).",
    ]
    if common:
        shown = ", ".join(f"{name} {row.solved}/{row.puzzles}" for name, row in common)
        lines.append(f"On the {common[0][1].puzzles} puzzles every method with records finished: {shown}.")
    if any(r.method.paper is None for r in results):
        lines.append("tot-solver values states with the exact solver: the ceiling of the model's proposals under "
                     "this search, not a result of the technique.")  # fmt: skip
    lines.append(f"GPT-4 in the paper (Yao et al. 2023, Table 2; its 100 test puzzles, rows 900-999): {PAPER}.")
    return "\n".join(lines)


def _common(results: Sequence[Result]) -> tuple[list[tuple[str, Row]], str | None]:
    """Each method's row on the puzzles every method with records finished, and the note saying so; no rows when
    their puzzles are the same (or only one method has records), and the note alone when they share none."""
    found = [(r.method.name, r.run) for r in results if r.run is not None]
    if len(found) < 2:
        return [], None
    try:
        kept, note = common_puzzles([run for _, run in found])
    except ConfigurationError as exc:  # no puzzle in common
        return [], str(exc)
    if note is None:
        return [], None
    return [(name, make_row(run)) for (name, _), run in zip(found, kept, strict=True)], note


def report(methods: Sequence[Method], out: Path, rows: range) -> str:
    """Compare the folders under `out` on `rows`: write `out/compare.json` and `out/compare.html`, return the
    markdown table."""
    results = read_results(methods, out, rows)
    where = machines(out)
    common, note = _common(results)
    complete = all(r.complete(rows) for r in results)
    data: dict[str, Any] = {
        "range": range_text(rows),
        "puzzles": len(rows),
        "machines": where,
        "complete": complete,
        "methods": [r.as_dict(rows) for r in results],
        "common": {"note": note, "rows": [{"name": name, **row.as_dict()} for name, row in common]},
        "paper_gpt4": PAPER,
    }
    write_atomic(out / "compare.json", json.dumps(data, indent=1) + "\n")
    write_atomic(out / "compare.html", _html(results, rows, where, common, note))
    return markdown(results, rows, where, common)


def _html(
    results: Sequence[Result], rows: range, where: Sequence[str], common: Sequence[tuple[str, Row]], note: str | None
) -> str:
    title = "Game of 24 on the embedded 0.5B model"
    shown = [r.row for r in results if r.row is not None]
    partial = [f"{r.method.name}: {r.row.puzzles if r.row else 0} of {len(rows)}" for r in results
               if not r.complete(rows)]  # fmt: skip
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="note">puzzles: rows {escape(range_text(rows))} ({len(rows)}); machine: '
        f"{escape('; '.join(where) or describe())}</p>",
    ]
    if partial:
        parts.append(f'<p class="note">not finished on the whole range (each row is on the puzzles it finished): '
                     f"{escape('; '.join(partial))}</p>")  # fmt: skip
    parts.append(comparison_html(shown) if shown else "<p>No method has finished a puzzle of the range yet.</p>")
    if common:
        # The same table again on the puzzles every method finished (its own id: one page, two tables).
        parts += ["<h2>On the puzzles every method finished</h2>", f'<p class="note">{escape(note)}</p>',
                  comparison_html([row for _, row in common]).replace('id="compare"', 'id="common"', 1)]  # fmt: skip
    elif note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    parts += ["<h2>Methods</h2>", "<ul>"]
    parts += [f"<li><b>{escape(r.method.name)}</b>: {escape(r.method.what)} "
              f"(<code>{escape(' '.join(r.method.options))}</code>)</li>" for r in results]  # fmt: skip
    parts += ["</ul>", f'<p class="note">GPT-4 in the paper (Yao et al. 2023, Table 2): {escape(PAPER)}.</p>']
    return page(title, "\n".join(parts))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=Path(__file__).name, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--range", default="900-999", help="0-based rows of tot/24.csv (default: 900-999)")
    parser.add_argument("--methods", default=",".join(BY_NAME), help=f"comma-separated, of {', '.join(BY_NAME)}")
    parser.add_argument("--out", default=OUT, help=f"a run folder per method in it (default: {OUT}, kept in git)")
    parser.add_argument("--part", default="1/1", help="K/N: only the K-th of N contiguous slices of the range")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--report-only", action="store_true", help="no model call: compare what the folders hold")
    what.add_argument("--dry-run", action="store_true", help="print the commands of this part, run nothing")
    return parser


def main(argv: Sequence[str] | None = None, *, cli: Cli = reasoning.cli.main) -> int:
    """The script; `cli` runs one `reasoning` command line and returns its exit status (the real CLI by default)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rows = parse_range(args.range)
        k, n = parse_part(args.part)
    except ConfigurationError as exc:
        parser.error(str(exc))
    names = [name.strip() for name in args.methods.split(",") if name.strip()]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown or not names:
        parser.error(f"--methods: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(BY_NAME)}")
    methods = [BY_NAME[name] for name in dict.fromkeys(names)]
    try:
        return _main(args, methods, rows, k, n, cli)
    except OSError as exc:  # --out a file, a folder we may not write: one line, not a traceback
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace, methods: Sequence[Method], rows: range, k: int, n: int, cli: Cli) -> int:
    out = Path(args.out)
    code = 0
    if not args.report_only:
        part = part_rows(rows, k, n)
        if not part:
            print(f"part {k}/{n} of {range_text(rows)} is empty ({len(rows)} rows): nothing to run")
        elif args.dry_run:
            for method in methods:
                print(f"reasoning {' '.join(cli_args(method, out, part))}")
        else:
            print(f"machine: {describe()}\npart {k}/{n}: rows {range_text(part)} of {range_text(rows)}", flush=True)
            try:
                code = run_methods(methods, out, part, cli)
            except KeyboardInterrupt:  # between two commands (during one, the CLI returns 130)
                code = 130
    if args.dry_run:
        return 0
    print(report(methods, out, rows))
    print(f"compare: {out / 'compare.html'}\njson:    {out / 'compare.json'}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
