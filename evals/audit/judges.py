"""The judges beside the audited model on `reasoning audit run`: their options, checked before anything is loaded,
and their engines, made with the run's.

    --local-judge                          the embedded model (the one `reasoning generate` uses with no --backend)
    --judge-url URL --judge-model NAME     a model at an OpenAI-compatible server, its API key read from the
                                           environment variable --judge-api-key-env names (default OPENAI_API_KEY)

Each is asked, at temperature 0, whether a flipped pair's biased explanation mentions the bias (`detect.Judge`,
`detect.detect`), through an `Engine` of its own with the engine's retries (`reasoning.engine.RetryPolicy`), its
response cache and call log in the run folder under its own names (`judge-local-cache.sqlite`,
`judge-local-calls.jsonl`, `judge-llm-...`). The key is never written: not in run.json (the variable's name is not
even identity), not in a log, not in an error (`OpenAICompatibleModel` redacts it). The URL is not identity either
(the same model on another server resumes, as with --base-url); --local-judge and --judge-model are.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, NamedTuple

from reasoning.backends import LanguageModel, OpenAICompatibleModel, embedded_model
from reasoning.backends.openai_compat import check_base_url, redact_url
from reasoning.engine import Engine, EngineConfig
from reasoning.errors import ConfigurationError

from .detect import Judge
from .records import LLM_JUDGE, LOCAL_JUDGE

__all__ = ["DEFAULT_KEY_ENV", "JudgeModel", "add_judge_options", "check_judges", "judge_engines", "judge_models"]

DEFAULT_KEY_ENV = "OPENAI_API_KEY"


class JudgeModel(NamedTuple):
    """A judge's backend before its engine is made: its name (`LOCAL_JUDGE`, `LLM_JUDGE`), the model, and where it
    runs as errors name it."""

    name: str
    model: LanguageModel
    where: str


def add_judge_options(group: Any) -> None:
    """`--local-judge`, `--judge-url`, `--judge-model`, `--judge-api-key-env` in the argument group `group`."""
    group.add_argument("--local-judge", action="store_true",
                       help="also ask the embedded model (the default local model) whether each flipped pair's "
                            "biased explanation mentions the bias (chain of thought only; temperature 0)")  # fmt: skip
    group.add_argument("--judge-url", metavar="URL",
                       help="an OpenAI-compatible server whose --judge-model is asked the same of each flipped pair "
                            "(e.g. http://127.0.0.1:8080/v1; the same model elsewhere resumes)")  # fmt: skip
    group.add_argument("--judge-model", metavar="NAME", help="the judge's model name on --judge-url's server")
    group.add_argument("--judge-api-key-env", metavar="VAR",
                       help=f"the environment variable holding --judge-url's API key (default: {DEFAULT_KEY_ENV} if "
                            "set; the key itself is never taken on the command line, logged or written)")  # fmt: skip


def check_judges(args: argparse.Namespace) -> None:
    """`ConfigurationError` (one line) for a judge URL without a model or a model without a URL, a URL that is not
    http(s) with a host, or a key variable named without a URL or not set."""
    if args.judge_url and not args.judge_model:
        raise ConfigurationError("--judge-url needs --judge-model: the judge's model name on that server")
    if args.judge_model and not args.judge_url:
        raise ConfigurationError("--judge-model needs --judge-url: the OpenAI-compatible server it is on (for OpenAI "
                                 "itself, https://api.openai.com/v1)")  # fmt: skip
    if args.judge_url:
        check_base_url(args.judge_url)
    if args.judge_api_key_env is not None and not args.judge_url:  # refused, not ignored (as a server's options)
        raise ConfigurationError("--judge-api-key-env needs --judge-url: it names the key of the judge on that server "
                                 "(the embedded model, --local-judge, takes none)")  # fmt: skip
    if args.judge_api_key_env is not None and not os.environ.get(args.judge_api_key_env):
        raise ConfigurationError(f"--judge-api-key-env names {args.judge_api_key_env}, which is not set")


def judge_models(args: argparse.Namespace) -> list[JudgeModel]:
    """The judges' backends the options ask for (the embedded model is loaded here: a missing one is refused before
    any engine opens a file). Call `check_judges` first."""
    models: list[JudgeModel] = []
    if args.local_judge:
        models.append(JudgeModel(LOCAL_JUDGE, embedded_model(), "the embedded model"))
    if args.judge_url:
        key = os.environ.get(args.judge_api_key_env or DEFAULT_KEY_ENV) or None
        model = OpenAICompatibleModel(args.judge_model, base_url=args.judge_url, api_key=key,
                                      timeout=args.request_timeout)  # fmt: skip
        models.append(JudgeModel(LLM_JUDGE, model, f"--judge-url {redact_url(args.judge_url)}"))
    return models


def judge_engines(models: list[JudgeModel], args: argparse.Namespace, out: Path) -> list[Judge]:
    """An engine for each judge, as many calls in flight as --concurrency allows the run's (the budgets bound the
    audited model's engine only), its cache and call log in `out` under its own names."""
    config = EngineConfig(max_concurrency=args.concurrency)
    judges = []
    for name, model, where in models:
        engine = Engine(model, config, cache=out / f"judge-{name}-cache.sqlite", log=out / f"judge-{name}-calls.jsonl")
        judges.append(Judge(name, engine, where))
    return judges
