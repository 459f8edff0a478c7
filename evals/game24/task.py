"""Game of 24 as a tree-of-thought `Task`: states are the thoughts so far, one line per step, as in the paper."""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from prompts import game24 as prompts
from reasoning.evaluators import Evaluator, Heuristic, LLMValue, Shortcut
from reasoning.tree import Node, Propose, SearchContext
from reasoning.types import GenerationRequest

from .arith import ExpressionError, check_answer, check_step, parse_numbers, solve
from .thoughts import answer_from_steps, left_text, read_step, step_line

__all__ = ["Game24Config", "Game24Task", "normalize_puzzle", "read_verdict", "solver_evaluator"]


MAX_PUZZLE_DIGITS = 6  # the paper's puzzles use 1 to 13; longer numbers are a mistake in the input


def normalize_puzzle(text: str) -> str:
    """ "4 5 6 10" from user input; four whole numbers of up to six ASCII digits (a clear error otherwise)."""
    parts = text.replace(",", " ").split()
    # isdigit() alone is true for "²" and "２", which are not numbers the checker reads.
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= MAX_PUZZLE_DIGITS for p in parts):
        shown = text if len(text) <= 60 else text[:60] + "..."
        raise ExpressionError(f"a puzzle is four whole numbers of up to {MAX_PUZZLE_DIGITS} digits, e.g. '4 5 6 10'; "
                              f"got {shown!r}")  # fmt: skip
    return " ".join(str(int(p)) for p in parts)  # "04" is 4


@dataclass(frozen=True)
class Game24Config:
    """How the task talks to the model.

    `check_steps` drops thoughts whose arithmetic or remaining numbers are wrong (checked exactly) before they
    are valued; off reproduces the paper, which values every proposed line.

    `zero_unfinished` values a state with four steps and no answer at 0 without asking. The paper has the same
    rule but applies it after its global value cache, so such a state whose numbers were valued before (in any
    puzzle of the run) gets that cached value; set it to False to ask instead, which reproduces the published run.

    `thoughts`: "paper" makes every proposed line a child, as the paper does (the published run's replay needs
    it); "lenient" reads each line for what it means (`thoughts.read_step`: "a op b = c" on two of the numbers
    left, the arithmetic exact), computes the numbers left itself (the model's "(left: ...)" is ignored), keeps
    one child per distinct multiset left (also the search's identity of a state: `Game24Task.key`), and values
    exactly what the state decides (`decided_value`: one number left, 24 or not; a finished answer, checked).
    With it, `check_steps` changes nothing: every child is a correct step.

    `answer`: "model" asks the model to write the final answer from the steps (the paper's chain-of-thought
    prompt); "program" writes it from the path of steps that reaches 24 (`thoughts.answer_from_steps`), with no
    call (only with lenient thoughts, whose lines the program wrote). The answer is checked by the checker either
    way.

    `propose_samples`: proposals sampled per expansion (one request with n samples); their children are merged
    by state.

    The defaults are the paper's (and those of run folders written before these options existed); `reasoning
    game24 run` uses lenient thoughts and program answers except with `--backend replay`.
    """

    temperature: float = 0.7
    n_value: int = 3
    propose_max_tokens: int = 256
    value_max_tokens: int = 128
    chat: bool = True
    check_steps: bool = False
    zero_unfinished: bool = True
    seed: int | None = None
    thoughts: Literal["paper", "lenient"] = "paper"
    answer: Literal["model", "program"] = "model"
    propose_samples: int = 1

    def __post_init__(self) -> None:
        if self.thoughts not in ("paper", "lenient"):
            raise ValueError(f"thoughts must be 'paper' or 'lenient', not {self.thoughts!r}")
        if self.answer not in ("model", "program"):
            raise ValueError(f"answer must be 'model' or 'program', not {self.answer!r}")
        if self.answer == "program" and self.thoughts != "lenient":
            raise ValueError("a program-written answer needs lenient thoughts (the lines the program writes)")
        # Not bounded above here: a run folder made before the bound must still read back (its report). The request's
        # bound is checked where a count becomes a request's `n` (`reasoning.tree.check_samples`), and by the CLI.
        if not isinstance(self.propose_samples, int) or self.propose_samples < 1:
            raise ValueError(f"propose_samples must be a whole number of at least 1, not {self.propose_samples!r}")


class Game24Task:
    """The state is the paper's `y`: the thoughts so far, each line "a op b = c (left: ...)" then "Answer: ...".

    Expansion proposes next steps in one call (the paper's "propose" generator); after three steps the model is
    asked to write the answer (chain-of-thought prompt with the steps so far).
    """

    steps = 4

    def __init__(self, puzzle: str, config: Game24Config | None = None) -> None:
        self.puzzle = normalize_puzzle(puzzle)
        self.config = config or Game24Config()
        self.generate = Propose(self.propose_request, self.parse_proposals, n=self.config.propose_samples, key=self.key)

    @property
    def lenient(self) -> bool:
        return self.config.thoughts == "lenient"

    # -- the Task protocol -------------------------------------------------------------------------------------
    def root(self) -> Node[str]:
        return Node(state="")

    async def expand(self, node: Node[str], ctx: SearchContext) -> list[Node[str]]:
        if self.lenient and not is_answer(node.state):
            left = self.numbers_left(node)
            if left is not None and len(left) == 1:  # nothing left to combine: an answer, or a dead end
                if left[0] != 24:
                    return []
                if self.config.answer == "program":
                    line = answer_from_steps(self.puzzle, node.state)
                    return [] if line is None else [node.child(node.state + line + "\n", line)]
        return await self.generate(node, ctx)

    def is_terminal(self, node: Node[str]) -> bool:
        return node.depth >= self.steps

    def key(self, node: Node[str]) -> Hashable:
        """The state's identity in a search: its text; with lenient thoughts, the multiset of numbers left (two
        paths to the same numbers are one state: what follows depends on the numbers only)."""
        if self.lenient and node.state.strip() and not is_answer(node.state):
            return ("left", self.current_numbers(node.state))
        return node.state

    def numbers_left(self, node: Node[str]) -> list[Fraction] | None:
        """The numbers left in the state, exactly; None when unreadable (a paper-mode line with a garbled list)."""
        try:
            return parse_numbers(self.current_numbers(node.state))
        except ExpressionError:
            return None

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
        if numbers.strip() == "24":  # the answer, written by the model; it stops before an example of its own
            prompt = prompts.cot_prompt(self.puzzle, steps=node.state)
            return self.request(prompt, self.config.propose_max_tokens, stop=("\nInput:",))
        prompt = prompts.propose_prompt(numbers, left=not self.lenient)
        return self.request(prompt, self.config.propose_max_tokens, stop=("\nInput:",))

    def value_request(self, node: Node[str]) -> GenerationRequest:
        last = node.state.strip().split("\n")[-1]
        if "left: " not in last:
            answer = re.sub(r"(?i)^answer:\s*", "", last.strip())
            prompt = prompts.value_last_step_prompt(self.puzzle, answer)
        else:
            prompt = prompts.value_prompt(self.current_numbers(node.state))
        # Stop where the few-shot pattern's next example would begin: a raw completion otherwise writes examples
        # of its own up to the token limit.
        return self.request(prompt, self.config.value_max_tokens, stop=prompts.VALUE_STOP)

    # -- parsing -----------------------------------------------------------------------------------------------
    def parse_proposals(self, node: Node[str], text: str) -> list[Node[str]]:
        """Every line of the reply becomes a child, as in the paper; with `check_steps`, only correct ones; with
        lenient thoughts, each line read as a step (`thoughts.read_step`), written with the numbers left that we
        computed, one child per distinct multiset left (an answer line, when the model writes the answer, kept as
        written)."""
        if self.lenient:
            return self._read_proposals(node, text)
        lines = text.split("\n")
        if self.config.check_steps:
            lines = [line for line in lines if self.valid_thought(node.state, line)]
        return [node.child(node.state + line + "\n", line) for line in lines]

    def _read_proposals(self, node: Node[str], text: str) -> list[Node[str]]:
        left = self.numbers_left(node)
        if left is None:
            return []
        children: dict[str, Node[str]] = {}
        for raw in text.split("\n"):
            if len(left) == 1:  # 24 alone: the model writes the answer (answer="model")
                line = raw.strip()
                if line.lower().startswith("answer") and line not in children:
                    children[line] = node.child(node.state + line + "\n", line)
                continue
            step = read_step(left, raw)
            if step is not None and (numbers := left_text(step.left)) not in children:
                line = step_line(step)
                children[numbers] = node.child(node.state + line + "\n", line)
        return list(children.values())

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

    def decided_value(self, node: Node[str]) -> float | None:
        """With lenient thoughts, the value a state decides without a model, on the LLM value's scale: a finished
        answer checked exactly, or one number left, are `n_value` x sure (20) when they make 24 and 0 when not;
        None for every other state (and always in paper mode)."""
        if not self.lenient or not node.state.strip():
            return None
        sure = 20.0 * self.config.n_value
        if is_answer(node.state):
            return sure if self.check(node.state) else 0.0
        left = self.numbers_left(node)
        if left is not None and len(left) == 1:
            return sure if left[0] == 24 else 0.0
        return None

    def _shortcut(self, node: Node[str]) -> float | None:
        decided = self.decided_value(node)
        if decided is None and self.config.zero_unfinished:
            return self.value_shortcut(node)
        return decided

    def evaluator(self) -> LLMValue[str]:
        """The paper's value evaluator: `n_value` samples, sure 20 / likely 1 / impossible 0.001, summed (each
        sample's first verdict, `read_verdict`); states that decide their value (`decided_value`) are not asked."""
        return LLMValue(
            prompt=self.value_request,
            parse=read_verdict,
            n=self.config.n_value,
            shortcut=self._shortcut if self.config.zero_unfinished or self.lenient else None,
        )

    def decided(self, evaluator: Evaluator[str]) -> Evaluator[str]:
        """`evaluator`, with the states that decide their value (`decided_value`) valued exactly first, without
        it; `evaluator` itself in paper mode."""
        return Shortcut(self.decided_value, evaluator) if self.lenient else evaluator

    def check(self, output: str) -> bool:
        return check_answer(self.puzzle, output).correct


_VERDICT_PREFIX = re.compile(r"^(?:judge|answer|verdict)\s*:\s*", re.IGNORECASE)


def read_verdict(text: str) -> float | None:
    """The first verdict in a value sample: the first line that is one of sure / likely / impossible (after an
    optional "Judge:" and markdown or punctuation around it), as its number (`prompts.game24.VALUE_WORDS`); None if
    no line is. The first, not the last: a model that goes on writing examples of its own (a raw completion past
    the prompt's pattern) ends on another example's verdict."""
    for line in text.split("\n"):
        word = _VERDICT_PREFIX.sub("", line.strip().strip("*_`#> ")).strip("*_`.!:;, ").lower()
        if word in prompts.VALUE_WORDS:
            return prompts.VALUE_WORDS[word]
    return None


def is_answer(state: str) -> bool:
    """Whether the state's last line is a final answer: it begins "Answer" (with lenient thoughts every step line is
    ours and begins with a number; a model's answer may end with a "(left: 24)" of its own)."""
    last = state.strip().split("\n")[-1] if state.strip() else ""
    return last.strip().lower().startswith("answer")


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
