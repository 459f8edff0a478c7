"""The SuperICL prompt builder, on exact strings: examples, confidence formatting, the label set, the parser."""

import pytest

from prompts import supericl as p

LABELS = ("plausible", "implausible")
SHOTS = [
    p.Shot('Q: Is "Messi scored a goal" plausible?', "plausible", ("plausible", 0.8712)),
    p.Shot('Q: Is "LeBron hit a home run" plausible?', "implausible", ("plausible", 0.5)),
]
HEAD = "Classify each input as one of: plausible, implausible. Answer with the label only."
PLUGIN = (
    "Each input comes with the prediction of a small model, tfidf, and its confidence. "
    "The small model is often right, but not always."
)


def test_confidence_has_two_decimals() -> None:
    assert p.format_confidence(0.8712) == "0.87"
    assert p.format_confidence(0.875) == "0.88" and p.format_confidence(0.125) == "0.12"  # half to even
    assert p.format_confidence(1.0) == "1.00" and p.format_confidence(0.0) == "0.00"
    assert p.format_confidence(0.5) == "0.50" and p.format_confidence(0.999) == "1.00"
    assert p.prediction_line("tfidf", "plausible", 0.87) == "tfidf prediction: plausible (confidence 0.87)"


def test_supericl_prompt_exactly() -> None:
    prompt = p.supericl_prompt(SHOTS, '  Q: Is "Brady threw a touchdown" plausible? \n', ("plausible", 0.61),
                               labels=LABELS, plugin_name="tfidf")  # fmt: skip
    assert prompt == (
        f"{HEAD}\n{PLUGIN}\n\n"
        'Input: Q: Is "Messi scored a goal" plausible?\n'
        "tfidf prediction: plausible (confidence 0.87)\n"
        "Label: plausible\n\n"
        'Input: Q: Is "LeBron hit a home run" plausible?\n'
        "tfidf prediction: plausible (confidence 0.50)\n"
        "Label: implausible\n\n"
        'Input: Q: Is "Brady threw a touchdown" plausible?\n'
        "tfidf prediction: plausible (confidence 0.61)\n"
        "Label:"
    )


def test_icl_prompt_has_no_plugin_information() -> None:
    prompt = p.icl_prompt(SHOTS, "Q: Is it?", labels=LABELS)
    assert prompt == (
        f"{HEAD}\n\n"
        'Input: Q: Is "Messi scored a goal" plausible?\nLabel: plausible\n\n'
        'Input: Q: Is "LeBron hit a home run" plausible?\nLabel: implausible\n\n'
        "Input: Q: Is it?\nLabel:"
    )
    assert "prediction" not in prompt and "confidence" not in prompt


def test_a_failed_plugin_leaves_out_the_test_line_only() -> None:
    prompt = p.supericl_prompt(SHOTS[:1], "Q: Is it?", None, labels=("yes", "no"), plugin_name="m")
    assert prompt.endswith(
        "Input: Q: Is it?\nLabel:"
    ) and prompt.count("m prediction: ") == 1
    assert prompt.startswith("Classify each input as one of: yes, no. Answer with the label only.\n")
    zero = p.supericl_prompt([], "x", ("yes", 1.0), labels=("yes", "no"), plugin_name="m")
    assert zero.endswith("\n\nInput: x\nm prediction: yes (confidence 1.00)\nLabel:")


def test_label_sets_must_be_distinct() -> None:
    for bad in (["yes"], ["yes", "Yes"], ["yes", " "]):
        with pytest.raises(ValueError, match="distinct"):
            p.icl_prompt([], "x", labels=bad)


def test_explanation_prompts() -> None:
    assert p.explanation_prompt("PROMPT\nLabel:", "implausible", "tfidf") == (
        "PROMPT\nLabel: implausible\nExplanation for overriding the tfidf prediction:"
    )
    assert p.explanation_question("tfidf", "plausible", "implausible") == (
        "You answered implausible, but tfidf predicted plausible. "
        "Explain briefly why implausible is right and plausible is not."
    )


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (" plausible", "plausible"),
        ("Implausible.", "implausible"),
        ("**plausible**\nbecause", "plausible"),
        ('"implausible"', "implausible"),
        ("plausible - it is", "plausible"),
        ("implausible, since", "implausible"),
        (" PLAUSIBLE ", "plausible"),
        ("plausibly", None),
        ("maybe", None),
        ("", None),
        ("The answer is plausible", None),
        ("neutral", None),
    ],
)
def test_parser_accepts_only_the_labels(text: str, want: str | None) -> None:
    assert p.parse_label(text, LABELS) == want


def test_parser_prefers_the_longest_label_and_keeps_its_spelling() -> None:
    labels = ("not entailment", "entailment")
    assert p.parse_label("not entailment.", labels) == "not entailment"
    assert p.parse_label("Entailment", labels) == "entailment"
    assert p.parse_label("yes", ("Yes", "No")) == "Yes"
    assert p.unparsed_reason("  ", LABELS) == "empty answer"
    assert p.unparsed_reason("maybe so\nmore", LABELS) == "not one of plausible, implausible: 'maybe so'"


@pytest.mark.parametrize(
    ("text", "labels", "reason"),
    [
        ("plausible or implausible", LABELS, "names two choices: plausible, implausible"),
        ("Plausible/implausible", LABELS, "names two choices: plausible, implausible"),
        ("**plausible** or **implausible**", LABELS, "names two choices: plausible, implausible"),
        ("either plausible or implausible", LABELS, "names two choices: plausible, implausible"),
        ("plausible and implausible.", LABELS, "names two choices: plausible, implausible"),
        ("positive, negative", ("positive", "negative", "neutral"), "names two choices: positive, negative"),
        ("positive, neutral or negative", ("positive", "negative", "neutral"),
         "names three choices: positive, neutral, negative"),
        ("entailment or not entailment", ("entailment", "not entailment"),
         "names two choices: entailment, not entailment"),
        ("Yes, no.", ("Yes", "No"), "names two choices: Yes, No"),
        ("0 or 1", ("0", "1"), "names two choices: 0, 1"),
    ],
)
def test_a_label_line_naming_two_labels_is_no_answer(text: str, labels: tuple[str, ...], reason: str) -> None:
    assert p.parse_label(text, labels) is None
    assert p.unparsed_reason(text, labels) == reason


@pytest.mark.parametrize(
    ("text", "labels", "want"),
    [
        ("plausible, since implausible would need a rule broken", LABELS, "plausible"),
        ("plausible. Implausible would be wrong", LABELS, "plausible"),
        ("plausible or so", LABELS, "plausible"),
        ("Yes, no doubt", ("Yes", "No"), "Yes"),  # "no" is a word here, not the label
        ("not entailment", ("entailment", "not entailment"), "not entailment"),
        ("plausible or plausible", LABELS, "plausible"),
    ],
)
def test_one_label_with_words_after_it_is_still_read(text: str, labels: tuple[str, ...], want: str) -> None:
    assert p.parse_label(text, labels) == want
