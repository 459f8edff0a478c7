"""The task's proposals (summed confidence, order, dropped candidates) and the prune evaluator, on a scripted
model."""

from evals.crosswords.board import Board, parse_fill
from evals.crosswords.data import Game
from evals.crosswords.task import (
    CrosswordsConfig,
    CrosswordsTask,
    PruneEvaluator,
    prune_items,
    read_proposals,
    read_verdict,
)
from reasoning import Engine, ScriptedModel
from reasoning.tree import Node, SearchContext

GAME = Game(0, tuple(f"clue {i}" for i in range(10)), tuple("AGENDMOTORARTSYSALLESLEER"))


def test_confidences_sum_over_samples_in_first_seen_order():
    samples = ["h1. agend (high)\nv1. amass (low)\nnot a line\nh2. motor (certain) because", "v1. amass (medium)",
               "h1. agend (high)", "h3. arts (certain)", "H4. Salle (medium)"]  # fmt: skip
    scores = read_proposals(samples)
    assert list(scores) == ["h1. agend", "v1. amass", "h2. motor"]  # "arts" is 4 letters; "H4" is not h4
    assert scores["h1. agend"] == 1.0 and abs(scores["v1. amass"] - 0.3) < 1e-12 and scores["h2. motor"] == 1.0


def test_verdict_is_the_last_line():
    assert read_verdict("Fits well.\nsure\n") == "sure"
    assert read_verdict("Maybe.") == "maybe"
    assert read_verdict("impossible, I think") is None
    assert read_verdict("") is None


def test_prune_asks_about_clues_with_two_letters_or_more():
    board = Board().fill(parse_fill("h2. motor"))
    assert prune_items(board) == [(1, "MOTOR")]
    board = board.fill(parse_fill("h3. artsy"))
    columns = ["_MA__", "_OR__", "_TT__", "_OS__", "_RY__"]
    assert prune_items(board) == [(1, "MOTOR"), (2, "ARTSY")] + [(5 + c, w) for c, w in enumerate(columns)]


async def test_expand_orders_by_confidence_and_drops_changing_or_too_deep_fills():
    replies = iter(["h1. agend (medium)\nh2. motor (certain)\nh1. xxxxx (high)", "h1. agend (medium)"])
    model = ScriptedModel(lambda request, i: next(replies))
    task = CrosswordsTask(GAME, CrosswordsConfig(propose_samples=2))
    ctx = SearchContext(Engine(model), tag="t")
    root = task.root()
    children = await task.expand(root, ctx)
    # motor 1.0 first; agend 0.4 and xxxxx 0.5: xxxxx before agend.
    assert [c.thought for c in children] == ["h2. motor", "h1. xxxxx", "h1. agend"]
    assert children[0].info["confidence"] == 1.0 and children[0].state.steps == 1
    # From a board with h2 filled, a fill changing one of its letters is dropped; so is one past max_fills.
    node = root.child(Board().fill(parse_fill("h2. motor")), "h2. motor")
    model = ScriptedModel(lambda request, i: "v1. amass (high)\nv2. pilot (certain)" if i == 0 else "")
    kids = await CrosswordsTask(GAME).expand(node, SearchContext(Engine(model), tag="t"))
    assert [c.thought for c in kids] == ["v1. amass"]
    deep = Node(state=Board(steps=9))
    model = ScriptedModel(lambda request, i: "v1. amass (high)")
    assert await CrosswordsTask(GAME).expand(deep, SearchContext(Engine(model), tag="t")) == []
    assert CrosswordsTask(GAME).is_terminal(deep)


async def test_prune_counts_verdicts_and_values_an_impossible_state_zero():
    board = Board().fill(parse_fill("h2. motor")).fill(parse_fill("h3. artsy"))

    def reply(request, i):
        text = request.messages[-1].content.rsplit("Clue: ", 1)[1]
        return "no idea" if "clue 5" in text else "impossible" if "clue 6" in text else "Reason.\nsure"

    task = CrosswordsTask(GAME)
    node = Node(state=board)
    ctx = SearchContext(Engine(ScriptedModel(reply)), tag="t")
    assert await PruneEvaluator(task).evaluate([node], ctx) == [0.0]
    assert node.info["count"] == {"sure": 5, "maybe": 0, "impossible": 1}
    assert node.info["verdicts"]["v1"] is None and node.info["verdicts"]["v2"] == "impossible"
    assert ctx.requests["evaluate"] == 7
