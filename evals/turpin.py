"""Multiple-choice items: the 13 BIG-Bench Hard tasks and BBQ as Turpin et al. (2023) publish them, or a user's own
multiple-choice JSONL. The audit probes them; SuperICL reads the BBH tasks as classification data (so they live here,
beside both, not in either). Nothing is copied into the repository; files are read where they lie.

Layout under the data directory (default `$REASONING_SHARED_DATA/turpin`, else `../shared/data/turpin`):
`bbh/<task>/val_data.json` (`{"canary", "data": [...]}`) with `bbh/<task>/few_shot_prompts.json`
(`baseline_few_shot_prompt`, `all_a_few_shot_prompt`), and `bbq/data.json` (a list) with `bbq/few_shot_prompts.json`
(`few_shot_prompt`, `few_shot_prompt_explicit_anti`).

What the data holds, and what we do with it:

- BBH `idx` repeats within a task (train and validation rows share numbers) and is missing in three tasks, so an
  item's id is its row: "bbh/<task>/<row>".
- BBH `parsed_inputs` is the question followed by "\\n\\nAnswer choices:\\n(A) ..."; its choices are in the order of
  `multiple_choice_targets` / `multiple_choice_scores` but not always the same text (hyperbaton's targets are "a" /
  "b", snarks' "(a)" / "(b)"), so choices are read from `parsed_inputs` (trailing spaces kept: the prompt must be
  the paper's byte for byte) and the targets kept as `targets`.
- `random_ans_idx` (the suggested answer) equals the gold answer on about a third of items; the paper's metrics use
  only the others, where the bias points to a wrong answer.
- BBQ rows are all ambiguous contexts: the correct answer (`label`) is always "unknown" (`unk_idx`). `target_loc`
  is the stereotype-aligned answer; one row has none (NaN). `example_id` repeats across categories, so an item's id
  is "bbq/<category>/<example_id>".
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from prompts.audit import answer_block
from reasoning._words import counted
from reasoning.errors import ConfigurationError

from .files import read_text, shared_data_dir, text_lines

__all__ = [
    "BBH_TASKS",
    "BBQInfo",
    "FewShotPrompts",
    "Item",
    "default_data_dir",
    "load_bbh",
    "load_bbq",
    "load_jsonl",
    "read_text",
]

BBH_TASKS = (
    "causal_judgment",
    "date_understanding",
    "disambiguation_qa",
    "hyperbaton",
    "logical_deduction_five_objects",
    "movie_recommendation",
    "navigate",
    "ruin_names",
    "snarks",
    "sports_understanding",
    "temporal_sequences",
    "tracking_shuffled_objects_three_objects",
    "web_of_lies",
)
_CHOICES = "\n\nAnswer choices:\n"


class FewShotPrompts(BaseModel):
    """A task's few-shot prefixes, each ending with the separator: `baseline` (BBH `baseline_few_shot_prompt`, BBQ
    `few_shot_prompt`), `all_a` (BBH `all_a_few_shot_prompt`: the same examples with every answer moved to (A)) and
    `explicit_anti` (BBQ `few_shot_prompt_explicit_anti`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline: str
    all_a: str | None = None
    explicit_anti: str | None = None


class BBQInfo(BaseModel):
    """What the paper's BBQ analysis needs: the ambiguous context, the pair of weak evidence (each pointing to a
    different person), the stereotype-aligned answer (`target_loc`, None where the data has none) and "unknown"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context: str
    weak_evidence: tuple[str, str]
    target_loc: int | None
    unk_idx: int
    category: str
    question_polarity: str
    example_id: int


class Item(BaseModel):
    """One multiple-choice question. `gold` and `random_ans_idx` index `choices`; `question` is the text before the
    answer choices (for BBQ, the question alone: the context lives in `bbq`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    task: str
    question: str
    choices: tuple[str, ...]
    gold: int
    random_ans_idx: int | None = None
    targets: tuple[str, ...] = ()
    few_shot: FewShotPrompts | None = None
    bbq: BBQInfo | None = None

    @model_validator(mode="after")
    def _indices_in_range(self) -> Item:
        n = len(self.choices)
        if n < 2 or n > 26:
            raise ValueError(f"an item needs 2 to 26 choices; got {n}")
        if any(not isinstance(c, str) or not c.strip() for c in self.choices):
            raise ValueError("every choice must be a non-empty string")
        for name, value in (("gold", self.gold), ("random_ans_idx", self.random_ans_idx)):
            if value is not None and not 0 <= value < n:
                raise ValueError(f"{name} {value} is out of range for {counted(n, 'choice')}")
        return self

    def block(self) -> str:
        """The question and its lettered choices, as the data's `parsed_inputs` lays them out."""
        return answer_block(self.question, self.choices)


def default_data_dir() -> Path:
    """`$REASONING_SHARED_DATA/turpin`, else the project's `../shared/data/turpin` (`evals.files.shared_data_dir`)."""
    return shared_data_dir() / "turpin"


def _read_json(path: Path) -> Any:
    text = read_text(path, "audit data file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:  # "[[[[...": nested deeper than the json module goes
        raise ConfigurationError(f"{path} is not valid JSON: nested too deeply") from None


def _few_shot(path: Path, keys: dict[str, str]) -> FewShotPrompts:
    raw = _read_json(path)
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in keys):
        raise ConfigurationError(f"{path}: expected string fields {sorted(keys)}")
    return FewShotPrompts(**{field: raw[key] for key, field in keys.items()})


def _bbh_item(task: str, row: int, raw: dict[str, Any], few_shot: FewShotPrompts) -> Item:
    scores = raw["multiple_choice_scores"]
    if sorted(scores) != [0] * (len(scores) - 1) + [1]:
        raise ValueError(f"multiple_choice_scores must hold exactly one 1; got {scores}")
    question, sep, listed = raw["parsed_inputs"].partition(_CHOICES)
    lines = listed.split("\n")
    if (
        not sep
        or len(lines) != len(scores)
        or any(not ln.startswith(f"({chr(65 + i)}) ") for i, ln in enumerate(lines))
    ):
        raise ValueError("parsed_inputs does not end with one '(X) choice' line per multiple_choice_targets entry")
    return Item(
        id=f"bbh/{task}/{row}",
        task=task,
        question=question,
        choices=tuple(ln[4:] for ln in lines),
        gold=scores.index(1),
        random_ans_idx=raw["random_ans_idx"],
        targets=tuple(raw["multiple_choice_targets"]),
        few_shot=few_shot,
    )


def load_bbh(task: str, data_dir: str | Path | None = None, *, limit: int | None = None) -> list[Item]:
    """One BBH task's items in file order (the first `limit` rows if given)."""
    if task not in BBH_TASKS:
        raise ConfigurationError(f"unknown BBH task {task!r}; the paper's tasks are {', '.join(BBH_TASKS)}")
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    folder = folder / "bbh" / task
    few_shot = _few_shot(
        folder / "few_shot_prompts.json", {"baseline_few_shot_prompt": "baseline", "all_a_few_shot_prompt": "all_a"}
    )
    path = folder / "val_data.json"
    raw = _read_json(path)
    rows = raw.get("data") if isinstance(raw, dict) else None
    if not isinstance(rows, list):
        raise ConfigurationError(f"{path}: expected an object with a 'data' list")
    items = []
    for row, entry in enumerate(rows[:limit]):
        try:
            items.append(_bbh_item(task, row, entry, few_shot))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
            raise ConfigurationError(f"{path}, item {row}: {_reason(exc)}") from None
    return items


def _bbq_item(raw: dict[str, Any], few_shot: FewShotPrompts) -> Item:
    target = raw["target_loc"]
    evidence = raw["weak_evidence"]
    if len(evidence) != 2:
        raise ValueError(f"weak_evidence must hold two statements; got {len(evidence)}")
    info = BBQInfo(
        context=raw["context"],
        weak_evidence=(evidence[0], evidence[1]),
        # The data has one row whose stereotype-aligned answer is NaN: no target, not a guess.
        target_loc=None if isinstance(target, float) and math.isnan(target) else int(target),
        unk_idx=raw["unk_idx"],
        category=raw["category"],
        question_polarity=raw["question_polarity"],
        example_id=raw["example_id"],
    )
    return Item(
        id=f"bbq/{info.category}/{info.example_id}",
        task="bbq",
        question=raw["question"],
        choices=(raw["ans0"], raw["ans1"], raw["ans2"]),
        gold=raw["label"],
        few_shot=few_shot,
        bbq=info,
    )


def load_bbq(data_dir: str | Path | None = None, *, limit: int | None = None) -> list[Item]:
    """The paper's BBQ items (ambiguous contexts with a pair of weak evidence), in file order."""
    folder = (Path(data_dir) if data_dir is not None else default_data_dir()) / "bbq"
    few_shot = _few_shot(
        folder / "few_shot_prompts.json",
        {"few_shot_prompt": "baseline", "few_shot_prompt_explicit_anti": "explicit_anti"},
    )
    path = folder / "data.json"
    rows = _read_json(path)
    if not isinstance(rows, list):
        raise ConfigurationError(f"{path}: expected a list of items")
    items = []
    for row, entry in enumerate(rows[:limit]):
        try:
            items.append(_bbq_item(entry, few_shot))
        # OverflowError: int() of an infinite target_loc (JSON "Infinity").
        except (KeyError, TypeError, AttributeError, ValueError, IndexError, OverflowError) as exc:
            raise ConfigurationError(f"{path}, item {row}: {_reason(exc)}") from None
    return items


_JSONL_FIELDS = {"id", "question", "choices", "answer", "random_ans_idx", "task", "meta"}


def _stable_index(key: str, n: int) -> int:
    # Uniform over all choices, like the paper's random_ans_idx, and the same on every run.
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n


def _jsonl_item(raw: Any, default_task: str, line: int, few_shot: FewShotPrompts | None) -> Item:
    if not isinstance(raw, dict):
        raise ValueError("each line must be a JSON object")
    unknown = sorted(set(raw) - _JSONL_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {unknown}; allowed: {sorted(_JSONL_FIELDS)} (put extras under 'meta')")
    for name in ("question", "choices", "answer"):
        if name not in raw:
            raise ValueError(f"missing field {name!r}")
    choices = raw["choices"]
    if not isinstance(raw["question"], str) or not raw["question"].strip():
        raise ValueError("'question' must be a non-empty string")
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise ValueError("'choices' must be a list of strings")
    for name in ("answer", "random_ans_idx"):
        value = raw.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{name!r} must be an integer index into 'choices'; got {value!r}")
    task = raw.get("task", default_task)
    if not isinstance(task, str) or not task:
        raise ValueError("'task' must be a non-empty string")
    ident = raw.get("id", line)
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        raise ValueError("'id' must be a string or an integer")
    item_id = f"{task}/{ident}"
    random_idx = raw.get("random_ans_idx")
    return Item(
        id=item_id,
        task=task,
        question=raw["question"],
        choices=tuple(choices),
        gold=raw["answer"],
        random_ans_idx=random_idx if random_idx is not None else _stable_index(item_id, max(1, len(choices))),
        few_shot=few_shot,
    )


def load_jsonl(path: str | Path, *, task: str | None = None, few_shot: FewShotPrompts | None = None) -> list[Item]:
    """A user's multiple-choice file, one JSON object a line: `question` (str), `choices` (list of str), `answer`
    (0-based index), and optionally `id` (default: the line number), `task` (default: `task`, else the file's stem),
    `random_ans_idx` (the answer biases point to; default: drawn uniformly from the choices, fixed by the id) and
    `meta` (ignored). Blank lines and lines starting with '#' are skipped. A malformed line is a
    `ConfigurationError` naming the file and line."""
    file = Path(path)
    text = read_text(file, "items file")
    default_task = task or file.stem
    items: list[Item] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text_lines(text), start=1):  # at "\n" only: JSON may hold U+2028
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = _jsonl_item(json.loads(line), default_task, number, few_shot)
        except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." too deep for the json module
            raise ConfigurationError(f"{file}:{number}: {_reason(exc)}") from None
        if item.id in seen:
            raise ConfigurationError(f"{file}:{number}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = number
        items.append(item)
    return items


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg}, column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "not valid JSON (nested too deeply)"
    return str(exc)
