"""The judges' options as users get them wrong: a key variable named with no judge server to send it to (refused,
as a server's options on a local backend are, not ignored), and a judge URL whose query holds a key (never shown in
the judge's name, which every error of that judge starts with)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import reasoning.cli
from evals.audit.judges import check_judges, judge_models
from reasoning.cli import build_parser
from reasoning.errors import ConfigurationError

SECRET = "q-s3cret-key"


def options(**given: object) -> argparse.Namespace:
    """The judge options as `reasoning audit run` parses them (its defaults, then `given`)."""
    parsed = build_parser().parse_args(["audit", "run", "--items", "x.jsonl"])
    return argparse.Namespace(**{**vars(parsed), **given})


@pytest.mark.parametrize("local", [False, True])
def test_a_key_variable_without_a_judge_server_is_refused(monkeypatch: pytest.MonkeyPatch, local: bool) -> None:
    monkeypatch.setenv("JUDGE_KEY", "set")
    with pytest.raises(ConfigurationError) as caught:
        check_judges(options(local_judge=local, judge_api_key_env="JUDGE_KEY"))
    assert str(caught.value) == ("--judge-api-key-env needs --judge-url: it names the key of the judge on that "
                                 "server (the embedded model, --local-judge, takes none)")  # fmt: skip


def test_the_command_refuses_it_before_anything_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUDGE_KEY", "set")
    items = tmp_path / "mine.jsonl"
    items.write_text('{"question": "Which?", "choices": ["a", "b"], "answer": 0}\n')
    out = tmp_path / "run"
    code = reasoning.cli.main(["audit", "run", "--items", str(items), "--biases", "metadata", "--base-url",
                               "http://127.0.0.1:9/v1", "--model", "m", "--judge-api-key-env", "JUDGE_KEY", "--out",
                               str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("reasoning: error: --judge-api-key-env needs --judge-url") and not out.exists()


def test_the_judge_is_named_without_the_url_s_query() -> None:
    (judge,) = judge_models(options(judge_url=f"http://u:pw@127.0.0.1:9/v1?api-key={SECRET}", judge_model="j"))
    assert judge.where == "--judge-url http://[redacted]@127.0.0.1:9/v1"
