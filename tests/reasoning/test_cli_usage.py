"""A wrong option after a subcommand is reported by that subcommand, in one line: the subcommand, the option named
(and a near one suggested), where its usage is; not the usage block, nor the top-level parser's. No option is taken
from an abbreviation of it. Checked for every subcommand the parser has, found by walking it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from reasoning.cli import Parser, build_parser, main


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)parser, with its words."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from parsers(child, (*path, name))


def leaves(parser: argparse.ArgumentParser) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every runnable subcommand's words, with a value for each positional it requires ("x", or the first of its
    choices: `audit verdict DIR KEY yes|no`)."""
    for path, child in parsers(parser):
        if not any(isinstance(a, argparse._SubParsersAction) for a in child._actions):
            yield path, tuple(str(next(iter(a.choices))) if a.choices else "x" for a in child._actions
                              if not a.option_strings and a.nargs in (None, 1, "+"))  # fmt: skip


LEAVES = sorted(leaves(build_parser()))
IDS = [" ".join(p) for p, _ in LEAVES]


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    return int(exit.value.code or 0), capsys.readouterr().err


def test_every_subcommand_is_walked() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"serve", "generate", "game24 run", "game24 check", "audit run", "supericl report"} <= names


def test_every_parser_is_ours_and_takes_no_abbreviation() -> None:
    for path, parser in parsers(build_parser()):
        assert isinstance(parser, Parser) and parser.allow_abbrev is False, path


@pytest.mark.parametrize(("path", "required"), LEAVES, ids=IDS)
def test_an_unknown_option_is_one_line_from_the_subcommand(capsys, path, required) -> None:
    code, err = run(capsys, [*path, *required, "--bogus"])
    command = f"reasoning {' '.join(path)}"
    # The reported case printed the top-level usage; now one line from the subcommand, and where its --help is.
    assert code == 2 and err == f"{command}: error: unrecognized arguments: --bogus; see '{command} --help'\n"


@pytest.mark.parametrize(("path", "required"), LEAVES, ids=IDS)
def test_an_abbreviated_option_is_refused_not_guessed(capsys, path, required) -> None:
    # `--temp 0.1` meant --temperature without a word, and went into run.json as a flag the user never typed.
    parser = dict(parsers(build_parser()))[path]
    longest = max((o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"),
                  key=len, default=None)  # fmt: skip
    if longest is None:
        pytest.skip("no long option")
    code, err = run(capsys, [*path, *required, f"{longest[:-2]}=1"])
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"unrecognized arguments: {longest[:-2]}=1 (did you mean " in err and longest in err, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["game24", "run", "--bredth", "3"], "unrecognized arguments: --bredth 3 (did you mean --breadth?)"),
        (["serve", "--prot", "8001"], "unrecognized arguments: --prot 8001 (did you mean --port?)"),
        (["game24", "run", "--temp", "0.1"], "unrecognized arguments: --temp 0.1 (did you mean --temperature?)"),
        # Was "ambiguous option: --max-token could match --max-tokens, --max-tokens-budget" after the usage block.
        (["audit", "run", "--max-token", "5"],
         "unrecognized arguments: --max-token 5 (did you mean --max-tokens or --max-tokens-budget?)"),
        (["game24", "run", "--method", "magic"], "argument --method: invalid choice: 'magic'"),
        (["game24"], "the following arguments are required: game24_command"),
    ],
)  # fmt: skip
def test_a_near_miss_is_suggested_in_the_one_line(capsys, argv, message) -> None:
    code, err = run(capsys, argv)
    command = "reasoning " + " ".join(argv[:2] if argv[0] != "serve" else argv[:1])
    command = "reasoning game24" if argv == ["game24"] else command
    assert code == 2 and err.startswith(f"{command}: error: {message}") and err.count("\n") == 1, err
    assert err.endswith(f"; see '{command} --help'\n"), err
