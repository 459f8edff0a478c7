"""`reasoning audit import-published` on hostile input: files and folders that are valid JSON or valid paths but
not what the command writes (a number past Python's digit limit, an unpaired surrogate escape, a file name that
is not UTF-8 or holds a newline, an --out under a file, behind a link, too long to stage beside, or filled while
the import ran), and a run pointed at an import. Each is one line on stderr, exit 2, and nothing left in --out or
beside it; the files here are made in tmp_path from the shared published outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import reasoning.cli
from evals.audit import published

TASK_FILE = "20230303-191254-snarks-text-davinci-003-biastypesuggested_answer-fewshotFalse.json"
FILES = {"run.json", "results.jsonl", "summary.json", "report.html"}


@pytest.fixture(scope="module")
def source(turpin_dir: Path) -> Path:
    return turpin_dir / "published" / "suggested_answer" / TASK_FILE


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = reasoning.cli.main(["audit", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The one line a refused command printed (after asserting exit 2 and one line)."""
    code, stdout, stderr = cli(capsys, *args)
    assert code == 2, stdout + stderr
    assert stderr.count("\n") == 1 and stderr.startswith("reasoning: error: "), stderr
    return stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and ".import-" in p.name)


def edited(source: Path, target: Path, text: str) -> Path:
    target.write_text(text, encoding="utf-8")
    return target


# -- file contents that JSON allows and the run folder cannot hold -------------------------------------------------


def test_a_number_past_the_digit_limit_is_one_line(source: Path, tmp_path: Path, capsys) -> None:
    text = source.read_text()
    for name, changed in (
        ("answer.json", text.replace('"y_pred": [', '"y_pred": [' + "7" * 5000 + ", ", 1)),
        ("extra.json", text[:-1] + ', "note": ' + "9" * 5000 + "}"),  # in a key the import ignores
    ):
        path = edited(source, tmp_path / name, changed)
        stderr = refused(capsys, "import-published", str(path), "--out", str(tmp_path / "out"))
        assert f"{path}: not a file of published outputs" in stderr and "digits" in stderr
        assert "set_int_max_str_digits" not in stderr  # Python's advice is no use to the user
        assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_an_unpaired_surrogate_escape_is_one_line(source: Path, tmp_path: Path, capsys) -> None:
    text = source.read_text()
    start = text.index('"gen": ["') + len('"gen": ["')
    cases = {
        "gen.json": text[:start] + "\\ud800 " + text[start:],  # UTF-8 cannot write it into results.jsonl
        "model.json": text.replace('"model": "text-davinci-003"', '"model": "m\\udfff"', 1),  # nor into run.json
    }
    for name, changed in cases.items():
        path = edited(source, tmp_path / name, changed)
        stderr = refused(capsys, "import-published", str(path), "--out", str(tmp_path / "out"))
        assert f"{path}: " in stderr and "surrogate" in stderr
        assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


# -- file names -----------------------------------------------------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_imported_and_shown_escaped(source: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / os.fsdecode(b"outputs-\xff.json")
    path.write_bytes(source.read_bytes())
    out = tmp_path / "out"
    code, _, stderr = cli(capsys, "import-published", str(path), "--out", str(out))
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == FILES
    (shown,) = [f["path"] for f in json.loads((out / "run.json").read_text("utf-8"))["source"]["files"]]
    assert "\\udcff" in shown and shown.encode("utf-8")


def test_a_file_name_with_a_newline_keeps_the_error_on_one_line(source: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "two\nlines.json"
    path.write_text(source.read_text()[:5000])
    stderr = refused(capsys, "import-published", str(path), "--out", str(tmp_path / "out"))
    assert "two\\nlines.json" in stderr and "not a complete JSON file" in stderr
    claude = tmp_path / "claude.json"
    raw: dict[str, Any] = json.loads(source.read_text())
    raw["config"]["model"] = "claude\nv1"
    claude.write_text(json.dumps(raw))
    stderr = refused(capsys, "import-published", str(source), str(claude), "--out", str(tmp_path / "out"))
    assert "'claude\\nv1'" in stderr and "import each model into its own --out" in stderr


# -- --out ------------------------------------------------------------------------------------------------------------


def test_an_out_that_cannot_be_a_new_folder_is_refused_before_reading(source: Path, tmp_path: Path, capsys) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("kept")
    stderr = refused(capsys, "import-published", str(source), "--out", str(a_file / "sub"))
    assert f"{a_file} is a file" in stderr
    assert a_file.read_text() == "kept"
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    stderr = refused(capsys, "import-published", str(source), "--out", str(tmp_path / "loop-a"))
    assert f"{tmp_path / 'loop-a'}" in stderr and "loop" in stderr and ".import-" not in stderr
    here = tmp_path / "here"
    here.mkdir()
    cwd = Path.cwd()
    os.chdir(here)
    try:
        stderr = refused(capsys, "import-published", str(source), "--out", ".")
    finally:
        os.chdir(cwd)
    assert "current folder" in stderr
    assert here.is_dir() and list(here.iterdir()) == []
    assert leftovers(tmp_path) == []


def test_an_out_behind_a_link_fills_the_folder_it_points_to(source: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "link").symlink_to(empty)
    code, _, stderr = cli(capsys, "import-published", str(source), "--out", str(tmp_path / "link"))
    assert code == 0, stderr
    assert (tmp_path / "link").is_symlink() and {p.name for p in empty.iterdir()} == FILES
    (tmp_path / "dangling").symlink_to(tmp_path / "made")
    code, _, stderr = cli(capsys, "import-published", str(source), "--out", str(tmp_path / "dangling"))
    assert code == 0, stderr
    assert {p.name for p in (tmp_path / "made").iterdir()} == FILES
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["n" * 250, "\N{GRINNING FACE}" * 63])  # 250 and 252 bytes; 255 is the most
def test_an_out_of_the_longest_name_is_staged_beside_it(name: str, source: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / name
    code, _, stderr = cli(capsys, "import-published", str(source), "--out", str(out))
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == FILES and leftovers(tmp_path) == []


def test_an_out_filled_while_the_import_ran_is_kept(source: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "out"
    write_outputs = published.harness.write_outputs

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        out.mkdir()
        (out / "theirs.txt").write_text("another process's")
        return write_outputs(*args, **kwargs)

    monkeypatch.setattr(published.harness, "write_outputs", meanwhile)
    stderr = refused(capsys, "import-published", str(source), "--out", str(out))
    assert f"{out} already exists" in stderr
    assert [p.name for p in out.iterdir()] == ["theirs.txt"] and leftovers(tmp_path) == []


# -- a run pointed at an import -------------------------------------------------------------------------------------


def test_a_run_into_an_import_leaves_the_folder_as_it_was(source: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "imp"
    code, _, stderr = cli(capsys, "import-published", str(source), "--out", str(out))
    assert code == 0, stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    stderr = refused(capsys, "run", "--tasks", "snarks", "--limit", "1", "--out", str(out),
                     "--base-url", "http://127.0.0.1:9/v1", "--model", "m")  # fmt: skip
    assert "published outputs" in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no cache.sqlite, calls.jsonl or .lock
