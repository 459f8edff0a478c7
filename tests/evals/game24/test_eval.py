"""The game-of-24 eval on the harness: a puzzle is solved in its own search context (tagged game24/<idx>, with the
per-puzzle budget, its ledger entry released), a record reads back as the same object, and `reasoning game24 report
DIR` rebuilds a folder's outputs, also one whose run.json predates the harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import reasoning.cli
from evals.game24.data import Puzzle
from evals.game24.eval import Game24Eval
from evals.game24.methods import MethodConfig
from evals.harness import open_folder, open_results, run_eval
from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.engine import Engine as EngineType
from reasoning.errors import ConfigurationError
from reasoning.tree import SearchBudget, SearchContext
from tests.conftest import SHARED_DATA

LOG = SHARED_DATA / "tot" / "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"
needs_log = pytest.mark.skipif(not LOG.is_file(), reason="the published ToT run is not in the shared data")
PUZZLES = [Puzzle(0, "4 5 6 10"), Puzzle(1, "1 1 4 6")]


def reply(request: GenerationRequest, _: int) -> str:
    text = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages or ())
    if "Evaluate" in text or "sure" in text[-300:]:
        return "sure"
    if "Possible next steps" in text or "left:" in text[-200:]:
        return "4 + 5 = 9 (left: 6 9 10)\n10 - 4 = 6 (left: 5 6 6)"
    return "Answer: (10 - 6) * 5 + 4 = 24"


class Tagged(Game24Eval):
    """Notes each puzzle's session."""

    def session(self, engine: EngineType, tag: str) -> SearchContext:
        opened = super().session(engine, tag)
        self.opened.append(opened)
        return opened

    opened: list[SearchContext]


async def test_each_puzzle_is_solved_in_its_own_context_with_the_per_puzzle_budget(tmp_path: Path) -> None:
    config = MethodConfig(method="tot-bfs", breadth=2, n_value=1, budget=SearchBudget(max_calls=3))
    ev = Tagged(config, PUZZLES)
    ev.opened = []
    async with Engine(ScriptedModel(reply, name="s"), cache=ResponseCache()) as engine:
        records, summary = await run_eval(ev, tmp_path, engine, model="s", identity={"--x": 1})
        assert engine.ledger.by_tag == {}  # each context released its tag when its puzzle was done
    assert [c.tag for c in ev.opened] == ["game24/0", "game24/1"]
    assert all(c.budget == config.budget and c.closed for c in ev.opened)
    assert [r["idx"] for r in records] == [0, 1] and summary is not None
    for record, ctx in zip(records, ev.opened, strict=True):
        assert record["run"] == config.key() and record["model"] == "s"
        assert record["stopped"] == "budget" and record["calls"] == ctx.spend.calls == 3  # the budget is hard
        assert record["paid"] == ctx.paid.as_dict() and record["tree"]["nodes"]
    # A record read back is the object written.
    folder = open_folder(ev, tmp_path)
    assert list(open_results(ev, folder).records()) == records
    info = folder.info()
    assert info is not None and info.config == config and info.model == "s"


def test_a_record_of_another_run_is_skipped_and_a_record_with_no_puzzle_number_refused(tmp_path: Path) -> None:
    ev = Game24Eval(MethodConfig(method="io"))
    assert ev.read({"run": "other", "idx": "x"}) is None
    record = {"run": ev.run, "idx": 3, "puzzle": "4 5 6 10", "method": "io", "outputs": ["x"],
              "verdicts": [{"correct": False, "reason": "r"}], "success": 0.0, "any_correct": False,
              "first_correct": False, "calls": 1, "prompt_tokens": 2, "completion_tokens": 3, "dollars": 0.0,
              "stopped": "max_outputs", "requests": {"anything": "unread"}}  # fmt: skip
    assert ev.read(record) == record
    for bad in ({"idx": True}, {"idx": "3"}, {"calls": None}):
        with pytest.raises(ValueError):
            ev.read({**record, **bad})
    with pytest.raises(ValueError):
        ev.read({"run": ev.run, "idx": 3})  # the fields every record has are missing
    with pytest.raises(TypeError):
        ev.read([ev.run])


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = reasoning.cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@needs_log
def test_report_rebuilds_a_folders_summary_and_report(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv("REASONING_SHARED_DATA", str(SHARED_DATA))
    out = tmp_path / "run"
    code, table, err = cli(capsys, "game24", "run", "--backend", "replay", "--range", "900-904", "--out", str(out))
    assert code == 0, err
    written = {name: (out / name).read_bytes() for name in ("summary.json", "report.html")}
    for name in written:
        (out / name).unlink()
    code, again, err = cli(capsys, "game24", "report", str(out))
    assert code == 0 and again == table, err
    assert {name: (out / name).read_bytes() for name in written} == written
    # A folder whose run.json is the format before the harness ({"version": 1, "identity": ...}): every record.
    run = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps({"version": 1, "identity": run["identity"]}))
    code, again, err = cli(capsys, "game24", "report", str(out))
    assert code == 0 and again == table, err
    assert json.loads((out / "summary.json").read_bytes()) == json.loads(written["summary.json"])


@needs_log
def test_report_and_compare_say_when_they_drop_a_cut_short_last_line(monkeypatch, capsys, tmp_path: Path) -> None:
    # Every reader of a run (report, compare, export) drops a killed run's partial last line, as a rerun does; each
    # says so on stderr (report and compare said nothing before).
    monkeypatch.setenv("REASONING_SHARED_DATA", str(SHARED_DATA))
    out = tmp_path / "run"
    code, _, err = cli(capsys, "game24", "run", "--backend", "replay", "--range", "900-902", "--out", str(out))
    assert code == 0, err
    lines = (out / "results.jsonl").read_text().splitlines(keepends=True)
    for command in ("report", "compare"):
        (out / "results.jsonl").write_text("".join(lines[:2]) + lines[2][:30])  # killed mid-write
        code, _, err = cli(capsys, "game24", command, str(out))
        assert code == 0 and "last line was cut short (a killed run): dropped" in err, (command, err)
        assert (out / "results.jsonl").read_text() == "".join(lines[:2])
        code, _, err = cli(capsys, "game24", command, str(out))  # whole now: no note
        assert code == 0 and "cut short" not in err


def test_report_of_a_folder_with_no_run_is_one_line(capsys, tmp_path: Path) -> None:
    code, _, err = cli(capsys, "game24", "report", str(tmp_path))
    assert code == 2 and err == f"reasoning: error: {tmp_path} is not a game-24 run folder (no run.json)\n"
    (tmp_path / "run.json").write_text('{"identity": [1]}\n')
    with pytest.raises(ConfigurationError, match="is not a game-24 run file"):
        open_folder(Game24Eval, tmp_path).info()


async def test_a_folder_made_with_another_reading_of_thoughts_is_refused_not_redone(tmp_path: Path) -> None:
    # `--thoughts auto` and `--answer auto` are the same flags whatever they resolve to (by backend), and a folder
    # written before they existed holds the paper's reading: the config itself is compared, and a rerun that would
    # make other records (another run key, every puzzle redone beside the old ones) is refused in one line.
    paper = MethodConfig(method="tot-bfs", breadth=1, n_value=1)
    lenient = MethodConfig(method="tot-bfs", breadth=1, n_value=1, thoughts="lenient", answer="program")
    async with Engine(ScriptedModel(reply, name="s"), cache=ResponseCache()) as engine:
        await run_eval(Game24Eval(paper, PUZZLES[:1]), tmp_path, engine, model="s", identity={"--thoughts": "auto"})
        with pytest.raises(ConfigurationError, match="--thoughts paper there, lenient now; --answer model there, "
                           "program now"):  # fmt: skip
            await run_eval(Game24Eval(lenient, PUZZLES), tmp_path, engine, model="s", identity={"--thoughts": "auto"})
        lines = (tmp_path / "results.jsonl").read_text().splitlines()
        assert len(lines) == 1  # nothing written
        # The same reading resumes.
        records, _ = await run_eval(Game24Eval(paper, PUZZLES), tmp_path, engine, model="s",
                                    identity={"--thoughts": "auto"})  # fmt: skip
    assert [r["idx"] for r in records] == [0, 1]


@pytest.mark.parametrize("method", ["io", "cot", "cot-sc", "tot-bfs", "tot-dfs", "tot-astar"])
async def test_every_method_sends_the_runs_seed(tmp_path: Path, method: str) -> None:
    """`--seed` reaches every request of every method (IO, CoT and CoT-SC sent none, so their samples were drawn
    from a fresh random seed on every run, whatever run.json said)."""
    seeds: list[int | None] = []

    def noting(request: GenerationRequest, k: int) -> str:
        seeds.append(request.seed)
        return reply(request, k)

    config = MethodConfig(method=method, breadth=2, n_value=1, samples=2, seed=7, max_steps=3,
                          budget=SearchBudget(max_calls=6))  # fmt: skip
    async with Engine(ScriptedModel(noting, name="s"), cache=ResponseCache()) as engine:
        await run_eval(Game24Eval(config, PUZZLES[:1]), tmp_path, engine, model="s", identity={"--x": 1})
    assert seeds and set(seeds) == {7}, seeds


def test_the_summary_says_how_states_were_valued() -> None:
    """A plug-in run's summary splits the valued states: decided by rule, by the plug-in, escalated to the model
    (so the saving in value calls can be read off the run itself); duplicates and the root are not counted; IO has
    no such row."""
    from evals.game24.eval import format_summary, summarize

    def record(nodes: list[dict[str, object]], method: str = "tot-bfs") -> dict[str, object]:
        return {"method": method, "model": "m", "success": 1.0, "any_correct": True, "first_correct": True,
                "calls": 1, "prompt_tokens": 1, "completion_tokens": 1, "dollars": 0.0,
                "tree": {"nodes": nodes, "edges": []}}  # fmt: skip

    nodes = [{"id": 0, "depth": 0, "value": 1.0},
             {"id": 1, "depth": 1, "value": 20.0, "evaluated_by": "cheap"},
             {"id": 2, "depth": 1, "value": 1.0, "evaluated_by": "expensive"},
             {"id": 3, "depth": 1, "value": 1.0, "evaluated_by": "expensive", "duplicate": True},
             {"id": 4, "depth": 3, "value": 0.0, "evaluated_by": "rule"},
             {"id": 5, "depth": 2, "value": None}]  # fmt: skip
    summary = summarize([record(nodes), record(nodes[:3])])
    assert summary["states_valued"] == {"rule": 1, "plug-in": 2, "escalated": 2}
    assert "states valued               5 = 1 by rule + 2 by the plug-in + 2 escalated to the model" in format_summary(
        summary
    )
    plain = summarize([record([{"id": 1, "depth": 1, "value": 3.0}]), record([], method="io")])
    assert plain["states_valued"] == {"evaluator": 1}
    assert "states_valued" not in summarize([record([], method="io")])
