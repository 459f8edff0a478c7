"""A replay backend built from the published GPT-4 creative-writing run (Yao et al., 2023;
`tot/text/gpt-4_1.0_generate_sample_select_greedy_sample5_start0_end100.json`).

For one task's log record it answers each sample request with the candidates GPT-4 wrote from that state (the
logged `new_ys`, less the state they continue), and each vote request with vote outputs ("The best choice is N")
that reproduce the logged vote counts (`values`; a vote the original could not read is one that says no choice).
Requests are matched by their prompt text, built with our prompts from the logged states and the task's sentences,
and by their number of samples; anything the logged search did not ask fails loudly (`ReplayMissError`).

The log holds no coherency scores (its `accs` are placeholders), so the judge cannot be replayed: a judge request
is a miss like any other, and `reasoning text run --backend replay` runs without the judge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reasoning.backends.base import LanguageModel
from reasoning.errors import BackendError, ConfigurationError
from reasoning.tree import Node
from reasoning.types import Completion, GenerationRequest, GenerationResult

from .task import TextTask

__all__ = ["NO_VOTE", "VOTES", "ReplayMissError", "ReplayModel", "load_log", "vote_outputs"]

NO_VOTE = "No choice stands out."  # a vote output that names no choice (read as no vote)
_WHAT = "a replay log of the published creative-writing run"
VOTES = 5  # the published run's votes a step (its n_evaluate_sample, scripts/text/bfs.sh)


class ReplayMissError(BackendError):
    """The replay has no answer for this request: the search asked something the logged run did not."""


def load_log(path: str | Path) -> list[dict[str, Any]]:
    """The published run: a list of records `{"idx", "steps": [{"x", "ys", "new_ys", "values",
    "select_new_ys"}, ...], "ys", ...}`. `ConfigurationError` (one line) for a file that is not one."""
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(records, list):
            raise ValueError("not a list")
        for record in records:
            for step in record["steps"]:
                if len(step["new_ys"]) != len(step["values"]) or not isinstance(step["x"], str):
                    raise ValueError("candidates and votes differ in number")
                _check_step(step)
            _check_record(record)
    except OSError as exc:
        raise ConfigurationError(f"replay log {path}: {exc.strerror or exc}") from None
    # ValueError: not UTF-8, not JSON, or steps that do not fit; RecursionError: "[[[[..." nested too deep to read;
    # the others: not records of that shape.
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        raise ConfigurationError(
            f"{path} is not a replay log of the published creative-writing run ({reason})"
        ) from None
    if not isinstance(records, list):
        raise ConfigurationError(f"{path} is not a replay log of the published creative-writing run (not a list)")
    return records


def _check_step(step: dict[str, Any]) -> None:
    """`ValueError` for a step whose states are not texts or whose votes are not counts of at most `VOTES` in all."""
    if not all(isinstance(ys, list) and all(isinstance(y, str) for y in ys) for ys in (step["ys"], step["new_ys"])):
        raise ValueError("states that are not lists of texts")
    votes = step["values"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in votes) or sum(votes) > VOTES:
        raise ValueError(f"votes that are not counts of at most {VOTES} votes in all")


def _check_record(record: dict[str, Any]) -> None:
    """`ValueError` for a record with no row number or no steps."""
    if not isinstance(record["idx"], int) or isinstance(record["idx"], bool) or record["idx"] < 0:
        raise ValueError(f"a task row that is not a number: {json.dumps(record['idx'])[:40]}")
    if not record["steps"]:
        raise ValueError(f"task {record['idx']} has no steps")


def vote_outputs(votes: list[int], n: int) -> list[str]:
    """`n` vote outputs giving choice k (0-based) `votes[k]` votes, the rest naming no choice. `ValueError` when
    the votes add up to more than `n`."""
    texts = [f"The best choice is {k + 1}" for k, count in enumerate(votes) for _ in range(count)]
    if len(texts) > n:
        raise ValueError(f"{len(texts)} votes logged, {n} asked for")
    return texts + [NO_VOTE] * (n - len(texts))


def _content(request: GenerationRequest) -> str:
    if request.messages is not None:
        return request.messages[-1].content
    return request.prompt or ""


class ReplayModel(LanguageModel):
    """Answers one task's sample and vote requests from its record in the published log.

    `task` builds the prompts (its sentences must be the log's `x`, its config the run's: `chat`, and 5 samples
    and 5 votes a step to be answered). The log's sample texts are the candidates less the state they continue, so
    our task's reading of them (`TextTask.read_sample`) gives back the logged candidates."""

    def __init__(self, record: dict[str, Any], task: TextTask) -> None:
        self.record = record
        self.name = f"gpt-4-replay/{record['idx']}"
        logged = record["steps"][0]["x"].strip()
        if logged != task.sentences:
            raise ValueError(f"task {record['idx']} is {task.sentences[:40]!r}..., the log has {logged[:40]!r}...")
        self.samples: dict[str, list[str]] = {}
        self.votes: dict[str, list[int]] = {}
        for depth, step in enumerate(record["steps"]):
            for y in step["ys"]:
                continued = [c[len(y) :] for c in step["new_ys"] if c.startswith(y)]
                self.samples[_content(task.sample_request(Node(state=y, depth=depth)))] = continued
            choices = [Node(state=c, depth=depth + 1) for c in step["new_ys"]]
            self.votes[_content(task.vote_request(choices))] = [int(v) for v in step["values"]]

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        prompt = _content(request)
        if prompt in self.samples:
            texts = self.samples[prompt]
            if request.n != len(texts):
                raise ReplayMissError(f"{request.n} samples asked of a state with {len(texts)} logged",
                                      model=self.name)  # fmt: skip
        elif prompt in self.votes:
            if request.n != VOTES:
                raise ReplayMissError(f"{request.n} votes asked for, the log has {VOTES} a step", model=self.name)
            texts = vote_outputs(self.votes[prompt], request.n)
        else:
            raise ReplayMissError("no logged answer for this prompt (the judge's scores are not in the log)",
                                  model=self.name)  # fmt: skip
        completions = tuple(Completion(text=t, finish_reason="stop") for t in texts)
        return GenerationResult(model=self.name, completions=completions)
