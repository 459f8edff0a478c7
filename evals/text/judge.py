"""The coherency judge of the creative-writing task (Yao et al., 2023, Section 4.2): a model reads a passage and
scores its coherency from 1 to 10, `n` samples averaged. The paper's judge is GPT-4 with 5 samples; its averages
over the 100 tasks: ToT 7.56, CoT 6.93, IO 6.19. Ours asks through the same engine and session as the method under
test, so its calls are counted in the task's cost (kind "judge").

Scores are whole numbers 1-10 (`prompts.text.read_score`); a sample without one is left out of the mean (the
paper's code counts a passage with no readable score as 0; ours leaves it unscored and says how many were).
Across tasks the mean is given with a 95% Student-t interval (`mean_interval`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from prompts import text as prompts
from reasoning.session import Session
from reasoning.tree import check_samples

from .task import passage_of, request

__all__ = ["Judge", "Verdict", "mean_interval", "t_quantile"]


@dataclass(frozen=True)
class Verdict:
    """The judge's reading of one output: each sample's score (None where none could be read), and their mean
    over the read ones (None when none was)."""

    scores: tuple[int | None, ...]

    @property
    def mean(self) -> float | None:
        read = [s for s in self.scores if s is not None]
        return sum(read) / len(read) if read else None


@dataclass(frozen=True)
class Judge:
    """`n` samples of the scoring prompt for a passage, at `temperature` (the paper's judge: 5 samples at 0.7,
    its model's default), at most `max_tokens` each."""

    n: int = 5
    temperature: float = 0.7
    max_tokens: int = 1000
    chat: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        check_samples(self.n, "Judge")

    async def score(self, output: str, session: Session) -> Verdict:
        """Judge the passage of `output` (`passage_of`: the text after its last "Passage:")."""
        asked = request(prompts.score_prompt(passage_of(output)), chat=self.chat, n=self.n,
                        temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed)  # fmt: skip
        result = await session.generate(asked, kind="judge", distinct=True)  # a repeated passage: fresh samples
        return Verdict(tuple(prompts.read_score(text) for text in result.texts))


def t_quantile(p: float, df: int) -> float:
    """The `p` quantile (0 < p < 1) of Student's t with `df` degrees of freedom (`scipy.stats.t.ppf`)."""
    return float(stats.t.ppf(p, df))


def mean_interval(values: Sequence[float], alpha: float = 0.05) -> tuple[float, float] | None:
    """The two-sided `1 - alpha` Student-t interval for the mean of `values` (one per task); None for fewer than
    two values. Equal values give a zero-width interval."""
    n = len(values)
    if n < 2:
        return None
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(1.0 - alpha / 2.0, n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half
