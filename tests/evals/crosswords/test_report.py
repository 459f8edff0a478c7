"""The crosswords report as a reader needs it: the clues beside each board's words, the best state's board drawn
beside the output's and the answer with both scores, the success rates labelled as the paper's Table 3 and rounded
once, a title telling a pruned run from the ablation, a note when a replay's confidences are rebuilt placeholders,
a legend of the DFS listing, and every clue escaped."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.crosswords.eval import CrosswordsEval
from evals.crosswords.report import figure, render_report
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
ANSWER = ["AGEND", "MOTOR", "ARTSY", "SALLE", "SLEER"]  # game 0 of mini0505.json
CLUES = ["An agendum; something to be done", "An engine", "Pretentious; flowery", "A salon; a hall",
         "To mock; to sneer", "To heap", "An Indian antelope", "To intend", "A nozzle", "Desiccator"]  # fmt: skip
HOSTILE = '</title><script>document.title="pwned"</script><img src=x onerror=alert(1)>'


def visit(fills, parent, grid, word, *, pruned=False, confidence=1.0):
    return {"fills": fills, "parent": parent, "confidence": confidence, "pruned": pruned, "grid": grid,
            "count": {"sure": 1, "maybe": 0, "impossible": int(pruned)}, "letter": 0.2, "word": word,
            "solved": False}  # fmt: skip


def dfs_record(clues=CLUES, **extra):
    best_grid = ["AGEND", "MOTOR", "_____", "_____", "_____"]
    # The output is the first state at the deepest depth, pruned as it is; the best state comes after a backtrack.
    visited = [visit(["h2. motor"], 0, ["_____", "MOTOR", "_____", "_____", "_____"], 0.1),
               visit(["h2. motor", "h3. zzzzz"], 1, ["_____", "MOTOR", "ZZZZZ", "_____", "_____"], 0.1,
                     pruned=True),
               visit(["h2. motor", "h1. agend"], 1, best_grid, 0.2)]  # fmt: skip
    record = {"idx": 0, "method": "tot-dfs", "answer": ANSWER, "output": visited[1]["grid"], "stopped": "exhausted",
              "letter": 0.2, "word": 0.1, "solved": False, "best": {"visit": 3, "letter": 0.4, "word": 0.2,
              "solved": False}, "visited": visited, "calls": 9, "prompt_tokens": 0, "completion_tokens": 0,
              "dollars": 0.0}  # fmt: skip
    if clues is not None:
        record["clues"] = clues
    return {**record, **extra}


SUMMARY = {"method": "tot-dfs", "model": "m", "games": 1, "letter": 0.78, "word": 0.6, "game": 0.2,
           "best_letter": 0.824, "best_word": 0.675, "best_game": 0.35, "visited_per_game": 92.8,
           "calls_per_game": 885.15, "tokens_per_game": 0.0, "dollars": 0.0}  # fmt: skip


def info(*, prune=True, backend="replay", games_file=None):
    identity = {"--backend": backend, "--no-prune": not prune, "--games-file": games_file}
    return {"identity": identity, "model": "gpt-4-replay", "config": {"method": "tot-dfs", "prune": prune}}


def test_each_fill_and_each_board_word_comes_with_its_clue():
    html = render_report([dfs_record()], SUMMARY, info())
    assert "h2. motor" in html and "“An engine”" in html  # the listing line ends with its clue
    assert "<th>h2</th><td>An engine</td>" in html  # the clue table: clue, then each board's word
    assert html.count("<code>MOTOR</code>") == 3  # output, best state and answer all fill h2 with MOTOR


def test_the_best_state_is_drawn_beside_the_output_and_the_answer_with_both_scores():
    html = render_report([dfs_record()], SUMMARY, info())
    assert "best state (visit 3)" in html
    assert "output\n5/25 letters, 1/10 words, not solved" in html
    assert "best state (visit 3)\n10/25 letters, 2/10 words, not solved" in html
    assert "A G E N D\nM O T O R" in html  # the best state's board (the output's first row is empty)


def test_the_title_tells_a_pruned_run_from_the_ablation():
    pruned = render_report([dfs_record()], SUMMARY, info())
    unpruned = render_report([dfs_record()], SUMMARY, info(prune=False))
    assert "ToT DFS, pruned" in pruned and "without pruning" not in pruned
    assert "ToT DFS, without pruning (ablation)" in unpruned
    assert "<title>Mini crosswords — ToT DFS, without pruning" in unpruned


def test_a_replay_without_pruning_says_its_confidences_are_rebuilt_placeholders():
    rebuilt = render_report([dfs_record()], SUMMARY, info(prune=False))
    assert "every proposal was rebuilt from the log" in rebuilt and "not the model&#x27;s" in rebuilt
    assert "conf†" in rebuilt
    pruned = render_report([dfs_record()], SUMMARY, info())
    assert "rebuilt" not in pruned and "conf†" not in pruned and "GPT-4&#x27;s, from the published" in pruned
    live = render_report([dfs_record()], SUMMARY, info(prune=False, backend="hf"))
    assert "rebuilt" not in live and "replays" not in live


def test_the_legend_explains_every_column_and_mark():
    html = render_report([dfs_record()], SUMMARY, info())
    for term in ("conf", "s/m/i", "words k/10", "indentation", "↩ after backtracking", "PRUNED", "OUTPUT", "BEST"):
        assert f"<dt>{term}</dt>" in html, term
    assert "the deepest visited state, the first reached at that depth, pruned or not" in html
    assert "OUTPUT can sit on a PRUNED state" in html
    # The third state is reached from the first after the second: a backtrack, marked so it cannot be misread.
    assert "PRUNED OUTPUT" in html and "↩ after backtracking BEST" in html and " backtrack " not in html


def test_the_rates_are_labelled_as_table_3_and_rounded_once():
    html = render_report([dfs_record()], SUMMARY, info())
    assert "Success rate (%), mean over 1 games (as the paper's Table 3)" in html
    assert "<th></th><th>letter</th><th>word</th><th>game</th>" in html
    assert '<td class="n">78.0%</td><td class="n">60.0%</td><td class="n">20.0%</td>' in html
    assert "+best state (oracle)" in html and '<td class="n">82.4%</td>' in html
    assert 'model calls / game</th><td class="n">885.1</td>' in html and "885.15" not in html
    assert figure("calls_per_game", 1040.35) == "1040.3" and figure("best_game", 0.35) == "35.0%"
    assert figure("games", 20) == "20" and figure("dollars", 0.5) == "0.5000"


def test_the_printed_summary_names_and_rounds_as_the_report_does() -> None:
    lines = dict(line.split("  ", 1) for line in CrosswordsEval.format_summary(None, SUMMARY).splitlines())  # type: ignore[arg-type]
    shown = {name.strip(): value.strip() for name, value in lines.items()}
    assert shown["letter success"] == "78.0%" and shown["game success, best state (oracle)"] == "35.0%"
    assert shown["model calls / game"] == "885.1" and shown["states visited / game"] == "92.8"
    assert shown["method"] == "tot-dfs" and not any("_" in name for name in shown)


def test_a_hostile_clue_is_escaped():
    html = render_report([dfs_record(clues=[HOSTILE] * 10)], SUMMARY, info())
    assert "<script>" not in html and "<img" not in html and "</title><" not in html
    assert "&lt;/title&gt;&lt;script&gt;" in html


def test_clues_missing_from_the_records_are_read_from_the_runs_games_file_when_the_answer_matches(tmp_path):
    games = tmp_path / "games.json"
    games.write_text(json.dumps([[CLUES, list("".join(ANSWER))]]))
    html = render_report([dfs_record(clues=None)], SUMMARY, info(games_file=str(games)))
    assert "“An engine”" in html and f"Clues read from {games}" in html
    other = tmp_path / "other.json"
    other.write_text(json.dumps([[CLUES, list("Z" * 25)]]))  # game 0 there is another game: its clues are not used
    html = render_report([dfs_record(clues=None)], SUMMARY, info(games_file=str(other)))
    assert "An engine" not in html and "(clue not found)" in html
    html = render_report([dfs_record(clues=None)], SUMMARY, info(games_file=str(tmp_path / "absent.json")))
    assert "(clue not found)" in html and "could not be read" in html


@pytest.mark.skipif(not (SHARED_DATA / "tot" / "crosswords" / "infoss_dfs_no_prune.json").is_file(),
                    reason="the published crosswords logs are not in the shared data")  # fmt: skip
def test_the_ablations_replay_report_has_the_clues_the_note_and_the_best_board(tmp_path):
    env = dict(os.environ, REASONING_SHARED_DATA=str(SHARED_DATA))
    command = [sys.executable, "-m", "reasoning.cli", "crosswords", "run", "--backend", "replay", "--no-prune",
               "--games", "0", "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    html = (tmp_path / "report.html").read_text()
    assert "h2. motor" in html and "“An engine”" in html
    assert "ToT DFS, without pruning (ablation)" in html and "every proposal was rebuilt from the log" in html
    assert "best state (visit 59)" in html


def test_a_hand_edited_record_is_refused_on_reading_naming_its_field() -> None:
    # A record missing a field the summary or the report reads (or holding another type) was a KeyError or TypeError
    # in `report`; the results reader turns these ValueErrors into one line naming the file, line and field.
    from types import SimpleNamespace

    from pydantic import ValidationError

    ev = SimpleNamespace(run="r")
    good = {"run": "r", "idx": 0, "method": "io", "output": ["ABCDE"] * 5, "letter": 0.2, "word": 0.1,
            "solved": False, "calls": 1, "prompt_tokens": 10, "completion_tokens": 5, "dollars": 0.0}  # fmt: skip
    assert CrosswordsEval.read(ev, good) == good  # type: ignore[arg-type]
    assert CrosswordsEval.read(ev, {**good, "run": "other", "calls": "x"}) is None  # type: ignore[arg-type]
    for change in ({"calls": "1"}, {"letter": 2.0}, {"solved": 1}, {"output": None}, {"best": {"letter": 0.5}},
                   {"idx": True}, {"dollars": float("nan")}):  # fmt: skip
        with pytest.raises(ValidationError):
            CrosswordsEval.read(ev, {**good, **change})  # type: ignore[arg-type]
    bad = dict(good)
    del bad["word"]
    with pytest.raises(ValidationError, match="word"):
        CrosswordsEval.read(ev, bad)  # type: ignore[arg-type]
