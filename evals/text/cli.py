"""`reasoning text run | report`: the creative-writing task of Tree of Thoughts (Yao et al., 2023) on the harness.

    reasoning text run --method tot-bfs --range 0-9                  # the paper's ToT: sample + vote, 2 steps
    reasoning text run --method cot --samples 10 --out runs/text-cot  # the paper's CoT baseline
    reasoning text run --backend replay                               # the published GPT-4 run, replayed
    reasoning text report runs/text

`run` and `report` are the harness's (`evals.harness.add_eval_commands`); this module adds the task's options, maps
them once into a `MethodConfig`, loads the tasks, and makes the replay backend's engines (one per task, from the
published run's log). The replay needs the paper's settings and runs without the judge (its log holds no scores).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from reasoning.cli import Subparsers
from reasoning.engine import Engine, ResponseCache
from reasoning.errors import ConfigurationError

from ..files import missing_shared_data, shared_data_dir
from ..harness import Engines, add_eval_commands, add_prompt_format, check_counts, default_engines, uses_chat
from .data import Sentences, load_tasks, parse_range
from .eval import TextEval
from .methods import METHODS, MethodConfig, unused_fields
from .replay import VOTES, ReplayModel, load_log

__all__ = ["REPLAY_LOG", "method_config", "register", "unused_options"]

REPLAY_LOG = "gpt-4_1.0_generate_sample_select_greedy_sample5_start0_end100.json"
# Each at least 1; those in `SAMPLE_COUNTS` are a request's `n`, at most `MAX_SAMPLES`.
COUNTS = ("samples", "breadth", "n_generate", "n_vote", "max_tokens", "vote_max_tokens", "judge_samples",
          "judge_max_tokens")  # fmt: skip
SAMPLE_COUNTS = ("samples", "n_generate", "n_vote", "judge_samples")
# What the published run did, which the replay can answer (its settings: scripts/text/bfs.sh).
REPLAYED = {"method": "tot-bfs", "breadth": 1, "n_generate": 5, "n_vote": VOTES}


def register(sub: Subparsers) -> None:
    """Add this eval's subcommand to `reasoning` (the `reasoning.commands` entry point in pyproject.toml)."""
    add_eval_commands(sub, TextEval, help="creative writing: a coherent passage ending in 4 given sentences "
                      "(Yao et al., 2023)", build=_build, configure=_options, selection=("range",), engines=_engines,
                      unused=unused_options, run_help="run a method over tasks; rerunning the same command resumes",
                      parallel=4,
                      noun="task", extra_backends=("replay",))  # fmt: skip


def _options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--method", choices=METHODS, default="tot-bfs",
                     help="io: the passage at once; cot: a plan, then the passage; tot-bfs: sample plans and vote, "
                     "then passages from the kept plan and vote (default)")  # fmt: skip
    where = run.add_argument_group("tasks")
    where.add_argument("--range", help="0-based rows of the tasks file, e.g. 0-9 (default: every row; the paper's "
                       "file has 100)")  # fmt: skip
    where.add_argument("--tasks-file", help="one task (four sentences) a line (default: the paper's 100, "
                       "tot/text/data_100_random_text.txt in the shared data)")  # fmt: skip
    method = run.add_argument_group("method")
    method.add_argument("--samples", type=int, default=1, help="IO/CoT: outputs a task, each judged (paper: 10)")
    method.add_argument("--breadth", type=int, default=1, help="ToT: states kept a step (paper: 1)")
    method.add_argument("--n-generate", type=int, default=5, help="ToT: plans, then passages, sampled a step")
    method.add_argument("--n-vote", type=int, default=5, help="ToT: votes a step")
    method.add_argument("--temperature", type=float, default=1.0)
    method.add_argument("--max-tokens", type=int, default=1000, help="tokens for a plan, a passage or an output")
    method.add_argument("--vote-max-tokens", type=int, default=1000, help="tokens for a vote")
    method.add_argument("--seed", type=int, default=0)
    add_prompt_format(method)
    judge = run.add_argument_group("coherency judge (the same model, through the same engine)")
    judge.add_argument("--judge", choices=["auto", "model", "none"], default="auto",
                       help="model: score each output 1-10; none: no score (default auto: model, or none with "
                       "--backend replay, whose log holds no scores)")  # fmt: skip
    judge.add_argument("--judge-samples", type=int, default=5, help="scores a passage, averaged (paper: 5)")
    judge.add_argument("--judge-temperature", type=float, default=0.7)
    judge.add_argument("--judge-max-tokens", type=int, default=1000)
    run.add_argument("--replay-log", help=f"the published run for --backend replay (default: tot/text/{REPLAY_LOG})")


def _judges(args: argparse.Namespace) -> bool:
    """Whether the outputs are judged: `--judge model`, or `auto` on any backend but the replay."""
    return bool(args.judge == "model" or (args.judge == "auto" and args.backend != "replay"))


def unused_options(args: argparse.Namespace) -> set[str]:
    """The options (by destination) this run does not read, left out of its identity: another method's
    (`methods.unused_fields`: `--breadth` for IO, `--samples` for ToT), the judge's without the judge, and
    `--replay-log` without `--backend replay`."""
    unused = set(unused_fields(args.method, _judges(args)))
    return unused | ({"replay_log"} if args.backend != "replay" else set())


def method_config(args: argparse.Namespace) -> MethodConfig:
    """The run's options as its one config (the only place they are read for it). `ConfigurationError` for a count
    below 1 or a sample count above `MAX_SAMPLES`, and, with `--backend replay`, for settings the published run did
    not use or the judge."""
    check_counts(args, COUNTS, SAMPLE_COUNTS)
    replay = args.backend == "replay"
    if replay:
        if args.judge == "model":
            raise ConfigurationError("--judge model: the published log holds no coherency scores, so the judge "
                                     "cannot be replayed; use --judge none (the default with --backend "
                                     "replay)")  # fmt: skip
        for name, value in REPLAYED.items():
            if getattr(args, name) != value:
                flag = f"--{name.replace('_', '-')}"
                raise ConfigurationError(f"--backend replay replays the published run, made with {flag} {value}; "
                                         f"got {flag} {getattr(args, name)}")  # fmt: skip
    same = {f.name: getattr(args, f.name) for f in dataclasses.fields(MethodConfig) if hasattr(args, f.name)}
    same.update(judge=_judges(args), chat=uses_chat(args))
    return MethodConfig(**same)


def _build(args: argparse.Namespace) -> TextEval:
    config = method_config(args)
    tasks = load_tasks(file=args.tasks_file, rows=parse_range(args.range) if args.range is not None else None)
    if args.backend != "replay":
        return TextEval(config, tasks)
    return TextEval(config, tasks, replay=True, log=_replay_log(args, tasks))


def _replay_log(args: argparse.Namespace, tasks: list[Sentences]) -> dict[int, dict[str, Any]]:
    """The published run's records of `tasks`, by row; `ConfigurationError` for a missing log or rows it lacks."""
    path = Path(args.replay_log) if args.replay_log is not None else shared_data_dir() / "tot" / "text" / REPLAY_LOG
    if not path.is_file():
        if args.replay_log is not None:
            raise ConfigurationError(f"replay log not found: {path}")
        raise missing_shared_data("replay log", path, "give --replay-log")
    log = {record.get("idx"): record for record in load_log(path) if isinstance(record, dict)}
    missing = [t.idx for t in tasks if t.idx not in log]
    if missing:
        rows = [i for i in log if isinstance(i, int)]
        covered = f"rows {min(rows)}-{max(rows)}" if rows else "no task"
        raise ConfigurationError(f"the replay log covers {covered} of the tasks file; not rows {missing[:5]}")
    return {t.idx: log[t.idx] for t in tasks}


def _engines(args: argparse.Namespace, ev: Any) -> Engines:
    """The model options' engine, or with `--backend replay` one replay engine per task."""
    return _replay_engines(args, ev) if args.backend == "replay" else default_engines(args, ev)


def _replay_engines(args: argparse.Namespace, ev: TextEval) -> Engines:
    """One replay engine per task, from the log `_build` read (`ev.log`). Every task's model is made before the run
    starts, so tasks that are not the log's are refused before anything is written."""
    models = {}
    for task in ev.tasks:
        try:
            models[task.idx] = ReplayModel(ev.log[task.idx], ev.config.task(task))
        except ValueError as exc:  # the task's sentences are not the log's
            raise ConfigurationError(f"replay: {exc} (replay rows of the paper's tasks file)") from None
    made: list[Engine] = []

    def engine_for(task: Sentences) -> Engine:
        made.append(Engine(models[task.idx], cache=ResponseCache()))
        return made[-1]

    return engine_for, "gpt-4-replay", made
