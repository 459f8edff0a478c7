"""The evals' subcommands come from entry points (group `reasoning.commands`), not from imports in the core: this
package's three in a fixed order, a third party's after them, and a broken one left out with one line on stderr
while every other command still works."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import reasoning.cli
from reasoning.cli import COMMANDS, build_parser, command_entry_points, main

ROOT = Path(__file__).resolve().parents[2]
EVALS = ["game24", "crosswords", "text", "audit", "supericl"]
OURS = [*EVALS, "export"]  # this distribution's commands: the evals, then `reasoning export` (evals.export)
ALL_COMMANDS = "{" + ",".join(["generate", "serve", "model", *OURS]) + "}"  # as --help's usage lists them


def subcommands(parser: reasoning.cli.Parser) -> list[str]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def point(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group=COMMANDS)


def test_the_evals_are_installed_entry_points_in_their_order() -> None:
    points = command_entry_points()
    assert [p.name for p in points] == OURS  # a third party's would come after these
    assert {p.value for p in points} == {f"evals.{name}.cli:register" for name in EVALS} | {"evals.export:register"}
    assert subcommands(build_parser()) == ["generate", "serve", "model", *OURS]


def test_the_core_imports_no_eval() -> None:
    # The console script's module loads the evals only through the entry points, when the parser is built.
    code = "import sys, reasoning.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'evals'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A third party's module on the path: `hello` works; `half` adds its parser, then raises."""
    (tmp_path / "third_party.py").write_text(
        "def hello(subparsers):\n"
        "    parser = subparsers.add_parser('hello', help='says hello')\n"
        "    parser.set_defaults(run=lambda args: print('hello') or 0)\n"
        "def half(subparsers):\n"
        "    subparsers.add_parser('half', help='never finished')\n"
        "    raise RuntimeError('half-way')\n"
        "def clash(subparsers):\n"
        "    subparsers.add_parser('game24')\n"
        "not_a_function = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_broken_entry_point_is_one_line_and_the_rest_still_works(plugins, monkeypatch, capsys) -> None:
    installed = importlib.metadata.entry_points(group=COMMANDS)
    broken = {
        "missing": point("missing", "no_such_package.cli:register"),  # import error
        "half": point("half", "third_party:half"),  # raises after adding its parser
        "clash": point("clash", "third_party:clash"),  # takes a name already taken
        "number": point("number", "third_party:not_a_function"),  # not callable
        "typo": point("typo", "third_party:no_such_name"),  # no such attribute
    }
    extra = [point("hello", "third_party:hello"), *broken.values()]

    def entry_points(**selection: str) -> importlib.metadata.EntryPoints:
        assert selection == {"group": COMMANDS}
        return importlib.metadata.EntryPoints([*installed, *extra])

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    parser = build_parser()
    err = capsys.readouterr().err.splitlines()
    # Ours first in their order, then the others by name; nothing of a broken one is left behind.
    assert subcommands(parser) == ["generate", "serve", "model", *OURS, "hello"]
    assert "half" not in parser.format_help()
    assert len(err) == len(broken), err
    for line, (name, ep) in zip(err, sorted(broken.items()), strict=True):
        assert line.startswith(f"reasoning: warning: command {name!r} ({COMMANDS} entry point {ep.value!r}) is left "
                               "out: "), line  # fmt: skip
    assert "ModuleNotFoundError: No module named 'no_such_package'" in err[2]  # missing
    assert err[1].endswith("RuntimeError: half-way")
    assert "conflicting subparser: game24" in err[0]
    assert "TypeError" in err[3] and "AttributeError" in err[4]

    assert main(["hello"]) == 0
    assert main(["game24", "solve", "4 5 6 10"]) == 0
    assert capsys.readouterr().out.splitlines() == ["hello", '{"puzzle": "4 5 6 10", "solvable": true, "solution": '
                                                             '"(4 * 5) - (6 - 10)"}']  # fmt: skip


def readme_example() -> tuple[str, str]:
    """The entry-point table and the `register` of the README's "Add your own command"."""
    section = (ROOT / "README.md").read_text().split("### Add your own command", 1)[1].split("\n## ", 1)[0]
    (toml,) = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    (python,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return toml, python


def test_a_third_party_package_adds_its_command_as_the_readme_says(tmp_path) -> None:
    # The README's example as an installed distribution (its metadata on the path, as pip would leave it), run
    # through the real console script, with a broken entry point of another package beside it.
    toml, python = readme_example()
    module, _, attr = re.search(r'^(\S+) = "(\S+)"$', toml, flags=re.M).group(2).partition(":")  # type: ignore[union-attr]
    package = tmp_path / module.replace(".", "/")
    package.parent.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    package.with_suffix(".py").write_text(python)
    for name, entry in (("my_package", f"my-eval = {module}:{attr}"), ("broken_package", "oops = gone.cli:register")):
        info = tmp_path / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[{COMMANDS}]\n{entry}\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    script = Path(sys.executable).parent / "reasoning"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "reasoning.cli"]

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *argv], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)

    out = run("--help")
    assert out.returncode == 0
    assert "{generate,serve,model,game24,crosswords,text,audit,supericl,export,my-eval}" in out.stdout
    warning = (f"reasoning: warning: command 'oops' ({COMMANDS} entry point 'gone.cli:register') is left out: "
               "ModuleNotFoundError: No module named 'gone'\n")  # fmt: skip
    assert out.stderr == warning
    out = run("my-eval", "--backend", "openai")
    assert (out.returncode, out.stdout, out.stderr) == (0, "", warning)
    out = run("game24", "solve", "4 5 6 10")
    assert out.returncode == 0 and '"solvable": true' in out.stdout and out.stderr == warning


IMPOSTOR = """\
import sys

def reg_game24(subparsers):
    parser = subparsers.add_parser("game24", help="not the real one")
    runs = parser.add_subparsers(dest="action", required=True)
    runs.add_parser("run", help="IMPOSTOR").set_defaults(run=lambda args: print("impostor") or 0)

def reg_serve(subparsers):
    subparsers.add_parser("serve", help="IMPOSTOR").set_defaults(run=lambda args: print("impostor") or 0)

def reg_quits(subparsers):
    subparsers.add_parser("quits", help="half-registered")
    sys.exit(3)
"""


def console(tmp_path: Path, entries: list[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`reasoning` run as a user would, with a distribution `fake-ep` (module `fake_ep`, `IMPOSTOR`) installed on
    the path declaring `entries` in the group `COMMANDS`."""
    (tmp_path / "fake_ep.py").write_text(IMPOSTOR)
    info = tmp_path / "fake_ep-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-ep\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{COMMANDS}]\n" + "".join(f"{entry}\n" for entry in entries))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    script = Path(sys.executable).parent / "reasoning"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "reasoning.cli"]

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *argv], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)

    return run


def test_a_third_party_cannot_replace_an_eval_and_the_warning_names_it(tmp_path) -> None:
    # `fake-ep` sorts before `reasoning-toolkit`: this package's own commands register first all the same, and the
    # one line names the impostor, not ours.
    run = console(tmp_path, ["game24 = fake_ep:reg_game24"])
    warning = (f"reasoning: warning: command 'game24' ({COMMANDS} entry point 'fake_ep:reg_game24') is left out: "
               "fake-ep declares it, but the name is taken by entry point 'evals.game24.cli:register' of "
               "reasoning-toolkit\n")  # fmt: skip
    out = run("--help")
    assert (out.returncode, out.stderr) == (0, warning)
    assert ALL_COMMANDS in out.stdout and "not the real one" not in out.stdout
    out = run("game24", "run", "--help")
    assert out.returncode == 0 and out.stderr == warning
    assert out.stdout.startswith("usage: reasoning game24 run") and "IMPOSTOR" not in out.stdout
    out = run("game24", "solve", "4 5 6 10")
    assert out.returncode == 0 and '"solvable": true' in out.stdout


def test_a_third_party_cannot_replace_a_core_command(tmp_path) -> None:
    out = console(tmp_path, ["serve = fake_ep:reg_serve"])("--help")
    assert out.returncode == 0
    assert out.stderr == (f"reasoning: warning: command 'serve' ({COMMANDS} entry point 'fake_ep:reg_serve') is "
                          "left out: fake-ep declares it, but the name is taken by the built-in command "
                          "'serve'\n")  # fmt: skip
    assert ALL_COMMANDS in out.stdout and "IMPOSTOR" not in out.stdout


def test_a_register_that_exits_is_left_out_and_every_command_still_works(tmp_path) -> None:
    run = console(tmp_path, ["quits = fake_ep:reg_quits"])
    warning = (
        f"reasoning: warning: command 'quits' ({COMMANDS} entry point 'fake_ep:reg_quits') is left out: SystemExit: 3\n"
    )
    out = run("--help")
    assert (out.returncode, out.stderr) == (0, warning)
    assert ALL_COMMANDS in out.stdout and "half-registered" not in out.stdout
    out = run("game24", "solve", "4 5 6 10")
    assert (out.returncode, out.stderr) == (0, warning) and '"solvable": true' in out.stdout


def test_a_register_interrupted_by_the_user_is_not_swallowed(monkeypatch) -> None:
    def interrupted(subparsers: reasoning.cli.Subparsers) -> None:
        raise KeyboardInterrupt

    ep = point("stuck", "somewhere:register")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **_: importlib.metadata.EntryPoints([ep]))
    monkeypatch.setattr(importlib.metadata.EntryPoint, "load", lambda self: interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_parser()
