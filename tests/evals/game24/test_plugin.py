"""The game-of-24 plug-in: features, solver-labelled training states that never touch the test rows, a small
trained model that is right on held-out states, and the plug-in as the cheap evaluator of ToT search on the
replay of the published GPT-4 run (value calls only for the states it is unsure about)."""

import asyncio
from fractions import Fraction

import pytest

from evals.game24 import Game24Config, Game24Task, ReplayModel, load_log, solve
from evals.game24.data import Puzzle, load_puzzles
from evals.game24.plugin import (
    LABELS,
    TEST_ROWS,
    features,
    featurize,
    plugin_cascade,
    plugin_evaluator,
    state_text,
    train_game24_plugin,
    training_states,
)
from reasoning import Engine, ResponseCache, ScriptedModel
from reasoning.errors import ConfigurationError
from reasoning.plugins import FunctionPlugin, predict_safely
from reasoning.tree import Node, SearchContext
from search import bfs
from tests.conftest import SHARED_DATA, require

TOT = SHARED_DATA / "tot"
needs_data = pytest.mark.skipif(not TOT.is_dir(), reason=f"the ToT data is not at {TOT}")
LOG = TOT / "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"


def F(*xs: float) -> list[Fraction]:
    return [Fraction(x) for x in xs]


def test_features_have_a_fixed_length_and_the_one_step_check() -> None:
    lengths = {len(features(F(*xs))) for xs in ([24], [4, 6], [1, 2, 3], [4, 5, 6, 10], [])}
    assert lengths == {22}
    assert features(F(4, 6))[16] == 1.0 and features(F(4, 7))[16] == 0.0  # 24 in one operation
    assert features(F(24))[9] == 1.0 and features(F(23))[9] == 0.0  # a single 24
    assert features(F(1.5, 16))[10] == 0.0 and features(F(1.5, 16))[11] == 1.0  # non-integers counted
    assert featurize(["4 6", "not numbers"]) == [features(F(4, 6)), features([])]


def test_training_states_are_solver_labelled_and_never_from_the_test_rows() -> None:
    states = training_states([Puzzle(0, "1 1 4 6"), Puzzle(1, "1 1 11 11")], per_level=5)
    assert ("1 1 4 6", "solvable") in states
    assert all((solve(s) is not None) == (label == "solvable") for s, label in states)
    assert {len(s.split()) for s, _ in states} == {1, 2, 3, 4}
    assert len({s for s, _ in states}) == len(states)  # each state once
    assert training_states([Puzzle(0, "1 1 4 6")], per_level=5) == training_states([Puzzle(0, "1 1 4 6")],
                                                                                   per_level=5)  # fmt: skip
    with pytest.raises(ConfigurationError, match="900-999"):
        training_states([Puzzle(950, "1 1 4 6")])


@pytest.fixture(scope="module")
def plugin():  # type: ignore[no-untyped-def]
    require("sklearn")
    if not TOT.is_dir():
        pytest.skip(f"the ToT data is not at {TOT}")
    puzzles = [p for p in load_puzzles(file=TOT / "24.csv") if p.idx < 300]
    return train_game24_plugin(puzzles, per_level=8)


@needs_data
def test_the_trained_plugin_is_right_on_held_out_states(plugin) -> None:  # type: ignore[no-untyped-def]
    held_out = [p for p in load_puzzles(file=TOT / "24.csv") if p.idx in TEST_ROWS][:40]
    states = _states(held_out)
    predictions = asyncio.run(predict_safely(plugin, [s for s, _ in states]))
    right = [p.label == label for p, (_, label) in zip(predictions, states, strict=True)]
    assert sum(right) / len(right) > 0.9
    sure = [r for r, p in zip(right, predictions, strict=True) if p.confidence >= 0.9]
    assert len(sure) > len(right) / 2 and sum(sure) / len(sure) > 0.97
    assert {p.label for p in predictions} == set(LABELS)


def _states(puzzles: list[Puzzle]) -> list[tuple[str, str]]:
    # The same generator, for the held-out rows (which `training_states` refuses by design).
    renamed = [Puzzle(-1 - i, p.numbers) for i, p in enumerate(puzzles)]
    return training_states(renamed, seed=1)


def test_state_text_abstains_on_answers() -> None:
    task = Game24Task("4 5 6 10")
    assert state_text(task, Node(state="")) == "4 5 6 10"
    assert state_text(task, Node(state="4 + 6 = 10 (left: 5 10 10)\n", depth=1)) == "5 10 10"
    assert state_text(task, Node(state="a\nb\nc\nAnswer: (4 + 6) * 2 = 20\n", depth=4)) is None
    assert state_text(task, Node(state="4 + 6 = 10 (left: five)\n", depth=1)) is None


async def test_the_plugin_value_is_on_the_llm_value_scale() -> None:
    task = Game24Task("4 5 6 10", Game24Config(n_value=3))
    fake = FunctionPlugin(lambda texts: [("solvable", 1.0) if t == "4 6" else ("unsolvable", 1.0) for t in texts])
    evaluator = plugin_evaluator(task, fake)  # type: ignore[arg-type]
    nodes = [Node(state="5 * 10 = 50 (left: 4 6)\n", depth=1), Node(state="x (left: 1 1)\n", depth=1)]
    values = await evaluator.evaluate(nodes, SearchContext(Engine(ScriptedModel([])), tag="t"))
    assert values == [pytest.approx(60.0), pytest.approx(0.003)]


@needs_data
async def test_cascade_on_the_replay_asks_the_llm_only_when_unsure(plugin) -> None:  # type: ignore[no-untyped-def]
    record = load_log(LOG)[0]
    counts = {}
    for name in ("llm", "cascade"):
        task = Game24Task(record["steps"][0]["x"], Game24Config(zero_unfinished=False))
        model = ReplayModel(record, task, strict=name == "llm")
        ctx = SearchContext(Engine(model, cache=ResponseCache()), tag="p")
        evaluator = task.evaluator() if name == "llm" else plugin_cascade(task, plugin, threshold=0.9)
        result = await bfs(task, evaluator, ctx, breadth=5, steps=4)
        counts[name] = (ctx.calls["evaluate"], any(task.check(n.state) for n in result.outputs), ctx)
    llm_calls, llm_solved, _ = counts["llm"]
    cascade_calls, _, ctx = counts["cascade"]
    assert llm_solved == bool(record["infos"][0]["r"]) or any(i["r"] for i in record["infos"])
    assert 0 < cascade_calls < llm_calls
    judged = [n for n in ctx.tree.nodes if n.info.get("evaluated_by")]
    escalated = [n for n in judged if n.info["evaluated_by"] == "expensive"]
    assert ctx.requests["plugin"] > 0 and escalated and len(escalated) < len(judged)
    assert all(n.info["plugin"] is None or n.info["plugin"].get("confidence", 0) < 0.9 for n in escalated)


def test_the_plugin_changes_a_runs_key_only_when_it_is_used() -> None:
    from evals.game24.methods import MethodConfig

    base = MethodConfig()
    assert MethodConfig(plugin="x.pkl", plugin_threshold=0.5).key() == base.key()  # not the evaluator: ignored
    with_plugin = MethodConfig(evaluator="plugin", plugin="x.pkl")
    assert with_plugin.key() != base.key() != MethodConfig(evaluator="plugin", plugin="x.pkl",
                                                           plugin_threshold=0.5).key()  # fmt: skip


@needs_data
def test_game24_cli_with_the_plugin_evaluator_on_the_replay(plugin, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    import reasoning.cli

    monkeypatch.setenv("REASONING_SHARED_DATA", str(SHARED_DATA))
    path = plugin.save(tmp_path / "plugin.pkl")
    calls = {}
    for name, extra in (("llm", []), ("plugin", ["--evaluator", "plugin", "--plugin-file", str(path)])):
        out = tmp_path / name
        command = ["game24", "run", "--backend", "replay", "--paper-values", "--range", "900-903", "--out", str(out),
                   *extra]  # fmt: skip
        assert reasoning.cli.main(command) == 0, capsys.readouterr().err
        records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        calls[name] = sum(r["calls_by_kind"].get("evaluate", 0) for r in records)
        assert len(records) == 4
    assert 0 < calls["plugin"] < calls["llm"]
    assert "off the logged path" in capsys.readouterr().err
