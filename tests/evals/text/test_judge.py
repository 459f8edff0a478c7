"""The coherency judge: its samples read and averaged through the session, and the Student-t interval over tasks."""

import math

import pytest

from evals.text import Judge, Verdict, mean_interval
from evals.text.judge import t_quantile
from reasoning import Engine, ResponseCache
from reasoning.testing import ScriptedModel
from reasoning.tree import SearchContext


@pytest.mark.parametrize(("df", "t"), [(1, 12.7062), (9, 2.2622), (99, 1.9842), (10_000, 1.9602)])
def test_t_quantile(df, t):
    assert t_quantile(0.975, df) == pytest.approx(t, abs=1e-4)


def test_mean_interval():
    low, high = mean_interval([1, 2, 3, 4, 5])
    assert (low + high) / 2 == pytest.approx(3.0)
    assert high - 3.0 == pytest.approx(2.7764 * math.sqrt(2.5) / math.sqrt(5), abs=1e-3)
    assert mean_interval([7.0]) is None and mean_interval([6, 6, 6]) == (6.0, 6.0)


def test_verdict_mean_leaves_unread_samples_out():
    assert Verdict((7, None, 8)).mean == 7.5 and Verdict((None,)).mean is None


async def test_judge_scores_the_passage_through_the_session():
    replies = ["... Thus the coherency score is 6", "Thus the coherency score is 8", "no score here"]
    model = ScriptedModel(lambda request, k: replies[k])
    ctx = SearchContext(Engine(model, cache=ResponseCache()), tag="t")
    verdict = await Judge(n=3, chat=False).score("Plan:\nhidden plan\nPassage:\nThe passage.", ctx)
    assert verdict.scores == (6, 8, None) and verdict.mean == 7.0
    asked = model.calls[0]
    assert asked.n == 3 and asked.temperature == 0.7 and "The passage." in asked.prompt
    assert "hidden plan" not in asked.prompt  # the judge reads the passage only, as the paper's
    assert ctx.requests == {"judge": 1}
