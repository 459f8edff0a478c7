"""`reasoning crosswords run | report | score`.

`run` and `report` are the harness's (`evals.harness.add_eval_commands`): this module adds the task's options, maps
them once into a `MethodConfig`, loads the games, and makes the replay backend's engines (one per game, from the
published DFS log and env_cache.json). `score` grades a model's final outputs, one JSON line each.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning.cli import Subparsers
from reasoning.engine import Engine
from reasoning.errors import ConfigurationError

from ..files import missing_shared_data
from ..harness import Engines, add_eval_commands, add_prompt_format, check_counts, default_engines, uses_chat
from ..stdin import answer_lines, shown, string_field
from .data import TEST_GAMES, Game, crosswords_dir, load_games, parse_games
from .eval import CrosswordsEval
from .methods import METHODS, MethodConfig, unused_fields
from .replay import CACHE, NO_PRUNE_LOG, PRUNE_LOG, ReplayModel, load_cache, load_log
from .score import score_output

__all__ = ["method_config", "register", "unused_options"]


def register(sub: Subparsers) -> None:
    """Add this eval's subcommand to `reasoning` (the `reasoning.commands` entry point in pyproject.toml)."""
    add_eval_commands(sub, CrosswordsEval, help="the mini crosswords eval (Yao et al., 2023)", build=_build,
                      configure=_options, selection=("games",), unused=unused_options, engines=_engines,
                      run_help="run a method over games; rerunning the same command resumes", parallel=4,
                      noun="game", extra_backends=("replay",), commands=_commands, after=_after)  # fmt: skip


def _options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--method", choices=METHODS, default="tot-dfs")
    where = run.add_argument_group("games")
    where.add_argument("--games", default="test", help='games of mini0505.json: "test" (the paper\'s 20: 0, 5, ..., '
                       '95; the default), "0,5,10", "0-9" or "0-95:5"')  # fmt: skip
    where.add_argument("--games-file", help="a mini0505.json-style file (default: tot/crosswords/mini0505.json)")
    method = run.add_argument_group("method")
    method.add_argument("--no-prune", action="store_true", help="DFS without pruning (the paper's ablation)")
    method.add_argument("--breadth", type=int, default=3, help="DFS: children visited per state (pruned included)")
    method.add_argument("--max-visits", type=int, default=100, help="DFS: states visited per game")
    method.add_argument("--propose-samples", type=int, default=8, help="samples per propose request")
    method.add_argument("--temperature", type=float, default=0.7)
    method.add_argument("--max-tokens", type=int, default=256, help="tokens for an answer or a proposal")
    method.add_argument("--prune-max-tokens", type=int, default=64, help="tokens for a prune verdict")
    method.add_argument("--seed", type=int, default=0)
    add_prompt_format(method, "raw few-shot completion")
    run.add_argument("--replay-dir", help="the published logs for --backend replay (default: tot/crosswords/)")


def _commands(sub: Any) -> None:
    score = sub.add_parser("score", help='grade outputs: JSON lines {"game": i, "output": text} on stdin, one verdict '
                           "a line")  # fmt: skip
    score.add_argument("--games-file", help="a mini0505.json-style file (default: tot/crosswords/mini0505.json)")
    score.set_defaults(run=_score)


SCORE_EXPECTED = '{"game": 0, "output": "..."} (one JSON object a line, UTF-8; game: its number in mini0505.json)'


def _score_line(games: list[Game], item: dict[str, Any]) -> dict[str, Any]:
    """One stdin line's verdict; `ConfigurationError` saying what is wrong with the line."""
    idx = item["game"]
    if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(games):
        raise ConfigurationError(f'"game" must be a game number from 0 to {len(games) - 1}; got {shown(idx)}')
    scores = score_output(games[idx], string_field(item, "output", "Output:\nA G E N D\n..."))
    return {"letter": scores.letter, "word": scores.word, "game": scores.game}


def _score(args: argparse.Namespace) -> int:
    games = load_games(args.games_file)
    return answer_lines(functools.partial(_score_line, games), SCORE_EXPECTED, ("game", "output"))


COUNTS = ("breadth", "max_visits", "propose_samples", "max_tokens", "prune_max_tokens")


def unused_options(args: argparse.Namespace) -> set[str]:
    """The options (by destination) this run does not read, left out of its identity: the DFS's for IO and CoT
    (`methods.unused_fields`; `--no-prune` sets `prune`), and `--replay-dir` without `--backend replay`."""
    unused = {"no_prune" if name == "prune" else name for name in unused_fields(args.method)}
    return unused | ({"replay_dir"} if args.backend != "replay" else set())


def method_config(args: argparse.Namespace) -> MethodConfig:
    """The run's options as its one config, the fields its method does not read at their defaults
    (`MethodConfig.used`). `ConfigurationError` for a count below 1 or too many samples."""
    check_counts(args, COUNTS, ("propose_samples",))
    if not 0.0 <= args.temperature <= 2.0:
        raise ConfigurationError(f"--temperature must be between 0 and 2; got {args.temperature}")
    return MethodConfig(method=args.method, prune=not args.no_prune, breadth=args.breadth, max_visits=args.max_visits,
                        propose_samples=args.propose_samples, temperature=args.temperature,
                        max_tokens=args.max_tokens, prune_max_tokens=args.prune_max_tokens, chat=uses_chat(args),
                        seed=args.seed).used()  # fmt: skip


def _build(args: argparse.Namespace) -> CrosswordsEval:
    config = method_config(args)
    games = load_games(args.games_file)
    return CrosswordsEval(config, [games[i] for i in parse_games(args.games, len(games))])


def _engines(args: argparse.Namespace, ev: Any) -> Engines:
    """The model options' engine, or with `--backend replay` one replay engine per game."""
    return _replay_engines(args, ev) if args.backend == "replay" else default_engines(args, ev)


def _after(args: argparse.Namespace, ev: Any, engines: Sequence[Engine]) -> None:
    if args.backend != "replay":
        return
    models = [e.model for e in engines if isinstance(e.model, ReplayModel)]
    rebuilt = sum(m.reconstructed for m in models)
    unvisited = sum(m.remaining for m in models)
    source = "env_cache.json (the pruned run's)" if ev.config.prune else "the log's visiting order (the ablation's "
    source += "" if ev.config.prune else "proposals are not in env_cache.json)"
    print(
        f"replay: proposals from {source}, {rebuilt} rebuilt from the log; {unvisited} logged states not visited; "
        "the prune verdicts per clue are placeholders that give each state's logged counts",
        file=sys.stderr,
    )


def _replay_engines(args: argparse.Namespace, ev: CrosswordsEval) -> Engines:
    config = ev.config
    if config.method != "tot-dfs":
        raise ConfigurationError(f"--backend replay replays the published DFS runs; --method {config.method} has no "
                                 "published log (use --method tot-dfs)")  # fmt: skip
    if args.games_file is not None:
        raise ConfigurationError("--backend replay replays games of the paper's mini0505.json; drop --games-file")
    if (config.breadth, config.max_visits, config.propose_samples) != (3, 100, 8):
        raise ConfigurationError("--backend replay replays the paper's search: --breadth 3 --max-visits 100 "
                                 "--propose-samples 8 (the log holds no other)")  # fmt: skip
    folder = Path(args.replay_dir) if args.replay_dir is not None else crosswords_dir()
    log_path, cache_path = folder / (NO_PRUNE_LOG if args.no_prune else PRUNE_LOG), folder / CACHE
    for path in (log_path, cache_path):
        if not path.is_file():
            if args.replay_dir is not None:
                raise ConfigurationError(f"replay file not found: {path}")
            raise missing_shared_data("replay file", path, "give --replay-dir")
    missing = [g.idx for g in ev.games if g.idx not in TEST_GAMES]
    if missing:
        raise ConfigurationError(f"the published logs cover the 20 test games (0, 5, ..., 95); not game {missing[0]}")
    try:
        log, proposals = load_log(log_path), load_cache(cache_path)
    # ValueError: not UTF-8, not JSON, or another layout; RecursionError: "[[[[..." nested too deep to read.
    except (ValueError, OSError, RecursionError) as exc:
        raise ConfigurationError(f"cannot read the replay files in {folder}: {exc}") from None
    # The propose cache is the pruned run's; the ablation rebuilds its proposals from its log (see replay.py). Every
    # game's model is made before the run starts, so a log that does not fit is refused before anything is written.
    cached = proposals if config.prune else None
    models = {}
    for game in ev.games:
        try:
            models[game.idx] = ReplayModel(config.task(game), log[game.idx // 5], cached, prune=config.prune,
                                           max_visits=config.max_visits)  # fmt: skip
        except (ValueError, ConfigurationError) as exc:
            raise ConfigurationError(f"cannot replay game {game.idx} from {folder}: {exc}") from None
    made: list[Engine] = []

    def engine_for(game: Game) -> Engine:
        # No response cache: the replay answers each logged state's prune requests, so each must reach it.
        made.append(Engine(models[game.idx]))
        return made[-1]

    return engine_for, "gpt-4-replay", made
