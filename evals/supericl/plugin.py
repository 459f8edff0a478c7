"""The eval's default plug-in: TF-IDF features and logistic regression, trained on a task's train part (seconds on
a CPU). Needs scikit-learn (`pip install 'reasoning-toolkit[plugins]'`)."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from reasoning.errors import ConfigurationError
from reasoning.plugins import HFClassifierPlugin, Plugin, SklearnPlugin

from .data import Example

__all__ = ["DEFAULT_PLUGIN", "load_plugin", "plugin_spec", "train_tfidf_plugin"]

DEFAULT_PLUGIN = "tfidf-logreg"


def _require_sklearn() -> None:
    if importlib.util.find_spec("sklearn") is None:
        raise ConfigurationError("the default plug-in needs scikit-learn: pip install 'reasoning-toolkit[plugins]'")


def train_tfidf_plugin(train: Sequence[Example], *, seed: int = 0, name: str = DEFAULT_PLUGIN) -> SklearnPlugin:
    """Word and bigram TF-IDF (sublinear counts) into an L2-regularised logistic regression, fitted on `train`.
    Deterministic for the same examples and seed."""
    _require_sklearn()
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    labels = {e.label for e in train}
    if len(labels) < 2:
        raise ConfigurationError(f"the plug-in needs examples of two labels or more; got {sorted(labels)}")
    pipeline = Pipeline([
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
        ("logreg", LogisticRegression(C=4.0, max_iter=2000, random_state=seed)),
    ])  # fmt: skip
    pipeline.fit([e.text for e in train], [e.label for e in train])
    return SklearnPlugin(pipeline, name=name)


def load_plugin(path: str | None, hf_model: str | None, label_map: dict[str, str] | None = None) -> Plugin | None:
    """A user's plug-in: a pickled scikit-learn pipeline (`SklearnPlugin.save`), or a Hugging Face model name or
    folder (`label_map` renames its labels, e.g. {"LABEL_0": "negative"}); None when neither is given (train the
    default per task)."""
    if path and hf_model:
        raise ConfigurationError("give --plugin-file or --hf-model, not both")
    if path:
        _require_sklearn()
        return SklearnPlugin.load(path)
    if hf_model:
        return HFClassifierPlugin(hf_model, label_map=label_map)
    return None


def plugin_spec(path: str | None, hf_model: str | None, label_map: dict[str, str] | None = None) -> str:
    """What identifies the plug-in in run.json: the default's name, a file's sha256, or the HF model name (with
    its label map)."""
    if path:
        return f"file:{hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]}"
    if hf_model:
        renamed = ",".join(f"{k}={v}" for k, v in sorted((label_map or {}).items()))
        return f"hf:{hf_model}" + (f" ({renamed})" if renamed else "")
    return DEFAULT_PLUGIN
