"""`reasoning game24 run | report | check | solve | compare`.

`run` and `report` are the harness's (`evals.harness.add_eval_commands`): this module adds the game's options, maps
them once into a `MethodConfig` (`method_config`) that the eval, the task and the report read, loads the puzzles,
and makes the replay backend's engines (one per puzzle, from the published run's log).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning.cli import Subparsers
from reasoning.engine import Engine, ResponseCache
from reasoning.errors import ConfigurationError
from reasoning.tree import SearchBudget

from ..files import missing_shared_data
from ..harness import Engines, add_eval_commands, add_prompt_format, check_counts, default_engines, uses_chat
from ..stdin import answer_lines, string_field
from .arith import ExpressionError, check_answer, solve
from .compare import compare_command
from .data import Puzzle, default_data_dir, load_puzzles, parse_range
from .eval import Game24Eval
from .methods import METHODS, MethodConfig, unused_fields
from .replay import ReplayModel, load_log
from .task import normalize_puzzle

__all__ = ["method_config", "register", "unused_options"]

REPLAY_LOG = "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"


def register(sub: Subparsers) -> None:
    """Add this eval's subcommand to `reasoning` (the `reasoning.commands` entry point in pyproject.toml)."""
    add_eval_commands(sub, Game24Eval, help="the game-of-24 eval (Yao et al., 2023)", build=_build,
                      configure=_options, selection=("range",), unused=unused_options, engines=_engines,
                      run_help="run a method over puzzles; rerunning the same command resumes", parallel=4,
                      noun="puzzle", extra_backends=("replay",), commands=_commands, after=_after)  # fmt: skip


def _options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--method", choices=METHODS, default="tot-bfs")
    where = run.add_argument_group("puzzles")
    where.add_argument("--range", default="900-999", help="0-based rows of the puzzle file (default: 900-999)")
    where.add_argument("--puzzles-file", help="a CSV with a Puzzles column, or one puzzle per line")
    where.add_argument("--puzzle", action="append", help="a literal puzzle, e.g. '4 5 6 10' (repeatable)")
    method = run.add_argument_group("method")
    method.add_argument("--breadth", type=int, default=5, help="BFS breadth; DFS/A* children per node")
    method.add_argument("--samples", type=int, default=1, help="IO/CoT samples per puzzle; CoT-SC votes")
    method.add_argument("--n-value", type=int, default=3, help="value samples per state")
    method.add_argument("--temperature", type=float, default=0.7)
    method.add_argument("--select", choices=["greedy", "sample"], default="greedy")
    method.add_argument(
        "--evaluator",
        choices=["llm", "solver", "plugin"],
        default="llm",
        help="llm: the model's sure/likely/impossible; solver: the exact solver (a program); plugin: a trained "
        "classifier of the numbers left, the llm value where it is unsure",
    )
    method.add_argument("--plugin-file", help="with --evaluator plugin: the plug-in (trained and saved there if "
                        "missing; default OUT/game24-plugin.pkl)")  # fmt: skip
    method.add_argument("--plugin-threshold", type=float, default=0.9, help="ask the llm below this confidence")
    method.add_argument(
        "--check-steps",
        action="store_true",
        help="drop thoughts whose arithmetic or remaining numbers are wrong before valuing them",
    )
    method.add_argument(
        "--paper-values",
        action="store_true",
        help="value finished states without an answer like the published run did (ask, not 0)",
    )
    method.add_argument(
        "--thoughts",
        choices=["auto", "lenient", "paper"],
        default="auto",
        help="lenient: read each proposed line as 'a op b = c' on the numbers left and compute the numbers left "
        "ourselves, one child per distinct multiset; paper: every line a child, as the paper (default auto: paper "
        "with --backend replay, else lenient)",
    )
    method.add_argument(
        "--answer",
        choices=["auto", "program", "model"],
        default="auto",
        help="program: write the final answer from the steps that reach 24 (no call; lenient thoughts); model: "
        "ask the model, as the paper (default auto: model with --backend replay, else program)",
    )
    method.add_argument("--propose-samples", type=int, default=1,
                        help="proposal samples per expansion, their steps merged by state")  # fmt: skip
    method.add_argument("--threshold", type=float, default=1.0, help="DFS: prune children valued below this")
    method.add_argument("--accept", type=float, default=20.0, help="DFS/A*: stop at an answer valued this high")
    method.add_argument("--max-steps", type=int, default=20, help="DFS/A*: expansions per puzzle")
    method.add_argument("--seed", type=int, default=0)
    method.add_argument("--max-tokens", type=int, default=256, help="tokens for an answer or a proposal")
    method.add_argument("--value-max-tokens", type=int, default=128, help="tokens for a value judgement")
    add_prompt_format(method, "raw few-shot completion")
    budget = run.add_argument_group("per-puzzle budget")
    budget.add_argument("--budget-calls", type=int)
    budget.add_argument("--budget-tokens", type=int)
    budget.add_argument("--budget-dollars", type=float)
    run.add_argument("--replay-log", help=f"the published run for --backend replay (default: tot/{REPLAY_LOG})")


def _commands(game_sub: Any) -> None:
    check = game_sub.add_parser("check", help="check a model's final output; JSON verdict per line")
    check.add_argument("puzzle", nargs="?", help="e.g. '4 5 6 10' (omit to read JSON lines on stdin)")
    check.add_argument("output", nargs="?", help="the model's whole final output")
    check.set_defaults(run=_check)

    solver = game_sub.add_parser("solve", help="solve a puzzle exactly")
    solver.add_argument("puzzle", help="four whole numbers, e.g. '4 5 6 10'")
    solver.set_defaults(run=_solve)

    compare = game_sub.add_parser("compare", help="runs side by side: success with its 95%% interval, cost a puzzle")
    compare.add_argument("dir", metavar="RUN_DIR", help="a folder written by `reasoning game24 run`")
    compare.add_argument("more", nargs="*", default=[], metavar="RUN_DIR", help="more such folders, a row each")
    compare.add_argument("--all-puzzles", action="store_true",
                         help="each run on its own puzzles (default: the puzzles common to all the runs)")  # fmt: skip
    compare.add_argument("--format", choices=["text", "json"], default="text", help="stdout: a table, or JSON rows")
    compare.add_argument("--html", metavar="PATH", help="also write the table as one self-contained HTML page "
                         "(an HTML page already there is replaced; any other file is refused)")  # fmt: skip
    compare.set_defaults(run=compare_command)


CHECK_EXPECTED = '{"puzzle": "4 5 6 10", "output": "..."} (one JSON object a line, UTF-8)'


def _puzzle(text: str) -> str:
    """`text` as a game-24 puzzle ("4 5 6 10"), as `run --puzzle` takes one; `ConfigurationError` (one line) for
    anything but four whole numbers, so `check` and `solve` answer only what a run could ask."""
    try:
        return normalize_puzzle(text)
    except ExpressionError as exc:
        raise ConfigurationError(str(exc)) from None


def _verdict(puzzle: str, output: str) -> dict[str, Any]:
    puzzle = _puzzle(puzzle)
    return {"puzzle": puzzle, **check_answer(puzzle, output).__dict__}


def _check_line(item: dict[str, Any]) -> dict[str, Any]:
    """One stdin line's verdict; `ConfigurationError` saying what is wrong with the line."""
    puzzle = string_field(item, "puzzle", "4 5 6 10")
    return _verdict(puzzle, string_field(item, "output", "Answer: (10 - 6) * 5 + 4 = 24"))


def _check(args: argparse.Namespace) -> int:
    if args.puzzle is not None:
        if args.output is None:
            raise ConfigurationError("give the puzzle and the output, or neither (JSON lines on stdin)")
        print(json.dumps(_verdict(args.puzzle, args.output)))
        return 0
    # One verdict a line, a bad line answered with its error and the others still graded (see evals.stdin).
    return answer_lines(_check_line, CHECK_EXPECTED, ("puzzle", "output"))


def _solve(args: argparse.Namespace) -> int:
    puzzle = _puzzle(args.puzzle)
    found = solve(puzzle)
    print(json.dumps({"puzzle": puzzle, "solvable": found is not None, "solution": found}))
    return 0


# Each at least 1.
COUNTS = ("breadth", "samples", "n_value", "max_steps", "max_tokens", "value_max_tokens", "propose_samples")
# Each the `n` of one request: at most `MAX_SAMPLES`.
SAMPLE_COUNTS = ("samples", "n_value", "propose_samples")


# The options that set a `MethodConfig` field of another name.
_OPTION_OF = {"zero_unfinished": "paper_values", "plugin": "plugin_file"}


def unused_options(args: argparse.Namespace) -> set[str]:
    """The options (by destination) this run does not read, left out of its identity: those of the fields its
    method does not read (`methods.unused_fields`: `--breadth` for IO, `--samples` for a tree search, the plug-in's
    without `--evaluator plugin`), and `--replay-log` without `--backend replay`."""
    unused = {_OPTION_OF.get(name, name) for name in unused_fields(args.method, args.evaluator)}
    return unused | ({"replay_log"} if args.backend != "replay" else set())


def method_config(args: argparse.Namespace) -> MethodConfig:
    """The run's options as its one config (the only place they are read for it), with the fields its method does
    not read at their defaults (as `MethodConfig.used` has them). `ConfigurationError` for a count below 1 or a
    sample count above `MAX_SAMPLES`; with `--evaluator plugin` on a tree search the plug-in is trained into its
    file first if it is missing."""
    check_counts(args, COUNTS, SAMPLE_COUNTS)
    unused = unused_fields(args.method, args.evaluator)
    # The options named as the config's fields, then those that are not.
    same = {f.name: getattr(args, f.name) for f in dataclasses.fields(MethodConfig) if hasattr(args, f.name)}
    replay = args.backend == "replay"
    same["thoughts"] = ("paper" if replay else "lenient") if args.thoughts == "auto" else args.thoughts
    if args.answer == "auto":
        same["answer"] = "program" if same["thoughts"] == "lenient" and not replay else "model"
    elif args.answer == "program" and same["thoughts"] != "lenient" and "answer" not in unused:
        raise ConfigurationError("--answer program writes the answer from lenient thoughts; add --thoughts lenient "
                                 "or use --answer model")  # fmt: skip
    same.update(zero_unfinished=not args.paper_values, chat=uses_chat(args),
                budget=SearchBudget(args.budget_calls, args.budget_tokens, args.budget_dollars),
                plugin=_plugin(args) if "plugin" not in unused else None)  # fmt: skip
    return MethodConfig(**{name: value for name, value in same.items() if name not in unused})


def _plugin(args: argparse.Namespace) -> str:
    from .plugin import TEST_ROWS, train_game24_plugin

    path = Path(args.plugin_file) if args.plugin_file else Path(args.out) / "game24-plugin.pkl"
    if not path.is_file():
        print(f"training the game-24 plug-in (puzzles outside rows 900-999) into {path} ...", file=sys.stderr)
        puzzles = [p for p in load_puzzles(rows=None) if p.idx not in TEST_ROWS]
        train_game24_plugin(puzzles).save(path)
    return str(path)


def _build(args: argparse.Namespace) -> Game24Eval:
    puzzles = load_puzzles(literals=args.puzzle, file=args.puzzles_file, rows=parse_range(args.range))
    return Game24Eval(method_config(args), puzzles)


def _engines(args: argparse.Namespace, ev: Any) -> Engines:
    """The model options' engine, or with `--backend replay` one replay engine per puzzle."""
    return _replay_engines(args, ev) if args.backend == "replay" else default_engines(args, ev)


def _after(args: argparse.Namespace, ev: Any, engines: Sequence[Engine]) -> None:
    if args.backend == "replay" and _leaves_logged_path(ev.config):
        misses = sum(getattr(engine.model, "misses", 0) for engine in engines)
        print(f"replay requests off the logged path (answered empty): {misses}", file=sys.stderr)


def _leaves_logged_path(config: MethodConfig) -> bool:
    # Steps checked or read leniently, more proposal samples, or a plug-in's values: the search asks what the
    # published run did not.
    return (config.check_steps or config.evaluator == "plugin" or config.thoughts != "paper"
            or config.propose_samples != 1)  # fmt: skip


def _not_replayed(missing: list[Puzzle], starts: dict[int, str], args: argparse.Namespace) -> str:
    """Why the replay has no log for `missing`, and what to run instead. Puzzles given with --puzzle are numbered by
    their place in that list (0, 1, ...), and those of --puzzles-file by their row there, not by rows of 24.csv,
    which the log is; a puzzle whose numbers are a logged one's is pointed to that row."""
    covered = f"puzzles {min(starts)}-{max(starts)}" if starts else "no puzzle"
    given = "--puzzle" if args.puzzle else "--puzzles-file" if args.puzzles_file else None
    if given is None or not starts:
        return f"the replay covers {covered} (rows of the puzzle file); not rows {[p.idx for p in missing[:5]]}"
    rows = {numbers: idx for idx, numbers in starts.items()}
    places = [p.idx for p in missing[:5]]
    place = "their place in the list given" if args.puzzle else "their row in that file"
    message = (f"the replay covers {covered}, rows of tot/24.csv chosen with --range; {given} numbers its puzzles "
               f"by {place} (here {places}), which the log has no run for")  # fmt: skip
    known = sorted((rows[p.numbers], p.numbers) for p in missing if p.numbers in rows)
    if not known:
        return (f"{message}, and none of them is a logged puzzle: replay rows of tot/24.csv instead, without {given}: "
                f"--range {min(starts)}-{max(starts)}")  # fmt: skip
    span = str(known[0][0]) if len(known) == 1 else f"{known[0][0]}-{known[-1][0]}"
    said = [f"{numbers} is row {row}" for row, numbers in known[:3]]
    said += [f"{p.numbers} is not logged" for p in missing if p.numbers not in rows][:2]
    return f"{message}: replay rows of tot/24.csv instead, without {given}: --range {span} ({'; '.join(said)})"


def _replay_engines(args: argparse.Namespace, ev: Game24Eval) -> Engines:
    path = Path(args.replay_log) if args.replay_log else default_data_dir() / "tot" / REPLAY_LOG
    if not path.is_file():
        if args.replay_log:
            raise ConfigurationError(f"replay log not found: {path}")
        raise missing_shared_data("replay log", path, "give --replay-log")
    puzzles, config = ev.puzzles, ev.config
    try:
        log = {record["idx"]: record for record in load_log(path)}
        starts = {idx: record["steps"][0]["x"] for idx, record in log.items()}
        logged = {p.idx: starts[p.idx] for p in puzzles if p.idx in log}
    # ValueError: not UTF-8 or not JSON; the others: not a list of {"idx", "steps": [{"x"}, ...]} records.
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else type(exc).__name__
        raise ConfigurationError(f"{path} is not a replay log of the published run ({reason})") from None
    missing = [p for p in puzzles if p.idx not in log]
    if missing:
        raise ConfigurationError(_not_replayed(missing, starts, args))
    made: list[Engine] = []

    def engine_for(puzzle: Puzzle) -> Engine:
        if logged[puzzle.idx] != puzzle.numbers:
            raise ConfigurationError(f"puzzle {puzzle.idx} is {puzzle.numbers}, the log has {logged[puzzle.idx]}")
        # Strict unless the search leaves the logged path: then unknown requests get empty answers (counted in the
        # model's `misses`).
        try:
            model = ReplayModel(log[puzzle.idx], config.task(puzzle), strict=not _leaves_logged_path(config))
        except ValueError as exc:  # the log's steps do not fit together
            raise ConfigurationError(f"{path}: puzzle {puzzle.idx}: {exc}") from None
        made.append(Engine(model, cache=ResponseCache()))
        return made[-1]

    return engine_for, "gpt-4-replay", made
