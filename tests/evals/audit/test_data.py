"""Loading the paper's BBH and BBQ data (as it really is), and a user's JSONL with clear errors."""

import json
from collections import Counter
from pathlib import Path

import pytest

import evals.files
from evals.audit import BBH_TASKS, Item, default_data_dir, load_bbh, load_bbq, load_jsonl
from reasoning.errors import ConfigurationError

# Items per task in the paper's val_data.json files.
BBH_SIZES = {
    "causal_judgment": 160, "date_understanding": 300, "disambiguation_qa": 228, "hyperbaton": 300,
    "logical_deduction_five_objects": 220, "movie_recommendation": 300, "navigate": 300, "ruin_names": 300,
    "snarks": 151, "sports_understanding": 300, "temporal_sequences": 300,
    "tracking_shuffled_objects_three_objects": 220, "web_of_lies": 220,
}  # fmt: skip


def test_every_bbh_task_loads_whole_and_matches_the_file(turpin_dir: Path) -> None:
    assert set(BBH_SIZES) == set(BBH_TASKS)
    for task in BBH_TASKS:
        items = load_bbh(task, turpin_dir)
        raw = json.loads((turpin_dir / "bbh" / task / "val_data.json").read_text())["data"]
        assert len(items) == len(raw) == BBH_SIZES[task]
        assert len({i.id for i in items}) == len(items)
        for row, (item, r) in enumerate(zip(items, raw, strict=True)):
            assert item.id == f"bbh/{task}/{row}"
            assert item.block() == r["parsed_inputs"]  # the prompt's question part, byte for byte
            assert item.gold == r["multiple_choice_scores"].index(1)
            assert item.random_ans_idx == r["random_ans_idx"]
            assert item.targets == tuple(r["multiple_choice_targets"])
            assert len(item.choices) == len(item.targets)


def test_bbh_quirks_are_honoured(turpin_dir: Path) -> None:
    # Hyperbaton's targets are the letters of the original sentences, not the text shown as choices.
    first = load_bbh("hyperbaton", turpin_dir, limit=1)[0]
    assert first.targets == ("b", "a")
    assert first.choices[0].startswith("awful little old-fashioned") and first.gold == 0
    # Snarks keeps its choices' trailing space, as the prompt needs.
    assert load_bbh("snarks", turpin_dir, limit=1)[0].choices[1].endswith(" ")
    # The raw `idx` repeats (train and validation rows), which is why ids are rows.
    raw = json.loads((turpin_dir / "bbh" / "causal_judgment" / "val_data.json").read_text())["data"]
    assert len({r["idx"] for r in raw}) < len(raw)
    # The suggested answer is the right one on some items: those are not bias-points-to-wrong items.
    snarks = load_bbh("snarks", turpin_dir)
    assert 0 < sum(i.random_ans_idx == i.gold for i in snarks) < len(snarks)


def test_few_shot_prompts_are_the_data_s(turpin_dir: Path) -> None:
    item = load_bbh("navigate", turpin_dir, limit=1)[0]
    data = json.loads((turpin_dir / "bbh" / "navigate" / "few_shot_prompts.json").read_text())
    assert item.few_shot is not None
    assert item.few_shot.baseline == data["baseline_few_shot_prompt"]
    assert item.few_shot.all_a == data["all_a_few_shot_prompt"]


def test_bbq_loads_with_its_analysis_fields(turpin_dir: Path) -> None:
    items = load_bbq(turpin_dir)
    raw = json.loads((turpin_dir / "bbq" / "data.json").read_text())
    assert len(items) == len(raw) == 2592
    assert len({i.id for i in items}) == len(items)  # example_id alone repeats across categories
    assert Counter(i.bbq.category for i in items if i.bbq) == {c: 288 for c in Counter(r["category"] for r in raw)}
    for item, r in zip(items, raw, strict=True):
        assert item.bbq is not None
        assert item.choices == (r["ans0"], r["ans1"], r["ans2"])
        assert item.gold == r["label"] == item.bbq.unk_idx  # every context is ambiguous: "unknown" is right
        assert item.bbq.weak_evidence == tuple(r["weak_evidence"])
        assert item.random_ans_idx is None
    missing = [i for i in items if i.bbq is not None and i.bbq.target_loc is None]
    assert [i.id for i in missing] == ["bbq/Gender_identity/284"]  # the one NaN target_loc
    assert items[0].few_shot is not None and items[0].few_shot.explicit_anti is not None


def test_unknown_task_and_missing_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown BBH task 'chess'"):
        load_bbh("chess", tmp_path)
    with pytest.raises(ConfigurationError, match="not found"):
        load_bbh("snarks", tmp_path)


def test_malformed_bbh_item_names_file_and_item(tmp_path: Path) -> None:
    folder = tmp_path / "bbh" / "snarks"
    folder.mkdir(parents=True)
    (folder / "few_shot_prompts.json").write_text(
        json.dumps({"baseline_few_shot_prompt": "b", "all_a_few_shot_prompt": "a"})
    )
    good = {"parsed_inputs": "Q\n\nAnswer choices:\n(A) x\n(B) y", "multiple_choice_scores": [0, 1],
            "multiple_choice_targets": ["x", "y"], "random_ans_idx": 0}  # fmt: skip
    bad = dict(good, multiple_choice_scores=[1, 1])
    (folder / "val_data.json").write_text(json.dumps({"data": [good, bad]}))
    with pytest.raises(ConfigurationError, match=r"val_data.json, item 1: multiple_choice_scores must hold"):
        load_bbh("snarks", tmp_path)
    (folder / "val_data.json").write_text(json.dumps({"data": [dict(good, random_ans_idx=5)]}))
    with pytest.raises(ConfigurationError, match=r"item 0: random_ans_idx 5 is out of range for 2 choices"):
        load_bbh("snarks", tmp_path)


def test_default_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REASONING_SHARED_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path / "turpin"
    monkeypatch.delenv("REASONING_SHARED_DATA")
    monkeypatch.chdir(tmp_path)  # beside the checkout, not the current directory (`evals.files.shared_data_dir`)
    assert default_data_dir() == Path(evals.files.__file__).resolve().parents[2] / "shared" / "data" / "turpin"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_jsonl_items(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"id": "q1", "question": "2 + 2?", "choices": ["3", "4"], "answer": 1, "random_ans_idx": 0}',
        "",
        "# a comment",
        '{"question": "Sky?", "choices": ["blue", "green", "red"], "answer": 0, "meta": {"source": "me"}}',
    )
    first, second = load_jsonl(path)
    assert first == Item(id="mine/q1", task="mine", question="2 + 2?", choices=("3", "4"), gold=1, random_ans_idx=0)
    assert second.id == "mine/4" and second.gold == 0  # id defaults to the line number
    assert second.random_ans_idx is not None and 0 <= second.random_ans_idx < 3
    assert load_jsonl(path)[1].random_ans_idx == second.random_ans_idx  # fixed by the id, not by chance
    assert second.block() == "Sky?\n\nAnswer choices:\n(A) blue\n(B) green\n(C) red"
    assert load_jsonl(path, task="quiz")[0].id == "quiz/q1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"mine.jsonl:2: not valid JSON"),
        ("[1, 2]", r"mine.jsonl:2: each line must be a JSON object"),
        ('{"question": "q", "choices": ["a", "b"]}', r"mine.jsonl:2: missing field 'answer'"),
        ('{"question": "q", "choices": ["a", "b"], "answer": 2}', r"mine.jsonl:2: gold 2 is out of range for 2"),
        ('{"question": "q", "choices": ["a", "b"], "answer": "b"}', r"mine.jsonl:2: 'answer' must be an integer"),
        ('{"question": "q", "choices": "ab", "answer": 0}', r"mine.jsonl:2: 'choices' must be a list of strings"),
        ('{"question": "q", "choices": ["a"], "answer": 0}', r"mine.jsonl:2: an item needs 2 to 26 choices"),
        ('{"question": "q", "choices": ["a", " "], "answer": 0}', r"mine.jsonl:2: every choice must be a non-empty"),
        ('{"question": "", "choices": ["a", "b"], "answer": 0}', r"mine.jsonl:2: 'question' must be a non-empty"),
        ('{"question": "q", "choises": ["a", "b"], "answer": 0}', r"mine.jsonl:2: unknown field\(s\) \['choises'\]"),
        ('{"id": "q1", "question": "q", "choices": ["a", "b"], "answer": 0}', r"mine.jsonl:2: duplicate id 'mine/q1'"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, '{"id": "q1", "question": "ok?", "choices": ["y", "n"], "answer": 0}', line)
    with pytest.raises(ConfigurationError, match=message):
        load_jsonl(path)


def test_jsonl_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="items file not found"):
        load_jsonl(tmp_path / "nope.jsonl")
