"""Mini Crosswords (Yao et al., 2023): the board and its fills, the tree-of-thought task with its prune evaluator,
the replay of the published GPT-4 DFS runs, and the eval behind `reasoning crosswords`
(`evals.crosswords.eval.CrosswordsEval`, on `evals.harness`)."""

from .board import Board, Fill, parse_fill
from .data import TEST_GAMES, Game, load_games
from .replay import ReplayMissError, ReplayModel
from .score import Scores, read_grid, score_output
from .task import CrosswordsConfig, CrosswordsTask, PruneEvaluator

__all__ = [
    "TEST_GAMES",
    "Board",
    "CrosswordsConfig",
    "CrosswordsTask",
    "Fill",
    "Game",
    "PruneEvaluator",
    "ReplayMissError",
    "ReplayModel",
    "Scores",
    "load_games",
    "parse_fill",
    "read_grid",
    "score_output",
]
