"""The eval on the harness with a scripted model: IO, CoT and DFS records, the summary and the report; and the
game selection."""

import pytest

from evals.crosswords.data import TEST_GAMES, Game, parse_games
from evals.crosswords.eval import CrosswordsEval
from evals.crosswords.methods import MethodConfig
from evals.harness import run_eval
from reasoning import Engine, ScriptedModel
from reasoning.errors import ConfigurationError

ANSWER = "AGENDMOTORARTSYSALLESLEER"
GAMES = [Game(i, tuple(f"clue {k}" for k in range(10)), tuple(ANSWER)) for i in (0, 5)]
GRID = "\n".join(" ".join(ANSWER[r * 5 : r * 5 + 5]) for r in range(5))


def reply(request, i):
    text = request.prompt
    if text.endswith("Output:\n"):  # IO
        return GRID
    if text.endswith("Thoughts:\n"):  # CoT
        return f"h1. clue 0: AGEND\n\nOutput:\n{GRID}"
    if "Clue: clue 6" in text.rsplit("\n\n", 1)[-1]:  # prune: v2 is impossible
        return "No word.\nimpossible"
    if text.startswith("Can a 5-letter word"):
        return "Fits.\nsure"
    board = text.split("Unfilled:")[0]
    if "MOTOR" in board:
        return "h3. artsy (certain)"
    if "AGEND" in board:
        return "h2. motor (certain)\nh3. artsy (high)"
    return "h1. agend (certain)\nh2. motor (high)\nv2. xxxxx (medium)"


@pytest.mark.parametrize("method", ["io", "cot", "tot-dfs"])
async def test_each_method_makes_records_a_summary_and_a_report(tmp_path, method):
    ev = CrosswordsEval(MethodConfig(method=method, propose_samples=1, max_visits=5, chat=False), GAMES)
    records, summary = await run_eval(ev, tmp_path, Engine(ScriptedModel(reply)), model="scripted", parallel=1)
    assert [r["idx"] for r in records] == [0, 5] and summary is not None
    assert summary["games"] == 2 and summary["method"] == method
    html = (tmp_path / "report.html").read_text()
    assert html.count('class="game"') == 2
    if method != "tot-dfs":
        assert (summary["letter"], summary["word"], summary["game"]) == (1.0, 1.0, 1.0)
        assert records[0]["output"] == [ANSWER[r * 5 : r * 5 + 5] for r in range(5)]
        return
    visited = records[0]["visited"]
    assert len(visited) == 5 and records[0]["stopped"] == "max_visits"
    # v2 is called impossible once it has 2 letters: agend, then motor and artsy under it (both pruned), back up
    # to motor, artsy under it (pruned); the next child of the root would be the 6th visit.
    fills = [v["fills"] for v in visited]
    assert fills == [["h1. agend"], ["h1. agend", "h2. motor"], ["h1. agend", "h3. artsy"], ["h2. motor"],
                     ["h2. motor", "h3. artsy"]]  # fmt: skip
    assert [v["pruned"] for v in visited] == [False, True, True, False, True]
    assert [v["parent"] for v in visited] == [0, 1, 1, 0, 4]
    assert visited[1]["count"] == {"sure": 6, "maybe": 0, "impossible": 1}  # h1, h2 and the 5 columns
    assert "backtrack" in html and "PRUNED" in html
    assert records[0]["best"]["visit"] >= 1 and 0 < summary["best_word"] <= 1


def test_games_are_selected_by_number():
    assert parse_games("test", 156) == list(TEST_GAMES)
    assert parse_games("0-10:5,3,3", 156) == [0, 5, 10, 3]
    for bad, message in [("x", "games are"), ("5-1", "games are"), ("0-3:0", "games are"), ("156", "past the file")]:
        with pytest.raises(ConfigurationError, match=message):
            parse_games(bad, 156)
