"""Plug-ins: the three adapters, failures recorded per item, and a plug-in as the cheap half of a `Cascade`."""

import asyncio
import builtins
import importlib.util
import math
from collections.abc import Sequence

import pytest

from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.errors import ConfigurationError, InterfaceError
from reasoning.evaluators import Cascade, LLMValue
from reasoning.plugins import (
    FunctionPlugin,
    HFClassifierPlugin,
    Plugin,
    PluginEvaluator,
    PluginFailure,
    Prediction,
    SklearnPlugin,
    predict_safely,
)
from reasoning.tree import Node, SearchContext
from tests.conftest import require


def test_prediction_is_checked() -> None:
    assert Prediction("yes", 1).confidence == 1.0 and isinstance(Prediction("yes", 1).confidence, float)
    for label, confidence in (("", 0.5), ("yes", 1.5), ("yes", -0.1), ("yes", math.nan), ("yes", "0.5"), (3, 0.5)):
        with pytest.raises(ValueError):
            Prediction(label, confidence)  # type: ignore[arg-type]


async def test_function_plugin_sync_and_async() -> None:
    sync = FunctionPlugin(lambda texts: [("long" if len(t) > 3 else "short", 0.75) for t in texts], name="len")
    assert await sync.predict(["ab", "abcd"]) == [Prediction("short", 0.75), Prediction("long", 0.75)]

    async def fn(texts: list[str]) -> list[Prediction]:
        await asyncio.sleep(0)
        return [Prediction(t, 0.5) for t in texts]

    assert await FunctionPlugin(fn).predict(["a"]) == [Prediction("a", 0.5)]


async def test_a_plugin_that_raises_fails_only_its_items() -> None:
    calls: list[list[str]] = []

    def fn(texts: list[str]) -> list[tuple[str, float]]:
        calls.append(texts)
        if "bad" in texts:
            raise RuntimeError("cannot read 'bad'")
        return [("ok", 0.9) for _ in texts]

    out = await predict_safely(FunctionPlugin(fn), ["a", "bad", "c"])
    assert out == [Prediction("ok", 0.9), PluginFailure("RuntimeError: cannot read 'bad'"), Prediction("ok", 0.9)]
    assert calls == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]  # the batch once, then one by one
    assert await predict_safely(FunctionPlugin(fn), []) == []
    assert await predict_safely(FunctionPlugin(fn), ["bad"]) == [PluginFailure("RuntimeError: cannot read 'bad'")]


async def test_malformed_answers_become_failures() -> None:
    short = FunctionPlugin(lambda texts: [("x", 0.5)], name="short")
    out = await predict_safely(short, ["a", "b"])
    assert out[0] == Prediction("x", 0.5) and out[1] == Prediction("x", 0.5)  # one by one, each is fine
    wild = FunctionPlugin(lambda texts: [("x", 7.0) if t == "b" else "nonsense" if t == "c" else ("y", 0.2)
                                         for t in texts])  # fmt: skip
    a, b, c = await predict_safely(wild, ["a", "b", "c"])
    assert a == Prediction("y", 0.2)
    assert isinstance(b, PluginFailure) and "[0, 1]" in b.error
    assert isinstance(c, PluginFailure) and "Prediction or a (label, confidence) pair" in c.error


async def test_cancellation_is_not_swallowed() -> None:
    async def slow(texts: list[str]) -> list[Prediction]:
        await asyncio.sleep(10)
        return []

    task = asyncio.ensure_future(predict_safely(FunctionPlugin(slow), ["a"]))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_sklearn_plugin_labels_confidence_and_save_load(tmp_path) -> None:
    require("sklearn")
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["good great fine", "great good", "bad awful", "awful terrible bad"]
    pipe = make_pipeline(CountVectorizer(), LogisticRegression()).fit(texts, [1, 1, 0, 0])
    plugin = SklearnPlugin(pipe, name="bow", label_names={0: "negative", 1: "positive"})
    assert plugin.labels == ["negative", "positive"]
    out = await plugin.predict(["good good", "terrible", "unknown words"])
    assert [p.label for p in out[:2]] == ["positive", "negative"]
    probs = pipe.predict_proba(["good good", "terrible", "unknown words"])
    assert [p.confidence for p in out] == pytest.approx([max(row) for row in probs])
    assert all(type(p.confidence) is float for p in out)
    path = plugin.save(tmp_path / "plugin.pkl")
    again = SklearnPlugin.load(path)
    assert again.name == "bow" and await again.predict(["good good", "terrible", "unknown words"]) == out


def test_sklearn_plugin_needs_probabilities(tmp_path) -> None:
    require("sklearn")
    from sklearn.svm import LinearSVC

    with pytest.raises(ConfigurationError, match="predict_proba"):
        SklearnPlugin(LinearSVC())
    with pytest.raises(ConfigurationError, match="not found"):
        SklearnPlugin.load(tmp_path / "missing.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ConfigurationError, match="not a pickled"):
        SklearnPlugin.load(tmp_path / "junk.pkl")


async def test_hf_plugin_reads_the_pipeline_output() -> None:
    seen = []

    def pipeline(texts: Sequence[str], **options: object) -> list[object]:
        seen.append(options)
        return [{"label": "LABEL_1", "score": 0.93}, [{"label": "LABEL_0", "score": 0.3}, {"label": "LABEL_1",
                                                                                         "score": 0.7}]]  # fmt: skip

    plugin = HFClassifierPlugin(pipeline, label_map={"LABEL_0": "negative", "LABEL_1": "positive"})
    assert plugin.name == "hf-classifier"
    assert await plugin.predict(["a", "b"]) == [Prediction("positive", 0.93), Prediction("positive", 0.7)]
    assert seen == [{"batch_size": 16, "truncation": True}]


def test_hf_plugin_without_transformers_is_a_clear_error(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "transformers" else real(name))
    real_import = builtins.__import__

    def no_transformers(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("transformers"):
            raise ImportError("no transformers")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_transformers)
    with pytest.raises(ConfigurationError, match=r"needs transformers: pip install"):
        HFClassifierPlugin("distilbert-base-uncased-finetuned-sst-2-english")


def ctx_for(model: ScriptedModel) -> SearchContext:
    return SearchContext(Engine(model, cache=ResponseCache()), tag="p")


async def test_plugin_evaluator_in_a_cascade_escalates_unsure_failed_and_abstained_nodes() -> None:
    table = {"a": ("good", 0.95), "b": ("good", 0.6), "c": ("bad", 0.99), "e": ("weird", 0.99)}

    def fn(texts: list[str]) -> list[tuple[str, float]]:
        if "d" in texts:
            raise ValueError("no d")
        return [table[t] for t in texts]

    cheap = PluginEvaluator(FunctionPlugin(fn, name="toy"), text=lambda n: None if n.state == "z" else n.state,
                            values={"good": 10.0, "bad": 0.0})  # fmt: skip
    model = ScriptedModel(lambda r, i: "7")
    expensive = LLMValue(lambda node: GenerationRequest(prompt=f"value {node.state}"), parse=float, n=1)
    cascade = Cascade(cheap, expensive, unsure=PluginEvaluator.unsure(0.9))
    nodes = [Node(state=s) for s in "abcdez"]
    ctx = ctx_for(model)
    values = await cascade.evaluate(nodes, ctx)
    assert values == [10.0, 7.0, 0.0, 7.0, 7.0, 7.0]
    assert [n.info["evaluated_by"] for n in nodes] == ["cheap", "expensive", "cheap", "expensive", "expensive",
                                                      "expensive"]  # fmt: skip
    assert sorted(r.prompt for r in model.calls) == ["value b", "value d", "value e", "value z"]
    assert nodes[0].info["plugin"] == {"label": "good", "confidence": 0.95}
    assert nodes[3].info["plugin"] == {"error": "ValueError: no d"}
    assert "has no value" in nodes[4].info["plugin"]["error"]
    assert nodes[5].info["plugin"] is None
    assert ctx.requests["plugin"] == 5 and ctx.calls["evaluate"] == 4


async def test_plugin_evaluator_value_function_and_fallback() -> None:
    plugin = FunctionPlugin(lambda texts: [("p", 0.8) for _ in texts])
    evaluator = PluginEvaluator(plugin, text=lambda n: n.state, values=lambda p: 100 * p.confidence, fallback=-1.0)
    nodes = [Node(state="x")]
    assert await evaluator.evaluate(nodes, ctx_for(ScriptedModel([]))) == [80.0]
    assert nodes[0].values == (80.0,)
    abstain = PluginEvaluator(plugin, text=lambda n: None, values={"p": 1.0}, fallback=-1.0)
    assert await abstain.evaluate([Node(state="x")], ctx_for(ScriptedModel([]))) == [-1.0]


@pytest.mark.model
async def test_hf_plugin_runs_a_real_transformers_model(tmp_path) -> None:
    """A tiny randomly initialised BERT classifier, saved and loaded by name through transformers' pipeline."""
    require("transformers")
    require("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie"])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]",
                                        cls_token="[CLS]", sep_token="[SEP]")  # fmt: skip
    config = BertConfig(vocab_size=len(vocab), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, num_labels=2, id2label={0: "NEG", 1: "POS"},
                        label2id={"NEG": 0, "POS": 1})  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    plugin = HFClassifierPlugin(str(tmp_path), label_map={"NEG": "negative", "POS": "positive"}, device="cpu")
    out = await plugin.predict(["good movie", "bad movie", "movie"])
    assert [p.label in ("negative", "positive") for p in out] == [True, True, True]
    assert all(0.5 <= p.confidence <= 1.0 for p in out)
    assert plugin.name == tmp_path.name


# -- a PluginEvaluator or Plugin whose code returns the wrong kind of thing: an InterfaceError naming it -------------
@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda p: PluginEvaluator(p, text=lambda n: [4, 5], values={"p": 1.0}),
         r"PluginEvaluator's text function .* must return the plug-in's input \(a str\) or None; got list of int"),
        (lambda p: PluginEvaluator(p, text=lambda n: n.state, values=lambda pred: None),
         r"PluginEvaluator's values function .* must return a number; got None"),
        (lambda p: PluginEvaluator(p, text=lambda n: n.state, values=lambda pred: "high"),
         r"PluginEvaluator's values function .* must return a number; got str 'high'"),
    ],
)  # fmt: skip
async def test_plugin_evaluator_functions_returning_the_wrong_type_are_named(make, pattern) -> None:
    evaluator = make(FunctionPlugin(lambda texts: [("p", 0.8) for _ in texts]))
    with pytest.raises(InterfaceError, match=pattern):
        await evaluator.evaluate([Node(state="x")], ctx_for(ScriptedModel([])))


def test_plugin_evaluator_values_must_be_numbers() -> None:
    plugin = FunctionPlugin(lambda texts: [("p", 0.8) for _ in texts])
    with pytest.raises(InterfaceError, match=r"must map each label to a number; 'solvable' maps to str 'high'"):
        PluginEvaluator(plugin, text=lambda n: "x", values={"solvable": "high"})
    with pytest.raises(InterfaceError, match=r"a mapping of label -> number or a function"):
        PluginEvaluator(plugin, text=lambda n: "x", values=20.0)  # type: ignore[arg-type]


class Undefined(Plugin):
    name = "undefined"


async def test_a_plugin_protocol_subclass_without_predict_is_named() -> None:
    # It inherited the protocol's `...`, returned None, and every item became a PluginFailure("TypeError: ...").
    with pytest.raises(InterfaceError, match=r"Undefined does not define predict: it subclasses Plugin"):
        await predict_safely(Undefined(), ["a", "b"])
    evaluator = PluginEvaluator(Undefined(), text=lambda n: n.state, values={"p": 1.0})
    with pytest.raises(InterfaceError, match=r"Undefined does not define predict"):
        await evaluator.evaluate([Node(state="x")], ctx_for(ScriptedModel([])))
