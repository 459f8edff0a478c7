"""Game of 24 (Yao et al., 2023): exact checking and solving, the tree-of-thought task, the replay of the
published GPT-4 run, and the eval behind `reasoning game24` (`evals.game24.eval.Game24Eval`, on `evals.harness`)."""

from .arith import Verdict, check_answer, check_step, evaluate, solve
from .replay import ReplayMissError, ReplayModel, load_log
from .task import Game24Config, Game24Task, normalize_puzzle, solver_evaluator

__all__ = [
    "Game24Config",
    "Game24Task",
    "ReplayMissError",
    "ReplayModel",
    "Verdict",
    "check_answer",
    "check_step",
    "evaluate",
    "load_log",
    "normalize_puzzle",
    "solve",
    "solver_evaluator",
]
