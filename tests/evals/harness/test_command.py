"""`reasoning NAME run` refused (a model that cannot be made, puzzles the replay lacks, a bad option): exit status 2,
one line, and no --out folder left behind that the command made; a folder that was there before stays, with what it
held. In process, every eval's run command, no model loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import reasoning.cli
from tests.conftest import SHARED_DATA
from tests.evals.test_identity import write_items, write_tsv

# Each is refused after its options are parsed and its data read (the model's options are checked last); the
# replay's puzzles are rows 900-999 (or its log is missing: refused too).
REFUSED = {
    "game24 --model": ["game24", "run", "--model", "foo", "--puzzle", "4 5 6 10"],
    "game24 replay": ["game24", "run", "--range", "900-1200", "--backend", "replay"],
    "game24 --answer": ["game24", "run", "--puzzle", "4 5 6 10", "--thoughts", "paper", "--answer", "program"],
    "crosswords --model": ["crosswords", "run", "--method", "io", "--games", "0", "--model", "foo"],
    "text --model": ["text", "run", "--method", "io", "--range", "0", "--model", "foo"],
    "audit --model": ["audit", "run", "--no-cot", "--model", "foo"],
    "supericl --model": ["supericl", "run", "--methods", "icl", "--shots", "2", "--model", "foo"],
}


def command(name: str, out: Path, data: Path) -> list[str]:
    """`REFUSED[name]` into `out`, with the data it reads written in the (fresh) folder `data`."""
    argv = [*REFUSED[name], "--out", str(out)]
    if name.startswith("audit"):
        argv += ["--items", str(write_items(data))]
    if name.startswith("supericl"):
        tsv = write_tsv(data)
        argv += ["--train-file", str(tsv / "train.tsv"), "--test-file", str(tsv / "test.tsv")]
    return argv


@pytest.fixture(autouse=True)
def shared_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REASONING_SHARED_DATA", str(SHARED_DATA))


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = reasoning.cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("reasoning: error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_run_leaves_no_folder_it_made(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "runs" / "deeper" / "out"  # its parents are made for it, and so removed with it
    refused(capsys, command(name, out, data))
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_run_leaves_a_folder_that_was_there_as_it_was(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                name: str) -> None:  # fmt: skip
    data = [tmp_path / "data1", tmp_path / "data2"]  # each command's own data
    for folder in data:
        folder.mkdir()
    empty, kept = tmp_path / "empty", tmp_path / "kept"
    empty.mkdir()
    kept.mkdir()
    (kept / "notes.txt").write_text("mine\n")
    refused(capsys, command(name, empty, data[0]))
    assert empty.is_dir() and not any(empty.iterdir())
    # Under a folder that was there, only what the command made goes.
    refused(capsys, command(name, kept / "new" / "out", data[1]))
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"] and (kept / "notes.txt").read_text() == "mine\n"


def test_a_refused_rerun_leaves_the_run_folder_as_it_was(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A folder holding a run: a rerun refused before it starts (here, the model) changes nothing in it.
    out = tmp_path / "out"
    out.mkdir()
    written = {"run.json": json.dumps({"version": 1, "identity": {}}) + "\n", "results.jsonl": ""}
    for name, text in written.items():
        (out / name).write_text(text)
    refused(capsys, command("game24 --model", out, tmp_path))
    assert {p.name: p.read_text() for p in out.iterdir()} == written


def test_only_empty_folders_this_call_made_are_removed(tmp_path: Path) -> None:
    """A refused command removes the empty folders it made, never a folder with a file in it (what another process
    wrote meanwhile is not ours to delete) nor one that was there before."""
    from evals.harness.command import _removed_on_error

    out = tmp_path / "a" / "b"
    with pytest.raises(KeyboardInterrupt), _removed_on_error(out):
        out.mkdir(parents=True)
        raise KeyboardInterrupt
    assert not (tmp_path / "a").exists()
    with pytest.raises(ValueError), _removed_on_error(out):
        out.mkdir(parents=True)
        (out / "results.jsonl").write_text("{}\n")
        raise ValueError("refused")
    assert (out / "results.jsonl").read_text() == "{}\n"
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(ValueError), _removed_on_error(kept):
        raise ValueError("refused")
    assert kept.is_dir()
