"""`reasoning audit run | report | extract`: a faithfulness audit into a run folder (`evals.audit.runner.Audit` on
the harness: `evals.harness.add_eval_commands`), its report rebuilt, and the audit's answer reader on your own
completions (see `score`).

    reasoning audit run --tasks sports_understanding,navigate --biases suggested-answer --limit 20 --out runs/audit
    reasoning audit run --tasks all,bbq --cot both --shots both --base-url http://127.0.0.1:8080/v1 --model m
    reasoning audit run --items my_items.jsonl --biases suggested-answer,expert-opinion --judge
    reasoning audit run --tasks all,bbq --biases hints --shots both    # the six hints of Chen et al. (2025)
    reasoning audit run --tasks snarks --local-judge --judge-url http://127.0.0.1:8080/v1 --judge-model m
    reasoning audit report runs/audit
    reasoning audit verdict runs/audit 'bbh/snarks/3|metadata|cot/zero-shot' yes --note "cites the metadata"
    reasoning audit extract "The best answer is: (A) or (B)" --choices 3
    reasoning audit import-published ../shared/data/turpin/published/suggested_answer --out runs/turpin-gpt35

Three classifiers say whether a biased explanation mentions the bias: the rule detector (every chain-of-thought
pair), the audited model as judge (`--judge`: every chain-of-thought pair), and the judges beside it
(`--local-judge`, `--judge-url` with `--judge-model`: `evals.audit.judges`), asked only on the flipped pairs of
chain-of-thought settings, the ones whose verbalization is measured.

User mistakes (an unknown task or bias, missing data, an empty items file, a resume with other options) are one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from reasoning.cli import Subparsers
from reasoning.engine import Engine, Spend
from reasoning.errors import ConfigurationError

from ..files import missing_shared_data
from ..harness import Engines, add_eval_commands, add_prompt_format, default_engines, report_command, uses_chat
from ..turpin import BBH_TASKS, Item, default_data_dir, load_bbh, load_bbq, load_jsonl
from .biases import AnswerIsAlwaysA, AreYouSure, Bias, ExpertOpinion, Setting, SuggestedAnswer
from .hints import HINT_NAMES, HINTS, VisualPattern
from .judges import add_judge_options, check_judges, judge_engines, judge_models
from .metrics import ALL
from .options import Sampling, Selection
from .published import import_published
from .runner import Audit, RunFolder, plan
from .score import register_extract
from .summary import format_summary, process_calls
from .verdicts import VERDICTS_FILE, read_verdicts, record_verdict

__all__ = ["register"]

# Which items, probes and settings a command asks for: a rerun may change them (records are per key, and the
# summary covers the latest selection); every other option but those `evals.identity` leaves out must match.
SELECTION = ("tasks", "limit", "biases", "cot", "shots")
BIASES: dict[str, type[Bias]] = {
    **{b.name: b for b in (SuggestedAnswer, AnswerIsAlwaysA, ExpertOpinion, AreYouSure)},
    **dict(zip(HINT_NAMES, HINTS, strict=True)),
}
ALIASES = {"always-a": "answer-is-always-a", "expert": "expert-opinion", "suggested": "suggested-answer"}
# Names that stand for several biases: `hints`, the six of Chen et al. (2025), `evals.audit.hints`.
GROUPS: dict[str, tuple[str, ...]] = {"hints": HINT_NAMES}
# Biases asked only in few-shot settings: named alone without one, refused; through `hints`, left out with a note.
FEW_SHOT_ONLY: tuple[type[Bias], ...] = (AnswerIsAlwaysA, VisualPattern)


def register(sub: Subparsers) -> None:
    """Add this eval's subcommand to `reasoning` (the `reasoning.commands` entry point in pyproject.toml)."""
    add_eval_commands(sub, Audit, help="chain-of-thought faithfulness audit (Turpin et al., 2023)", build=_build,
                      configure=_options, selection=SELECTION, noun="pair", commands=_commands, engines=_engines,
                      after=_reconcile,
                      run_help="probe items with and without biases; rerunning the same command resumes")  # fmt: skip


def _commands(audit_sub: Any) -> None:
    register_extract(audit_sub)
    imp = audit_sub.add_parser(
        "import-published",
        help="an audit run folder from published model outputs (Turpin et al.'s bbh_samples layout)",
        description="Read files of published model outputs (the layout of Turpin et al.'s results/bbh_samples: any "
        "model, suggested-answer or answer-is-always-A, zero- or few-shot; a folder stands for the .json files under "
        "it), match each to its BBH items, and write an audit run folder with its summary and report.",
    )
    imp.add_argument("paths", nargs="+", metavar="PATH", help="a file, or a folder of them")
    imp.add_argument("--out", help="a new (or empty) folder for the run (required)")
    imp.add_argument("--answers", choices=["recorded", "extracted"], default="recorded",
                     help="take the published answers as they are (default), or read every completion again with "
                          "the audit's reader and list where it disagrees")  # fmt: skip
    imp.add_argument("--model", help="only the files of this model (config.model, e.g. text-davinci-003)")
    imp.add_argument("--data", help="the Turpin et al. data folder (default: $REASONING_SHARED_DATA/turpin, else "
                                    "../shared/data/turpin)")  # fmt: skip
    imp.set_defaults(run=_import)
    verdict = audit_sub.add_parser(
        "verdict",
        help="record a human verdict on a hinted pair, then rebuild summary.json and report.html",
        description="Record whether the explanation of one hinted chain-of-thought pair whose answer switched to the "
        f"hint says it uses the hint (in the folder's {VERDICTS_FILE}; a later verdict on the same pair replaces "
        "it), then rebuild summary.json and report.html as `reasoning audit report DIR` does. The report lists the "
        "switches the classifiers disagree on, each with its command; any other switched pair takes one by its key "
        "in results.jsonl.",
    )
    verdict.add_argument("dir", help="a folder written by `reasoning audit run`")
    verdict.add_argument("key", help="the pair's key in results.jsonl, e.g. 'bbh/snarks/3|metadata|cot/zero-shot'")
    verdict.add_argument("verbalized", choices=["yes", "no"],
                         help="yes: the explanation says it uses the hint; no: it does not")  # fmt: skip
    verdict.add_argument("--note", help="why, kept with the verdict")
    verdict.set_defaults(run=_verdict)


def _import(args: argparse.Namespace) -> int:
    if not args.out:
        raise ConfigurationError("give --out DIR: a new folder for the imported run")
    import_published(args.paths, args.out, data_dir=args.data, answers=args.answers, model=args.model)
    summary = json.loads((Path(args.out) / "summary.json").read_text(encoding="utf-8"))
    print(format_summary(summary))
    print(f"report: {Path(args.out) / 'report.html'}", file=sys.stderr)
    return 0


def _verdict(args: argparse.Namespace) -> int:
    recorded = record_verdict(args.dir, args.key, args.verbalized == "yes", args.note)
    said = "verbalizes" if recorded.verbalized else "does not verbalize"
    print(f"recorded: {recorded.key} {said} the hint", file=sys.stderr)
    return report_command(Audit, args.dir)


def _options(run: argparse.ArgumentParser) -> None:
    what = run.add_argument_group("items")
    what.add_argument("--tasks", action="append",
                      help="comma-separated BBH task names, 'all' (the 13 BBH tasks) and/or 'bbq' "
                           "(default: all, or none with --items)")  # fmt: skip
    what.add_argument(
        "--data",
        help="the Turpin et al. data folder (default: $REASONING_SHARED_DATA/turpin, else ../shared/data/turpin)",
    )
    what.add_argument(
        "--items",
        help="your own multiple-choice items, one JSON object a line: question, choices, "
        "answer (0-based), optionally id, task, random_ans_idx",
    )
    what.add_argument("--limit", type=int, help="the first N items of each task")
    how = run.add_argument_group("probes")
    how.add_argument("--biases", action="append",
                     help=f"comma-separated: {', '.join(BIASES)}, or hints for the six of Chen et al. (2025) "
                          f"({', '.join(GROUPS['hints'])}) (default: suggested-answer). answer-is-always-a and "
                          "visual-pattern need few-shot prompts (--shots few or both): named alone without them "
                          "they are refused; through hints, visual-pattern is then not asked (the others run "
                          "zero-shot) and a note says so. Hints work on BBQ items too")  # fmt: skip
    cot = how.add_mutually_exclusive_group()
    cot.add_argument("--cot", nargs="?", const="on", default="on", choices=["on", "off", "both"],
                     help="chain of thought (default), direct answers (off), or both")  # fmt: skip
    cot.add_argument("--no-cot", dest="cot", action="store_const", const="off", help="same as --cot off")
    how.add_argument("--shots", choices=["zero", "few", "both"], default="zero", help="zero- or few-shot prompts")
    how.add_argument("--seed", type=int, default=0)
    how.add_argument("--temperature", type=float, default=0.7, help="both twins' temperature (the paper's 0.7)")
    how.add_argument("--max-tokens", type=int, default=700, help="tokens for a chain-of-thought answer")
    how.add_argument("--direct-max-tokens", type=int, default=5, help="tokens for a direct answer")
    keep = how.add_mutually_exclusive_group()
    keep.add_argument("--keep-prompts", action="store_true", default=True,
                      help="store every twin's exact prompt in results.jsonl, so the report shows the text of the "
                           "bias or hint the model was shown beside each verdict (default)")  # fmt: skip
    keep.add_argument("--no-keep-prompts", dest="keep_prompts", action="store_false",
                      help="store only each prompt's digest (smaller files; the report cannot show the hint's "
                           "text). Part of the run's identity: a rerun with the other choice is refused")  # fmt: skip
    add_prompt_format(how)
    judges = run.add_argument_group("judges", "Does a biased explanation mention the bias? The rule detector checks "
                                    "every chain-of-thought pair, --judge asks the audited model of each too; "
                                    "--local-judge and --judge-url ask only of flipped pairs (chain of thought, the "
                                    "answer moved to follow the bias), the ones whose verbalization is measured, each "
                                    "verdict with its own cost.")  # fmt: skip
    judges.add_argument("--judge", action="store_true",
                        help="also ask the audited model whether each chain-of-thought pair's biased explanation "
                             "mentions the bias")  # fmt: skip
    add_judge_options(judges)


def _names(values: Sequence[str] | None) -> list[str]:
    return [n.strip() for v in values or () for n in v.split(",") if n.strip()]


def _biases(values: Sequence[str] | None) -> tuple[list[Bias], set[str]]:
    """The biases `--biases` names, in order, each once (`hints` standing for its six), and the names given one by
    one (not through a group)."""
    if values is not None and not _names(values):  # a script's empty variable: not the default, which would run
        raise ConfigurationError("--biases names no bias; give hints or bias names, or leave the option out")
    names = _names(values) or ["suggested-answer"]
    unknown = [n for n in names if ALIASES.get(n, n) not in BIASES and n not in GROUPS]
    if unknown:
        raise ConfigurationError(f"unknown bias {unknown[0]!r}; choose from {', '.join([*BIASES, *GROUPS])}")
    expanded = [m for n in names for m in GROUPS.get(n, (ALIASES.get(n, n),))]
    alone = {ALIASES.get(n, n) for n in names if n not in GROUPS}
    return [BIASES[name]() for name in dict.fromkeys(expanded)], alone


def _settings(args: argparse.Namespace) -> list[Setting]:
    cots = {"on": [True], "off": [False], "both": [True, False]}[args.cot]
    shots = {"zero": [False], "few": [True], "both": [False, True]}[args.shots]
    return [Setting(cot, few) for cot in cots for few in shots]


def _tasks(values: Sequence[str] | None, items_file: str | None) -> list[str]:
    if values is not None and not _names(values):  # not every BBH task, as no --tasks would be
        raise ConfigurationError("--tasks names no task; give all, bbq or task names, or leave the option out")
    names = _names(values) or ([] if items_file else ["all"])
    known = {"all", "bbq", *BBH_TASKS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigurationError(f"unknown task {unknown[0]!r}; choose from all, bbq, {', '.join(BBH_TASKS)}")
    expanded = [t for n in names for t in (BBH_TASKS if n == "all" else (n,))]
    return list(dict.fromkeys(expanded))


def _items(tasks: list[str], args: argparse.Namespace) -> list[Item]:
    data = Path(args.data) if args.data else default_data_dir()
    if tasks and not data.is_dir():
        if args.data:
            raise ConfigurationError(f"the Turpin et al. data is not at {data}; give the folder that holds bbh/, bbq/")
        raise missing_shared_data("Turpin et al. data folder", data, "give --data, or --items without --tasks")
    items: list[Item] = []
    for task in tasks:
        items += load_bbq(data, limit=args.limit) if task == "bbq" else load_bbh(task, data, limit=args.limit)
    if args.items:
        own = load_jsonl(args.items)
        if not own:
            raise ConfigurationError(f"{args.items} holds no items")
        pooled = next((item for item in own if item.task == ALL), None)
        if pooled is not None:  # its rows would read as the ones pooling every task
            raise ConfigurationError(f"{args.items}: item {pooled.id} has the task {ALL!r}, the name of the rows that "
                                     "pool every task; give it another")  # fmt: skip
        seen: dict[str, int] = {}
        for item in own:
            seen[item.task] = seen.get(item.task, 0) + 1
            if args.limit is None or seen[item.task] <= args.limit:
                items.append(item)
    if not items:
        raise ConfigurationError("no items to audit: give --tasks or --items")
    return items


def _check(items: list[Item], biases: list[Bias], settings: list[Setting], alone: Collection[str]) -> list[Bias]:
    """The biases the run asks, after refusing what it cannot: a few-shot-only bias (`FEW_SHOT_ONLY`) named alone
    (in `alone`) with no few-shot setting, or few-shot settings with items that have no examples. A few-shot-only
    bias that came through a group (`--biases hints`) is left out of a run with no few-shot setting, with a note on
    stderr, so the other hints still run zero-shot."""
    few = any(s.few_shot for s in settings)
    needs = [b for b in biases if isinstance(b, FEW_SHOT_ONLY) and not few]
    for bias in needs:
        if bias.name in alone:
            raise ConfigurationError(f"{bias.name} needs few-shot prompts: add --shots few (or both)")
    if needs:
        names = ", ".join(b.name for b in needs)
        print(f"note: {names} needs few-shot prompts, so this run does not ask it (add --shots few or both to ask "
              "it)", file=sys.stderr)  # fmt: skip
    if few:
        bare = next((i for i in items if i.few_shot is None), None)
        if bare is not None:
            raise ConfigurationError(f"item {bare.id} has no few-shot examples; use --shots zero with --items")
    return [b for b in biases if b not in needs]


def _build(args: argparse.Namespace) -> Audit:
    old = RunFolder(args.out).info()
    read_verdicts(args.out)  # a line no report can read: refused now, not after every pair is asked and paid for
    if old is not None and old.source is not None:  # refused here, before the engine's cache and log are made in it
        raise ConfigurationError("the --out folder holds an import of published outputs, which a run cannot add to; "
                                 "use another --out")  # fmt: skip
    for name in ("max_tokens", "direct_max_tokens", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigurationError(f"--{name.replace('_', '-')} must be at least 1")
    check_judges(args)
    (biases, alone), settings = _biases(args.biases), _settings(args)
    tasks = _tasks(args.tasks, args.items)
    items = _items(tasks, args)
    biases = _check(items, biases, settings, alone)
    if not plan(items, biases, settings):
        raise ConfigurationError("no item supports the chosen biases and settings")
    sampling = Sampling(chat=uses_chat(args), temperature=args.temperature, cot_max_tokens=args.max_tokens,
                        direct_max_tokens=args.direct_max_tokens, seed=args.seed, judge=args.judge,
                        local_judge=args.local_judge, judge_model=args.judge_model,
                        keep_prompts=args.keep_prompts)  # fmt: skip
    selection = Selection(tasks=tuple(tasks), items_file=args.items, data_dir=args.data,
                          biases=tuple(b.name for b in biases), settings=tuple(s.key for s in settings),
                          limit=args.limit)  # fmt: skip
    return Audit(items, biases, settings, sampling, selection)


def _reconcile(args: argparse.Namespace, ev: Any, engines: Sequence[Engine]) -> None:
    """After the harness's "this process paid for N calls" line: the calls this process's pairs count, as paid, from
    the cache and shared in flight (`summary.process_calls`), from the engines' ledgers (the same figures as that
    line) and the twins the engine shared."""
    assert isinstance(ev, Audit)
    paid = Spend()
    for engine in engines:
        paid.add(engine.paid)
    print(process_calls(ev.counted_calls, ev.shared_calls, paid), file=sys.stderr)


def _engines(args: argparse.Namespace, ev: Any) -> Engines:
    """The audited model's engine (the harness's default) and, given to `ev` (the `Audit` `_build` made), the
    judges' engines; all of them closed after the run. The judges' models are made first (loading the embedded
    model may fail), their engines, which open files in the run folder, last."""
    assert isinstance(ev, Audit)
    models = judge_models(args)
    engine, model, made = default_engines(args, ev)
    ev.judges = tuple(judge_engines(models, args, Path(args.out)))
    return engine, model, [*made, *(judge.engine for judge in ev.judges)]
