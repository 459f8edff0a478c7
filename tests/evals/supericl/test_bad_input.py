"""Bad input for SuperICL: hostile completions for the label parser (fuzzed), and malformed TSV files, each refused
with one line naming the file and line, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.supericl import load_tsv
from prompts.supericl import parse_label, unparsed_reason
from reasoning.cli import main
from reasoning.errors import ConfigurationError

LABEL_SETS = [("plausible", "implausible"), ("entailment", "not entailment"), ("Yes", "No"), ("0", "1"),
              ("positive", "negative", "neutral")]  # fmt: skip
DECORATIONS = ["", " ", "**", "'", '"', "(", ")", ".", "!", ":", ";", "\n", "\t", "`", "_", " - why", ", since"]


@given(st.sampled_from(LABEL_SETS), st.text(max_size=300))
def test_a_parsed_label_is_one_of_the_labels(labels, text):
    found = parse_label(text, labels)
    assert found is None or found in labels
    if found is None:
        assert unparsed_reason(text, labels)


@given(st.sampled_from(LABEL_SETS), st.data())
def test_a_label_however_decorated_is_read_as_itself(labels, data):
    label = data.draw(st.sampled_from(labels))
    left, right = data.draw(st.sampled_from(["", "**", "'", '"', "(", "`"])), data.draw(st.sampled_from(DECORATIONS))
    case = data.draw(st.sampled_from([str.lower, str.upper, str.title, str]))
    text = f"{left}{case(label)}{right}"
    assert parse_label(text, labels) == label, text  # "not entailment" is not read as a shorter label


@given(st.sampled_from(LABEL_SETS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12))
def test_a_word_that_is_no_label_is_not_read_as_one(labels, word):
    if word in {label.lower() for label in labels}:
        return
    assert parse_label(word, labels) is None  # also a word that starts with a label: "yesterday", "noon"
    if word not in ("plausible", "implausible"):
        assert parse_label(f"{word} plausible", ("plausible", "implausible")) is None  # the label comes first


def test_hostile_completions_are_refused_quickly_and_never_code(tmp_path):
    planted = tmp_path / "pwned"
    labels = ("plausible", "implausible")
    code = f"__import__('os').system('touch {planted}')"
    for text in [code, f"plausible{{{code}}}", "plausible" * 200_000, " " * 1_000_000 + "x",
                 "*" * 1_000_000 + "plausible", "\x00" * 1_000_000, "ｐｌａｕｓｉｂｌｅ", "pla\x00usible",
                 "implausible" + "\n" * 1_000_000]:  # fmt: skip
        start = time.process_time()  # CPU seconds: a busy machine does not count, a blow-up does
        found = parse_label(text, labels)
        unparsed_reason(text, labels)
        assert time.process_time() - start < 2.0, text[:40]
        assert found in (None, *labels)
    assert parse_label("*" * 1_000_000 + "plausible", labels) == "plausible"
    assert not planted.exists()


@given(st.sampled_from(LABEL_SETS), st.data())
def test_two_labels_joined_on_the_first_line_are_no_answer(labels, data):
    first, second = data.draw(st.permutations(labels))[:2]
    joint = data.draw(st.sampled_from([" or ", " and ", "/", ", ", " or maybe ", " & "]))
    end = data.draw(st.sampled_from(["", ".", "?", " -- hard to say", "\nmore"]))
    text = f"{first}{joint}{second}{end}"
    assert parse_label(text, labels) is None, text
    assert unparsed_reason(text, labels) == f"names two choices: {first}, {second}"


def test_many_joined_labels_are_read_quickly():
    labels = ("plausible", "implausible")
    for text, want in [("plausible" + " or plausible" * 200_000, "plausible"),
                       ("plausible" + ", " * 500_000 + "implausible", None),
                       ("plausible" + " or" * 300_000, "plausible"),
                       ("plausible " + "**" * 500_000, "plausible")]:  # fmt: skip
        start = time.process_time()  # CPU seconds: a busy machine does not count, a blow-up does
        assert parse_label(text, labels) == want
        unparsed_reason(text, labels)
        assert time.process_time() - start < 2.0, text[:40]


@pytest.mark.parametrize("run", ['"', "'", "`", "(", "[", "*", '("', "[`*"])
def test_a_run_of_quotes_or_brackets_after_a_label_is_read_once(run: str) -> None:
    # Each place in the run used to rescan the rest of it for a label: 40 000 quotes took 4 s, quadratic.
    labels = ("plausible", "implausible")
    for text, want in [(f"plausible or {run * 100_000}", "plausible"),
                       (f"plausible or {run * 100_000}implausible", None),
                       (f"plausible, {run * 100_000}x", "plausible")]:  # fmt: skip
        start = time.process_time()  # CPU seconds: a busy machine does not count, a blow-up does
        assert parse_label(text, labels) == want, text[:40]
        unparsed_reason(text, labels)
        assert time.process_time() - start < 2.0, text[:40]


async def test_a_model_that_names_both_labels_is_counted_unparsed(tmp_path):
    import io

    from evals.supericl import Options, prepare, run_supericl
    from evals.supericl.runner import Progress, ResultsFile
    from reasoning import Engine, ResponseCache, ScriptedModel

    from .conftest import toy_dataset, toy_plugin

    dataset, plugin, options = toy_dataset(), toy_plugin(), Options(shots=2)
    shots, _ = await prepare(dataset, plugin, options)
    results, progress = ResultsFile(tmp_path / "results.jsonl"), Progress(12, io.StringIO())
    async with Engine(ScriptedModel(lambda request, i: " yes or no"), cache=ResponseCache()) as engine:
        records = await run_supericl([(dataset, plugin, shots)], engine, results, options, methods=("icl", "supericl"),
                                     progress=progress)  # fmt: skip
    assert len(records) == 12
    assert {(r.outcome, r.answer, r.reason) for r in records} == {("unparsed", None, "names two choices: yes, no")}


# -- malformed TSV files -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff", r"train.tsv:1: not UTF-8 text \(byte 0x89\)"),
        (b"sentence\tlabel\ncaf\xe9\t1\n", r"train.tsv:2: not UTF-8 text \(byte 0xe9\)"),
        (b"sentence\tlabel\n" + b"x" * 200_000 + b"\t1\n", r"train.tsv:2: field larger than field limit"),
        (b"sentence\tlabel\na\tb\tc\n", r"train.tsv:2: 3 fields, the header has 2"),
        (b"\t\t\n", "is empty"),
    ],
)
def test_malformed_tsv(tmp_path, content, message):
    path = tmp_path / "train.tsv"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=message):
        load_tsv(path)


def test_tsv_that_is_a_folder(tmp_path):
    with pytest.raises(ConfigurationError, match=r"data file .* is a folder, not a file"):
        load_tsv(tmp_path)


# -- the same through the command line -------------------------------------------------------------------------------
GOOD = b"sentence\tlabel\na fine film\tpositive\na dull film\tnegative\n"


def run(capsys, tmp_path: Path, *args: str) -> tuple[int, str]:
    code = main(["supericl", "run", "--out", str(tmp_path / "run"), "--base-url", "http://127.0.0.1:9/v1",
                 "--model", "m", *args])  # fmt: skip
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (b"", "train.tsv is empty"),
        (bytes(range(128, 256)), "train.tsv:1: not UTF-8 text (byte 0x80)"),
        (b"text\tgold\nx\ty\n", "no label column (label or gold_label) in text, gold"),
        (b"sentence\tlabel\nonly one field\n", "train.tsv:2: 1 fields, the header has 2"),
        (b"sentence\tlabel\na\tpositive\nb\tpositive\n", "the training examples hold 1 label(s)"),
        (b"sentence\tlabel\na\tpositive\nb\tPositive\nc\tnegative\n", "labels differ only in case"),
    ],
)
def test_cli_refuses_a_malformed_data_file_in_one_line(capsys, tmp_path, train, message):
    (tmp_path / "train.tsv").write_bytes(train)
    (tmp_path / "test.tsv").write_bytes(GOOD)
    code, output = run(capsys, tmp_path, "--train-file", str(tmp_path / "train.tsv"), "--test-file",
                       str(tmp_path / "test.tsv"))  # fmt: skip
    assert code == 2 and "Traceback" not in output
    assert output.strip().count("\n") == 0 and output.startswith("reasoning: error: ")
    assert message in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--train-file", "{folder}", "--test-file", "{good}"], "is a folder, not a file"),
        (["--train-file", "{good}", "--test-file", "{missing}"], "data file not found"),
        (["--train-file", "{good}"], "give both --train-file and --test-file"),
        (["--train-file", "{good}", "--test-file", "{good}", "--label-names", "0"], "--label-names is VALUE=NAME"),
        (["--train-file", "{good}", "--test-file", "{good}", "--methods", "magic"], "unknown method 'magic'"),
        (["--train-file", "{good}", "--test-file", "{good}", "--text-columns", "nope"], "no column 'nope'"),
        (["--train-file", "{good}", "--test-file", "{good}", "--plugin-file", "{missing}"], "not found"),
        (["--train-file", "{good}", "--test-file", "{good}", "--plugin-file", "{good}"], "is not a pickled"),
        (["--tasks", "nope"], "'nope' is not a binary BBH task"),
        (["--shots", "-1"], "--shots must be 0 or more"),
        (["--threshold", "nan"], "--threshold between 0 and 1"),
        (["--data", "{folder}"], "audit data file not found"),
    ],
)
def test_cli_refuses_bad_options_in_one_line(capsys, tmp_path, args, message):
    (tmp_path / "good.tsv").write_bytes(GOOD)
    (tmp_path / "folder").mkdir()
    paths = {"good": tmp_path / "good.tsv", "folder": tmp_path / "folder", "missing": tmp_path / "missing.tsv"}
    code, output = run(capsys, tmp_path, *(a.format(**paths) for a in args))
    assert code == 2 and "Traceback" not in output
    assert output.strip().count("\n") == 0 and output.startswith("reasoning: error: ")
    assert message in output
