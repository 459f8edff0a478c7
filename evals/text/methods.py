"""The creative-writing methods of Yao et al. (2023, Section 4.2) and the one config a run's options are read from:
IO (the passage at once), CoT (a plan, then the passage, in one reply) and tree-of-thought BFS (sample 5 plans,
vote 5 times, keep 1; sample 5 passages from it, vote, keep 1). Each output is then scored by the coherency judge
(`judge.Judge`) through the same session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from prompts import text as prompts
from reasoning.tree import SearchContext, gather_all
from search import bfs

from .data import Sentences
from .judge import Judge
from .record import Record, StepLog
from .task import STEPS, TextConfig, TextTask, request

__all__ = ["JUDGE_ONLY", "METHODS", "ONLY_FOR", "MethodConfig", "solve_task", "unused_fields"]

METHODS = ("io", "cot", "tot-bfs")
# The `MethodConfig` fields only some methods read, and those methods; the judge's only when it judges. Every
# method reads the others (temperature, max_tokens, chat, seed, judge).
ONLY_FOR: dict[str, tuple[str, ...]] = {
    "samples": ("io", "cot"),
    "breadth": ("tot-bfs",),
    "n_generate": ("tot-bfs",),
    "n_vote": ("tot-bfs",),
    "vote_max_tokens": ("tot-bfs",),
}
JUDGE_ONLY = ("judge_samples", "judge_temperature", "judge_max_tokens")


def unused_fields(method: str, judge: bool = True) -> frozenset[str]:
    """The `MethodConfig` fields `method` never reads (another method's, `ONLY_FOR`), and the judge's options
    without the judge."""
    unused = {name for name, methods in ONLY_FOR.items() if method not in methods}
    return frozenset(unused | (set(JUDGE_ONLY) if not judge else set()))


@dataclass(frozen=True)
class MethodConfig:
    """Everything that defines a run's method. The defaults are the paper's: ToT with breadth 1, 5 samples and
    5 votes a step, temperature 1.0, the judge's 5 samples at 0.7; IO and CoT `samples` outputs a task (the
    paper's scripts: 10)."""

    method: str = "tot-bfs"
    samples: int = 1  # IO / CoT outputs a task, each judged; the task's score is their mean
    breadth: int = 1  # BFS: states kept a step
    n_generate: int = 5
    n_vote: int = 5
    temperature: float = 1.0
    max_tokens: int = 1000
    vote_max_tokens: int = 1000
    chat: bool = True
    seed: int = 0
    judge: bool = True
    judge_samples: int = 5
    judge_temperature: float = 0.7
    judge_max_tokens: int = 1000

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        self.task_config()  # a ConfigurationError for sample counts a request cannot ask for, at once
        self.judge_config()

    def task_config(self) -> TextConfig:
        return TextConfig(n_generate=self.n_generate, n_vote=self.n_vote, temperature=self.temperature,
                          max_tokens=self.max_tokens, vote_max_tokens=self.vote_max_tokens, chat=self.chat,
                          seed=self.seed)  # fmt: skip

    def judge_config(self) -> Judge:
        return Judge(n=self.judge_samples, temperature=self.judge_temperature, max_tokens=self.judge_max_tokens,
                     chat=self.chat, seed=self.seed)  # fmt: skip

    def task(self, item: Sentences) -> TextTask:
        return TextTask(item.text, self.task_config())


async def _tree_search(item: Sentences, ctx: SearchContext, config: MethodConfig) -> dict[str, Any]:
    """BFS over plans then passages; the kept state, its plan, and what each step sampled, voted and kept."""
    task = config.task(item)
    result = await bfs(task, task.evaluator(), ctx, breadth=config.breadth, steps=STEPS, select="greedy")
    nodes = ctx.tree.nodes
    steps = [StepLog(candidates=[nodes[i].state for i in step.candidates], votes=step.values,
                     selected=[step.candidates.index(i) for i in step.selected]) for step in result.steps]  # fmt: skip
    best = result.outputs[0] if result.outputs else None
    finished = best is not None and task.is_terminal(best)
    plan = best.path()[1].state if best is not None and best.depth >= 1 else None
    return {"outputs": [best.state] if finished and best is not None else [], "plan": plan, "steps": steps,
            "stopped": result.stopped}  # fmt: skip


async def solve_task(item: Sentences, ctx: SearchContext, config: MethodConfig) -> Record:
    """Run the method on one task, judge its outputs, and return the task's record (less the model's name, which
    the eval adds). IO and CoT ask for `samples` outputs in one request; ToT searches (`_tree_search`), and a search
    that ends without a passage (every sample blank) has no output. Cost: the session's (see `Record`)."""
    started = time.perf_counter()
    found: dict[str, Any]
    if config.method == "tot-bfs":
        found = await _tree_search(item, ctx, config)
    else:
        prompt = prompts.io_prompt(item.text) if config.method == "io" else prompts.cot_prompt(item.text)
        asked = request(prompt, chat=config.chat, n=config.samples, temperature=config.temperature,
                        max_tokens=config.max_tokens, seed=config.seed)  # fmt: skip
        result = await ctx.generate(asked, kind="answer")
        found = {"outputs": list(result.texts), "stopped": "max_outputs"}
    scores: list[list[int | None]] = []
    coherency = None
    if config.judge:
        judge = config.judge_config()
        verdicts = await gather_all(judge.score(output, ctx) for output in found["outputs"])
        scores = [list(v.scores) for v in verdicts]
        means = [v.mean for v in verdicts if v.mean is not None]
        coherency = sum(means) / len(means) if means else None
    spend, paid = ctx.spend, ctx.paid
    return Record(
        key=str(item.idx), idx=item.idx, sentences=item.text, method=config.method, **found, judged=config.judge,
        scores=scores, coherency=coherency, calls=spend.calls, prompt_tokens=spend.prompt_tokens,
        completion_tokens=spend.completion_tokens, dollars=spend.dollars, spend=spend.as_dict(),
        paid=paid.as_dict(), requests=dict(ctx.requests), seconds=time.perf_counter() - started,
    )  # fmt: skip
