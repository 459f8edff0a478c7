"""Creative writing (Yao et al., 2023, Section 4.2): four sentences in, a coherent passage of four paragraphs out,
each ending in one of them. The tree-of-thought task (sample plans and passages, vote, keep the best), the IO and
CoT methods, the coherency judge, the replay of the published GPT-4 run, and the eval behind `reasoning text`
(`evals.text.eval.TextEval`, on `evals.harness`)."""

from .data import Sentences, load_tasks
from .judge import Judge, Verdict, mean_interval
from .methods import METHODS, MethodConfig, solve_task
from .record import Record, StepLog
from .replay import ReplayMissError, ReplayModel, load_log, vote_outputs
from .task import STEPS, TextConfig, TextTask, passage_of

__all__ = [
    "METHODS",
    "STEPS",
    "Judge",
    "MethodConfig",
    "Record",
    "ReplayMissError",
    "ReplayModel",
    "Sentences",
    "StepLog",
    "TextConfig",
    "TextTask",
    "Verdict",
    "load_log",
    "load_tasks",
    "mean_interval",
    "passage_of",
    "solve_task",
    "vote_outputs",
]
