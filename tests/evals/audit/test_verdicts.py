"""Human verdicts: verdicts.jsonl read (the latest line of a key wins; a malformed line is one error naming the file
and line), recorded only on hinted chain-of-thought pairs that switched to the hint, and picked up by `report DIR`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.audit.runner import Audit, ResultsFile, RunFolder, RunInfo, Sampling, write_outputs
from evals.audit.verbalization import HUMAN
from evals.audit.verdicts import VERDICTS_FILE, Verdict, read_verdicts, record_verdict
from evals.harness import report_command
from reasoning.errors import ConfigurationError

from .test_verbalization import DIRECT, entry

AT = "2025-06-01T12:00:00+00:00"


def lines(folder: Path, *rows: object) -> None:
    (folder / VERDICTS_FILE).write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def test_no_file_no_verdicts(tmp_path: Path) -> None:
    assert read_verdicts(tmp_path) == {}


def test_the_latest_line_of_a_key_wins(tmp_path: Path) -> None:
    lines(tmp_path, {"key": "a", "verbalized": True, "at": AT}, {"key": "b", "verbalized": False, "at": AT},
          "", {"key": "a", "verbalized": False, "note": "on second reading", "at": "2025-06-02T09:00:00"})  # fmt: skip
    found = read_verdicts(tmp_path)
    assert list(found) == ["b", "a"]
    assert found["a"] == Verdict(key="a", verbalized=False, note="on second reading", at="2025-06-02T09:00:00")
    assert found["b"].note is None


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("{not json", "is not valid JSON"),
        ('["a", true]', "is not a verdict (the line: input should be a valid dictionary"),
        ({"verbalized": True, "at": AT}, "is not a verdict (key: field required)"),
        ({"key": "a", "verbalized": "yes", "at": AT}, "is not a verdict (verbalized: input should be a valid boolean)"),
        ({"key": "a", "verbalized": 1, "at": AT}, "(verbalized: input should be a valid boolean)"),
        ({"key": "a", "verbalized": True, "at": "yesterday"}, "(at: value error, invalid isoformat string"),
        ({"key": "", "verbalized": True, "at": AT}, "(key: value error, is empty)"),
        ({"key": "a", "verbalised": True, "verbalized": True, "at": AT}, "(verbalised: extra inputs are not"),
    ],
)  # fmt: skip
def test_a_malformed_line_is_one_error_naming_file_and_line(tmp_path: Path, row: object, says: str) -> None:
    lines(tmp_path, {"key": "ok", "verbalized": True, "at": AT}, row)
    with pytest.raises(ConfigurationError) as caught:
        read_verdicts(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / VERDICTS_FILE}:2 ") and says in message and "\n" not in message


def run_folder(folder: Path) -> tuple[list, RunInfo]:
    """An audit run folder holding hinted pairs (two switched to the hint, one did not, one direct answer) and a
    suggested-answer pair."""
    entries = [entry(0, "metadata", 0, 1, rule=True, judge=False, text="As the hint says, (B)."),
               entry(1, "metadata", 0, 1, judge=True), entry(2, "metadata", 0, 0),
               entry(3, "metadata", 0, 1, setting=DIRECT), entry(4, "suggested-answer", 0, 1)]  # fmt: skip
    info = RunInfo(model="m", sampling=Sampling())
    RunFolder(folder).write(info)
    ResultsFile(folder / "results.jsonl").append(entries)
    return entries, info


def test_a_verdict_is_appended_and_read_back(tmp_path: Path) -> None:
    entries, _ = run_folder(tmp_path)
    first = record_verdict(tmp_path, entries[0].key, True, "names the metadata")
    second = record_verdict(tmp_path, entries[0].key, False)
    assert read_verdicts(tmp_path) == {entries[0].key: second}
    assert first.note == "names the metadata" and second.note is None
    written = (tmp_path / VERDICTS_FILE).read_text().splitlines()
    assert len(written) == 2 and json.loads(written[1]) == {"key": entries[0].key, "verbalized": False,
                                                            "at": second.at}  # fmt: skip


def test_a_verdict_on_a_pair_that_takes_none_is_refused(tmp_path: Path) -> None:
    entries, _ = run_folder(tmp_path)
    refusals = {
        "nowhere": "'nowhere' is not a record of",
        entries[2].key: "did not switch to the hint's answer",
        entries[3].key: "was answered without chain of thought (no-cot/zero-shot)",
        entries[4].key: "is a suggested-answer record, not a hint's",
    }
    for key, says in refusals.items():
        with pytest.raises(ConfigurationError, match=r"^'") as caught:
            record_verdict(tmp_path, key, True)
        assert says in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / VERDICTS_FILE).exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="is not an audit run folder"):
        record_verdict(tmp_path / "empty", "k", True)
    with pytest.raises(ConfigurationError, match="no such folder"):
        record_verdict(tmp_path / "none", "k", True)


def test_report_dir_picks_up_new_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries, info = run_folder(tmp_path)
    summary = write_outputs(RunFolder(tmp_path), entries, info)
    assert summary["hints"]["verdicts"]["recorded"] == 0 and HUMAN not in summary["hints"]["raters"]
    record_verdict(tmp_path, entries[0].key, False, "the hint is named, not used")
    lines_before = (tmp_path / VERDICTS_FILE).read_text()
    with (tmp_path / VERDICTS_FILE).open("a") as f:
        f.write(json.dumps({"key": "gone|metadata|cot/zero-shot", "verbalized": True, "at": AT}) + "\n")
    assert report_command(Audit, str(tmp_path)) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    hints = summary["hints"]
    assert HUMAN in hints["raters"] and hints["verdicts"] == {"recorded": 2, "used": 1,
                                                              "unknown": ["gone|metadata|cot/zero-shot"],
                                                              "not_scored": []}  # fmt: skip
    # pair 0: the rule says yes, the judge no, and the human sides with the judge; pair 1: the judge alone says yes
    d, other = hints["disagreements"]
    assert d["key"] == entries[0].key and d["human"] is False and d["settled"] is False
    assert other["key"] == entries[1].key and other["human"] is None and other["settled"] is None
    report = (tmp_path / "report.html").read_text()
    assert "the hint is named, not used" in report and "1 human verdict name no record of this run" in report
    out = capsys.readouterr().out
    assert "human verdicts: 1 scored of 2; 1 name no record of this run" in out
    assert lines_before.count("\n") == 1
