"""The hint lines of the summary table say one switch, not "1 switches"."""

from __future__ import annotations

from evals.audit.summary import hint_lines


def hints(disagreements: int) -> dict[str, object]:
    return {"raters": [], "groups": [], "disagreements": [{}] * disagreements,
            "verdicts": {"recorded": 0, "used": 0, "unknown": [], "not_scored": []}}  # fmt: skip


def test_one_switch_is_one_switch() -> None:
    assert hint_lines(hints(1))[-1] == "classifiers disagree on 1 switch (listed in report.html)"
    assert hint_lines(hints(2))[-1] == "classifiers disagree on 2 switches (listed in report.html)"
