"""Running into a folder: streamed records, resume after a killed run (a truncated last line), refused option
changes, explanations of overrides (completion and chat), and a plug-in that raises on everything."""

import io
import json
from pathlib import Path

import pytest

from evals.supericl import Options, prepare, run_supericl
from evals.supericl.runner import Progress, ResultsFile, RunFolder, RunInfo, TaskInfo
from reasoning import Engine, ResponseCache, ScriptedModel
from reasoning.errors import ConfigurationError
from reasoning.plugins import FunctionPlugin

from .conftest import toy_answer, toy_dataset, toy_plugin

ALL_METHODS = ("plugin", "icl", "supericl", "cascade")


async def run_into(folder, model, options=None, plugin=None, methods=ALL_METHODS):  # type: ignore[no-untyped-def]
    options = options or Options(shots=2)
    dataset, plugin = toy_dataset(), plugin or toy_plugin()
    shots, task = await prepare(dataset, plugin, options)
    info = RunInfo(model=model.name, options=options, tasks={"toy": task})
    results = RunFolder(folder).bind(info)
    async with Engine(model, cache=ResponseCache(folder / "cache.sqlite")) as engine:
        return await run_supericl([(dataset, plugin, shots)], engine, results, options, methods=methods,
                                  progress=Progress(24, io.StringIO()))  # fmt: skip


async def test_resume_after_a_truncated_last_line_loses_nothing(tmp_path) -> None:
    first = ScriptedModel(toy_answer)
    records = await run_into(tmp_path, first)
    path = tmp_path / "results.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == 24 and len(first.calls) == 12
    last = json.loads(lines[-1])["key"]
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # killed mid-write
    again = ScriptedModel(toy_answer)
    redone = await run_into(tmp_path, again)
    assert ResultsFile(path).repaired is False  # the rerun repaired it already
    assert again.calls == []  # the redone record's answer came from the cache
    keys = [json.loads(line)["key"] for line in path.read_text().splitlines()]
    assert len(keys) == 24 == len(set(keys)) and keys[-1] == last
    assert sorted(r.model_dump_json() for r in redone) == sorted(r.model_dump_json() for r in records)


async def test_a_rerun_may_add_methods_but_not_change_options(tmp_path) -> None:
    model = ScriptedModel(toy_answer)
    await run_into(tmp_path, model, methods=("plugin",))
    assert model.calls == []
    await run_into(tmp_path, model, methods=("plugin", "icl"))
    assert len(model.calls) == 6
    with pytest.raises(ConfigurationError, match=r"threshold 0.9 there, 0.5 now"):
        await run_into(tmp_path, model, options=Options(shots=2, threshold=0.5))
    with pytest.raises(ConfigurationError, match="model 'scripted' there, 'other' now"):
        RunFolder(tmp_path).check(Options(shots=2), "other")
    changed = TaskInfo(labels=("no", "yes"), train=99, shots=(), plugin="toy-plugin")
    with pytest.raises(ConfigurationError, match="task toy: its labels, training data, examples or plug-in changed"):
        RunFolder(tmp_path).check(Options(shots=2), "scripted", {"toy": changed})
    (tmp_path / "results.jsonl").write_text('{"not": "a record"}\n')
    with pytest.raises(ConfigurationError, match=r"results.jsonl:1 is not a SuperICL record"):
        ResultsFile(tmp_path / "results.jsonl").load()


async def test_results_without_run_json_are_refused(tmp_path) -> None:
    (tmp_path / "results.jsonl").write_text("")
    with pytest.raises(ConfigurationError, match=r"no run\.json"):
        RunFolder(tmp_path).info()


@pytest.mark.parametrize("chat", [False, True])
async def test_overrides_are_explained_when_asked(tmp_path, chat: bool) -> None:
    model = ScriptedModel(toy_answer)
    records = await run_into(tmp_path, model, options=Options(shots=2, explain=True, chat=chat))
    explained = {r.item_id: r.explanation.text for r in records if r.explanation is not None}
    assert explained == {"toy/2": "because item 2", "toy/3": "because item 3", "toy/6": "because item 6"}
    assert all(r.method == "supericl" for r in records if r.explanation is not None)
    asked = [c for c in model.calls if c.max_tokens == 96]
    assert len(asked) == 3 and len(model.calls) == 15
    if chat:
        roles = [m.role for m in asked[0].messages or ()]
        assert roles == ["user", "assistant", "user"]
        assert "toy-plugin predicted" in (asked[0].messages or ())[-1].content
    else:
        assert (asked[0].prompt or "").endswith("\nExplanation for overriding the toy-plugin prediction:")


async def test_a_plugin_that_always_raises_still_gives_every_record(tmp_path) -> None:
    def broken(texts: list[str]) -> list[tuple[str, float]]:
        raise OSError("model file missing")

    model = ScriptedModel(toy_answer)
    records = await run_into(tmp_path, model, plugin=FunctionPlugin(broken, name="toy-plugin"))
    assert len(records) == 24
    plugin = [r for r in records if r.method == "plugin"]
    assert {r.outcome for r in plugin} == {"failed"}
    assert plugin[0].reason == "plug-in failed: OSError: model file missing"
    cascade = [r for r in records if r.method == "cascade"]
    assert {r.source for r in cascade} == {"llm"}  # every item escalated
    prompt = next(c.prompt for c in model.calls if "toy-plugin" in (c.prompt or ""))
    assert prompt is not None and "prediction:" not in prompt  # no prediction line anywhere


async def test_plugin_labels_that_differ_only_in_case_are_matched(tmp_path) -> None:
    from .conftest import toy_plugin_fn

    def shouting(texts: list[str]) -> list[tuple[str, float]]:
        return [("MAYBE", 0.99) if "item 5" in t else (toy_plugin_fn([t])[0][0].upper(), toy_plugin_fn([t])[0][1])
                for t in texts]  # fmt: skip

    model = ScriptedModel(toy_answer)
    records = await run_into(tmp_path, model, plugin=FunctionPlugin(shouting, name="toy-plugin"),
                             methods=("plugin", "cascade"))  # fmt: skip
    got = {r.key: r for r in records}
    assert got["toy/1|plugin"].answer == "yes" and got["toy/3|plugin"].plugin_label == "no"
    assert got["toy/5|plugin"].outcome == "unparsed" and "'MAYBE' is not one of the labels" in (
        got["toy/5|plugin"].reason or ""
    )
    assert got["toy/5|cascade"].source == "llm"  # a confident label outside the task's is escalated
    prompt = next(c.prompt or "" for c in model.calls)
    assert "toy-plugin prediction: yes (confidence 0.80)" in prompt  # the examples' lines use the task's spelling


def test_reading_a_missing_results_file_makes_nothing(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "no" / "run" / "results.jsonl")  # once made tmp_path/no/run
    assert not results.repaired and list(results.records()) == [] and results.done() == set()
    assert list(tmp_path.iterdir()) == []
