"""SuperICL on the harness: `run_eval(SuperICL(...))` writes what the runner's names write, each (item, method) in
its own session (no ledger entry left), the cascade sharing SuperICL's answers, the plug-in asked only for pending
items on a rerun, and the options, the prompt format and the plug-in in the identity the one rule checks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from evals.harness import run_eval
from evals.supericl import Options, SuperICL, prepare, run_supericl
from evals.supericl.methods import ItemRun
from evals.supericl.runner import Progress, RunFolder, RunInfo
from reasoning import Engine, ResponseCache, ScriptedModel
from reasoning.errors import ConfigurationError
from reasoning.plugins import FunctionPlugin, PluginFailure, Prediction
from reasoning.tree import SearchContext

from .conftest import toy_answer, toy_dataset, toy_plugin, toy_plugin_fn


async def test_run_eval_writes_what_run_supericl_writes(tmp_path: Path) -> None:
    options, dataset, plugin = Options(shots=2, explain=True), toy_dataset(), toy_plugin()
    shots, task = await prepare(dataset, plugin, options)
    model = ScriptedModel(toy_answer)
    async with Engine(model, cache=ResponseCache()) as engine:
        ev = SuperICL(options, [(dataset, plugin, shots)], tasks={"toy": task})
        records, summary = await run_eval(ev, tmp_path / "harness", engine, model=model.name)
        assert engine.ledger.by_tag == {}  # every (item, method) session released its tag
    assert len(records) == 24 and summary is not None and len(model.calls) == 15  # 6 ICL, 6 SuperICL, 3 explained
    cascade = {r.item_id: r for r in records if r.method == "cascade"}
    assert cascade["toy/2"].source == "llm" and cascade["toy/2"].requests == 1 and cascade["toy/2"].cached == 1
    assert cascade["toy/1"].source == "plugin" and cascade["toy/1"].requests == 0
    run = json.loads((tmp_path / "harness" / "run.json").read_text())
    assert run["header"]["eval"] == "supericl" and run["tasks"]["toy"]["plugin"] == "toy-plugin"
    assert {"--threshold": 0.9, "chat": False, "plugin": "tfidf-logreg", "--model": "scripted"}.items() <= (
        run["identity"].items()
    )

    info = RunInfo(model=model.name, options=options, tasks={"toy": task})
    async with Engine(ScriptedModel(toy_answer), cache=ResponseCache()) as engine:
        legacy = await run_supericl([(dataset, plugin, shots)], engine, RunFolder(tmp_path / "old").bind(info),
                                    options, progress=Progress(24, io.StringIO()))  # fmt: skip

    def same(r):  # type: ignore[no-untyped-def]
        return r.model_dump_json(exclude={"seconds"})

    assert sorted(map(same, records)) == sorted(map(same, legacy))


async def test_a_rerun_asks_the_plugin_only_for_pending_items_and_refuses_other_options(tmp_path: Path) -> None:
    asked: list[str] = []

    def counting(texts: list[str]) -> list[tuple[str, float]]:
        asked.extend(t for t in texts if t.startswith("item"))
        return toy_plugin_fn(texts)

    options, plugin = Options(shots=2), FunctionPlugin(counting, name="toy-plugin")
    shots, task = await prepare(toy_dataset(4), plugin, options)
    async with Engine(ScriptedModel(toy_answer), cache=ResponseCache()) as engine:
        ev = SuperICL(options, [(toy_dataset(4), plugin, shots)], tasks={"toy": task})
        await run_eval(ev, tmp_path, engine, model="scripted")
        asked.clear()
        ev = SuperICL(options, [(toy_dataset(6), plugin, shots)], tasks={"toy": task})
        records, _ = await run_eval(ev, tmp_path, engine, model="scripted")
        assert len(records) == 24 and sorted(set(asked)) == ["item 5", "item 6"]
        other = SuperICL(Options(shots=2, threshold=0.5), [(toy_dataset(6), plugin, shots)], tasks={"toy": task})
        with pytest.raises(ConfigurationError, match=r"\(--threshold 0.9 there, 0.5 now\)"):
            await run_eval(other, tmp_path, engine, model="scripted")
        changed = task.model_copy(update={"train": 99})
        with pytest.raises(ConfigurationError, match="task toy: its labels, training data, examples or plug-in"):
            await run_eval(SuperICL(options, tasks={"toy": changed}), tmp_path, engine, model="scripted")


async def test_a_call_that_fails_stops_the_run_with_the_finished_records_on_disk(tmp_path: Path) -> None:
    from reasoning.errors import BadRequestError

    def failing(request, index):  # type: ignore[no-untyped-def]
        text = request.prompt or ""
        if "toy-plugin" in text and text.rsplit("Input: ", 1)[1].startswith("item 4"):  # SuperICL's, on item 4
            return BadRequestError("HTTP 400 from server", model="scripted", status=400)
        return toy_answer(request, index)

    options, dataset, plugin = Options(shots=2), toy_dataset(), toy_plugin()
    shots, task = await prepare(dataset, plugin, options)
    async with Engine(ScriptedModel(failing), cache=ResponseCache()) as engine:
        ev = SuperICL(options, [(dataset, plugin, shots)], tasks={"toy": task})
        with pytest.raises(BadRequestError):
            await run_eval(ev, tmp_path, engine, model="scripted", parallel=2)
    summary = json.loads((tmp_path / "summary.json").read_text())
    methods = {m["method"] for m in summary["methods"]}
    assert {"plugin", "icl"} <= methods and "cascade" not in methods  # stopped in SuperICL's turn


@pytest.mark.parametrize(
    ("prediction", "by", "asked"),
    [
        (Prediction("yes", 0.95), "cheap", 0),  # sure: the plug-in's label stands, no model call
        (Prediction("yes", 0.6), "expensive", 1),  # below the threshold: the model answers
        (Prediction("maybe", 0.99), "expensive", 1),  # sure of a label the task does not have
        (PluginFailure("boom"), "expensive", 1),  # the plug-in failed on the item
    ],
)
async def test_the_cascade_is_a_cascade_of_the_plugin_evaluator_and_the_model(prediction, by, asked) -> None:
    dataset, options = toy_dataset(1), Options(shots=0, threshold=0.9)
    run = ItemRun(dataset.test[0], dataset, (), "toy-plugin", prediction, options)
    model = ScriptedModel(toy_answer)
    async with Engine(model) as engine:
        ctx = SearchContext(engine, tag="supericl/toy/1|cascade")
        record = await run.cascade_record(ctx)
    (node,) = ctx.tree.nodes
    assert node.info["evaluated_by"] == by and ctx.requests["plugin"] == 1 and len(model.calls) == asked
    assert record.method == "cascade" and record.source == ("plugin" if by == "cheap" else "llm")
    if by == "cheap":
        assert record.answer == "yes" and node.info["plugin"] == {"label": "yes", "confidence": 0.95}
    else:
        assert node.info["record"] is record and record.requests == 1
