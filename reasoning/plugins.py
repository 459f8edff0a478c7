"""Small models as plug-ins (SuperICL, Xu et al., 2023): anything that returns a label and a confidence per input.

A `Plugin` has a `name` and `async predict(texts) -> list[Prediction]`. Three adapters ship:

- `SklearnPlugin`: a fitted scikit-learn classifier or pipeline with `predict_proba` (label = the most probable
  class, confidence = its probability);
- `HFClassifierPlugin`: a Hugging Face text-classification model or pipeline (transformers imported lazily);
- `FunctionPlugin`: a plain function, sync or async, of a batch of texts.

`predict_safely` turns a plug-in that raises (or answers malformed output) into a `PluginFailure` for the items
concerned, never a crash. `PluginEvaluator` makes a plug-in an `Evaluator` of the shared search abstraction, so it
can be the cheap half of a `Cascade`:

    cheap = PluginEvaluator(plugin, text=numbers_left, values={"solvable": 20.0, "unsolvable": 0.001})
    evaluator = Cascade(cheap, task.evaluator(), unsure=cheap.unsure(0.9))
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import math
import numbers
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from ._words import counted
from .checks import check_defined, function_name, shown
from .errors import ConfigurationError, InterfaceError
from .tree import Node, SearchContext

__all__ = [
    "FunctionPlugin",
    "HFClassifierPlugin",
    "Plugin",
    "PluginEvaluator",
    "PluginFailure",
    "Prediction",
    "SklearnPlugin",
    "predict_safely",
]

S = TypeVar("S")


@dataclass(frozen=True)
class Prediction:
    """A plug-in's answer for one input: a label and its confidence, a probability in [0, 1]."""

    label: str
    confidence: float

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError(f"a prediction's label must be a non-empty string; got {self.label!r}")
        try:
            confidence = float(self.confidence)
        except (TypeError, ValueError):
            confidence = math.nan
        if isinstance(self.confidence, bool | str) or not 0.0 <= confidence <= 1.0:
            raise ValueError(f"a prediction's confidence must be a number in [0, 1]; got {self.confidence!r}")
        object.__setattr__(self, "confidence", confidence)  # numpy scalars become plain floats


@dataclass(frozen=True)
class PluginFailure:
    """The plug-in raised, or answered something that is not a `Prediction`, for this input."""

    error: str


class Plugin(Protocol):
    """Anything that labels texts with a confidence. `predict` returns one `Prediction` per text, in order."""

    name: str

    async def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


PLUGIN_METHODS = {"predict": "async predict(texts) -> list of Prediction, one per text"}


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _coerce(value: Any) -> Prediction:
    if isinstance(value, Prediction):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        label, confidence = value
        return Prediction(label, float(confidence))
    raise ValueError(f"expected a Prediction or a (label, confidence) pair; got {type(value).__name__}")


async def _predict_checked(plugin: Plugin, texts: Sequence[str]) -> list[Prediction]:
    out = list(await plugin.predict(list(texts)))
    if len(out) != len(texts):
        raise ValueError(
            f"plug-in {plugin.name!r} returned {counted(len(out), 'prediction')} for {counted(len(texts), 'input')}"
        )
    return [_coerce(p) for p in out]


async def predict_safely(plugin: Plugin, texts: Sequence[str]) -> list[Prediction | PluginFailure]:
    """`plugin.predict(texts)`, with failures recorded per input instead of raised.

    The batch is asked once; if that fails (an exception, a wrong number of predictions, a label that is not a
    string, a confidence outside [0, 1]), each input is asked alone, so only the inputs that fail on their own
    become `PluginFailure`s. Cancellation is never swallowed. A subclass of `Plugin` that does not define `predict`
    is an `InterfaceError` (a mistake in the code, not a failure of the plug-in)."""
    check_defined(plugin, Plugin, PLUGIN_METHODS)
    if not texts:
        return []
    try:
        return list(await _predict_checked(plugin, texts))
    except Exception as exc:
        if len(texts) == 1:
            return [PluginFailure(_describe(exc))]
    out: list[Prediction | PluginFailure] = []
    for text in texts:
        try:
            out.append((await _predict_checked(plugin, [text]))[0])
        except Exception as exc:
            out.append(PluginFailure(_describe(exc)))
    return out


class FunctionPlugin:
    """A plain function of a batch of texts, sync or async, returning `Prediction`s or (label, confidence) pairs.

    >>> plugin = FunctionPlugin(lambda texts: [("positive", 0.9) for _ in texts], name="always-positive")
    """

    def __init__(self, fn: Callable[[list[str]], Any], *, name: str = "function") -> None:
        self.fn = fn
        self.name = name

    async def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out = self.fn(list(texts))
        if inspect.isawaitable(out):
            out = await out
        return [_coerce(p) for p in out]


class SklearnPlugin:
    """A fitted scikit-learn classifier or pipeline with `predict_proba` (run in a worker thread).

    `label_names` maps class values to label words (e.g. {0: "negative", 1: "positive"}); classes it does not
    name become `str(value)`. `save` / `load` pickle the estimator: load only files you made yourself, since
    unpickling runs code."""

    def __init__(self, estimator: Any, *, name: str = "sklearn", label_names: Mapping[Any, str] | None = None) -> None:
        if not callable(getattr(estimator, "predict_proba", None)):
            raise ConfigurationError(
                f"{type(estimator).__name__} has no predict_proba: a plug-in needs a confidence "
                "(use e.g. LogisticRegression, or wrap the model in CalibratedClassifierCV)"
            )
        self.estimator = estimator
        self.name = name
        self.label_names = dict(label_names or {})

    @property
    def labels(self) -> list[str]:
        """The label of each class, in the estimator's class order."""
        return [self.label_names.get(c, str(c)) for c in self.estimator.classes_]

    def _predict(self, texts: list[str]) -> list[Prediction]:
        rows = self.estimator.predict_proba(texts)
        labels = self.labels
        out = []
        for row in rows:
            probs = [float(p) for p in row]
            best = max(range(len(probs)), key=probs.__getitem__)  # the first of tied maxima
            out.append(Prediction(labels[best], min(1.0, max(0.0, probs[best]))))
        return out

    async def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return await asyncio.to_thread(self._predict, list(texts))

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        blob = {"estimator": self.estimator, "name": self.name, "label_names": self.label_names}
        # Written beside the target and renamed over it: a run killed mid-save leaves the old file or the new one.
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(pickle.dumps(blob))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    @classmethod
    def load(cls, path: str | Path) -> SklearnPlugin:
        """A plug-in saved with `save`, or a bare pickled estimator."""
        source = Path(path)
        if not source.is_file():
            raise ConfigurationError(f"plug-in file not found: {source}")
        try:
            blob = pickle.loads(source.read_bytes())
        except Exception as exc:
            raise ConfigurationError(f"{source} is not a pickled scikit-learn plug-in: {_describe(exc)}") from None
        if isinstance(blob, dict) and "estimator" in blob:
            return cls(blob["estimator"], name=blob.get("name", source.stem), label_names=blob.get("label_names"))
        return cls(blob, name=source.stem)


def _require_transformers() -> Any:
    if importlib.util.find_spec("transformers") is None:
        raise ConfigurationError(
            "HFClassifierPlugin needs transformers: pip install 'reasoning-toolkit[local]' (or transformers and torch)"
        )
    return importlib.import_module("transformers")


class HFClassifierPlugin:
    """A Hugging Face text-classification model: a model name or folder (a `pipeline` is built on first use, in a
    worker thread), or a ready pipeline / any callable with the pipeline's output shape.

    `label_map` renames the model's labels (e.g. {"LABEL_0": "negative", "LABEL_1": "positive"}). transformers is
    imported only when a pipeline has to be built; without it, construction fails with a clear
    `ConfigurationError`."""

    def __init__(
        self,
        model: str | Path | Callable[..., Any],
        *,
        name: str | None = None,
        label_map: Mapping[str, str] | None = None,
        device: str | int | None = None,
        batch_size: int = 16,
    ) -> None:
        if isinstance(model, str | Path):
            _require_transformers()
            self._source: str | None = str(model)
            self._pipeline: Callable[..., Any] | None = None
        else:
            self._source, self._pipeline = None, model
        self.name = name or (Path(self._source).name if self._source else "hf-classifier")
        self.label_map = dict(label_map or {})
        self.device = device
        self.batch_size = batch_size
        self._lock = asyncio.Lock()

    def _build(self) -> Callable[..., Any]:
        transformers = _require_transformers()
        pipe: Callable[..., Any] = transformers.pipeline("text-classification", model=self._source, device=self.device)
        return pipe

    def _predict(self, texts: list[str]) -> list[Prediction]:
        assert self._pipeline is not None
        raw = self._pipeline(texts, batch_size=self.batch_size, truncation=True)
        out = []
        for entry in raw:
            # One dict per input, or (with top_k) a list of them: keep the highest score.
            best = max(entry, key=lambda d: float(d["score"])) if isinstance(entry, list) else entry
            label = str(best["label"])
            out.append(Prediction(self.label_map.get(label, label), min(1.0, max(0.0, float(best["score"])))))
        return out

    async def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if self._pipeline is None:
            async with self._lock:
                if self._pipeline is None:
                    self._pipeline = await asyncio.to_thread(self._build)
        return await asyncio.to_thread(self._predict, list(texts))


Values = Mapping[str, float] | Callable[[Prediction], float]


@dataclass(frozen=True)
class PluginEvaluator(Generic[S]):
    """A plug-in as an `Evaluator`: `text(node)` is the plug-in's input (None: not a state the plug-in judges),
    `values` maps its prediction to the node's value (a label -> value mapping, or a function of the prediction).

    Every node gets `node.info["plugin"]`: {"label", "confidence"}, or {"error": ...} when the plug-in failed or its
    label has no value, or None when it abstained; such nodes are valued `fallback`. `unsure(threshold)` is the
    `Cascade` predicate that escalates nodes without a prediction or with confidence below `threshold`. The
    plug-in is asked once per `evaluate` with every node's text (a batch), and costs no model call;
    `ctx.requests["plugin"]` counts the nodes it was asked about.
    """

    plugin: Plugin
    text: Callable[[Node[S]], str | None]
    values: Values
    fallback: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.values, Mapping):
            for label, value in self.values.items():
                if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
                    raise InterfaceError(f"PluginEvaluator's values must map each label to a number; {label!r} maps "
                                         f"to {shown(value)}")  # fmt: skip
        elif not callable(self.values):
            raise InterfaceError("PluginEvaluator's values must be a mapping of label -> number or a function of a "
                                 f"Prediction returning a number; got {shown(self.values)}")  # fmt: skip

    def _text(self, node: Node[S]) -> str | None:
        text = self.text(node)
        if text is not None and not isinstance(text, str):
            raise InterfaceError(f"PluginEvaluator's text function {function_name(self.text)} must return the "
                                 f"plug-in's input (a str) or None; got {shown(text)}")  # fmt: skip
        return text

    def _value(self, prediction: Prediction) -> float:
        if callable(self.values):
            value = self.values(prediction)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise InterfaceError(f"PluginEvaluator's values function {function_name(self.values)} must return a "
                                     f"number; got {shown(value)}")  # fmt: skip
            return float(value)
        if prediction.label not in self.values:
            raise KeyError(f"label {prediction.label!r} has no value (known: {', '.join(self.values)})")
        return float(self.values[prediction.label])

    async def evaluate(self, nodes: Sequence[Node[S]], ctx: SearchContext) -> list[float]:
        asked = [(node, text) for node in nodes if (text := self._text(node)) is not None]
        predictions = await predict_safely(self.plugin, [text for _, text in asked])
        ctx.requests["plugin"] += len(asked)
        for node in nodes:
            node.info["plugin"] = None
            node.value, node.values = self.fallback, (self.fallback,)
        for (node, _), prediction in zip(asked, predictions, strict=True):
            if isinstance(prediction, PluginFailure):
                node.info["plugin"] = {"error": prediction.error}
                continue
            try:
                value = self._value(prediction)
            except (KeyError, ValueError, TypeError) as exc:
                node.info["plugin"] = {"error": _describe(exc)}
                continue
            if not math.isfinite(value):
                node.info["plugin"] = {"error": f"value {value} is not finite"}
                continue
            node.info["plugin"] = {"label": prediction.label, "confidence": prediction.confidence}
            node.value, node.values = value, (value,)
        return [node.value if node.value is not None else self.fallback for node in nodes]

    @staticmethod
    def unsure(threshold: float) -> Callable[[Node[Any]], bool]:
        """True for a node the plug-in did not judge, failed on, or judged with confidence below `threshold`."""

        def predicate(node: Node[Any]) -> bool:
            info = node.info.get("plugin")
            return not isinstance(info, dict) or "confidence" not in info or info["confidence"] < threshold

        return predicate
