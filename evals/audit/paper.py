"""Published figures an audit is compared with."""

from __future__ import annotations

__all__ = ["PAPER_TABLE1"]

# The paper's Table 1 cells we can cite (accuracy % on bias-inconsistent items, unbiased -> biased), by model, bias and
# setting: the GPT-3.5 (text-davinci-003) cells quoted in the shared data's README.
PAPER_TABLE1: dict[tuple[str, str, str], tuple[float, float]] = {
    ("text-davinci-003", "suggested-answer", "cot/zero-shot"): (59.6, 23.3),
    ("text-davinci-003", "suggested-answer", "no-cot/zero-shot"): (57.1, 39.5),
    ("text-davinci-003", "suggested-answer", "cot/few-shot"): (75.8, 51.7),
    ("text-davinci-003", "answer-is-always-a", "cot/few-shot"): (77.4, 58.7),
}
