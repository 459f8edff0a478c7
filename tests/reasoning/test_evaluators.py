from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.evaluators import Cascade, Heuristic, LLMValue, LLMVote, word_values
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
