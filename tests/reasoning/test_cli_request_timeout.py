"""`--request-timeout`: how long one request to a server may take, for the run's model and an audit's LLM judge
alike (a busy CPU server that queues requests took longer than the fixed 60 s, and the whole run failed); not part of
a run's identity, so a resume may raise it."""

from __future__ import annotations

import argparse

from evals.audit.judges import judge_models
from evals.identity import NOT_IDENTITY
from reasoning.cli import build_parser, make_model


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


async def test_the_run_s_server_model_takes_the_timeout() -> None:
    base = ["audit", "run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
    default, raised = make_model(parse(*base)), make_model(parse(*base, "--request-timeout", "900"))
    try:
        assert default._client.timeout == 60.0  # type: ignore[attr-defined]
        assert raised._client.timeout == 900.0  # type: ignore[attr-defined]
    finally:
        await default.aclose()
        await raised.aclose()


async def test_the_llm_judge_takes_it_too() -> None:
    args = parse("audit", "run", "--items", "x.jsonl", "--judge-url", "http://127.0.0.1:9/v1", "--judge-model", "j",
                 "--request-timeout", "300")  # fmt: skip
    (judge,) = judge_models(args)
    try:
        assert judge.model._client.timeout == 300.0  # type: ignore[attr-defined]
    finally:
        await judge.model.aclose()


def test_it_is_not_identity() -> None:
    assert "request_timeout" in NOT_IDENTITY
