"""What identifies an eval run, recorded in its folder's `run.json`, and a rerun that changes it refused.

A run's identity is the value of every option of its `run` subcommand that can change what a record holds (the
model and backend, the method and its options, where the items come from, the sampling options, the seed), keyed
by the option as it is typed (`--max-tokens`); `--model` holds the name of the model the backend loaded (`--backend
auto` may load another one on another machine). A rerun into the same folder whose identity differs is refused with
one line naming the options that differ, and the results are left as they are. A folder with no result yet (a first
run that failed before any item finished) takes the new identity without a word.

Not identity: how a run is carried out and where it writes (`NOT_IDENTITY`: --out, --parallel, --concurrency,
--cache, --log, the budgets, the API key's variable, --base-url: the same model on another server resumes; the
parallel decoders, which give the same text; and so for a judge model's server, the audit's --judge-url and
--judge-api-key-env, its --judge-model being identity), and which items of the source a command selects (each eval's
`selection`, e.g. --range, --limit, --tasks): records are keyed per item, a rerun with another selection runs the
items it lacks, and the summary covers the latest selection. Nor the options the run does not read under the
others (each eval's `unused(args)`, e.g. `--breadth` for game 24's IO, whose records it cannot change): decided by
options that are identity (the method), so a folder's runs all leave out the same ones, and a run.json written when
they were recorded still resumes (only the options in both are compared).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from reasoning.errors import ConfigurationError

from .files import has_records

__all__ = ["MODEL", "NOT_IDENTITY", "check_identity", "identity", "option_flags"]

MODEL = "--model"  # the loaded model's name (the --model option's value where it applies)
NOT_IDENTITY = frozenset({"out", "parallel", "concurrency", "cache", "log", "api_key_env", "max_tokens_budget",
                          "max_dollars", "base_url", "decoding", "block", "model", "judge_url",
                          "judge_api_key_env", "request_timeout"})  # fmt: skip
# `model`: the --model option is recorded as the name of the model loaded (`MODEL`), which it sets where it applies.


def option_flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each option's destination and its longest spelling (`max_tokens` -> `--max-tokens`); the first option of a
    destination two share (`--cot`, `--no-cot`) names it."""
    flags: dict[str, str] = {}
    for action in parser._actions:
        if action.option_strings and action.dest != argparse.SUPPRESS and action.dest != "help":
            flags.setdefault(action.dest, max(action.option_strings, key=len))
    return flags


def identity(args: argparse.Namespace, flags: Mapping[str, str], selection: Iterable[str] = ()) -> dict[str, Any]:
    """`args`' identity less the model's name (`MODEL`, added once the model is loaded): the value of each option
    in `flags` that is neither `NOT_IDENTITY` nor in `selection`, keyed by its flag, as JSON stores it."""
    left_out = NOT_IDENTITY | set(selection)
    found = {flag: getattr(args, dest) for dest, flag in flags.items() if dest not in left_out}
    return json.loads(json.dumps(found, default=str))  # type: ignore[no-any-return]


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return " ".join(_show(v) for v in value) or "none"
    return str(value) if isinstance(value, int | float) else repr(value)


def check_identity(folder: Path, then: Mapping[str, Any] | None, now: Mapping[str, Any]) -> None:
    """Refuse `now` if the folder holds results made under another identity `then` (keys in both are compared:
    `now` may lack the model's name, before the model is loaded). One line, naming each differing option."""
    if not then or not has_records(folder / "results.jsonl"):
        return
    diffs = [f"{key} {_show(then[key])} there, {_show(now[key])} now" for key in now
             if key in then and then[key] != now[key]]  # fmt: skip
    if diffs:
        raise ConfigurationError(
            f"{folder} holds results made with other options ({'; '.join(diffs)}); rerun with the same options "
            "to resume, or use another --out"
        )
