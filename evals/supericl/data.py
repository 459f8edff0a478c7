"""Classification data for SuperICL: GLUE-style TSV files by path, Hugging Face `datasets` (lazy import), and the
binary BIG-Bench-Hard tasks of the Turpin et al. data (the offline demo and the tests). Nothing is copied into the
repository; files are read where they lie.

- TSV (GLUE layout): a header row, tab-separated, unquoted. The text is `sentence` (SST-2, CoLA with a header),
  `premise` + `hypothesis`, `sentence1` + `sentence2` (MNLI, RTE), `question` + `sentence` (QNLI) or `text`; the
  label is `label` or `gold_label`. Numeric labels can be named (`label_names`, e.g. {"0": "negative", "1":
  "positive"}) so the large model sees words.
- BBH binary tasks: the question without its "Answer choices:" block is the input; the gold letter's choice text
  ("plausible", "True", "Yes") is the label. The task is split deterministically (by a hash of seed and item id)
  into a train part (the plug-in's training data and the in-context examples) and a test part.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from evals.files import read_text, text_lines
from evals.turpin import load_bbh
from reasoning._words import counted
from reasoning.errors import ConfigurationError

__all__ = [
    "BBH_BINARY",
    "Dataset",
    "Example",
    "bbh_dataset",
    "hf_dataset",
    "load_bbh_examples",
    "load_hf",
    "load_tsv",
    "shuffled",
    "split",
    "tsv_dataset",
]

# The binary BBH tasks whose two answers are label words (hyperbaton and snarks answer with sentences).
BBH_BINARY = ("causal_judgment", "navigate", "sports_understanding", "web_of_lies")
_TEXT_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"), ("question", "sentence"), ("sentence",),
                 ("text",))  # fmt: skip
_LABEL_COLUMNS = ("label", "gold_label")
_TITLES = {"sentence1": "Sentence 1", "sentence2": "Sentence 2"}


class Example(BaseModel):
    """One labelled input: `text` is what the plug-in and the large model read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    task: str
    text: str
    label: str


@dataclass(frozen=True)
class Dataset:
    """A task's label set (in prompt order) and its train and test examples."""

    name: str
    labels: tuple[str, ...]
    train: tuple[Example, ...]
    test: tuple[Example, ...]


def _join(columns: Sequence[str], values: Sequence[str]) -> str:
    if len(columns) == 1:
        return values[0].strip()
    return "\n".join(f"{_TITLES.get(c, c.capitalize())}: {v.strip()}" for c, v in zip(columns, values, strict=True))


def _pick(header: Sequence[str], text_columns: Sequence[str] | None, label_column: str | None) -> tuple[list[str], str]:
    names = set(header)
    if text_columns:
        missing = [c for c in text_columns if c not in names]
        if missing:
            raise ConfigurationError(f"no column {missing[0]!r}; the header has {', '.join(header)}")
        texts = list(text_columns)
    else:
        found = next((list(cols) for cols in _TEXT_COLUMNS if names.issuperset(cols)), None)
        if found is None:
            raise ConfigurationError(f"no text column (sentence, premise/hypothesis, ...) in {', '.join(header)}")
        texts = found
    label = label_column or next((c for c in _LABEL_COLUMNS if c in names), None)
    if label is None or label not in names:
        raise ConfigurationError(f"no label column ({label_column or 'label or gold_label'}) in {', '.join(header)}")
    return texts, label


def _name(raw: str, label_names: Mapping[str, str] | None, where: str) -> str:
    value = raw.strip()
    if not value:
        raise ConfigurationError(f"{where}: empty label")
    if label_names:
        if value not in label_names:
            raise ConfigurationError(f"{where}: label {value!r} is not in the label names ({', '.join(label_names)})")
        return label_names[value]
    return value


def load_tsv(
    path: str | Path,
    *,
    task: str | None = None,
    label_names: Mapping[str, str] | None = None,
    text_columns: Sequence[str] | None = None,
    label_column: str | None = None,
) -> list[Example]:
    """Examples from a GLUE-style TSV file (see the module docstring). An empty file, a missing column or a row
    with the wrong number of fields is a `ConfigurationError` naming the file (and line)."""
    file = Path(path)
    lines = text_lines(read_text(file, "data file"))
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        rows = list(reader)
    except csv.Error as exc:  # a field over the csv module's size limit (128 KiB)
        raise ConfigurationError(f"{file}:{reader.line_num}: {exc}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ConfigurationError(f"{file} is empty: expected a header row and one example a line")
    header = [c.strip() for c in rows[0]]
    texts, label = _pick(header, text_columns, label_column)
    where = [header.index(c) for c in texts]
    at = header.index(label)
    name = task or file.stem
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ConfigurationError(f"{file}:{number}: {len(row)} fields, the header has {len(header)}")
        text = _join(texts, [row[i] for i in where])
        if not text.strip():
            raise ConfigurationError(f"{file}:{number}: empty text")
        out.append(Example(id=f"{name}/{file.stem}:{number}", task=name, text=text,
                           label=_name(row[at], label_names, f"{file}:{number}")))  # fmt: skip
    if not out:
        raise ConfigurationError(f"{file} holds a header but no examples")
    return out


def load_hf(
    name: str,
    *,
    config: str | None = None,
    split: str = "train",
    text_columns: Sequence[str] | None = None,
    label_column: str | None = None,
    limit: int | None = None,
) -> list[Example]:
    """Examples from the Hugging Face hub (needs `datasets` and internet), e.g. `load_hf("glue", config="sst2",
    split="validation")`. Class-label columns are named by the dataset's own label names."""
    if importlib.util.find_spec("datasets") is None:
        raise ConfigurationError("loading from the Hugging Face hub needs the datasets package: pip install datasets")
    datasets = importlib.import_module("datasets")
    try:
        data = datasets.load_dataset(name, config, split=split)
    except Exception as exc:
        raise ConfigurationError(f"could not load {name}/{config or ''} split {split}: {exc}") from None
    texts, label = _pick(list(data.column_names), text_columns, label_column)
    names = getattr(data.features.get(label), "names", None)
    task = f"{name}-{config}" if config else name
    out = []
    for row, entry in enumerate(data):
        if limit is not None and row >= limit:
            break
        value = entry[label]
        if isinstance(value, int) and value < 0:
            continue  # GLUE test splits: label -1, no gold
        text = names[value] if names and isinstance(value, int) else str(value)
        out.append(Example(id=f"{task}/{split}/{row}", task=task, text=_join(texts, [str(entry[c]) for c in texts]),
                           label=text))  # fmt: skip
    if not out:
        raise ConfigurationError(f"{name}/{config or ''} split {split} holds no labelled examples")
    return out


def load_bbh_examples(task: str, data_dir: str | Path | None = None) -> list[Example]:
    """A binary BBH task's items as examples: the question without its choices, and the gold choice as label."""
    if task not in BBH_BINARY:
        raise ConfigurationError(f"{task!r} is not a binary BBH task with label words; choose from "
                                 f"{', '.join(BBH_BINARY)}")  # fmt: skip
    items = load_bbh(task, data_dir)
    if not items:
        raise ConfigurationError(f"the BBH task {task} holds no items")
    labels = {c.strip() for item in items for c in item.choices}
    if len(labels) != 2:
        raise ConfigurationError(f"BBH task {task} has {len(labels)} answer words, not 2: {sorted(labels)}")
    return [Example(id=item.id, task=task, text=item.question.strip(), label=item.choices[item.gold].strip())
            for item in items]  # fmt: skip


def _rank(seed: int, ident: str) -> bytes:
    return hashlib.sha256(f"{seed}:{ident}".encode()).digest()


def shuffled(examples: Sequence[Example], seed: int) -> list[Example]:
    """The examples in a seeded order fixed by their ids (independent of the input order)."""
    return sorted(examples, key=lambda e: _rank(seed, e.id))


def split(examples: Sequence[Example], *, train_fraction: float, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """A deterministic split: examples ordered by a hash of (seed, id), the first `train_fraction` for training.
    Both parts keep the input order. The same ids and seed always give the same split."""
    if not 0.0 < train_fraction < 1.0:
        raise ConfigurationError(f"the train fraction must be between 0 and 1; got {train_fraction}")
    ranked = sorted(range(len(examples)), key=lambda i: _rank(seed, examples[i].id))
    cut = round(len(examples) * train_fraction)
    train_ids = set(ranked[:cut])
    train = [e for i, e in enumerate(examples) if i in train_ids]
    test = [e for i, e in enumerate(examples) if i not in train_ids]
    if not train or not test:
        raise ConfigurationError(f"{counted(len(examples), 'example')} cannot be split into a train and a test part")
    return train, test


def _dataset(name: str, train: Sequence[Example], test: Sequence[Example], limit: int | None) -> Dataset:
    labels = tuple(sorted({e.label for e in train}))
    if len(labels) < 2:
        raise ConfigurationError(f"{name}: the training examples hold {len(labels)} label(s); a classifier needs 2+")
    unknown = sorted({e.label for e in test} - set(labels))
    if unknown:
        raise ConfigurationError(f"{name}: test labels {unknown} never occur in the training examples")
    folded = [label.lower() for label in labels]
    if len(set(folded)) != len(folded):
        raise ConfigurationError(f"{name}: labels differ only in case: {list(labels)}")
    return Dataset(name, labels, tuple(train), tuple(test[:limit]))


def bbh_dataset(
    task: str, data_dir: str | Path | None = None, *, train_fraction: float = 0.5, seed: int = 0,
    limit: int | None = None,
) -> Dataset:  # fmt: skip
    """A binary BBH task split into train and test (the first `limit` test examples, in file order)."""
    train, test = split(load_bbh_examples(task, data_dir), train_fraction=train_fraction, seed=seed)
    return _dataset(task, train, test, limit)


def tsv_dataset(
    train_path: str | Path, test_path: str | Path, *, task: str | None = None, limit: int | None = None,
    **options: Any,
) -> Dataset:  # fmt: skip
    """Train and test examples from two TSV files (`options` as for `load_tsv`)."""
    name = task or Path(test_path).parent.name or Path(test_path).stem
    train = load_tsv(train_path, task=name, **options)
    test = load_tsv(test_path, task=name, **options)
    return _dataset(name, train, test, limit)


def hf_dataset(
    name: str, *, config: str | None = None, train_split: str = "train", test_split: str = "validation",
    limit: int | None = None, train_limit: int | None = None, **options: Any,
) -> Dataset:  # fmt: skip
    """Train and test examples from a Hugging Face dataset (`options` as for `load_hf`)."""
    train = load_hf(name, config=config, split=train_split, limit=train_limit, **options)
    test = load_hf(name, config=config, split=test_split, limit=limit, **options)
    return _dataset(train[0].task, train, test, limit)
