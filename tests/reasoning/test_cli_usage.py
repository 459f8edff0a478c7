"""A wrong option after a subcommand is reported by that subcommand: its usage, the option named (and a near one
suggested), not the top-level usage. Checked for every subcommand the parser has, found by walking it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from reasoning.cli import build_parser, main


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], int]]:
    """Every runnable subcommand's words, with how many positionals it requires."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        required = sum(1 for a in parser._actions if not a.option_strings and a.nargs in (None, 1))
        yield path, required
        return
    for name, child in subs[0].choices.items():
        yield from leaves(child, (*path, name))


LEAVES = sorted(leaves(build_parser()))


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    return int(exit.value.code or 0), capsys.readouterr().err


def test_every_subcommand_is_walked() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"serve", "generate", "game24 run", "game24 check", "audit run", "supericl report"} <= names


@pytest.mark.parametrize(("path", "required"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_an_unknown_option_gets_the_subcommands_usage(capsys, path, required) -> None:
    code, err = run(capsys, [*path, *["x"] * required, "--bogus"])
    assert code == 2
    assert err.startswith(f"usage: reasoning {' '.join(path)} "), err  # the reported case: `reasoning [-h] ...`
    assert err.strip().splitlines()[-1] == f"reasoning {' '.join(path)}: error: unrecognized arguments: --bogus"


def test_a_near_miss_is_suggested(capsys) -> None:
    code, err = run(capsys, ["game24", "run", "--bredth", "3"])
    assert code == 2 and err.startswith("usage: reasoning game24 run ")
    assert err.strip().endswith("unrecognized arguments: --bredth 3 (did you mean --breadth?)")
    code, err = run(capsys, ["serve", "--prot", "8001"])
    assert err.startswith("usage: reasoning serve ") and "(did you mean --port?)" in err
