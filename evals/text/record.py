"""One line of a creative-writing run's `results.jsonl`: a task's outputs, the tree search's steps, the judge's
scores and the cost."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Record", "StepLog"]


class StepLog(BaseModel):
    """One step of the tree search: every candidate state (the whole text so far, as the paper logs `new_ys`), its
    votes (the paper's `values`), and the indices of the kept ones (its `select_new_ys`), best first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    candidates: list[str]
    votes: list[float]
    selected: list[int]


class Record(BaseModel):
    """A task's record. `key` is its row as text.

    - `outputs`: what the method wrote (IO: the passages; CoT: plan and passage; ToT: the kept state, plan and
      passage); `plan` is ToT's kept plan; `steps` its search (empty for IO and CoT).
    - `scores`: per output, the judge's samples (None where no score could be read); `coherency`: the mean over
      the outputs of each output's mean score (the paper's per-task score), None when nothing was scored or the
      judge did not run (`judged` False: `--judge none`, and always on the replay, whose log holds no scores).
    - `as_logged`: on the replay, whether the output is the published run's (its kept plan and passage); else None.
    - Cost as in every eval: `spend` as if nothing were cached (reproducible; `calls`, `prompt_tokens`,
      `completion_tokens` and `dollars` repeat it flat), `paid` what this process really paid, `requests` by kind
      ("expand", "evaluate", "answer", "judge").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    idx: int
    sentences: str
    method: str
    model: str | None = None
    outputs: list[str]
    plan: str | None = None
    steps: list[StepLog] = []
    judged: bool = False
    scores: list[list[int | None]] = []
    coherency: float | None = None
    as_logged: bool | None = None
    stopped: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    dollars: float
    spend: dict[str, Any]
    paid: dict[str, Any]
    requests: dict[str, int]
    seconds: float
