"""Creative writing as a tree-of-thought `Task` (Yao et al., 2023, Section 4.2): a state is the paper's `y`, the
text so far: "" (the root), then a plan ("Plan:\\n..."), then the plan and its passage ("...Passage:\\n..."). Each
step samples `n_generate` continuations of the chain-of-thought prompt (`reasoning.tree.Sample`) and the model
votes `n_vote` times on which is best (`reasoning.evaluators.LLMVote`); BFS with breadth 1 keeps the most voted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prompts import text as prompts
from reasoning.choices import vote_choice
from reasoning.evaluators import LLMVote
from reasoning.tree import Node, Sample, SearchContext, check_samples
from reasoning.types import GenerationRequest

__all__ = ["STEPS", "TextConfig", "TextTask", "passage_of", "request"]

STEPS = 2  # a plan, then a passage


def request(text: str, *, chat: bool, **options: Any) -> GenerationRequest:
    """`text` as a chat user message (`chat`) or a raw-text prompt, with the sampling `options`."""
    return GenerationRequest.chat(text, **options) if chat else GenerationRequest(prompt=text, **options)


def passage_of(output: str) -> str:
    """The passage of an output: the text after its last "Passage:" (the whole output when there is none), as the
    paper's judge reads it."""
    _, found, after = output.rpartition(prompts.PASSAGE.strip())
    return (after if found else output).strip()


@dataclass(frozen=True)
class TextConfig:
    """How the task talks to the model. The defaults are the paper's (its `scripts/text/bfs.sh`): 5 samples a
    step, 5 votes, temperature 1.0 for every request, at most 1000 tokens a reply."""

    n_generate: int = 5
    n_vote: int = 5
    temperature: float = 1.0
    max_tokens: int = 1000  # a plan, or a passage
    vote_max_tokens: int = 1000
    chat: bool = True  # prompts as a chat user message; False sends them as raw text
    seed: int | None = None

    def __post_init__(self) -> None:
        check_samples(self.n_generate, "TextConfig.n_generate")
        check_samples(self.n_vote, "TextConfig.n_vote")


class TextTask:
    """One line of four sentences as a search problem: the root is "", a child of the root is a plan, a child of a
    plan is the plan with its passage (terminal, depth `STEPS`). A state's identity is its text."""

    steps = STEPS

    def __init__(self, sentences: str, config: TextConfig | None = None) -> None:
        self.sentences = sentences.strip()
        self.config = config or TextConfig()
        self.generate = Sample(self.sample_request, self.read_sample, n=self.config.n_generate)

    # -- the Task protocol -------------------------------------------------------------------------------------
    def root(self) -> Node[str]:
        return Node(state="")

    async def expand(self, node: Node[str], ctx: SearchContext) -> list[Node[str]]:
        return await self.generate(node, ctx)

    def is_terminal(self, node: Node[str]) -> bool:
        return node.depth >= STEPS

    def key(self, node: Node[str]) -> str:
        return node.state

    # -- talking to the model ----------------------------------------------------------------------------------
    def sample_request(self, node: Node[str]) -> GenerationRequest:
        """The chain-of-thought prompt followed by the state: from the root the model writes a plan (stopped before
        its passage); after a plan, the passage."""
        c = self.config
        stop = prompts.PLAN_STOP if node.depth == 0 else ()
        return request(prompts.cot_prompt(self.sentences) + node.state, chat=c.chat, temperature=c.temperature,
                       max_tokens=c.max_tokens, stop=stop, seed=c.seed)  # fmt: skip

    def read_sample(self, node: Node[str], text: str) -> Node[str] | None:
        """A sample as a child: the state followed by the sample (the paper's `y + sample`; the sample is the
        child's thought), or None for a blank sample or plan. A plan that does not start with "Plan:" gets it, and
        loses any passage it went on to; a passage without "Passage:" gets it; a plan ends with a line break. The
        published run's samples are all kept as they are by these rules."""
        if not text.strip():
            return None
        if node.depth == 0:
            plan = text.split(prompts.PASSAGE.strip())[0]
            if not plan.lstrip().startswith(prompts.PLAN.strip()):
                plan = prompts.PLAN + plan.lstrip()
            if plan.strip() == prompts.PLAN.strip():
                return None
            if not plan.endswith("\n"):
                plan += "\n"
            return node.child(plan, plan)
        if prompts.PASSAGE.strip() not in text:
            text = prompts.PASSAGE + text.lstrip()
        return node.child(node.state + text, text)

    def vote_request(self, nodes: Sequence[Node[str]]) -> GenerationRequest:
        """One request asking which of the nodes' states is best (its `n` is set by `LLMVote`)."""
        c = self.config
        text = prompts.vote_prompt(self.sentences, [node.state for node in nodes])
        return request(text, chat=c.chat, temperature=c.temperature, max_tokens=c.vote_max_tokens, seed=c.seed)

    def evaluator(self) -> LLMVote[str]:
        """The vote: `n_vote` samples of `vote_request`, each read as "The best choice is N" (`vote_choice`); a
        node's value is its number of votes."""
        return LLMVote(self.vote_request, vote_choice, n=self.config.n_vote)
