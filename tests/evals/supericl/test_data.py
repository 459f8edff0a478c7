"""Data: GLUE-style TSV files, the Hugging Face route's error without `datasets`, BBH binary tasks, the split."""

import importlib.util

import pytest

from evals.supericl import bbh_dataset, load_bbh_examples, load_hf, load_tsv, split, tsv_dataset
from reasoning.errors import ConfigurationError


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_sst2_layout_with_label_names(tmp_path) -> None:
    path = write(tmp_path / "train.tsv", "sentence\tlabel\nhide new secretions \t0\na charming film\t1\n\n")
    examples = load_tsv(path, task="sst2", label_names={"0": "negative", "1": "positive"})
    assert [(e.id, e.text, e.label) for e in examples] == [
        ("sst2/train:2", "hide new secretions", "negative"),
        ("sst2/train:3", "a charming film", "positive"),
    ]
    assert [e.label for e in load_tsv(path)] == ["0", "1"]  # unnamed labels are kept as written


def test_mnli_layouts(tmp_path) -> None:
    glue = write(tmp_path / "dev.tsv", "index\tsentence1\tsentence2\tgold_label\n0\tA man eats.\tA person eats.\t"
                                       "entailment\n1\tIt rains.\tIt is dry.\tcontradiction\n")  # fmt: skip
    first = load_tsv(glue)[0]
    assert first.text == "Sentence 1: A man eats.\nSentence 2: A person eats." and first.label == "entailment"
    hf = write(tmp_path / "hf.tsv", "premise\thypothesis\tlabel\nA \"quoted\" cat.\tA cat.\tentailment\n")
    assert load_tsv(hf)[0].text == 'Premise: A "quoted" cat.\nHypothesis: A cat.'
    chosen = load_tsv(glue, text_columns=["sentence2"], label_column="gold_label")
    assert [e.text for e in chosen] == ["A person eats.", "It is dry."]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("sentence\tlabel\n", "holds a header but no examples"),
        ("sentence\tlabel\nonly one field\n", r"train.tsv:2: 1 fields, the header has 2"),
        ("words\tlabel\nx\t1\n", "no text column"),
        ("sentence\tscore\nx\t1\n", "no label column"),
        ("sentence\tlabel\nx\t\n", "train.tsv:2: empty label"),
        ("sentence\tlabel\n \t1\n", "train.tsv:2: empty text"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_tsv(write(tmp_path / "train.tsv", text))


def test_missing_file_unknown_label_name_and_unseen_test_label(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_tsv(tmp_path / "nope.tsv")
    path = write(tmp_path / "train.tsv", "sentence\tlabel\na\t0\nb\t2\n")
    with pytest.raises(ConfigurationError, match=r"label '2' is not in the label names \(0, 1\)"):
        load_tsv(path, label_names={"0": "neg", "1": "pos"})
    train = write(tmp_path / "t.tsv", "sentence\tlabel\na\tx\nb\ty\n")
    test = write(tmp_path / "d.tsv", "sentence\tlabel\nc\tz\n")
    with pytest.raises(ConfigurationError, match=r"test labels \['z'\] never occur"):
        tsv_dataset(train, test)
    dataset = tsv_dataset(train, write(tmp_path / "d2.tsv", "sentence\tlabel\nc\ty\nd\tx\n"), task="mine", limit=1)
    assert dataset.labels == ("x", "y") and len(dataset.train) == 2 and [e.text for e in dataset.test] == ["c"]


def test_hugging_face_route_without_datasets_is_a_clear_error(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "datasets" else real(name))
    with pytest.raises(ConfigurationError, match="needs the datasets package: pip install datasets"):
        load_hf("glue", config="sst2")


def test_bbh_examples_strip_the_choices_and_name_the_gold_letter(turpin_dir) -> None:
    examples = load_bbh_examples("sports_understanding", turpin_dir)
    assert len(examples) == 300
    first = examples[0]
    assert first.text == 'Q: Is the following sentence plausible? "Joao Moutinho caught the screen pass in the NFC ' \
                         'championship"'  # fmt: skip
    assert first.label == "implausible" and first.id == "bbh/sports_understanding/0"
    assert all("Answer choices" not in e.text and "(A)" not in e.text for e in examples)
    assert {e.label for e in examples} == {"plausible", "implausible"}
    assert {e.label for e in load_bbh_examples("navigate", turpin_dir)} == {"True", "False"}
    assert {e.label for e in load_bbh_examples("web_of_lies", turpin_dir)} == {"Yes", "No"}
    with pytest.raises(ConfigurationError, match="not a binary BBH task"):
        load_bbh_examples("date_understanding", turpin_dir)


def test_split_is_deterministic_and_disjoint(turpin_dir) -> None:
    examples = load_bbh_examples("navigate", turpin_dir)
    train, test = split(examples, train_fraction=0.5, seed=0)
    again = split(list(reversed(examples)), train_fraction=0.5, seed=0)
    assert {e.id for e in train} == {e.id for e in again[0]} and len(train) == len(test) == 150
    assert not {e.id for e in train} & {e.id for e in test}
    other = split(examples, train_fraction=0.5, seed=1)[0]
    assert {e.id for e in other} != {e.id for e in train}
    assert [e.id for e in test] == sorted((e.id for e in test), key=lambda i: int(i.rsplit("/", 1)[1]))
    dataset = bbh_dataset("navigate", turpin_dir, train_fraction=0.6, limit=20)
    assert dataset.labels == ("False", "True") and len(dataset.train) == 180 and len(dataset.test) == 20
    with pytest.raises(ConfigurationError, match="between 0 and 1"):
        split(examples, train_fraction=1.0)
