"""`reasoning game24 compare RUN_DIR [RUN_DIR ...]`: several game-24 runs side by side, a row per run folder.

A row (`Row`) says what ran (the method and its key options, the model), on how many puzzles, how many it solved
with the exact (Clopper-Pearson) 95% interval of that share (`evals.stats.clopper_pearson`), and what a puzzle cost
(calls and tokens as if nothing were cached, as in the summary; seconds as measured in that run). By default the
runs are compared on the puzzles common to all of them (`common_puzzles`).

Run folders are read as `reasoning game24 report DIR` reads one (`evals.harness.report_command`): the folder's
`run.json` (`RunInfo`), the eval built from it (`Game24Eval.for_report`), its records through the harness's results
reader (`open_results`), while holding the folder's lock. Outputs: a plain-text table (`format_table`), the rows as
JSON (`Row.as_dict`), and an HTML table (`comparison_html`) that a page embeds: `comparison_page`, or the game-24
report (`render_report(..., comparison=...)`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning.errors import ConfigurationError

from ..files import write_atomic
from ..harness import escape, page, read_run
from ..stats import clopper_pearson
from .eval import Game24Eval, Record, RunInfo
from .methods import MethodConfig

__all__ = [
    "Row",
    "Run",
    "check_page_path",
    "common_puzzles",
    "compare_command",
    "comparison_html",
    "comparison_page",
    "format_table",
    "load_run",
    "make_row",
    "method_options",
    "short_names",
]

# The options that tell runs of a method apart, by MethodConfig field; a field a config lacks (one written before
# it existed) or holds as None is left out.
SAMPLING_OPTIONS = ("samples",)
TREE_OPTIONS = ("breadth", "evaluator", "thoughts", "answer", "propose_samples")
SAMPLING_METHODS = ("io", "cot", "cot-sc")
ANY_OUTPUT = "any_correct"  # Row.interval_on when the interval is on puzzles solved by any output
LEGEND = (
    "Calls, tokens and seconds are per puzzle. 95% CI: exact (Clopper-Pearson) interval of solved / puzzles. CI on "
    "success: a puzzle is solved when its success is 1. CI on any output (marked * in the text table): success is a "
    "mean over samples (IO/CoT), so the interval is on puzzles solved by any output instead. Calls and tokens "
    "(prompt + completion) as if nothing were cached; seconds: each puzzle's own wall time as measured in that run, "
    "not reproducible (puzzles run --parallel at once share the machine, so they overlap: the run took less than "
    "puzzles x s/puzzle)."
)


@dataclass(frozen=True)
class Run:
    """A game-24 run folder read back: its path, `run.json`, model name and records (by puzzle number)."""

    path: Path
    info: RunInfo
    model: str | None
    records: list[Record]


@dataclass(frozen=True)
class Row:
    """One run in the comparison.

    `run` is the folder; `method` the method's name and `options` its key options by `MethodConfig` field
    (`method_options`); `puzzles` how many puzzles the row covers. `success` is the mean per-puzzle success in
    [0, 1] (for IO/CoT the share of correct samples, as the paper counts). `solved` of `puzzles` is what the interval
    [`low`, `high`] (fractions, 95%, Clopper-Pearson) is on, as `interval_on` says: "success" (every record's success
    is 0 or 1; solved is their sum) or "any_correct" (some success is a fraction, i.e. a mean over samples; solved is
    the number of puzzles any output solved). Costs are per puzzle: calls and prompt/completion tokens as if nothing
    were cached (reproducible), and `measured_seconds_per_puzzle` the records' wall time (`seconds`) as measured in
    that run, not reproducible (None if a record lacks it).
    """

    run: str
    method: str
    options: dict[str, Any]
    model: str | None
    puzzles: int
    solved: int
    success: float
    low: float
    high: float
    interval_on: str
    calls_per_puzzle: float
    prompt_tokens_per_puzzle: float
    completion_tokens_per_puzzle: float
    measured_seconds_per_puzzle: float | None

    def as_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict (the fields, in order)."""
        return dataclasses.asdict(self)

    def method_label(self) -> str:
        """The method and its options as flags would say them: "tot-bfs (breadth 5, evaluator llm)"."""
        shown = ", ".join(f"{name.replace('_', '-')} {value}" for name, value in self.options.items())
        return f"{self.method} ({shown})" if shown else self.method


def load_run(path: str | Path) -> Run:
    """The game-24 run folder at `path`, read as `reasoning game24 report` reads one (nothing in it is changed but
    its `.lock`, and a killed run's cut-short last line, dropped from the results file as a rerun drops it, with a
    line on stderr). `ConfigurationError` (one line) for a missing path, a file, a folder with no `run.json` or another
    eval's, a results file that is not game-24 records, or no records at all."""
    with read_run(Game24Eval, path) as (folder, info, ev, records):
        return Run(folder.path, info, ev.model, records)


def _puzzle(record: Record) -> tuple[int, str]:
    # A puzzle is its number and its numbers: `--puzzle` runs number their puzzles 0, 1, ... whatever they are.
    return int(record["idx"]), str(record["puzzle"])


def common_puzzles(runs: Sequence[Run], *, all_puzzles: bool = False) -> tuple[list[Run], str | None]:
    """`runs` restricted to the puzzles (number and numbers) every one of them has, and one line saying so; the runs
    as they are and None when their puzzles are the same, or with `all_puzzles`. `ConfigurationError` when they
    have no puzzle in common."""
    sets = [{_puzzle(r) for r in run.records} for run in runs]
    if all_puzzles or all(s == sets[0] for s in sets):
        return list(runs), None
    common = set.intersection(*sets)
    sizes = ", ".join(f"{run.path}: {len(s)}" for run, s in zip(runs, sets, strict=True))
    if not common:
        raise ConfigurationError(f"the runs have no puzzle in common ({sizes}); --all-puzzles compares each on its "
                                 "own puzzles")  # fmt: skip
    kept = [dataclasses.replace(run, records=[r for r in run.records if _puzzle(r) in common]) for run in runs]
    note = (f"compared on the {len(common)} puzzles common to all {len(runs)} runs ({sizes}); --all-puzzles keeps "
            "each run's own")  # fmt: skip
    return kept, note


def method_options(config: MethodConfig | None) -> dict[str, Any]:
    """The key options of `config` (a `MethodConfig`, or None for a run.json that has none: no options) by field:
    `samples` for IO/CoT/CoT-SC; `breadth`, `evaluator` and, where the config has them, `thoughts`, `answer` and
    `propose_samples` for the tree searches."""
    if config is None:
        return {}
    names = SAMPLING_OPTIONS if config.method in SAMPLING_METHODS else TREE_OPTIONS
    return {name: getattr(config, name) for name in names if getattr(config, name, None) is not None}


def make_row(run: Run) -> Row:
    """`run`'s row (see `Row`: which count the interval is on)."""
    records = run.records
    n = len(records)
    successes = [r["success"] for r in records]
    if all(s in (0, 1) for s in successes):
        solved, on = round(sum(successes)), "success"
    else:  # a mean over samples: the interval is on puzzles solved by any output
        solved, on = sum(1 for r in records if r["any_correct"]), ANY_OUTPUT
    low, high = clopper_pearson(solved, n)
    config = run.info.config
    method = config.method if config is not None else "/".join(sorted({str(r["method"]) for r in records}))
    timed = [r["seconds"] for r in records if r.get("seconds") is not None]
    return Row(
        run=str(run.path),
        method=method,
        options=method_options(config),
        model=run.model,
        puzzles=n,
        solved=solved,
        success=sum(successes) / n,
        low=low,
        high=high,
        interval_on=on,
        calls_per_puzzle=sum(r["calls"] for r in records) / n,
        prompt_tokens_per_puzzle=sum(r["prompt_tokens"] for r in records) / n,
        completion_tokens_per_puzzle=sum(r["completion_tokens"] for r in records) / n,
        measured_seconds_per_puzzle=sum(timed) / n if len(timed) == n else None,
    )


HEAD = ("run", "method", "model", "puzzles", "solved", "success", "95% CI", "CI on", "calls/puzzle",
        "prompt tok/puzzle", "compl tok/puzzle", "s/puzzle (measured)")  # fmt: skip
NUMERIC = {"puzzles", "solved", "success", "95% CI", "calls/puzzle", "prompt tok/puzzle", "compl tok/puzzle",
           "s/puzzle (measured)"}  # fmt: skip
# The plain-text table is kept narrow (a terminal's width for a few runs): a short name per run, the method alone,
# the CI's "on any output" as a mark, costs per puzzle with prompt + completion tokens in one column; the folders,
# the options and the models are listed under it, the model once when every run has the same.
TEXT_HEAD = ("run", "method", "puzzles", "solved", "success", "95% CI", "calls", "tokens", "seconds")
TEXT_LEFT = {"run", "method"}
ANY_OUTPUT_MARK = "*"
LEGEND_WIDTH = 100


def _cells(row: Row) -> tuple[str, ...]:
    seconds = row.measured_seconds_per_puzzle
    return (
        row.run,
        row.method_label(),
        row.model or "—",
        str(row.puzzles),
        str(row.solved),
        f"{100 * row.success:.1f}%",
        f"[{100 * row.low:.1f}, {100 * row.high:.1f}]",
        "any output" if row.interval_on == ANY_OUTPUT else "success",
        f"{row.calls_per_puzzle:.1f}",
        f"{row.prompt_tokens_per_puzzle:.0f}",
        f"{row.completion_tokens_per_puzzle:.0f}",
        "—" if seconds is None else f"{seconds:.2f}",
    )


def short_names(paths: Sequence[str]) -> list[str]:
    """A short name per run folder: its last path part, or as many trailing parts as tell it from the others
    ("a/tot", "b/tot"); the whole path for a folder that repeats."""
    parts = [Path(p).parts or (p,) for p in paths]
    names = []
    for mine in parts:
        for k in range(1, len(mine) + 1):
            tail = mine[-k:]
            if sum(1 for other in parts if other[-k:] == tail) == 1:
                break
        names.append(str(Path(*tail)))
    return names


def _printable(text: str) -> str:
    # A folder name with a newline or a tab, escaped as Python writes it, so that it stays on its line of the table.
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _text_cells(row: Row, name: str, marks: bool) -> tuple[str, ...]:
    seconds = row.measured_seconds_per_puzzle
    mark = ANY_OUTPUT_MARK if row.interval_on == ANY_OUTPUT else " " if marks else ""  # the brackets aligned
    return (
        name,
        row.method,
        str(row.puzzles),
        str(row.solved),
        f"{100 * row.success:.1f}%",
        f"[{100 * row.low:.1f}, {100 * row.high:.1f}]{mark}",
        f"{row.calls_per_puzzle:.1f}",
        f"{row.prompt_tokens_per_puzzle:.0f} + {row.completion_tokens_per_puzzle:.0f}",
        "—" if seconds is None else f"{seconds:.1f}",
    )


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table about 80 columns wide (numbers right-aligned; a run per line, named by the
    short name of its folder where it really is, `short_names`), then a line per run with its folder, method
    options and model (the model once, above them, when every run has the same), then the legend. A CI marked "*"
    is on puzzles solved by any output."""
    # Named where the folders are (`a` and `/x/a` typed for one folder are one folder), shown printable.
    names = [_printable(n) for n in short_names([os.path.realpath(row.run) for row in rows])]
    marks = any(row.interval_on == ANY_OUTPUT for row in rows)
    table = [TEXT_HEAD, *(_text_cells(row, name, marks) for row, name in zip(rows, names, strict=True))]
    widths = [max(len(line[i]) for line in table) for i in range(len(TEXT_HEAD))]

    def aligned(line: Sequence[str]) -> str:
        cells = zip(TEXT_HEAD, line, widths, strict=True)
        return "  ".join(c.ljust(w) if name in TEXT_LEFT else c.rjust(w) for name, c, w in cells).rstrip()

    models = {row.model for row in rows}
    one_model = len(models) == 1
    key = [f"model: {next(iter(models)) or '—'}"] if one_model else []
    width = max(map(len, names), default=0)
    for row, name in zip(rows, names, strict=True):
        model = "" if one_model else f"; model {row.model or '—'}"
        key.append(f"  {name:<{width}}  {row.method_label()}{model} — {_printable(row.run)}")
    legend = textwrap.fill(LEGEND, LEGEND_WIDTH, break_on_hyphens=False)
    return "\n".join([*(aligned(line) for line in table), *key, legend])


def comparison_html(rows: Sequence[Row]) -> str:
    """The rows as an HTML table with the legend below it: a fragment (every string escaped) for a report page to
    embed in its body, in the shared stylesheet's classes (`evals.harness.STYLESHEET`)."""
    header = "".join(f"<th>{escape(h)}</th>" for h in HEAD)
    body = []
    for row in rows:
        cells = _cells(row)
        tds = []
        for name, cell in zip(HEAD, cells, strict=True):
            if name == "95% CI":
                tds.append(f'<td class="n"><span class="ci">{escape(cell)}</span></td>')
            else:
                tds.append(f'<td class="n">{escape(cell)}</td>' if name in NUMERIC else f"<td>{escape(cell)}</td>")
        body.append(f"<tr>{''.join(tds)}</tr>")
    table = f'<table id="compare"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    return f'<div class="wide">{table}</div>\n<p class="note">{escape(LEGEND)}</p>'


def comparison_page(rows: Sequence[Row], note: str | None = None) -> str:
    """One self-contained HTML page (`evals.harness.page`) with the comparison table, and `note` (what puzzles it
    is on) above it."""
    said = f'<p class="note">{escape(note)}</p>\n' if note else ""
    return page("Game of 24 — runs compared", f"<h1>Game of 24 — runs compared</h1>\n{said}{comparison_html(rows)}")


def check_page_path(path: str, folders: Sequence[str]) -> None:
    """`ConfigurationError` (one line) unless `path` is a place `--html` may write its page: not empty, not a folder,
    not a file that is not an HTML page already (a run's results or run.json would be lost), nor a link to one, nor
    a compared run's own report.html. An HTML page already there is replaced."""
    if not path.strip():
        raise ConfigurationError("--html is empty; give a file to write the page to")
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise ConfigurationError(f"--html {path} is a folder; give a file")
    reports = {Path(os.path.realpath(Path(folder) / "report.html")) for folder in folders}
    if target in reports:
        raise ConfigurationError(f"--html {path} is a compared run's own report; give another path")
    if target.exists() and not _is_page(target):
        raise ConfigurationError(f"--html {path} exists and is not an HTML page; move it or give another path")


def _is_page(path: Path) -> bool:
    # Whether the file begins as every page of ours does (`evals.harness.page`).
    try:
        with path.open("rb") as f:
            return f.read(15).lower() == b"<!doctype html>"
    except OSError:
        return False


def compare_command(args: argparse.Namespace) -> int:
    """`reasoning game24 compare RUN_DIR [RUN_DIR ...] [--all-puzzles] [--format text|json] [--html PATH]`: the page's
    path is checked (`check_page_path`) and every folder read before anything is written, so a bad one is one
    `ConfigurationError` and no output. The note on common puzzles and where the page went go to stderr; the table
    (or the JSON list of rows) to stdout."""
    folders = [args.dir, *args.more]
    if args.html is not None:
        check_page_path(args.html, folders)
    runs, note = common_puzzles([load_run(path) for path in folders], all_puzzles=args.all_puzzles)
    rows = [make_row(run) for run in runs]
    if note is not None:
        print(note, file=sys.stderr)
    if args.html:
        write_atomic(args.html, comparison_page(rows, note))
    print(json.dumps([row.as_dict() for row in rows], indent=1) if args.format == "json" else format_table(rows))
    if args.html:
        print(f"compare: {args.html}", file=sys.stderr)
    return 0
