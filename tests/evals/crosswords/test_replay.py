"""The replay of the published GPT-4 DFS runs: `reasoning crosswords run --backend replay` visits the logged states in
the logged order in all 20 test games and gives the paper's figures (Table 3): ToT 78.0 / 60.0 / 20 (letter / word
/ game %), the oracle "+best state" 82.4 / 67.5 / 35, and without pruning 65.4 / 41.5 / 5."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.crosswords.data import load_games
from evals.crosswords.methods import MethodConfig, solve_game
from evals.crosswords.replay import ReplayMissError, ReplayModel, confidence_words, load_cache, load_log
from reasoning import Engine
from reasoning.tree import SearchContext
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
DATA = SHARED_DATA / "tot" / "crosswords"
pytestmark = pytest.mark.skipif(not (DATA / "infoss_dfs_no_prune.json").is_file(),
                                reason="the published crosswords logs are not in the shared data")  # fmt: skip


def run(out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    command = [sys.executable, "-m", "reasoning.cli", "crosswords", "run", "--backend", "replay", "--out", str(out),
               *options]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
    out = tmp_path_factory.mktemp("pruned")
    done = run(out)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


@pytest.fixture(scope="module")
def unpruned(tmp_path_factory):
    out = tmp_path_factory.mktemp("unpruned")
    done = run(out, "--no-prune")
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def same_visits(out: Path, log_name: str) -> None:
    """Every game's visited states are the log's: the same fills, in the same order, with the same counts."""
    log = load_log(DATA / log_name)
    got = sorted(records(out), key=lambda r: r["idx"])
    assert [r["idx"] for r in got] == list(range(0, 100, 5))
    for record in got:
        logged = log[record["idx"] // 5]  # log game i is mini0505 game 5i
        assert [v["fills"] for v in record["visited"]] == [s["actions"] for s in logged], record["idx"]
        assert [v["count"] for v in record["visited"]] == [s["count"] for s in logged], record["idx"]
        for visit, state in zip(record["visited"], logged, strict=True):
            assert visit["letter"] == pytest.approx(state["info"]["r_letter"])
            assert visit["word"] == pytest.approx(state["info"]["r_word"])


def test_replay_visits_the_logged_states_in_the_logged_order(pruned):
    out, done = pruned
    same_visits(out, "infoss_dfs_prune.json")
    assert "0 rebuilt from the log; 0 logged states not visited" in done.stderr


def test_replay_gives_the_papers_tot_figures(pruned):
    summary = json.loads((pruned[0] / "summary.json").read_text())
    assert (summary["letter"], summary["word"], summary["game"]) == pytest.approx((0.78, 0.60, 0.20), abs=1e-9)
    assert summary["games"] == 20 and summary["method"] == "tot-dfs"


def test_replay_gives_the_papers_best_state_figures(pruned):
    summary = json.loads((pruned[0] / "summary.json").read_text())
    assert (summary["best_letter"], summary["best_word"], summary["best_game"]) == pytest.approx(
        (0.824, 0.675, 0.35), abs=1e-9
    )


def test_replay_without_pruning_gives_the_papers_ablation_figures(unpruned):
    out, done = unpruned
    same_visits(out, "infoss_dfs_no_prune.json")
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["letter"], summary["word"], summary["game"]) == pytest.approx((0.654, 0.415, 0.05), abs=1e-9)
    # The ablation's proposals are not in env_cache.json: all are rebuilt from its log, and the run says so.
    assert "proposals from the log's visiting order" in done.stderr and "0 logged states not visited" in done.stderr


def test_the_report_shows_boards_and_the_dfs_with_pruned_states_and_backtracks(pruned):
    html = (pruned[0] / "report.html").read_text()
    assert html.count('class="game"') == 20 and "PRUNED" in html and "backtrack" in html and "OUTPUT" in html


def test_every_cached_confidence_is_reproduced_exactly():
    # The replay writes each candidate's confidence as words whose float sum is the cached number: ties and
    # rounding then order the candidates as the paper's sort did (24 cached lists order differently if rounded).
    for scores in load_cache(DATA / "env_cache.json").values():
        for score in scores.values():
            total = 0.0
            for word in confidence_words(score):
                total += {"certain": 1.0, "high": 0.5, "medium": 0.2, "low": 0.1}[word]
            assert total == score


def test_a_search_off_the_logged_path_is_a_miss():
    games = load_games(DATA / "mini0505.json")
    config = MethodConfig(breadth=2)  # the log visits up to 3 children a state
    model = ReplayModel(config.task(games[0]), load_log(DATA / "infoss_dfs_prune.json")[0],
                        load_cache(DATA / "env_cache.json"))  # fmt: skip
    with pytest.raises(ReplayMissError, match="not a proposal, nor a clue of the next logged state"):
        asyncio.run(solve_game(games[0], SearchContext(Engine(model), tag="t"), config))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--method", "io"], "has no published log"),
        (["--games", "1"], "the published logs cover the 20 test games"),
        (["--games", "200"], "past the file's 156 games"),
        (["--games", "a-b"], "--games a-b: games are"),
        (["--max-visits", "50"], "--breadth 3 --max-visits 100"),
    ],
)
def test_replay_refuses_what_it_cannot_replay(tmp_path, options, message):
    done = run(tmp_path / "out", *options)
    assert done.returncode != 0 and message in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1


def test_report_rebuilds_the_outputs_and_a_rerun_resumes(pruned):
    out, done = pruned
    written = {name: (out / name).read_bytes() for name in ("summary.json", "report.html")}
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    report = subprocess.run([sys.executable, "-m", "reasoning.cli", "crosswords", "report", str(out)],
                            capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)  # fmt: skip
    assert report.returncode == 0 and report.stdout == done.stdout
    assert {name: (out / name).read_bytes() for name in written} == written
    again = run(out)
    assert again.returncode == 0 and len(records(out)) == 20 and "paid for 0 calls" in again.stderr
