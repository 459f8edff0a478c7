import math
from decimal import Decimal
from fractions import Fraction

import pytest

from reasoning import ConfigurationError, Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.errors import InterfaceError
from reasoning.evaluators import Cascade, Heuristic, LLMValue, LLMVote, Shortcut, word_values
from reasoning.tree import Node, SearchContext


def ctx_for(model):
    return SearchContext(Engine(model, cache=ResponseCache()), tag="e")


async def test_llm_value_sums_words_and_shares_identical_prompts():
    replies = iter(["sure", "likely", "Impossible.", "maybe"])
    model = ScriptedModel(lambda r, i: next(replies))
    ctx = ctx_for(model)
    evaluator = LLMValue(
        lambda node: GenerationRequest(prompt=f"value {node.state[:1]}"),
        parse=word_values({"sure": 20, "likely": 1, "impossible": 0.001}),
        n=4,
    )
    nodes = [Node(state="a1"), Node(state="a2")]  # same prompt "value a"
    values = await evaluator.evaluate(nodes, ctx)
    assert values == [21.001, 21.001]
    assert nodes[0].values == (20, 1, 0.001, 0.0)
    assert len(model.calls) == 1


async def test_llm_value_shortcut_skips_the_call():
    model = ScriptedModel(["sure"])
    evaluator = LLMValue(lambda n: GenerationRequest(prompt="v"), parse=float, n=1, shortcut=lambda n: 0.0)
    assert await evaluator.evaluate([Node(state="x")], ctx_for(model)) == [0.0]
    assert model.calls == []


async def test_llm_vote_counts_votes():
    model = ScriptedModel(["The best choice is 2", "2", "1", "no idea", "2"])

    def parse(text, k):
        digits = [c for c in text if c.isdigit()]
        return int(digits[-1]) - 1 if digits else None

    evaluator = LLMVote(lambda nodes: GenerationRequest(prompt="pick"), parse=parse, n=5)
    nodes = [Node(state="a"), Node(state="b"), Node(state="c")]
    assert await evaluator.evaluate(nodes, ctx_for(model)) == [1.0, 3.0, 0.0]
    assert nodes[1].value == 3.0


async def test_cascade_escalates_only_unsure_nodes():
    expensive_model = ScriptedModel(lambda r, i: "7")
    cheap = Heuristic(lambda node: {"a": 0.9, "b": 0.5, "c": 0.1}[node.state])
    expensive = LLMValue(lambda node: GenerationRequest(prompt=node.state), parse=float, n=1)
    cascade = Cascade(cheap, expensive, unsure=lambda node: 0.3 < (node.value or 0) < 0.7)
    nodes = [Node(state=s) for s in "abc"]
    values = await cascade.evaluate(nodes, ctx_for(expensive_model))
    assert values == [0.9, 7.0, 0.1]
    assert [n.info["evaluated_by"] for n in nodes] == ["cheap", "expensive", "cheap"]
    assert [r.prompt for r in expensive_model.calls] == ["b"]


async def test_async_heuristic():
    async def fn(node):
        return len(node.state)

    assert await Heuristic(fn).evaluate([Node(state="abc")], ctx_for(ScriptedModel([]))) == [3.0]


# -- a user's function that returns the wrong kind of thing is named, with what it must return and what it gave ------
async def high(node):
    return "high"


async def always(node):
    return True


def request(*_):
    return GenerationRequest(prompt="v")


BAD_FUNCTIONS = {
    # The reported cases: float() raised a bare TypeError / ValueError from inside the search.
    "heuristic-none": (Heuristic(lambda n: None), r"Heuristic's scoring function .*<lambda> at test_evaluators\.py:\d+ "
                       r"must return a number; got None$"),
    "heuristic-word": (Heuristic(lambda n: "high"), r"Heuristic's scoring function .* must return a number; "
                       r"got str 'high'"),
    "heuristic-async-word": (Heuristic(high), r"Heuristic's scoring function high must return a number; got str"),
    "heuristic-nan": (Heuristic(lambda n: math.nan), r"must return a number; got float nan"),
    "value-parse": (LLMValue(request, parse=lambda t: t, n=1), r"LLMValue's parse function .* must return a number "
                    r"or None; got str 'sure'"),
    "value-parse-async": (LLMValue(request, parse=high, n=1), r"LLMValue's parse function high must return a number "
                          r"or None; got coroutine"),
    "value-shortcut": (LLMValue(request, parse=float, shortcut=lambda n: "0"), r"LLMValue's shortcut function .* "
                       r"must return a number or None; got str '0'"),
    "value-aggregate": (LLMValue(request, parse=lambda t: 1.0, n=1, aggregate=lambda v: None),
                        r"LLMValue's aggregate function .* must return a number; got None"),
    "value-prompt": (LLMValue(lambda n: "value this", parse=float), r"LLMValue's prompt function .* must return a "
                     r"GenerationRequest .*; got str 'value this'"),
    "vote-parse-text": (LLMVote(request, parse=lambda t, k: "1", n=1), r"LLMVote's parse function .* must return the "
                        r"index of the chosen node \(an int, 0 to k-1\) or None; got str '1'"),
    "vote-parse-float": (LLMVote(request, parse=lambda t, k: 1.0, n=1), r"LLMVote's parse function .*; got float 1.0"),
    "vote-prompt": (LLMVote(lambda nodes: None, parse=lambda t, k: 0), r"LLMVote's prompt function .*; got None"),
    "cascade-none": (Cascade(Heuristic(lambda n: 1.0), Heuristic(lambda n: 2.0), unsure=lambda n: None),
                     r"Cascade's unsure function .* must return True or False; got None"),
    "cascade-async": (Cascade(Heuristic(lambda n: 1.0), Heuristic(lambda n: 2.0), unsure=always),
                      r"Cascade's unsure function always must return True or False; got coroutine \(an async "
                      r"function where a plain one is needed\)"),
    "shortcut-word": (Shortcut(lambda n: "high", Heuristic(lambda n: 1.0)), r"Shortcut's rule function .*<lambda> at "
                      r"test_evaluators\.py:\d+ must return a number or None; got str 'high'$"),
    "shortcut-async": (Shortcut(high, Heuristic(lambda n: 1.0)), r"Shortcut's rule function high must return a "
                       r"number or None; got coroutine \(an async function where a plain one is needed\)"),
    "shortcut-inner": (Shortcut(lambda n: None, Heuristic(lambda n: "high")), r"Heuristic's scoring function .* must "
                       r"return a number; got str 'high'"),
}  # fmt: skip


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no "coroutine was never awaited"
@pytest.mark.parametrize("case", list(BAD_FUNCTIONS))
async def test_a_function_returning_the_wrong_type_is_an_interface_error(case):
    evaluator, pattern = BAD_FUNCTIONS[case]
    with pytest.raises(InterfaceError, match=pattern) as caught:
        await evaluator.evaluate([Node(state="a"), Node(state="b")], ctx_for(ScriptedModel(lambda *_: "sure")))
    assert isinstance(caught.value, ConfigurationError)


async def test_numbers_of_every_kind_still_count():
    nodes = [Node(state="a")]
    for fn in (lambda n: 3, lambda n: Fraction(1, 2), lambda n: Decimal("0.5"), lambda n: math.inf):
        assert (await Heuristic(fn).evaluate(nodes, ctx_for(ScriptedModel([]))))[0] == float(fn(nodes[0]))
    cascade = Cascade(Heuristic(lambda n: 1.0), Heuristic(lambda n: 2.0), unsure=lambda n: n.state == "b")
    assert await cascade.evaluate([Node(state="a"), Node(state="b")], ctx_for(ScriptedModel([]))) == [1.0, 2.0]


async def test_numpy_numbers_and_bools_count() -> None:
    np = pytest.importorskip("numpy")
    nodes = [Node(state="a"), Node(state="b")]
    assert await Heuristic(lambda n: np.float32(0.5)).evaluate(nodes, ctx_for(ScriptedModel([]))) == [0.5, 0.5]
    vote = LLMVote(request, parse=lambda t, k: np.int64(1), n=2)
    assert await vote.evaluate(nodes, ctx_for(ScriptedModel(["x", "y"]))) == [0.0, 2.0]
    cascade = Cascade(Heuristic(lambda n: 1.0), Heuristic(lambda n: 2.0), unsure=lambda n: np.bool_(n.state == "b"))
    assert await cascade.evaluate(nodes, ctx_for(ScriptedModel([]))) == [1.0, 2.0]


class Batches:
    """An evaluator that notes each batch it is given and values a node by its state's length."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def evaluate(self, nodes, ctx):
        self.batches.append([node.state for node in nodes])
        for node in nodes:
            node.value = float(len(node.state))
        return [node.value for node in nodes]


async def test_shortcut_values_what_its_rule_decides_and_sends_the_rest_in_one_batch():
    inner = Batches()
    decided = {"a": 60.0, "ccc": 0.0}  # 0 is a decision too, not "undecided"
    shortcut = Shortcut(lambda node: decided.get(node.state), inner)
    nodes = [Node(state=s) for s in ("a", "bb", "ccc", "dddd")]
    assert await shortcut.evaluate(nodes, ctx_for(ScriptedModel([]))) == [60.0, 2.0, 0.0, 4.0]
    assert inner.batches == [["bb", "dddd"]]
    assert [n.value for n in nodes] == [60.0, 2.0, 0.0, 4.0]
    assert [n.info.get("evaluated_by") for n in nodes] == ["rule", None, "rule", None]
    assert nodes[0].values == () and nodes[2].values == ()


async def test_shortcut_asks_nothing_when_the_rule_decides_every_node():
    inner = Batches()
    nodes = [Node(state="a"), Node(state="b")]
    assert await Shortcut(lambda node: 1, inner).evaluate(nodes, ctx_for(ScriptedModel([]))) == [1.0, 1.0]
    assert inner.batches == []


async def test_shortcut_before_an_llm_value_makes_one_call_per_undecided_prompt():
    model = ScriptedModel(lambda request, i: "sure")
    value = LLMValue(lambda node: GenerationRequest(prompt=f"value {node.state}"),
                     parse=word_values({"sure": 20}), n=2)  # fmt: skip
    shortcut = Shortcut(lambda node: 0.0 if node.state == "done" else None, value)
    nodes = [Node(state="done"), Node(state="x"), Node(state="y")]
    assert await shortcut.evaluate(nodes, ctx_for(model)) == [0.0, 40.0, 40.0]
    assert sorted(r.prompt for r in model.calls) == ["value x", "value y"]
    assert nodes[1].values == (20.0, 20.0)


@pytest.mark.parametrize("n", [0, -2, 1025, True, 1.5])
def test_value_and_vote_refuse_a_sample_count_no_request_can_ask_for(n):
    # n=0 asked for no sample and valued every node 0 without a word; 5000 went to the backend unchecked.
    with pytest.raises(ConfigurationError, match=r"LLMValue's n must be a whole number of samples from 1 to 1024; got"):
        LLMValue(lambda node: GenerationRequest(prompt="v"), parse=float, n=n)
    with pytest.raises(ConfigurationError, match=r"LLMVote's n must be a whole number of samples from 1 to 1024; got"):
        LLMVote(lambda nodes: GenerationRequest(prompt="pick"), parse=lambda t, k: 0, n=n)
