"""The metrics against hand-computed values: the toy task of `conftest.PLAN` run on a scripted model (accuracy,
overrides, calibration, the cascade and its sweep), and the sweep's token counts on hand-made records."""

import io

import pytest

from evals.supericl import Options, Record, prepare, run_supericl, summarize_run, sweep, thresholds
from evals.supericl.runner import Progress, ResultsFile, RunInfo
from reasoning import Engine, ResponseCache, ScriptedModel

from .conftest import toy_answer, toy_dataset, toy_plugin

OPTIONS = Options(shots=2, threshold=0.9)


async def run_toy(tmp_path, options: Options = OPTIONS) -> tuple[list[Record], dict, ScriptedModel]:
    dataset, plugin = toy_dataset(), toy_plugin()
    model = ScriptedModel(toy_answer)
    shots, task = await prepare(dataset, plugin, options)
    async with Engine(model, cache=ResponseCache()) as engine:
        records = await run_supericl([(dataset, plugin, shots)], engine, ResultsFile(tmp_path / "results.jsonl"),
                                     options, progress=Progress(24, io.StringIO()))  # fmt: skip
    info = RunInfo(model=model.name, options=options, tasks={"toy": task})
    return records, summarize_run(records, info), model


def by(summary: dict, key: str, method: str) -> dict:
    return next(m for m in summary[key] if m["method"] == method and m["task"] == "toy")


async def test_accuracy_overrides_and_cost(tmp_path) -> None:
    records, summary, model = await run_toy(tmp_path)
    assert len(records) == 24 and summary["records"] == 24
    acc = {m["method"]: (m["accuracy"]["k"], m["accuracy"]["n"]) for m in summary["methods"]}
    assert acc == {"plugin": (2, 6), "icl": (4, 6), "supericl": (4, 6), "cascade": (3, 6)}
    plugin, supericl, cascade = (by(summary, "methods", m) for m in ("plugin", "supericl", "cascade"))
    assert (plugin["failed"], plugin["unparsed"], plugin["plugin_answers"], plugin["requests"]) == (1, 0, 5, 0)
    assert (supericl["unparsed"], supericl["requests"], supericl["cached"]) == (1, 6, 0)
    # The cascade answers items 1 and 6 with the plug-in (0.95, 0.92 >= 0.9) and shares SuperICL's other answers.
    assert (cascade["plugin_answers"], cascade["requests"], cascade["cached"], cascade["unparsed"]) == (2, 4, 4, 1)
    assert len(model.calls) == 12  # six ICL and six SuperICL prompts; the cascade sent nothing new
    over = by(summary, "overrides", "supericl")
    assert over["compared"] == 4 and (over["rate"]["k"], over["rate"]["n"]) == (3, 4)
    assert over["rate"]["value"] == 0.75 and (over["right"]["k"], over["right"]["n"]) == (2, 3)
    assert (over["fixed"], over["broke"]) == (2, 1)
    cascade_over = by(summary, "overrides", "cascade")
    assert (cascade_over["compared"], cascade_over["rate"]["k"], cascade_over["right"]["k"]) == (2, 2, 1)
    assert summary["plugin_failures"] == 1 and summary["unparsed"]["by_method"] == {"supericl": 1, "cascade": 1}
    assert summary["spend"]["backend_requests"] == 12 and summary["spend"]["requests"] == 16  # 6 + 6 + the cascade's 4


async def test_unparsed_and_failed_items_are_recorded(tmp_path) -> None:
    records, _, _ = await run_toy(tmp_path)
    got = {r.key: r for r in records}
    unparsed = got["toy/4|supericl"]
    assert (unparsed.outcome, unparsed.answer, unparsed.correct) == ("unparsed", None, False)
    assert unparsed.reason == "not one of no, yes: 'maybe'" and unparsed.completion == " maybe"
    failed = got["toy/5|plugin"]
    assert failed.outcome == "failed" and failed.reason == "plug-in failed: RuntimeError: cannot score 'item 5'"
    # The item is not lost: SuperICL asks without the prediction line, and the cascade escalates it.
    assert got["toy/5|supericl"].answer == "yes" and got["toy/5|supericl"].plugin_error is not None
    assert got["toy/5|cascade"].source == "llm" and got["toy/5|cascade"].correct
    assert got["toy/5|supericl"].override is None and got["toy/2|icl"].override is None


async def test_calibration_is_hand_computed(tmp_path) -> None:
    _, summary, _ = await run_toy(tmp_path)
    calib = summary["calibration"][0]
    assert (calib["n"], calib["failed"]) == (5, 1)
    filled = [(b["low"], b["n"], b["confidence"], b["accuracy"]) for b in calib["bins"] if b["n"]]
    assert filled == [(0.5, 1, pytest.approx(0.55), 0.0), (0.6, 1, pytest.approx(0.65), 0.0),
                      (0.8, 1, pytest.approx(0.85), 1.0), (0.9, 2, pytest.approx(0.935), 0.5)]  # fmt: skip
    # ECE = (0.55 + 0.65 + 0.15) / 5 + 2/5 x |0.5 - 0.935|
    assert calib["ece"] == pytest.approx(0.444)


async def test_cascade_sweep_is_hand_computed(tmp_path) -> None:
    _, summary, _ = await run_toy(tmp_path)
    rows = {r["threshold"]: (r["plugin_items"], r["llm_requests"], r["correct"]) for r in summary["sweep"]["toy"]}
    assert rows == {
        0.0: (5, 1, 3), 0.5: (5, 1, 3), 0.55: (5, 1, 3), 0.6: (4, 2, 4), 0.65: (4, 2, 4), 0.7: (3, 3, 4),
        0.75: (3, 3, 4), 0.8: (3, 3, 4), 0.85: (3, 3, 4), 0.9: (2, 4, 3), 0.95: (1, 5, 4), 1.0: (0, 6, 4),
        None: (0, 6, 4),
    }  # fmt: skip
    at_run = next(r for r in summary["sweep"]["toy"] if r["threshold"] == 0.9)
    cascade = by(summary, "methods", "cascade")
    # The sweep's row at the run's threshold is the cascade the run made.
    assert at_run["correct"] == cascade["accuracy"]["k"] and at_run["llm_requests"] == cascade["requests"]
    assert at_run["requests_saved"] == pytest.approx(2 / 6) and at_run["accuracy"] == pytest.approx(3 / 6)


def record(item: int, method: str, *, correct: bool, conf: float | None = None, tokens: int = 0) -> Record:
    return Record(key=f"t/{item}|{method}", item_id=f"t/{item}", task="t", method=method, text="x", gold="a",
                  answer="a" if correct else "b", correct=correct, outcome="answered",
                  plugin_label="a", plugin_confidence=conf, source="plugin" if method == "plugin" else "llm",
                  requests=int(method != "plugin"), prompt_tokens=tokens,
                  completion_tokens=1 if tokens else 0)  # fmt: skip


def test_sweep_tokens_and_savings() -> None:
    plugin = [record(1, "plugin", correct=True, conf=0.99), record(2, "plugin", correct=False, conf=0.7),
              record(3, "plugin", correct=True, conf=0.8), record(4, "plugin", correct=True, conf=0.5)]  # fmt: skip
    llm = [record(1, "supericl", correct=True, tokens=9), record(2, "supericl", correct=True, tokens=19),
           record(3, "supericl", correct=False, tokens=29)]  # item 4 has no model record: left out  # fmt: skip
    rows = {r.threshold: r for r in sweep("t", plugin, llm, [0.75, 0.9, None])}
    assert {t: (r.items, r.plugin_items, r.llm_requests, r.tokens, r.correct) for t, r in rows.items()} == {
        0.75: (3, 2, 1, 20, 3), 0.9: (3, 1, 2, 50, 2), None: (3, 0, 3, 60, 2)}  # fmt: skip
    assert rows[0.75].tokens_saved == pytest.approx(1 - 20 / 60) and rows[0.75].requests_saved == pytest.approx(2 / 3)
    assert rows[None].tokens_saved == 0.0 and rows[None].accuracy == pytest.approx(2 / 3)
    assert thresholds(0.93) == [0.0, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 1.0, None]
