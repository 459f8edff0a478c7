"""SuperICL prompts (Xu et al., 2023, "Small Models are Valuable Plug-ins for Large Language Models").

The structure is the paper's; the wording is ours. A header names the allowed labels, then k in-context examples,
each the input, the plug-in's prediction with its confidence, and the gold label; then the test input with the
plug-in's prediction, and "Label:" for the large model to complete:

    Classify each input as one of: plausible, implausible. Answer with the label only.
    Each input comes with the prediction of a small model, tfidf-logreg, and its confidence. The small model is
    often right, but not always.

    Input: <text>
    tfidf-logreg prediction: plausible (confidence 0.87)
    Label: plausible

    Input: <test text>
    tfidf-logreg prediction: implausible (confidence 0.61)
    Label:

The in-context learning baseline (`icl_prompt`) is the same without the plug-in sentence and prediction lines.
When the large model overrides the plug-in, `explanation_prompt` (completion) or `explanation_question` (a chat
follow-up) asks why. `parse_label` accepts only the allowed labels, and only one of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reasoning.choices import also_named, names_several

__all__ = [
    "Shot",
    "explanation_prompt",
    "explanation_question",
    "format_confidence",
    "header",
    "icl_prompt",
    "parse_label",
    "prediction_line",
    "supericl_prompt",
    "unparsed_reason",
]


@dataclass(frozen=True)
class Shot:
    """One in-context example: the input, its gold label, and the plug-in's prediction (label, confidence)."""

    text: str
    label: str
    prediction: tuple[str, float] | None = None


def format_confidence(confidence: float) -> str:
    """Two decimals, as the paper writes them: 0.8712 -> "0.87"."""
    return f"{confidence:.2f}"


def prediction_line(plugin_name: str, label: str, confidence: float) -> str:
    """ "tfidf-logreg prediction: plausible (confidence 0.87)"."""
    return f"{plugin_name} prediction: {label} (confidence {format_confidence(confidence)})"


def header(labels: Sequence[str], plugin_name: str | None = None) -> str:
    """The instruction: the allowed labels, and (SuperICL) what the prediction lines are."""
    text = f"Classify each input as one of: {', '.join(labels)}. Answer with the label only."
    if plugin_name is not None:
        text += (
            f"\nEach input comes with the prediction of a small model, {plugin_name}, and its confidence. "
            "The small model is often right, but not always."
        )
    return text


def _block(text: str, plugin_name: str | None, prediction: tuple[str, float] | None, label: str | None) -> str:
    lines = [f"Input: {text.strip()}"]
    if plugin_name is not None and prediction is not None:
        lines.append(prediction_line(plugin_name, *prediction))
    lines.append("Label:" if label is None else f"Label: {label}")
    return "\n".join(lines)


def _check(labels: Sequence[str]) -> None:
    folded = [label.strip().lower() for label in labels]
    if len(labels) < 2 or len(set(folded)) != len(folded) or not all(folded):
        raise ValueError(f"a label set needs two or more distinct, non-empty labels; got {list(labels)}")


def supericl_prompt(
    shots: Sequence[Shot],
    text: str,
    prediction: tuple[str, float] | None,
    *,
    labels: Sequence[str],
    plugin_name: str,
) -> str:
    """The SuperICL prompt for one test input. `prediction` is the plug-in's (label, confidence) for it, or None
    when the plug-in failed on this input (its line is then left out; the examples keep theirs)."""
    _check(labels)
    blocks = [header(labels, plugin_name)]
    blocks += [_block(s.text, plugin_name, s.prediction, s.label) for s in shots]
    blocks.append(_block(text, plugin_name, prediction, None))
    return "\n\n".join(blocks)


def icl_prompt(shots: Sequence[Shot], text: str, *, labels: Sequence[str]) -> str:
    """The same examples and test input without any plug-in information."""
    _check(labels)
    blocks = [header(labels)]
    blocks += [_block(s.text, None, None, s.label) for s in shots]
    blocks.append(_block(text, None, None, None))
    return "\n\n".join(blocks)


def explanation_question(plugin_name: str, plugin_label: str, answer: str) -> str:
    """The chat follow-up after the model's answer: why not the plug-in's label."""
    return (
        f"You answered {answer}, but {plugin_name} predicted {plugin_label}. "
        f"Explain briefly why {answer} is right and {plugin_label} is not."
    )


def explanation_prompt(prompt: str, answer: str, plugin_name: str) -> str:
    """The completion form: the SuperICL prompt, the model's answer, then the paper's cue for an explanation."""
    return f"{prompt} {answer}\nExplanation for overriding the {plugin_name} prediction:"


_EDGE = "\"'`*_()[]. \t"
_TRAILING = ".,;:!"
_EITHER = re.compile(r"(?:either|both)\s++")


def _option(folds: Sequence[str]) -> str:
    """A further label in the rest of a (lower-cased) first line, for `also_named`: a whole word, perhaps in quotes,
    bold or brackets, and then the end, punctuation, a dash or a connective ("yes, no." names two; "yes, no doubt"
    one). Quotes or brackets before it are read from where their run starts (the inner look-behind), or each place
    in a run of 20 000 quotes would rescan the rest of it: quadratic."""
    words = "|".join(re.escape(f) for f in sorted(folds, key=len, reverse=True))
    return (rf"(?<![\w-])(?:(?<![\"'`*(\[])[\"'`*_(\[]++)?+(?P<option>{words})(?![\w-])"
            rf"(?=[\s\"'`*_)\]]*+(?:$|[.,;:!?/&(\-—]|(?:or|and)\b))")  # fmt: skip


def _read(text: str, labels: Sequence[str]) -> tuple[str | None, list[str]]:
    """The label the first line states and every label it names (more than one: no answer)."""
    first = text.strip().split("\n", 1)[0].strip() if text.strip() else ""
    cleaned = first.strip(_EDGE).rstrip(_TRAILING).strip(_EDGE).lower()
    by_fold = {label.strip().lower(): label for label in labels}
    if cleaned in by_fold:
        return by_fold[cleaned], [by_fold[cleaned]]
    start = first.lstrip(_EDGE).lower()
    start = start[m.end() :] if (m := _EITHER.match(start)) else start  # "either plausible or implausible"
    for fold in sorted(by_fold, key=len, reverse=True):  # the longest first: "not entailment" before "not"
        if re.match(re.escape(fold) + r"(?![\w-])", start):
            named = dict.fromkeys([fold, *also_named(start, len(fold), _option(list(by_fold)))])
            return by_fold[fold], [by_fold[f] for f in named]
    return None, []


def parse_label(text: str, labels: Sequence[str]) -> str | None:
    """The allowed label the completion's first line states, or None.

    Case is ignored, as are quotes, markdown emphasis, brackets and final punctuation around it ("Plausible.",
    "**plausible**"); the line may also start with the label followed by a non-letter ("plausible - the ..."). Any
    other text, including a label not in `labels`, is not an answer, nor is a statement that names two labels
    ("plausible or implausible", "plausible/implausible", "positive, negative": the rule of `reasoning.choices`)."""
    label, named = _read(text, labels)
    return label if len(named) == 1 else None


def unparsed_reason(text: str, labels: Sequence[str]) -> str:
    """Why `parse_label` found no label: "empty answer", "names two choices: <labels>" or "not one of <labels>:
    '<first line>'"."""
    first = text.strip().split("\n", 1)[0].strip() if text.strip() else ""
    if not first:
        return "empty answer"
    _, named = _read(text, labels)
    if len(named) > 1:
        return names_several(named)
    return f"not one of {', '.join(labels)}: {first[:40]!r}"
