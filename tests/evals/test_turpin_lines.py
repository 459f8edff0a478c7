"""`evals.turpin.load_jsonl` cuts a file into lines at "\n" only: a JSON line may hold U+2028, U+2029 or U+0085
unescaped (valid JSON, as `json.dumps(..., ensure_ascii=False)` writes them; `str.splitlines` cut there), and it is
one item whose text keeps them, its line numbers the file's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.turpin import load_jsonl
from reasoning.errors import ConfigurationError


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_a_line_separator_inside_a_json_string_is_text(tmp_path: Path, separator: str) -> None:
    rows = [{"id": "a", "question": f"one{separator}two", "choices": [f"x{separator}y", "z"], "answer": 0},
            {"id": "b", "question": "plain", "choices": ["x", "y"], "answer": 1}]  # fmt: skip
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    items = load_jsonl(path)
    assert [i.id for i in items] == ["mine/a", "mine/b"]
    assert items[0].question == f"one{separator}two" and items[0].choices == (f"x{separator}y", "z")


def test_line_numbers_are_the_file_s_after_such_a_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    good = json.dumps({"question": "a\u2028b", "choices": ["x", "y"], "answer": 0}, ensure_ascii=False)
    path.write_text(f"{good}\n{{broken\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"mine\.jsonl:2: not valid JSON"):
        load_jsonl(path)
