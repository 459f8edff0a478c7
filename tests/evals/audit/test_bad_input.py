"""Bad input for the audit: hostile completions for the answer extractor (fuzzed), and malformed data files, each
refused with one line naming the file and line, never a traceback."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from evals.audit import Unparsed, extract_answer, load_bbh, load_bbq, load_jsonl
from evals.audit.extract import _statements
from reasoning.cli import main
from reasoning.errors import ConfigurationError

# The extractor's statement as one regex (as it was, and "either" or "both" before the letter): the reference
# `_statements` must agree with (it is quadratic on hostile text, so it is only run here on short strings).
REFERENCE = re.compile(
    r"best\s+answer(?:\s+to\s+the\s+question\b[^\n]*?)?\s+is\s*:?\s*(?:\*\*|__)?\s*(?:(?:either|both)\s+(?:\*\*|__)?)?"
    r"\(([A-Z])\)",
    re.IGNORECASE,
)
WORDS = ["best", "Best", "BEST", "answer", "to", "the", "question", "is", "is:", ":", "(A)", "(b)", "(C)", "(X)",
         "**", "__", "(", ")", "'", "?", "x", " ", "  ", "\n", "\t", "either", "Both", "or", "and", ",", "/",
         "."]  # fmt: skip
PHRASES = st.lists(st.sampled_from(WORDS), max_size=40).map("".join)


@given(PHRASES)
@example("So the best answer is: either (A) or (B). The best answer is both **(C)")
@example("best answer to the question 'x' is either  __(B)")
def test_statements_are_the_reference_regexs_matches(text):
    assert _statements(text) == [m.group(1) for m in REFERENCE.finditer(text)]


@given(st.one_of(PHRASES, st.text(max_size=300)), st.integers(1, 26), st.booleans())
def test_an_answer_is_a_choice_or_unparsed(text, n_choices, cot):
    answer = extract_answer(text, n_choices, cot=cot)
    assert isinstance(answer, Unparsed) or 0 <= answer < n_choices


@given(st.sampled_from("ABC"), st.sampled_from("ABC"), st.sampled_from([" or ", " and ", "/", ", ", " or either "]),
       st.text(alphabet="xyz ,'", max_size=20), st.booleans())  # fmt: skip
def test_two_choices_joined_in_one_statement_are_unparsed(first, second, joint, words, cot):
    text = f"So the best answer is: ({first}){words}{joint}({second}) and more."
    expected = Unparsed(f"names two choices: ({first}), ({second})") if first != second else "ABC".index(first)
    assert extract_answer(text, 3, cot=cot) == expected


@given(st.text(max_size=200))
def test_a_later_sentence_does_not_unseat_the_answer(tail):
    if "best" in tail.lower():
        return  # another statement
    assert extract_answer("The best answer is: (B) Paris. " + tail, 3) == 1


def hostile(tmp: Path) -> list[str]:
    planted = str(tmp / "pwned")
    return [
        f"__import__('os').system('touch {planted}')",
        f"The best answer is: ({{__import__('os').system('touch {planted}')}})",
        "best answer to the question " * 40_000,  # took half a minute per 200 kB before (a quadratic regex)
        "The best answer to the question '" + "x" * 1_000_000 + "' is: (A)",
        "best  " * 200_000 + "answer",
        "(" * 1_000_000,
        "\x00" * 1_000_000,
        "The best answer is: (Ａ)",
        "The best answer is: (\x00)",
        "9**9**9**9",
        " " * 1_000_000,  # took seconds per 20 kB before: white space backtracked between repetitions
        "B" + " " * 1_000_000 + "x",
        "The best answer is" + " " * 1_000_000 + "x",
        "The best answer is: (A)" + " or" * 300_000,
        "The best answer is: (A)" + " or (A)" * 200_000,  # one choice named many times
        "The best answer is: (A) " * 100_000,  # many statements on one line, each read to the next
        "A)" + ", " * 500_000 + "(A)",
    ]


def test_hostile_completions_are_unparsed_quickly_and_never_code(tmp_path):
    for text in hostile(tmp_path):
        for cot in (True, False):
            start = time.process_time()  # CPU seconds: a busy machine does not count, a blow-up does
            answer = extract_answer(text, 3, cot=cot)
            assert time.process_time() - start < 2.0, text[:40]
            assert isinstance(answer, Unparsed) or answer == 0
    assert extract_answer(hostile(tmp_path)[3], 3) == 0  # a very long question is still read
    assert not (tmp_path / "pwned").exists()


# -- malformed data files --------------------------------------------------------------------------------------------
GOOD = '{"question": "q?", "choices": ["a", "b"], "answer": 0}'
WITH_ID = '{"id": "q1", "question": "q?", "choices": ["a", "b"], "answer": 0}'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00garbage", r"mine.jsonl:1: not UTF-8 text \(byte 0xff\)"),
        (GOOD.encode() + b"\ncaf\xe9\n", r"mine.jsonl:2: not UTF-8 text \(byte 0xe9\)"),
        (b"[" * 100_000 + b"]" * 100_000, r"mine.jsonl:1: not valid JSON \(nested too deeply\)"),
        (b'"just a string"', r"mine.jsonl:1: each line must be a JSON object"),
        (b"null", r"mine.jsonl:1: each line must be a JSON object"),
        (b'{"question": "q?", "choices": ["a", "b"], "answer": 1.5}', r"mine.jsonl:1: 'answer' must be an integer"),
        (b'{"question": "q?", "choices": ["a", "b"], "answer": true}', r"mine.jsonl:1: 'answer' must be an integer"),
        (b'{"question": "q?", "choices": ["a", 2], "answer": 0}', r"mine.jsonl:1: 'choices' must be a list of str"),
        (b'{"question": "q?", "choices": ["a", "b"], "answer": -1}', r"mine.jsonl:1: gold -1 is out of range"),
        (b'{"question": "q?", "choices": ["a", "b"], "answer": 0, "id": [1]}', r"mine.jsonl:1: 'id' must be a str"),
        (b'{"question": "q?", "choices": ["a", "b"], "answer": 0, "task": 7}', r"mine.jsonl:1: 'task' must be a non"),
        (b'{"question": "q?", "choices": ["a", "b"], "answer": 0, "random_ans_idx": 9}', r"random_ans_idx 9 is out"),
    ],
)
def test_malformed_items_file(tmp_path, content, message):
    path = tmp_path / "mine.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=message):
        load_jsonl(path)


def test_items_file_that_is_a_folder_or_has_a_bom(tmp_path):
    with pytest.raises(ConfigurationError, match=r"items file .* is a folder, not a file"):
        load_jsonl(tmp_path)
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode() + b"\n")  # a BOM is not a JSON error
    assert len(load_jsonl(path)) == 1


def bbh_folder(tmp_path: Path, val_data: bytes) -> Path:
    folder = tmp_path / "bbh" / "snarks"
    folder.mkdir(parents=True)
    (folder / "few_shot_prompts.json").write_text(
        json.dumps({"baseline_few_shot_prompt": "b", "all_a_few_shot_prompt": "a"})
    )
    (folder / "val_data.json").write_bytes(val_data)
    return folder


@pytest.mark.parametrize(
    ("val_data", "message"),
    [
        (b"", r"val_data.json is not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"val_data.json:1: not UTF-8 text"),
        (b"[" * 100_000, r"val_data.json is not valid JSON: nested too deeply"),
        (b'{"data": 5}', r"val_data.json: expected an object with a 'data' list"),
        (b'{"data": [5]}', r"val_data.json, item 0: "),
        (b'{"data": [{"parsed_inputs": 5, "multiple_choice_scores": [0, 1]}]}', r"val_data.json, item 0: "),
        (b'{"data": [{"multiple_choice_scores": "ab"}]}', r"val_data.json, item 0: "),
    ],
)
def test_malformed_bbh_file(tmp_path, val_data, message):
    bbh_folder(tmp_path, val_data)
    with pytest.raises(ConfigurationError, match=message):
        load_bbh("snarks", tmp_path)


def test_bbq_row_with_an_infinite_target_is_refused(tmp_path):
    folder = tmp_path / "bbq"
    folder.mkdir()
    (folder / "few_shot_prompts.json").write_text(
        json.dumps({"few_shot_prompt": "b", "few_shot_prompt_explicit_anti": "a"})
    )
    row = {"target_loc": float("inf"), "weak_evidence": ["x", "y"], "context": "c", "unk_idx": 2, "category": "Age",
           "question_polarity": "neg", "example_id": 1, "question": "q", "ans0": "a", "ans1": "b", "ans2": "c",
           "label": 2}  # fmt: skip
    (folder / "data.json").write_text(json.dumps([row]))  # writes Infinity, which json reads back
    with pytest.raises(ConfigurationError, match=r"data.json, item 0: cannot convert float infinity"):
        load_bbq(tmp_path)


# -- the same through the command line -------------------------------------------------------------------------------
def run(capsys, tmp_path, *args: str) -> tuple[int, str]:
    code = main(["audit", "run", "--out", str(tmp_path / "run"), "--base-url", "http://127.0.0.1:9/v1", "--model",
                 "m", *args])  # fmt: skip
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "holds no items"),
        (bytes(range(128, 256)) * 4, "bad.jsonl:1: not UTF-8 text (byte 0x80)"),
        (GOOD.encode() + b"\n" + b"[" * 50_000, r"bad.jsonl:2: not valid JSON (nested too deeply)"),
        (b'{"choices": ["a", "b"], "answer": 0}', "bad.jsonl:1: missing field 'question'"),
        (f"{WITH_ID}\n{WITH_ID}".encode(), "bad.jsonl:2: duplicate id 'bad/q1' (first on line 1)"),
    ],
)
def test_cli_refuses_a_malformed_items_file_in_one_line(capsys, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    code, output = run(capsys, tmp_path, "--items", str(path))
    assert code == 2 and "Traceback" not in output
    assert output.strip().count("\n") == 0 and output.startswith("reasoning: error: ")
    assert message in output


def test_cli_refuses_a_folder_as_items_or_as_data(capsys, tmp_path):
    code, output = run(capsys, tmp_path, "--items", str(tmp_path))
    assert code == 2 and "is a folder, not a file" in output and "Traceback" not in output
    (tmp_path / "data").mkdir()
    code, output = run(capsys, tmp_path, "--tasks", "navigate", "--data", str(tmp_path / "data"))
    assert code == 2 and "audit data file not found" in output and "few_shot_prompts.json" in output
