"""Game of 24 as a tree-of-thought `Task`: states are the thoughts so far, one line per step, as in the paper."""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass

from prompts import game24 as prompts
from reasoning.evaluators import Heuristic, LLMValue, word_values
from reasoning.tree import Node, Propose, SearchContext
from reasoning.types import GenerationRequest

from .arith import ExpressionError, check_answer, check_step, parse_numbers, solve

__all__ = ["Game24Config", "Game24Task", "normalize_puzzle", "solver_evaluator"]


MAX_PUZZLE_DIGITS = 6  # the paper's puzzles use 1 to 13; longer numbers are a mistake in the input


def normalize_puzzle(text: str) -> str:
    """ "4 5 6 10" from user input; four whole numbers of up to six ASCII digits (a clear error otherwise)."""
    parts = text.replace(",", " ").split()
    # isdigit() alone is true for "²" and "２", which are not numbers the checker reads.
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= MAX_PUZZLE_DIGITS for p in parts):
        shown = text if len(text) <= 60 else text[:60] + "..."
        raise ExpressionError(f"a puzzle is four whole numbers of up to {MAX_PUZZLE_DIGITS} digits, e.g. '4 5 6 10'; "
                              f"got {shown!r}")  # fmt: skip
    return " ".join(parts)


@dataclass(frozen=True)
class Game24Config:
    """How the task talks to the model.

    `check_steps` drops thoughts whose arithmetic or remaining numbers are wrong (checked exactly) before they
    are valued; off reproduces the paper, which values every proposed line.

    `zero_unfinished` values a state with four steps and no answer at 0 without asking. The paper has the same
    rule but applies it after its global value cache, so such a state whose numbers were valued before (in any
    puzzle of the run) gets that cached value; set it to False to ask instead, which reproduces the published run.
    """

    temperature: float = 0.7
    n_value: int = 3
    propose_max_tokens: int = 256
    value_max_tokens: int = 128
    chat: bool = True
    check_steps: bool = False
    zero_unfinished: bool = True
    seed: int | None = None


class Game24Task:
    """The state is the paper's `y`: the thoughts so far, each line "a op b = c (left: ...)" then "Answer: ...".

    Expansion proposes next steps in one call (the paper's "propose" generator); after three steps the model is
    asked to write the answer (chain-of-thought prompt with the steps so far).
    """

    steps = 4

    def __init__(self, puzzle: str, config: Game24Config | None = None) -> None:
        self.puzzle = normalize_puzzle(puzzle)
        self.config = config or Game24Config()
        self.generate = Propose(self.propose_request, self.parse_proposals)

    # -- the Task protocol -------------------------------------------------------------------------------------
    def root(self) -> Node[str]:
        return Node(state="")

    async def expand(self, node: Node[str], ctx: SearchContext) -> list[Node[str]]:
        return await self.generate(node, ctx)

    def is_terminal(self, node: Node[str]) -> bool:
        return node.depth >= self.steps

    def key(self, node: Node[str]) -> Hashable:
        return node.state

    # -- prompts -----------------------------------------------------------------------------------------------
    def current_numbers(self, state: str) -> str:
        """The numbers left after the last thought (the paper's `get_current_numbers`)."""
        if not state.strip():
            return self.puzzle
        last = state.strip().split("\n")[-1]
        return last.split("left: ")[-1].split(")")[0]

    def request(self, prompt: str, max_tokens: int, stop: tuple[str, ...] = ()) -> GenerationRequest:
        options = {"temperature": self.config.temperature, "max_tokens": max_tokens, "stop": stop,
                   "seed": self.config.seed}  # fmt: skip
        if self.config.chat:
            return GenerationRequest.chat(prompt, **options)  # type: ignore[arg-type]
        return GenerationRequest(prompt=prompt, **options)  # type: ignore[arg-type]

    def propose_request(self, node: Node[str]) -> GenerationRequest:
        numbers = self.current_numbers(node.state)
        if numbers.strip() == "24":
            return self.request(prompts.cot_prompt(self.puzzle, steps=node.state), self.config.propose_max_tokens)
        return self.request(prompts.propose_prompt(numbers), self.config.propose_max_tokens, stop=("\nInput:",))

    def value_request(self, node: Node[str]) -> GenerationRequest:
        last = node.state.strip().split("\n")[-1]
        if "left: " not in last:
            answer = re.sub(r"(?i)^answer:\s*", "", last.strip())
            prompt = prompts.value_last_step_prompt(self.puzzle, answer)
        else:
            prompt = prompts.value_prompt(self.current_numbers(node.state))
        return self.request(prompt, self.config.value_max_tokens)

    # -- parsing -----------------------------------------------------------------------------------------------
    def parse_proposals(self, node: Node[str], text: str) -> list[Node[str]]:
        """Every line of the reply becomes a child, as in the paper; with `check_steps`, only correct ones."""
        lines = text.split("\n")
        if self.config.check_steps:
            lines = [line for line in lines if self.valid_thought(node.state, line)]
        return [node.child(node.state + line + "\n", line) for line in lines]

    def valid_thought(self, state: str, line: str) -> bool:
        numbers = self.current_numbers(state)
        if numbers.strip() == "24" or node_depth(state) >= self.steps - 1:
            return line.strip().lower().startswith("answer:")
        try:
            return check_step(parse_numbers(numbers), line).ok
        except ExpressionError:
            return False

    def value_shortcut(self, node: Node[str]) -> float | None:
        """The paper's rule: four lines and no answer is worth 0 (we skip the call the paper makes anyway)."""
        if len(node.state.strip().split("\n")) == 4 and "answer" not in node.state.lower():
            return 0.0
        return None

    def evaluator(self) -> LLMValue[str]:
        """The paper's value evaluator: `n_value` samples, sure 20 / likely 1 / impossible 0.001, summed."""
        return LLMValue(
            prompt=self.value_request,
            parse=word_values(prompts.VALUE_WORDS),
            n=self.config.n_value,
            shortcut=self.value_shortcut if self.config.zero_unfinished else None,
        )

    def check(self, output: str) -> bool:
        return check_answer(self.puzzle, output).correct


def node_depth(state: str) -> int:
    return len([line for line in state.split("\n") if line]) if state.strip() else 0


def solver_evaluator(task: Game24Task) -> Heuristic[str]:
    """A program-based evaluator: the exact solver says whether the numbers left can still make 24
    (20 = sure, 0.001 = impossible; a finished answer is checked exactly)."""

    def value(node: Node[str]) -> float:
        last = node.state.strip().split("\n")[-1] if node.state.strip() else ""
        if last.lower().startswith("answer"):
            return 20.0 if task.check(node.state) else 0.001
        try:
            numbers = parse_numbers(task.current_numbers(node.state))
        except ExpressionError:
            return 0.0
        if len(numbers) > 4:  # more numbers than a puzzle has: a wrong "left:" list (and a slow search)
            return 0.0
        return 20.0 if solve(numbers) is not None else 0.001

    return Heuristic(value)
