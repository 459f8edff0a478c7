"""Loading the creative-writing tasks: the paper's 100 lines by row, a user's file, and mistakes in one line."""

import pytest

from evals.text.data import load_tasks, parse_range
from reasoning.errors import ConfigurationError


def test_the_papers_tasks(monkeypatch):
    tasks = load_tasks(rows=range(0, 100))
    assert [t.idx for t in tasks] == list(range(100))
    assert tasks[0].text.startswith("It isn't difficult to do a handstand") and not tasks[0].text.endswith("\n")


def test_a_users_file_keeps_row_numbers_and_skips_blank_lines(tmp_path):
    path = tmp_path / "tasks.txt"
    path.write_text("A. B. C. D.\n\nE. F. G. H.\n")
    assert [(t.idx, t.text) for t in load_tasks(file=path)] == [(0, "A. B. C. D."), (2, "E. F. G. H.")]
    with pytest.raises(ConfigurationError, match=r"--range 1-5: .* has rows 0-2 \(3 lines\)"):
        load_tasks(file=path, rows=range(1, 6))
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(ConfigurationError, match="holds no tasks"):
        load_tasks(file=tmp_path / "empty.txt")
    with pytest.raises(ConfigurationError, match="not found"):
        load_tasks(file=tmp_path / "missing.txt")


@pytest.mark.parametrize(("text", "rows"), [("0-99", range(100)), ("5", range(5, 6)), (" 3-4 ", range(3, 5))])
def test_parse_range(text, rows):
    assert parse_range(text) == rows


@pytest.mark.parametrize(("text", "message"), [("a-b", "START-END"), ("5-2", "after end"), ("-3", "rows start at 0"),
                                               ("4-", "START-END")])  # fmt: skip
def test_parse_range_mistakes(text, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_range(text)
