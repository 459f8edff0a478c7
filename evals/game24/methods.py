"""The game-of-24 methods of Yao et al. (2023): IO, CoT, CoT-SC, and tree-of-thought BFS, DFS and A*, and the one
config (`MethodConfig`) a run's options are read from."""

from __future__ import annotations

import dataclasses
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from prompts import game24 as prompts
from reasoning.engine import Engine
from reasoning.evaluators import Evaluator
from reasoning.tree import SearchBudget, SearchBudgetReached, SearchContext
from reasoning.types import GenerationRequest
from search import StopReason, astar, bfs, dfs

from .arith import check_answer
from .data import Puzzle
from .task import Game24Config, Game24Task, solver_evaluator

__all__ = ["METHODS", "ONLY_FOR", "MethodConfig", "solve_puzzle", "unused_fields"]

METHODS = ("io", "cot", "cot-sc", "tot-bfs", "tot-dfs", "tot-astar")
_TREE = ("tot-bfs", "tot-dfs", "tot-astar")
# The `MethodConfig` fields only some methods read, and those methods; every method reads the others (temperature,
# max_tokens, chat, budget, seed).
ONLY_FOR: dict[str, tuple[str, ...]] = {
    "samples": ("io", "cot", "cot-sc"),
    "breadth": _TREE,
    "select": ("tot-bfs",),
    "n_value": _TREE,  # the value prompts; A*'s heuristic
    "evaluator": _TREE,
    "check_steps": _TREE,
    "zero_unfinished": _TREE,
    "threshold": ("tot-dfs",),
    "accept": ("tot-dfs", "tot-astar"),
    "max_steps": ("tot-dfs", "tot-astar"),
    "value_max_tokens": _TREE,
    "plugin": _TREE,
    "plugin_threshold": _TREE,
    "thoughts": _TREE,
    "answer": _TREE,
    "propose_samples": _TREE,
}
_PLUGIN_ONLY = ("plugin", "plugin_threshold")  # read only with evaluator "plugin"


def unused_fields(method: str, evaluator: str = "llm") -> frozenset[str]:
    """The `MethodConfig` fields `method` (with `evaluator`) never reads: another method's options (`ONLY_FOR`),
    and the plug-in's without evaluator "plugin"."""
    unused = {name for name, methods in ONLY_FOR.items() if method not in methods}
    return frozenset(unused | (set(_PLUGIN_ONLY) if evaluator != "plugin" else set()))


# Stop before the model starts a few-shot example of its own, or (IO) after the one-line answer.
_IO_STOP = ("\n",)
_COT_STOP = ("\nInput:", "\n\n")


@dataclass(frozen=True)
class MethodConfig:
    """Everything that defines a run's method: the one config the eval, the task (`task_config`) and the report
    read. Its hash (`key`) tags each record ("run"), so a resume never mixes runs.

    Defaults follow the paper: temperature 0.7, BFS breadth 5 with propose + value x3, greedy selection.
    """

    method: str = "tot-bfs"
    samples: int = 1  # IO / CoT samples per puzzle; CoT-SC votes over this many
    breadth: int = 5
    select: str = "greedy"
    n_value: int = 3
    temperature: float = 0.7
    evaluator: str = "llm"  # or "solver": the exact solver as a program-based evaluator; or "plugin" (below)
    check_steps: bool = False
    zero_unfinished: bool = True
    threshold: float = 1.0  # DFS prune below this value
    accept: float = 20.0  # DFS / A*: stop at a finished answer valued at least this
    max_steps: int = 20  # DFS / A* expansions
    max_tokens: int = 256  # IO / CoT answers and ToT proposals
    value_max_tokens: int = 128
    chat: bool = True  # prompts as a chat user message; False sends them as raw text (few-shot completion)
    budget: SearchBudget = field(default_factory=SearchBudget)
    seed: int = 0
    plugin: str | None = None  # evaluator "plugin": a saved game-24 plug-in, the LLM value when it is unsure
    plugin_threshold: float = 0.9
    # How thoughts are read and the answer written (see `Game24Config`); the defaults are the paper's.
    thoughts: str = "paper"  # or "lenient"
    answer: str = "model"  # or "program" (with lenient thoughts)
    propose_samples: int = 1

    def __post_init__(self) -> None:
        self.task_config()  # a ValueError for thoughts / answer / propose_samples the task does not take, at once

    def used(self) -> MethodConfig:
        """This config with each field its method does not read (`unused_fields`) at its default: the same run
        whatever those options said, and so the same `key` (an IO run with --breadth 2 is the IO run)."""
        defaults = MethodConfig()
        unused: dict[str, Any] = {name: getattr(defaults, name) for name in unused_fields(self.method, self.evaluator)}
        return dataclasses.replace(self, **unused)

    def key(self) -> str:
        """12 hex digits of the SHA-256 of the fields (the plug-in's only with `evaluator="plugin"`; `thoughts`,
        `answer` and `propose_samples` only when not the paper's, so runs made before they existed keep their
        key)."""
        import hashlib
        import json

        fields = dataclasses.asdict(self)
        if self.evaluator != "plugin":  # keys of runs without a plug-in are unchanged
            del fields["plugin"], fields["plugin_threshold"]
        for name, paper in (("thoughts", "paper"), ("answer", "model"), ("propose_samples", 1)):
            if fields[name] == paper:
                del fields[name]
        blob = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def task_config(self) -> Game24Config:
        """How the task talks to the model under this config (the one place a `Game24Config` is made from it)."""
        return Game24Config(
            temperature=self.temperature,
            n_value=self.n_value,
            check_steps=self.check_steps,
            zero_unfinished=self.zero_unfinished,
            chat=self.chat,
            propose_max_tokens=self.max_tokens,
            value_max_tokens=self.value_max_tokens,
            seed=self.seed,
            thoughts=self.thoughts,  # type: ignore[arg-type]  # checked by Game24Config
            answer=self.answer,  # type: ignore[arg-type]
            propose_samples=self.propose_samples,
        )

    def task(self, puzzle: Puzzle) -> Game24Task:
        return Game24Task(puzzle.numbers, self.task_config())


def _evaluator(task: Game24Task, config: MethodConfig) -> Evaluator[str]:
    """The config's evaluator; with lenient thoughts, states that decide their value are valued exactly first."""
    if config.evaluator == "plugin" and config.plugin is not None:
        from .plugin import load_plugin_file, plugin_cascade

        return task.decided(plugin_cascade(task, load_plugin_file(config.plugin), threshold=config.plugin_threshold))
    return task.decided(solver_evaluator(task) if config.evaluator == "solver" else task.evaluator())


async def _sample(
    puzzle: Puzzle, config: MethodConfig, ctx: SearchContext, prompt: str, stop: tuple[str, ...]
) -> list[str]:
    options: dict[str, Any] = {"n": config.samples, "temperature": config.temperature,
                               "max_tokens": config.max_tokens, "stop": stop, "seed": config.seed}  # fmt: skip
    if config.chat:
        request = GenerationRequest.chat(prompt, **options)
    else:
        request = GenerationRequest(prompt=prompt, **options)
    result = await ctx.generate(request, kind="answer")
    return result.texts


def _majority(puzzle: str, outputs: list[str]) -> list[str]:
    # Self-consistency: the most common final expression wins; outputs sharing it are listed first.
    answers = [check_answer(puzzle, o).expression or "" for o in outputs]
    counts = Counter(a for a in answers if a)
    if not counts:
        return outputs
    top = counts.most_common(1)[0][0]
    return [o for o, a in zip(outputs, answers, strict=True) if a == top] + [
        o for o, a in zip(outputs, answers, strict=True) if a != top
    ]


def _success(method: str, correct: list[bool]) -> float:
    """IO / CoT: the share of correct samples (the paper's average over samples); CoT-SC: the majority answer;
    tree search: any of the final outputs (how the paper and its published run count a puzzle as solved)."""
    if not correct:
        return 0.0
    if method in ("io", "cot"):
        return sum(correct) / len(correct)
    if method == "cot-sc":
        return float(correct[0])
    return float(any(correct))


async def solve_puzzle(puzzle: Puzzle, where: SearchContext | Engine, config: MethodConfig) -> dict[str, Any]:
    """Run one method on one puzzle; return the record written to the results file, less the run's key and model
    (`Game24Eval.solve` adds them).

    The record's cost is the puzzle's session's, in the one cost model: `spend` (`Spend.as_dict()` of `ctx.spend`:
    every request as if nothing were cached, the same on every run) and `paid` (of `ctx.paid`: what this process
    really paid, calls that reached the backend and samples served from the cache). The flat `calls`,
    `prompt_tokens`, `completion_tokens` and `dollars` repeat `spend`'s, kept for readers of earlier results files
    (which have no `spend`; `summarize` and the report read the flat fields, so old folders summarize alike).

    `where` is the puzzle's session: a `SearchContext` with the config's budget (what `Game24Eval.session` opens),
    or an engine, on which such a context, tagged `game24/<idx>`, is opened here and closed after."""
    if isinstance(where, Engine):
        async with SearchContext(where, tag=f"game24/{puzzle.idx}", budget=config.budget) as ctx:
            return await solve_puzzle(puzzle, ctx, config)
    ctx = where
    task = config.task(puzzle)
    started = time.perf_counter()
    # The vocabulary of SearchResult.stopped; IO / CoT stop once their samples are in.
    stopped: StopReason = "max_outputs"
    tree: dict[str, Any] | None = None
    method = config.method
    if method in ("io", "cot", "cot-sc"):
        # IO's answer is one line; stopping there keeps chatter off the line the checker reads.
        prompt = prompts.io_prompt(puzzle.numbers) if method == "io" else prompts.cot_prompt(puzzle.numbers)
        try:
            outputs = await _sample(puzzle, config, ctx, prompt, _IO_STOP if method == "io" else _COT_STOP)
        except SearchBudgetReached:  # a budget with no room for the one call (e.g. --budget-calls 0)
            outputs, stopped = [], "budget"
        if method == "cot-sc":
            outputs = _majority(puzzle.numbers, outputs)
    else:
        evaluator = _evaluator(task, config)
        if method == "tot-bfs":
            result = await bfs(task, evaluator, ctx, breadth=config.breadth, steps=task.steps,
                               select="sample" if config.select == "sample" else "greedy",
                               rng=random.Random(f"{config.seed}/{puzzle.idx}"))  # fmt: skip
        elif method == "tot-dfs":
            result = await dfs(task, evaluator, ctx, threshold=config.threshold, max_steps=config.max_steps,
                               breadth=config.breadth, accept=config.accept)  # fmt: skip
        elif method == "tot-astar":
            vmax = 20.0 * config.n_value

            def heuristic(node: Any) -> float:
                # Steps still to go, discounted by how promising the value says the node is.
                return float((task.steps - node.depth) * (1.0 - min(node.value or 0.0, vmax) / vmax))

            result = await astar(
                task, evaluator, ctx, heuristic=heuristic, width=config.breadth,
                max_steps=config.max_steps, accept=config.accept, max_outputs=config.breadth,
            )  # fmt: skip
        else:
            raise ValueError(f"unknown method {method!r}")
        outputs = [node.state for node in result.outputs]
        stopped = result.stopped
        tree = ctx.tree.to_json()
    verdicts = [check_answer(puzzle.numbers, o) for o in outputs]
    correct = [v.correct for v in verdicts]
    spend, paid = ctx.spend, ctx.paid
    record: dict[str, Any] = {
        "idx": puzzle.idx,
        "puzzle": puzzle.numbers,
        "method": method,
        "outputs": outputs,
        "verdicts": [dataclasses.asdict(v) for v in verdicts],
        "success": _success(method, correct),
        "any_correct": any(correct),
        "first_correct": bool(correct) and correct[0],
        # The cost model: `spend` as if nothing were cached (reproducible), `paid` what this process really paid.
        # The flat fields repeat `spend`'s for readers of earlier results files (summaries and reports read them).
        # What was paid, and wall time, differ between runs and stay out of summaries and reports.
        "calls": spend.calls,
        "prompt_tokens": spend.prompt_tokens,
        "completion_tokens": spend.completion_tokens,
        "dollars": spend.dollars,
        "spend": spend.as_dict(),
        "paid": paid.as_dict(),
        "seconds": time.perf_counter() - started,
        "requests": dict(ctx.requests),
        "calls_by_kind": dict(ctx.calls),
        "stopped": stopped,
    }
    if tree is not None:
        record["tree"] = tree
    return record
