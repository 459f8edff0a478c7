"""`reasoning audit import-published`: the paper's own model outputs as an audit run (Turpin et al. 2023, Table 1).

The 13 shared GPT-3.5 zero-shot suggested-answer files must give the paper's cells; files of the other layouts the
original repository holds (another model, few-shot, answer-is-always-A with fewer items than the data) are made here
from them, as are the broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import reasoning.cli
from evals.audit import Entry
from evals.audit.metrics import OWN_RULE, PAPER_RULE, summarize
from evals.audit.published import import_published, read_published

TASK_FILE = "20230303-191254-{task}-text-davinci-003-biastypesuggested_answer-fewshotFalse.json"


@pytest.fixture(scope="module")
def published(turpin_dir: Path) -> Path:
    return turpin_dir / "published" / "suggested_answer"


@pytest.fixture(scope="module")
def recorded(published: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imports") / "recorded"
    import_published([published], out)
    return out


@pytest.fixture(scope="module")
def extracted(published: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imports") / "extracted"
    import_published([published], out, answers="extracted")
    return out


def summary_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text())


def pooled(summary: dict[str, Any], setting: str) -> dict[str, Any]:
    (row,) = [g for g in summary["groups"] if g["task"] == "(all)" and g["setting"] == setting]
    return row


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = reasoning.cli.main(["audit", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- the paper's figures from its own outputs ---------------------------------------------------------------------


def test_recorded_answers_give_the_papers_table_1_cells(recorded: Path) -> None:
    summary = summary_of(recorded)
    cot, direct = pooled(summary, "cot/zero-shot"), pooled(summary, "no-cot/zero-shot")
    assert cot["evaluable"] == direct["evaluable"] == 2111
    assert round(100 * cot["acc_unbiased"]["value"], 1) == 59.6
    assert round(100 * cot["acc_biased"]["value"], 1) == 23.3
    assert round(100 * direct["acc_unbiased"]["value"], 1) == 57.1
    assert round(100 * direct["acc_biased"]["value"], 1) == 39.5
    for row in (cot, direct):  # every accuracy keeps the {k, n, value, low, high} shape
        for name in ("acc_unbiased", "acc_biased"):
            assert set(row[name]) == {"k", "n", "value", "low", "high"}
            assert row[name]["low"] < row[name]["value"] < row[name]["high"]
    assert cot["rule"] == OWN_RULE and direct["rule"] == PAPER_RULE
    assert summary["records"]["pairs"] == 2 * 3299
    imported = summary["imported"]
    assert imported["answers"] == "recorded" and len(imported["files"]) == 13 and not imported["partial"]
    assert imported["disagreements"]["compared"] == 0
    cells = {row["setting"]: row for row in imported["paper"]}
    assert cells["cot/zero-shot"]["paper"] == [0.596, 0.233]
    assert cells["no-cot/zero-shot"]["paper"] == [0.571, 0.395]


def test_the_report_puts_our_figures_next_to_the_papers(recorded: Path) -> None:
    html = (recorded / "report.html").read_text()
    assert 'id="paper-table"' in html
    assert "59.6% → 23.3%" in html and "57.1% → 39.5%" in html
    assert "Turpin et al. 2023, Table 1" in html  # the rule each row uses


def test_report_rebuilds_an_import_and_a_run_cannot_add_to_it(recorded: Path, tmp_path: Path, capsys) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(recorded, folder)
    before = summary_of(folder)
    code, stdout, stderr = cli(capsys, "report", str(folder))
    assert code == 0, stderr
    assert summary_of(folder) == before
    assert "paper Table 1 59.6% -> 23.3%" in stdout
    lines = (folder / "results.jsonl").read_bytes()
    code, _, stderr = cli(capsys, "run", "--tasks", "snarks", "--limit", "1", "--out", str(folder))
    assert code == 2 and "published outputs" in stderr and stderr.count("\n") == 1
    assert (folder / "results.jsonl").read_bytes() == lines


def test_our_reader_agrees_with_the_published_answers(extracted: Path) -> None:
    d = summary_of(extracted)["imported"]["disagreements"]
    assert d["compared"] == 2 * 3299  # every chain-of-thought completion, both contexts
    assert d["agreement"] >= 0.999
    assert d["other_letter"] == 0  # never a different letter: only ours unparsed where the paper's code read one
    assert d["count"] == len(d["items"]) > 0
    for row in d["items"]:
        assert row["ours"] == -1 and row["published"] >= 0 and row["reason"]
    results = [json.loads(line) for line in (extracted / "results.jsonl").read_text().splitlines()]
    disagreeing = {row["key"] for row in d["items"]}
    for raw in results:
        for side in ("unbiased", "biased"):
            twin = raw[side]
            if raw["setting"].startswith("cot"):
                assert twin["recorded"] is not None
                if raw["key"] not in disagreeing:
                    assert (twin["answer"] if twin["answer"] is not None else -1) == twin["recorded"]
            else:
                assert twin["recorded"] is None  # direct answers are kept as published


def test_extracted_answers_drop_the_unread_items_from_both_settings(extracted: Path) -> None:
    summary = summary_of(extracted)
    cot, direct = pooled(summary, "cot/zero-shot"), pooled(summary, "no-cot/zero-shot")
    assert cot["evaluable"] == direct["evaluable"] < 2111
    dropped = sum(g["dropped_for_cot"] for g in summary["groups"] if g["task"] == "(all)")
    assert dropped == 2111 - direct["evaluable"]


def test_cli_prints_the_comparison_and_the_disagreements(published: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "imp"
    code, stdout, stderr = cli(capsys, "import-published", str(published / TASK_FILE.format(task="snarks")),
                               "--out", str(out), "--answers", "extracted")  # fmt: skip
    assert code == 0, stderr
    assert "imported from 1 file of published outputs, answers extracted" in stdout
    assert (
        "our reader disagrees with the published answer on 1 of 302 CoT completions (0 read as another letter)"
        in stdout
    )
    assert f"report: {out / 'report.html'}" in stderr
    assert {p.name for p in out.iterdir()} == {"run.json", "results.jsonl", "summary.json", "report.html"}


# -- the other layouts: another model, few-shot, answer-is-always-A ------------------------------------------------


def rewrite(source: Path, target: Path, change: Any) -> Path:
    raw = json.loads(source.read_text())
    change(raw)
    target.write_text(json.dumps(raw))
    return target


def always_a(keep: int) -> Any:
    def change(raw: dict[str, Any]) -> None:
        raw["config"].update(bias_type="ans_always_a", few_shot=True, model="claude-v1")
        for ctx in raw["outputs"]:
            del ctx["random_ans_idx"]
            for key in list(ctx):
                ctx[key] = ctx[key][:keep]

    return change


def test_a_file_with_fewer_items_is_matched_to_the_first_rows(published: Path, tmp_path: Path, capsys) -> None:
    source = published / TASK_FILE.format(task="navigate")
    path = rewrite(source, tmp_path / "always-a.json", always_a(120))
    out = tmp_path / "imp"
    code, stdout, stderr = cli(capsys, "import-published", str(path), "--out", str(out))
    assert code == 0, stderr
    assert "holds 120 of the 300 items of navigate (matched to its first 120 rows)" in stdout
    summary = summary_of(out)
    assert summary["model"] == "claude-v1"
    assert [f["items"] for f in summary["imported"]["partial"]] == [120]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["setting"] for r in records} == {"cot/few-shot", "no-cot/few-shot"}
    assert {r["bias"] for r in records} == {"answer-is-always-a"}
    assert {r["item_id"] for r in records} == {f"bbh/navigate/{i}" for i in range(120)}
    assert all(r["target"] == 0 and r["points_to_wrong"] == (r["gold"] != 0) for r in records)
    raw = json.loads(source.read_text())
    expected = sum(raw["outputs"][1]["y_true"][i] != 0 for i in range(120))
    assert pooled(summary, "cot/few-shot")["evaluable"] == expected
    assert "120 of the 300 items of navigate, matched to its first 120 rows" in (out / "report.html").read_text()


def test_unread_and_out_of_choice_answers_count_as_the_paper_counts_them(published: Path, tmp_path: Path) -> None:
    source = published / TASK_FILE.format(task="web_of_lies")
    raw = json.loads(source.read_text())
    biased, unbiased = raw["outputs"]
    wrong = [i for i in range(len(unbiased["y_true"])) if unbiased["y_true"][i] != biased["random_ans_idx"][i]]
    unread, outside = wrong[0], wrong[1]

    def change(r: dict[str, Any]) -> None:
        r["outputs"][0]["y_pred"][unread] = -1  # the paper's code could not read the biased CoT answer
        r["outputs"][1]["y_pred"][outside] = 23  # "(X)": a letter that is no choice
        r["outputs"][1]["y_pred_prior"][outside] = 23

    out = tmp_path / "imp"
    import_published([rewrite(source, tmp_path / "f.json", change)], out)
    entries = [Entry.parse(json.loads(line)) for line in (out / "results.jsonl").read_text().splitlines()]
    by_key = {e.key: e.record for e in entries}
    cot = by_key[f"bbh/web_of_lies/{unread}|suggested-answer|cot/zero-shot"]
    assert cot.biased.answer is None and "records no answer" in (cot.biased.unparsed or "")
    far = by_key[f"bbh/web_of_lies/{outside}|suggested-answer|cot/zero-shot"]
    assert far.unbiased.answer == 23
    summary = summary_of(out)
    assert summary["imported"]["outside_choices"] == 2
    direct = pooled(summary, "no-cot/zero-shot")
    assert direct["evaluable"] == len(wrong) - 1 and direct["dropped_for_cot"] == 1  # the paper's rule
    # by hand, as the paper's bbh_analysis.py counts: the out-of-choice answers are wrong
    kept = [i for i in wrong if i != unread]
    right = sum(unbiased["y_pred_prior"][i] == unbiased["y_true"][i] for i in kept if i != outside)
    assert direct["acc_unbiased"]["k"] == right


def test_the_paper_rule_applies_only_where_the_item_was_asked_with_cot(recorded: Path) -> None:
    entries = [Entry.parse(json.loads(line)) for line in (recorded / "results.jsonl").read_text().splitlines()]
    direct_only = [e.record for e in entries if e.record.setting.startswith("no-cot")]
    rows = summarize(direct_only, resamples=10)
    assert {g.rule for g in rows} == {OWN_RULE}
    assert all(g.dropped_for_cot == 0 for g in rows)


# -- bad input: one line naming the file, nothing in --out ---------------------------------------------------------


def truncated(path: Path, target: Path) -> Path:
    target.write_bytes(path.read_bytes()[:5000])
    return target


BAD: dict[str, tuple[Any, str]] = {
    "another layout": (
        lambda r: r.pop("outputs"),
        "y_true); outputs: field required",
    ),
    "a list": (lambda r: r.clear() or None, "not a file of published outputs"),
    "a task not in the data": (
        lambda r: r["config"].update(task="geometric_shapes"),
        "task 'geometric_shapes' is not one of the 13 BBH tasks",
    ),
    "more items than the data": (
        lambda r: [c[k].extend(c[k][:5]) for c in r["outputs"] for k in list(c) if isinstance(c[k], list)],
        "holds 156 items, but the data's snarks has 151",
    ),
    "items out of order": (lambda r: [c["y_true"].reverse() for c in r["outputs"]], "not the items of snarks in order"),
    "a suggestion that does not fit": (
        lambda r: r["outputs"][1]["random_ans_idx"].__setitem__(0, 5),
        "random_ans_idx 5 in the unbiased context",
    ),
    "lists of other lengths": (lambda r: r["outputs"][0]["gen"].pop(), "the biased context's lists differ in length"),
    "an answer that is no letter": (lambda r: r["outputs"][1]["y_pred"].__setitem__(3, 40), "y_pred 40"),
    "a string for a number": (lambda r: r["outputs"][1]["y_pred"].__setitem__(3, "1"), "y_pred.3"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_get_one_line_naming_them(case: str, published: Path, tmp_path: Path, capsys) -> None:
    change, message = BAD[case]
    source = published / TASK_FILE.format(task="snarks")
    if case == "a list":
        path = tmp_path / "bad.json"
        path.write_text("[1, 2]")
    else:
        path = rewrite(source, tmp_path / "bad.json", change)
    out = tmp_path / "out"
    code, stdout, stderr = cli(capsys, "import-published", str(source), str(path), "--out", str(out))
    assert code == 2, stdout
    assert stderr.count("\n") == 1 and str(path) in stderr and message in stderr, stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left


def test_a_truncated_file_and_other_mistakes_are_refused(published: Path, tmp_path: Path, capsys) -> None:
    source = published / TASK_FILE.format(task="snarks")
    out = tmp_path / "out"
    cut = truncated(source, tmp_path / "cut.json")
    cases = [
        ((str(cut),), f"{cut}: not a complete JSON file (cut short?)"),
        ((str(tmp_path / "missing.json"),), "no such file or folder"),
        (
            (
                str(source),
                str(rewrite(source, tmp_path / "claude.json", lambda r: r["config"].update(model="claude-v1"))),
            ),
            "import each model into its own --out (--model NAME picks one)",
        ),
        (
            (str(source), str(rewrite(source, tmp_path / "again.json", lambda r: None))),
            "holds the same model, task, bias and shots",
        ),
    ]
    for paths, message in cases:
        code, _, stderr = cli(capsys, "import-published", *paths, "--out", str(out))
        assert code == 2 and message in stderr and stderr.count("\n") == 1, stderr
        assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = cli(capsys, "import-published", str(empty), "--out", str(out))
    assert code == 2 and "holds no .json file" in stderr
    # --model picks one model's files from a folder that holds two
    code, _, stderr = cli(capsys, "import-published", str(source), str(tmp_path / "claude.json"), "--model",
                               "text-davinci-003", "--out", str(out))  # fmt: skip
    assert code == 0, stderr
    assert summary_of(out)["model"] == "text-davinci-003"
    # a folder that already holds files is never written into
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, stderr = cli(capsys, "import-published", str(source), "--out", str(out), "--answers", "extracted")
    assert code == 2 and "already exists" in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_read_published_needs_the_data(published: Path, tmp_path: Path) -> None:
    from reasoning.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="not at"):
        read_published([published], tmp_path)


def test_the_digest_is_the_files_and_the_data_folder_is_named(recorded: Path, published: Path) -> None:
    import hashlib

    info = json.loads((recorded / "run.json").read_text())
    first = info["source"]["files"][0]
    assert first["sha256"] == hashlib.sha256(Path(first["path"]).read_bytes()).hexdigest()
    assert info["selection"]["data_dir"] == str(published.parents[1])


def test_flipped_examples_are_spread_over_every_group(published: Path, tmp_path: Path) -> None:
    from evals.audit.report import SHOW_AT_MOST

    out = tmp_path / "imp"
    import_published([published], out)
    html = (out / "report.html").read_text()
    shown = html.count('<div class="flip">')
    assert shown == SHOW_AT_MOST
    for task in ("causal_judgment", "web_of_lies"):  # the first and the last task in key order
        for setting in ("cot/zero-shot", "no-cot/zero-shot"):
            assert f"bbh/{task}/" in html and f"suggested-answer · {setting}</h3>" in html
