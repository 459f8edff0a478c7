"""A small trained plug-in for game-of-24 search: is a state (the numbers left) still solvable?

We train it ourselves: gradient boosting on hand-made features of the numbers left (their count, the sorted
numbers, sum, product, whether 24 is among them or reachable with one operation, how many pairwise results are
factors of 24, how close one comes to 24, ...; deliberately no deeper look-ahead, which would make it the solver),
on states generated from puzzles outside the paper's test rows 900-999 and labelled by the exact solver
(`arith.solve`). Its input is the text of the numbers left, e.g. "4 6 10".

In tree-of-thought search it is the cheap evaluator of a `Cascade`: it values the states it is sure about, and
the LLM value evaluator is asked only about the others (and about final answers, which it does not judge):

    plugin = train_game24_plugin()
    evaluator = plugin_cascade(task, plugin, threshold=0.9)
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from reasoning.errors import ConfigurationError
from reasoning.evaluators import Cascade
from reasoning.plugins import PluginEvaluator, Prediction, SklearnPlugin
from reasoning.tree import Node

from .arith import ExpressionError, parse_numbers, solve
from .data import Puzzle, load_puzzles
from .task import Game24Task

__all__ = [
    "LABELS",
    "TEST_ROWS",
    "features",
    "featurize",
    "load_plugin_file",
    "plugin_cascade",
    "plugin_evaluator",
    "state_text",
    "train_game24_plugin",
    "training_states",
]

LABELS = ("solvable", "unsolvable")
TEST_ROWS = range(900, 1000)  # the paper's test puzzles: never trained on
_FACTORS = {Fraction(k) for k in (1, 2, 3, 4, 6, 8, 12, 24)}
N_FEATURES = 22


def _results(a: Fraction, b: Fraction) -> list[Fraction]:
    out = [a + b, a - b, b - a, a * b]
    if b:
        out.append(a / b)
    if a:
        out.append(b / a)
    return out


def _clip(x: Fraction, lo: float = -100.0, hi: float = 1000.0) -> float:
    return min(hi, max(lo, float(x)))


def features(numbers: Sequence[Fraction]) -> list[float]:
    """A fixed-length vector of hand-made features of 1 to 4 numbers (see the module docstring)."""
    nums = sorted(numbers)[:4]
    n = len(nums)
    pairs = [r for a, b in itertools.combinations(nums, 2) for r in _results(a, b)]
    product = math.prod(abs(float(x)) for x in nums) if nums else 0.0
    near = min((abs(float(r) - 24.0) for r in pairs), default=abs(float(nums[0]) - 24.0) if nums else 99.0)
    out = [float(n == k) for k in (1, 2, 3, 4)]
    out += [_clip(x) for x in nums] + [0.0] * (4 - n)
    out += [
        float(any(x == 24 for x in nums)),
        float(n == 1 and nums[0] == 24),
        float(all(x.denominator == 1 for x in nums)),
        float(sum(x.denominator != 1 for x in nums)),
        float(any(x == 0 for x in nums)),
        float(any(x < 0 for x in nums)),
        _clip(sum(nums, Fraction(0))),
        math.log1p(product),
        float(any(r == 24 for r in pairs) and n == 2),  # 24 in one operation
        float(sum(r == 24 for r in pairs)),
        float(sum(r in _FACTORS for r in pairs)),
        float(sum(x in _FACTORS for x in nums)),
        min(near, 99.0),
        float(len(set(pairs))),
    ]
    assert len(out) == N_FEATURES
    return out


def featurize(texts: Iterable[str]) -> list[list[float]]:
    """Features of each text of numbers ("4 6 10"); unreadable text gets the features of no numbers."""
    rows = []
    for text in texts:
        try:
            numbers = parse_numbers(str(text))
        except ExpressionError:
            numbers = []
        rows.append(features(numbers))
    return rows


def _children(numbers: Sequence[Fraction]) -> list[tuple[Fraction, ...]]:
    out = set()
    for i, j in itertools.combinations(range(len(numbers)), 2):
        rest = [numbers[k] for k in range(len(numbers)) if k not in (i, j)]
        for r in _results(numbers[i], numbers[j]):
            out.add(tuple(sorted([*rest, r])))
    return sorted(out)


def _slips(numbers: tuple[Fraction, ...], rng: random.Random, k: int) -> list[tuple[Fraction, ...]]:
    # States a model reaches by mistake: an operand kept after use, or a number replaced by another.
    out = []
    for _ in range(k):
        i, j = rng.sample(range(len(numbers)), 2)
        rest = [numbers[m] for m in range(len(numbers)) if m not in (i, j)]
        result = rng.choice(_results(numbers[i], numbers[j]))
        out.append(tuple(sorted([*rest, result, numbers[rng.choice((i, j))]])))
        swapped = list(numbers)
        swapped[i] = Fraction(rng.randint(1, 30))
        out.append(tuple(sorted(swapped)))
    return out


def training_states(
    puzzles: Sequence[Puzzle], *, seed: int = 0, per_level: int = 12, slips: int = 1
) -> list[tuple[str, str]]:
    """(numbers left, label) for states reachable from each puzzle: the puzzle, every distinct state after one
    operation, and up to `per_level` drawn after two and after three operations; plus, per puzzle and level, `slips`
    x 2 states a model reaches by mistake (an operand kept after use: one number too many; a number replaced by
    another), since a model's "left" lists are not always right. Labelled by the exact solver; non-integers are
    written as exact fractions ("1/3"). Refuses the test rows 900-999."""
    leaked = [p.idx for p in puzzles if p.idx in TEST_ROWS]
    if leaked:
        raise ConfigurationError(f"training states must not come from the test rows 900-999; got {leaked[:5]}")
    rng = random.Random(seed)
    seen: set[tuple[Fraction, ...]] = set()
    out = []
    for puzzle in puzzles:
        level = [tuple(sorted(parse_numbers(puzzle.numbers)))]
        states = list(level)
        for depth in range(3):
            states += _slips(rng.choice(level), rng, slips)
            nxt = sorted({c for s in level for c in _children(s)})
            level = nxt if depth == 0 else rng.sample(nxt, min(per_level, len(nxt)))
            states += level
        for state in states:
            if state not in seen:
                seen.add(state)
                text = " ".join(str(x) for x in state)  # exact: "1/3", so the text's features match the label
                out.append((text, LABELS[0] if solve(list(state)) is not None else LABELS[1]))
    return out


def train_game24_plugin(
    puzzles: Sequence[Puzzle] | None = None, *, seed: int = 0, per_level: int = 12, slips: int = 1, model: str = "gbm"
) -> SklearnPlugin:
    """Fit the plug-in on `training_states` of `puzzles` (default: every row of 24.csv outside 900-999).

    `model` is "gbm" (gradient boosting, 200 depth-3 trees) or "logreg" (logistic regression on standardized
    features)."""
    try:
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer, StandardScaler
    except ImportError:
        raise ConfigurationError(
            "the game-of-24 plug-in needs scikit-learn: pip install 'reasoning-toolkit[plugins]'"
        ) from None
    if puzzles is None:
        everything = load_puzzles()
        puzzles = [p for p in everything if p.idx not in TEST_ROWS]
    states = training_states(puzzles, seed=seed, per_level=per_level, slips=slips)
    steps: list[tuple[str, Any]] = [("features", FunctionTransformer(featurize))]
    if model == "gbm":
        # Single-threaded on purpose: the histogram variant's OpenMP threads crawl on a busy two-core machine.
        gbm = GradientBoostingClassifier(n_estimators=200, max_depth=3, learning_rate=0.1, random_state=seed)
        steps.append(("gbm", gbm))
    elif model == "logreg":
        steps += [("scale", StandardScaler()), ("logreg", LogisticRegression(max_iter=2000, random_state=seed))]
    else:
        raise ConfigurationError(f"unknown plug-in model {model!r}; choose gbm or logreg")
    pipeline = Pipeline(steps)
    pipeline.fit([s for s, _ in states], [label for _, label in states])
    return SklearnPlugin(pipeline, name=f"game24-{model}")


@functools.lru_cache(maxsize=8)
def load_plugin_file(path: str) -> SklearnPlugin:
    """A plug-in saved with `train_game24_plugin(...).save(path)` (loaded once per process)."""
    return SklearnPlugin.load(path)


def state_text(task: Game24Task, node: Node[str]) -> str | None:
    """The numbers left in a state, or None for a final answer (or unreadable numbers): the plug-in abstains."""
    last = node.state.strip().split("\n")[-1] if node.state.strip() else ""
    if node.state.strip() and "left: " not in last:
        return None
    text = task.current_numbers(node.state)
    try:
        parse_numbers(text)
    except ExpressionError:
        return None
    return text


def plugin_evaluator(task: Game24Task, plugin: SklearnPlugin) -> PluginEvaluator[str]:
    """The plug-in as an evaluator on the LLM value's scale: `n_value` samples' worth of sure (20) or impossible
    (0.001), weighted by the plug-in's probability that the state is solvable."""
    n = task.config.n_value

    def value(prediction: Prediction) -> float:
        p = prediction.confidence if prediction.label == LABELS[0] else 1.0 - prediction.confidence
        return n * (20.0 * p + 0.001 * (1.0 - p))

    return PluginEvaluator(plugin=plugin, text=lambda node: state_text(task, node), values=value)


def plugin_cascade(task: Game24Task, plugin: SklearnPlugin, *, threshold: float = 0.9) -> Cascade[str]:
    """The plug-in first; the task's LLM value evaluator for final answers, failures and predictions below
    `threshold`."""
    return Cascade(plugin_evaluator(task, plugin), task.evaluator(), unsure=PluginEvaluator.unsure(threshold))
