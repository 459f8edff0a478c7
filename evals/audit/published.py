"""Published model outputs as an audit run: `reasoning audit import-published PATH... --out DIR`.

Turpin et al. (2023) published their models' completions for every BIG-Bench-Hard item they asked, in both contexts
(the original `cot-unfaithfulness` repository's `results/bbh_samples/`). One file is one task x model x bias x
zero/few-shot: `config` {task, model, bias_type "suggested_answer" | "ans_always_a", few_shot}, `failed_idx`, and
`outputs` = [biased context, unbiased context], each a dict of parallel lists over the task's items in
`val_data.json` order: `gen` (the chain-of-thought completion), `y_pred` (the answer the paper's code read after it,
a 0-based choice; -1: not read), `y_pred_prior` (the answer asked without chain of thought), `y_pred_prior_raw`,
`y_true`, and for the suggested answer `random_ans_idx`.

`import_published` matches each file to its items by task and position (checking every `y_true` against the data's
answer, and every `random_ans_idx` against the data's), and writes an audit run folder: one `ProbeRecord` per item x
bias x setting, chain of thought from `y_pred` (and `gen`), no chain of thought from `y_pred_prior`, then
`summary.json` and `report.html` as `reasoning audit report` writes them. A file may hold fewer items than the data
(four of the paper's answer-is-always-A files do): it is matched to the task's first rows, and the summary says so.

`answers="recorded"` takes the published answers as they are: -1 is unparsed, and a letter that is not among the
item's choices (Claude 1.0 sometimes answered "(X)" without chain of thought) is an answer, and a wrong one, as the
paper's code counts it; `answers="extracted"` reads every `gen` again with the
audit's own reader (`extract_answer`) and keeps the published answer beside ours (`Twin.recorded`), so the summary
lists where the two disagree (`Twin.recorded` is set on the twins read again only). Answers without chain of
thought were read from the model's next-token probabilities, not from text: both modes keep them as published.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError

from reasoning.errors import ConfigurationError

from .. import harness
from ..files import missing_shared_data, read_text
from ..turpin import BBH_TASKS, Item, default_data_dir, load_bbh
from .biases import AnswerIsAlwaysA, Bias, Setting, SuggestedAnswer
from .detect import mentions_bias
from .extract import Unparsed, extract_answer
from .options import Imported, ImportedFile, RunInfo, Selection
from .paper import PAPER_TABLE1
from .probe import record_key
from .records import Cue, Detection, Entry, ProbeRecord, Twin

__all__ = ["PAPER_TABLE1", "Answers", "Published", "import_published", "published_entries", "read_published"]

Answers = Literal["recorded", "extracted"]

_BIASES: dict[str, Bias] = {"suggested_answer": SuggestedAnswer(), "ans_always_a": AnswerIsAlwaysA()}
_LAYOUT = "a file of published outputs (config, outputs: [biased, unbiased] with gen, y_pred, y_pred_prior, y_true)"
LETTERS = 26  # a published answer is a letter, A to Z, even one that is not among the item's choices
_NOT_READ = "the published file records no answer: the paper's code could not read one"


class OutputsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    task: StrictStr
    model: StrictStr
    bias_type: Literal["suggested_answer", "ans_always_a"]
    few_shot: StrictBool


class OutputsContext(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    gen: list[StrictStr]
    y_pred: list[StrictInt]
    y_pred_prior: list[StrictInt]
    y_true: list[StrictInt]
    y_pred_prior_raw: list[StrictStr | None] | None = None
    random_ans_idx: list[StrictInt] | None = None


class OutputsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    config: OutputsConfig
    outputs: tuple[OutputsContext, OutputsContext]
    failed_idx: list[StrictInt] = []


@dataclass(frozen=True)
class Published:
    """One file read and checked: its path, digest, layout, and the task's items it covers (the first `len(items)`
    rows of the data, which has `data_items`)."""

    path: Path
    sha256: str
    file: OutputsFile
    items: tuple[Item, ...]
    data_items: int

    @property
    def bias(self) -> Bias:
        return _BIASES[self.file.config.bias_type]

    @property
    def described(self) -> ImportedFile:
        c = self.file.config
        return ImportedFile(path=_shown(self.path), sha256=self.sha256, task=c.task, bias=self.bias.name,
                            few_shot=c.few_shot, items=len(self.items), data_items=self.data_items,
                            failed=len(self.file.failed_idx))  # fmt: skip


def _shown(text: str | Path) -> str:
    """A path or a name as messages and the run folder show it: as it is, or as Python quotes it where it holds a
    character that is not printable (a newline would break the one-line error; a file name's byte that is not UTF-8,
    read as a lone surrogate, cannot be written to run.json)."""
    text = str(text)
    return text if text.isprintable() else repr(text)


def _files(paths: Sequence[str | Path]) -> list[Path]:
    """The JSON files named, a folder standing for every `*.json` under it (sorted); each file once."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not inside:
                raise ConfigurationError(f"{_shown(path)} holds no .json file of published outputs")
            found += inside
        elif path.exists():
            found.append(path)
        else:
            raise ConfigurationError(f"no such file or folder: {_shown(path)}")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise ConfigurationError("give at least one file or folder of published outputs")
    return [next(p for p in found if p.resolve() == u) for u in unique]


def _parse(path: Path) -> tuple[OutputsFile, str]:
    name = _shown(path)
    text = read_text(path, "published outputs file")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        cut = " (cut short?)" if not text.rstrip().endswith(("}", "]")) else ""
        raise ConfigurationError(f"{name}: not a complete JSON file{cut}: {exc.msg.removesuffix(' at')} (line "
                                 f"{exc.lineno}, column {exc.colno})") from None  # fmt: skip
    except ValueError as exc:  # a number of more digits than Python reads (sys.get_int_max_str_digits)
        raise ConfigurationError(f"{name}: not {_LAYOUT}: {str(exc).split(';')[0].lower()}") from None
    except RecursionError:
        raise ConfigurationError(f"{name}: not {_LAYOUT}: nested too deeply") from None
    try:
        parsed = OutputsFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "the file"
        raise ConfigurationError(f"{name}: not {_LAYOUT}; {where}: {first['msg'].lower()}") from None
    for where, value in _texts(parsed):
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            raise ConfigurationError(f"{name}: {where} holds {value[exc.start]!r}, half of a UTF-16 surrogate pair (a "
                                     "lone \\u escape): not text that can be written") from None  # fmt: skip
    return parsed, hashlib.sha256(path.read_bytes()).hexdigest()  # as sha256sum prints it


def _texts(f: OutputsFile) -> Iterable[tuple[str, str]]:
    """The strings of `f` an import writes, each with where it is ("outputs.0.gen.3"): JSON's "\\ud800" escape reads
    as a lone surrogate, which UTF-8 cannot write."""
    yield "config.model", f.config.model
    for j, ctx in enumerate(f.outputs):
        for field in ("gen", "y_pred_prior_raw"):
            for i, text in enumerate(getattr(ctx, field) or ()):
                if text is not None and not text.isascii():
                    yield f"outputs.{j}.{field}.{i}", text


def _check(path: Path, f: OutputsFile, items: Sequence[Item]) -> int:
    """How many items the file holds, after checking its lists against one another and against `items` (the task's
    rows); `ConfigurationError` naming the file and the first misfit."""
    where = _shown(path)
    c = f.config
    n = len(f.outputs[0].y_true)
    for name, ctx in zip(("biased", "unbiased"), f.outputs, strict=True):
        lists: dict[str, list[str] | list[int] | list[str | None]] = {
            "gen": ctx.gen,
            "y_pred": ctx.y_pred,
            "y_pred_prior": ctx.y_pred_prior,
            "y_true": ctx.y_true,
        }
        if ctx.y_pred_prior_raw is not None:
            lists["y_pred_prior_raw"] = ctx.y_pred_prior_raw
        if c.bias_type == "suggested_answer":
            if ctx.random_ans_idx is None:
                raise ConfigurationError(f"{where}: a suggested-answer file without random_ans_idx in the {name} "
                                         "context")  # fmt: skip
            lists["random_ans_idx"] = ctx.random_ans_idx
        lengths = {k: len(v) for k, v in lists.items()}
        if set(lengths.values()) != {n}:
            shown = ", ".join(f"{k} {v}" for k, v in lengths.items())
            raise ConfigurationError(f"{where}: the {name} context's lists differ in length ({shown}; y_true of the "
                                     f"biased context has {n})")  # fmt: skip
    if n == 0:
        raise ConfigurationError(f"{where}: holds no items")
    if n > len(items):
        raise ConfigurationError(f"{where}: holds {n} items, but the data's {c.task} has {len(items)}: not this "
                                 "task's items")  # fmt: skip
    biased, unbiased = f.outputs
    for i in range(n):
        item = items[i]
        for name, ctx in (("biased", biased), ("unbiased", unbiased)):
            if ctx.y_true[i] != item.gold:
                raise ConfigurationError(f"{where}: item {i}: y_true {ctx.y_true[i]} in the {name} context, but "
                                         f"the data's answer is {item.gold}: not the items of {c.task} "
                                         "in order")  # fmt: skip
            if ctx.random_ans_idx is not None and ctx.random_ans_idx[i] != item.random_ans_idx:
                raise ConfigurationError(f"{where}: item {i}: random_ans_idx {ctx.random_ans_idx[i]} in the {name} "
                                         f"context, but the data suggests {item.random_ans_idx}: not the items of "
                                         f"{c.task} in order")  # fmt: skip
            for field in ("y_pred", "y_pred_prior"):
                value = getattr(ctx, field)[i]
                if not -1 <= value < LETTERS:
                    raise ConfigurationError(f"{where}: item {i}: {field} {value} in the {name} context is no answer "
                                             "letter (0 to 25 for A to Z, -1 for 'not read')")  # fmt: skip
    return n


def read_published(
    paths: Sequence[str | Path], data_dir: str | Path | None = None, *, model: str | None = None
) -> list[Published]:
    """Every file named (a folder stands for the `*.json` files under it), read and matched to its items in the
    Turpin et al. data at `data_dir` (default `evals.turpin.default_data_dir()`); with `model`, only that model's
    files (the others are read and checked for layout, not matched).

    One model per import, and one file per task x bias x zero/few-shot. `ConfigurationError`, one line naming the
    file: not this layout, a truncated JSON file, a task not in the data, an item count or an answer that does not
    fit the data."""
    files = _files(paths)
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    if not (data / "bbh").is_dir():
        if data_dir is not None:
            raise ConfigurationError(f"the Turpin et al. data is not at {_shown(data)}; give the folder that holds "
                                     "bbh/")  # fmt: skip
        raise missing_shared_data("Turpin et al. data folder", data, "give --data")
    loaded: dict[str, list[Item]] = {}
    out: list[Published] = []
    seen: dict[tuple[str, str, str, bool], Path] = {}
    for path in files:
        f, digest = _parse(path)
        c = f.config
        if model is not None and c.model != model:
            continue
        if c.task not in BBH_TASKS:
            raise ConfigurationError(f"{_shown(path)}: task {c.task!r} is not one of the 13 BBH tasks in the data")
        if c.task not in loaded:
            loaded[c.task] = load_bbh(c.task, data)
        items = loaded[c.task]
        n = _check(path, f, items)
        cell = (c.model, c.task, c.bias_type, c.few_shot)
        if cell in seen:
            raise ConfigurationError(f"{_shown(path)}: {_shown(seen[cell])} holds the same model, task, bias and "
                                     "shots; import one of them")  # fmt: skip
        seen[cell] = path
        out.append(Published(path=path, sha256=digest, file=f, items=tuple(items[:n]), data_items=len(items)))
    if not out:
        raise ConfigurationError(f"no file holds outputs of the model {model!r}")
    models = sorted({p.file.config.model for p in out})
    if len(models) > 1:
        raise ConfigurationError(f"the files hold outputs of {len(models)} models ({', '.join(map(_shown, models))}); "
                                 "import each model into its own --out (--model NAME picks one)")  # fmt: skip
    return out


def _twin(completion: str, recorded: int, n_choices: int, *, reread: bool, cot: bool) -> Twin:
    if reread:
        read = extract_answer(completion, n_choices, cot=cot)
        answer, unparsed = (None, read.reason) if isinstance(read, Unparsed) else (read, None)
    else:
        answer, unparsed = (recorded, None) if recorded >= 0 else (None, _NOT_READ)
    return Twin(prompt_digest="", completion=completion, finish_reason="published", answer=answer,
                unparsed=unparsed, recorded=recorded if reread else None)  # fmt: skip


def published_entries(files: Iterable[Published], answers: Answers = "recorded") -> list[Entry]:
    """The audit entries of `files`: per item, a chain-of-thought pair (`gen`, `y_pred`; with `answers="extracted"`
    the answer read from `gen` by `extract_answer`) and a direct-answer pair (`y_pred_prior`), each keyed as an
    audit run keys it; a chain-of-thought pair's biased explanation checked by the rule detector (no judge)."""
    entries: list[Entry] = []
    for p in files:
        c, bias = p.file.config, p.bias
        biased, unbiased = p.file.outputs
        for i, item in enumerate(p.items):
            n = len(item.choices)
            target = biased.random_ans_idx[i] if biased.random_ans_idx is not None else 0
            for cot in (True, False):
                setting = Setting(cot, c.few_shot)
                pair = []
                for ctx in (unbiased, biased):
                    if cot:
                        pair.append(_twin(ctx.gen[i], ctx.y_pred[i], n, reread=answers == "extracted", cot=True))
                    else:
                        raw = ctx.y_pred_prior_raw[i] if ctx.y_pred_prior_raw is not None else None
                        pair.append(_twin(raw or "", ctx.y_pred_prior[i], n, reread=False, cot=False))
                record = ProbeRecord(
                    key=record_key(item.id, bias.name, setting), item_id=item.id, task=item.task, bias=bias.name,
                    setting=setting.key, model=c.model, gold=item.gold, n_choices=n, target=target,
                    points_to_wrong=target != item.gold, unbiased=pair[0], biased=pair[1],
                    follows_bias=None if pair[1].answer is None else pair[1].answer == target,
                )  # fmt: skip
                detection = None
                if cot:
                    hit = mentions_bias(bias, pair[1].completion)
                    cue = Cue(cue=hit.cue, phrase=hit.phrase, start=hit.start) if hit is not None else None
                    detection = Detection(rule=cue)
                entries.append(Entry(record, item.block(), detection))
    return entries


def _new_folder(out: str | Path) -> Path:
    """Where an import into `out` goes: `out` with its links followed (a link to an empty folder has that folder
    filled), checked before any file is read: a new or empty folder, not the current one (it is replaced whole), and
    under folders only. `ConfigurationError` naming `out` otherwise."""
    given = _shown(out)
    try:
        target = Path(out).resolve()
    except RuntimeError:  # Python 3.11's word for a loop of links
        raise ConfigurationError(f"--out {given} is a loop of symbolic links; give a new folder") from None
    if target.exists():
        if not target.is_dir() or any(target.iterdir()):
            raise ConfigurationError(f"{given} already exists and is not an empty folder; give a new --out")
        if target == Path.cwd().resolve():
            raise ConfigurationError(f"--out {given} is the current folder, which an import would replace; give a new "
                                     "folder")  # fmt: skip
        return target
    above = next(p for p in target.parents if p.exists())
    if not above.is_dir():
        raise ConfigurationError(f"--out {given}: {_shown(above)} is a file, not a folder")
    return target


def import_published(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    data_dir: str | Path | None = None,
    answers: Answers = "recorded",
    model: str | None = None,
) -> RunInfo:
    """Read `paths` (`read_published`; `model` picks one model's files) and write an audit run folder at `out`:
    `run.json`, `results.jsonl`, `summary.json` and `report.html`, the last two as `reasoning audit report` writes
    them. Every file is read and checked before anything is written, and the folder is written beside `out` and
    renamed into place, so a refused or interrupted import leaves nothing in `out`. `out` must not exist or be
    empty (a link is followed; `_new_folder`). Returns the run's info."""
    from .runner import Audit  # not at the top: the CLI imports both

    target = _new_folder(out)
    files = read_published(paths, data_dir, model=model)
    entries = published_entries(files, answers)
    model = files[0].file.config.model
    settings = sorted({s for p in files for s in (Setting(True, p.file.config.few_shot).key,
                                                   Setting(False, p.file.config.few_shot).key)})  # fmt: skip
    info = RunInfo(
        model=model, sampling=None,
        selection=Selection(tasks=tuple(dict.fromkeys(p.file.config.task for p in files)),
                            data_dir=_shown(Path(data_dir) if data_dir is not None else default_data_dir()),
                            biases=tuple(dict.fromkeys(p.bias.name for p in files)), settings=tuple(settings)),
        identity={"source": "published", "answers": answers, "model": model},
        source=Imported(answers=answers, files=tuple(p.described for p in files)),
    )  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    # the name cut short (40 characters, 160 bytes at most): a --out of the longest name leaves no room for more
    staging = target.parent / f".{target.name[:40]}.import-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()  # as the user's umask says (mkdtemp's would be private)
    try:
        folder = harness.RunFolder(staging, RunInfo, eval_name=Audit.name, what=Audit.what_info())
        folder.write(info)
        ev = Audit.for_report(info)
        with open(folder.results_path, "w", encoding="utf-8") as results:
            for entry in entries:
                results.write(entry.line() + "\n")
        harness.write_outputs(ev, folder, ev.select({e.key: e for e in entries}), info)
        try:
            if target.exists():
                target.rmdir()  # empty, checked above
            os.replace(staging, target)
        except OSError as exc:  # another process made or filled it meanwhile
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            raise ConfigurationError(f"{_shown(out)} already exists and is not an empty folder (filled while this "
                                     "import ran); give a new --out") from None  # fmt: skip
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info
