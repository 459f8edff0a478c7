"""`--help` of every `reasoning` command, walked from the parser: each option with a default shows it, each
subcommand says what it does, each positional has help, and a long default (a file name) is not cut mid-word. The
options themselves are untouched: their defaults parse as before."""

from __future__ import annotations

import argparse
import re

import pytest

from reasoning.cli import build_parser, main
from tests.reasoning.test_cli_usage import parsers

PARSERS = sorted(parsers(build_parser()), key=lambda found: found[0])
IDS = [" ".join(path) or "reasoning" for path, _ in PARSERS]


def shown(value: object) -> bool:
    """Whether a default is one to show (not None, a flag's on/off, an empty list)."""
    return value is not None and value is not argparse.SUPPRESS and not isinstance(value, bool) and value != []


def option_help(parser: argparse.ArgumentParser, width: int = 1000) -> dict[str, str]:
    """Each option's help as `--help` prints it (on one line: `width` wide), by its longest flag."""
    formatter = parser.formatter_class(prog=parser.prog, width=width)  # type: ignore[call-arg]  # argparse's own
    return {max(a.option_strings, key=len): formatter._format_action(a) for a in parser._actions if a.option_strings}


@pytest.mark.parametrize(("path", "parser"), PARSERS, ids=IDS)
def test_every_option_with_a_default_shows_it(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
    helps = option_help(parser)
    for action in parser._actions:
        if action.option_strings and shown(action.default) and action.help != argparse.SUPPRESS:
            text = helps[max(action.option_strings, key=len)]
            assert "default" in text, f"{' '.join(path)} {action.option_strings}: {text}"


@pytest.mark.parametrize(("path", "parser"), PARSERS, ids=IDS)
def test_every_command_says_what_it_does_and_every_positional_has_help(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    assert parser.description, " ".join(path)
    for action in parser._actions:
        if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
            assert action.help, f"{' '.join(path)} {action.dest}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["game24", "run"], {"--method": "(default: tot-bfs)", "--breadth": "(default: 5)", "--samples": "(default: 1)",
                             "--n-value": "(default: 3)", "--temperature": "(default: 0.7)",
                             "--max-tokens": "(default: 256)", "--out": "(default: runs/game24)",
                             "--parallel": "(default: 4)", "--concurrency": "(default: 8)"}),
        (["audit", "run"], {"--max-tokens": "(default: 700)", "--shots": "(default: zero)"}),
        (["supericl", "run"], {"--shots": "(default: 8)", "--threshold": "(default: 0.9)",
                               "--limit": "(default: every item)"}),
        (["generate"], {"--temperature": "(default: 0.0)", "--max-tokens": "(default: 128)", "-n": "(default: 1)"}),
    ],
)  # fmt: skip
def test_the_reported_defaults_are_shown(capsys: pytest.CaptureFixture[str], argv: list[str],
                                         expected: dict[str, str]) -> None:  # fmt: skip
    parser = dict(PARSERS)[tuple(argv)]
    helps = option_help(parser)
    for flag, text in expected.items():
        assert text in helps[flag], helps[flag]


def test_model_and_generate_say_what_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["model", "--help"])
    out = capsys.readouterr().out
    assert "verify its SHA-256" in out
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    out = capsys.readouterr().out
    assert re.search(r"^  prompt +the prompt", out, re.M), out


def test_a_long_default_is_not_cut_mid_word(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from evals.game24.cli import REPLAY_LOG

    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main(["game24", "run", "--help"])
    out = capsys.readouterr().out
    assert f"tot/{REPLAY_LOG})" in out  # whole, on one line (it was cut after "gpt-")
    assert not re.search(r"\w-\n", out)  # no line ends inside a hyphenated word


def test_showing_defaults_changes_no_option(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse(["game24", "run"])
    assert (args.method, args.breadth, args.samples, args.temperature, args.out, args.parallel) == (
        "tot-bfs", 5, 1, 0.7, "runs/game24", 4)  # fmt: skip
