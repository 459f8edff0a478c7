"""`reasoning supericl run | report`: the plug-in alone, ICL, SuperICL and the cascade on a classification task
into a run folder (see `runner`), and its report rebuilt.

    reasoning supericl run --tasks sports_understanding --limit 50 --shots 8 --out runs/supericl
    reasoning supericl run --train-file sst2/train.tsv --test-file sst2/dev.tsv --label-names 0=negative,1=positive
    reasoning supericl run --hf-dataset glue --hf-config sst2 --hf-model distilbert-base-uncased-finetuned-sst-2-english
    reasoning supericl report runs/supericl

Without --plugin-file or --hf-model the plug-in is TF-IDF + logistic regression trained on each task's train part.
User mistakes (an unknown task, an empty data file, a resume with other options) are one line on stderr and exit
status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning.cli import Subparsers, add_model_options
from reasoning.errors import ConfigurationError
from reasoning.plugins import Plugin

from ..files import missing_shared_data
from ..identity import MODEL, check_identity, identity, option_flags
from ..turpin import default_data_dir
from .data import BBH_BINARY, Dataset, bbh_dataset, hf_dataset, tsv_dataset
from .methods import METHODS, Options
from .plugin import load_plugin, plugin_spec, train_tfidf_plugin
from .runner import (
    Progress,
    ResultsFile,
    RunFolder,
    RunInfo,
    Selection,
    format_summary,
    prepare,
    run_supericl,
    write_outputs,
)

__all__ = ["register"]

# Which tasks, items and methods a command asks for: a rerun may change them (records are per item and method, and
# the summary covers the latest selection); every other option but those `evals.identity` leaves out must match.
SELECTION = ("tasks", "limit", "methods")


def register(sub: Subparsers) -> None:
    """Add this eval's subcommand to `reasoning` (the `reasoning.commands` entry point in pyproject.toml)."""
    supericl = sub.add_parser("supericl", help="small models as plug-ins for a large one (SuperICL, Xu et al., 2023)")
    supericl_sub = supericl.add_subparsers(dest="supericl_command", required=True)

    run = supericl_sub.add_parser("run", help="compare the methods on a task; rerunning the same command resumes")
    data = run.add_argument_group("data (BBH binary tasks by default)")
    data.add_argument("--tasks", action="append",
                      help=f"comma-separated: {', '.join(BBH_BINARY)} (default: sports_understanding)")  # fmt: skip
    data.add_argument("--data", help="the Turpin et al. data folder (default: $REASONING_SHARED_DATA/turpin)")
    data.add_argument("--train-file", help="a GLUE-style TSV (header row; sentence or premise/hypothesis, label)")
    data.add_argument("--test-file", help="the TSV to evaluate on (with --train-file)")
    data.add_argument("--label-names", help="names for numeric labels, e.g. 0=negative,1=positive")
    data.add_argument("--text-columns", help="comma-separated text columns (default: detected from the header)")
    data.add_argument("--label-column", help="the label column (default: label or gold_label)")
    data.add_argument("--hf-dataset", help="a Hugging Face dataset (needs datasets and internet), e.g. glue")
    data.add_argument("--hf-config", help="its configuration, e.g. sst2")
    data.add_argument("--hf-train-split", default="train")
    data.add_argument("--hf-test-split", default="validation")
    data.add_argument("--limit", type=int, help="the first N test items of each task")
    data.add_argument("--train-fraction", type=float, default=0.5, help="BBH: share of each task used for training")
    how = run.add_argument_group("methods")
    how.add_argument("--methods", action="append", help=f"comma-separated: {', '.join(METHODS)} (default: all)")
    how.add_argument("--shots", type=int, default=8, help="in-context examples (k)")
    how.add_argument("--shot-max-chars", type=int, help="skip training examples longer than this as shots")
    how.add_argument("--threshold", type=float, default=0.9, help="cascade: the plug-in answers at this confidence")
    how.add_argument("--cascade-to", choices=["supericl", "icl"], default="supericl",
                     help="the prompt the cascade sends unsure items to")  # fmt: skip
    how.add_argument("--explain", action="store_true", help="ask the model why, when it overrides the plug-in")
    how.add_argument("--max-tokens", type=int, default=5, help="tokens for the label")
    how.add_argument("--explain-max-tokens", type=int, default=96)
    how.add_argument("--temperature", type=float, default=0.0)
    how.add_argument("--seed", type=int, default=0, help="the split, the examples and the model's sampling")
    how.add_argument("--prompt-format", choices=["auto", "chat", "completion"], default="auto",
                     help="auto: raw completion on local models, chat for --base-url servers")  # fmt: skip
    plug = run.add_argument_group("plug-in (default: TF-IDF + logistic regression trained per task)")
    plug.add_argument("--plugin-file", help="a pickled scikit-learn pipeline (SklearnPlugin.save); yours only")
    plug.add_argument("--hf-model", help="a Hugging Face text-classification model (needs transformers)")
    plug.add_argument("--plugin-labels", help="rename the HF model's labels, e.g. LABEL_0=negative,LABEL_1=positive "
                      "(labels that differ from the task's only in case are matched anyway)")  # fmt: skip
    run.add_argument("--parallel", type=int, default=8, help="items in flight at once (at most 2 x --concurrency)")
    run.add_argument("--out", default="runs/supericl", help="folder for run.json, results.jsonl, summary, report")
    add_model_options(run)
    run.set_defaults(run=lambda a: asyncio.run(_run(a)), flags=option_flags(run))

    report = supericl_sub.add_parser("report", help="rebuild summary.json and report.html from a run folder")
    report.add_argument("dir", help="a folder written by `reasoning supericl run`")
    report.set_defaults(run=_report)


def _names(values: Sequence[str] | None) -> list[str]:
    return [n.strip() for v in values or () for n in v.split(",") if n.strip()]


def _label_names(text: str | None, option: str = "--label-names") -> dict[str, str] | None:
    if not text:
        return None
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise ConfigurationError(f"{option} is VALUE=NAME,..., e.g. 0=negative,1=positive; got {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def _datasets(args: argparse.Namespace) -> tuple[list[Dataset], Selection]:
    methods = tuple(_names(args.methods) or METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigurationError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    columns = _names([args.text_columns]) if args.text_columns else None
    options = {
        "label_names": _label_names(args.label_names),
        "text_columns": columns,
        "label_column": args.label_column,
    }
    if args.train_file or args.test_file:
        if not (args.train_file and args.test_file):
            raise ConfigurationError("give both --train-file and --test-file")
        dataset = tsv_dataset(args.train_file, args.test_file, limit=args.limit, **options)
        return [dataset], Selection(source="tsv", tasks=(dataset.name,), data=args.test_file, limit=args.limit,
                                    methods=methods)  # fmt: skip
    if args.hf_dataset:
        del options["label_names"]
        dataset = hf_dataset(args.hf_dataset, config=args.hf_config, train_split=args.hf_train_split,
                             test_split=args.hf_test_split, limit=args.limit, **options)  # fmt: skip
        return [dataset], Selection(source="hf", tasks=(dataset.name,), data=args.hf_dataset, limit=args.limit,
                                    methods=methods)  # fmt: skip
    tasks = _names(args.tasks) or ["sports_understanding"]
    data = Path(args.data) if args.data else None
    if data is None and not default_data_dir().is_dir():
        raise missing_shared_data("Turpin et al. data folder", default_data_dir(), "give --data, or --train-file and "
                                  "--test-file")  # fmt: skip
    datasets = [bbh_dataset(t, data, train_fraction=args.train_fraction, seed=args.seed, limit=args.limit)
                for t in dict.fromkeys(tasks)]  # fmt: skip
    return datasets, Selection(source="bbh", tasks=tuple(d.name for d in datasets), data=args.data,
                               limit=args.limit, methods=methods)  # fmt: skip


def _chat(args: argparse.Namespace) -> bool:
    if args.prompt_format != "auto":
        return bool(args.prompt_format == "chat")
    return bool(args.backend == "openai" or (args.backend == "auto" and args.base_url))


async def _run(args: argparse.Namespace) -> int:
    from reasoning.cli import make_engine

    for name in ("parallel", "max_tokens", "explain_max_tokens", "limit", "shot_max_chars"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigurationError(f"--{name.replace('_', '-')} must be at least 1")
    if args.shots < 0 or not 0.0 <= args.threshold <= 1.0:
        raise ConfigurationError("--shots must be 0 or more and --threshold between 0 and 1")
    folder = RunFolder(args.out)
    old = folder.info()
    now = identity(args, args.flags, SELECTION)
    check_identity(folder.path, old.identity if old else None, now)  # before reading data or loading a model
    datasets, selection = _datasets(args)
    renames = _label_names(args.plugin_labels, "--plugin-labels")
    own = load_plugin(args.plugin_file, args.hf_model, renames)
    options = Options(chat=_chat(args), temperature=args.temperature, max_tokens=args.max_tokens, shots=args.shots,
                      shot_max_chars=args.shot_max_chars, threshold=args.threshold, cascade_to=args.cascade_to,
                      explain=args.explain, explain_max_tokens=args.explain_max_tokens,
                      train_fraction=args.train_fraction, seed=args.seed,
                      plugin=plugin_spec(args.plugin_file, args.hf_model, renames))  # fmt: skip
    folder.check(options)  # before training plug-ins or loading a model
    prepared = []
    for dataset in datasets:
        plugin: Plugin = own or train_tfidf_plugin(dataset.train, seed=args.seed)
        shots, task_info = await prepare(dataset, plugin, options)
        prepared.append((dataset, plugin, shots, task_info))
    args.cache = args.cache or str(folder.path / "cache.sqlite")
    args.log = args.log or str(folder.path / "calls.jsonl")
    folder.path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(args)
    now[MODEL] = engine.model.name
    info = RunInfo(model=engine.model.name, options=options, tasks={d.name: t for d, _, _, t in prepared},
                   selection=selection, identity=now)  # fmt: skip
    results: ResultsFile | None = None
    summary: dict[str, Any] | None = None
    try:
        check_identity(folder.path, old.identity if old else None, now)
        results = folder.bind(info)
        if results.repaired:
            print(f"repaired {results.path}: dropped a partial last line", file=sys.stderr)
        total = sum(len(d.test) for d in datasets) * len(selection.methods)
        await run_supericl([(d, p, s) for d, p, s, _ in prepared], engine, results, options,
                           methods=selection.methods, parallel=args.parallel, progress=Progress(total))  # fmt: skip
    finally:
        if results is not None:  # also when interrupted: report what is on disk
            done = list(results.load().values())
            summary = write_outputs(folder, done, folder.info() or info) if done else None
        await engine.aclose()
    print(format_summary(summary) if summary else "no item finished")
    print(f"results: {folder.results_path}\nsummary: {folder.path / 'summary.json'}\n"
          f"report:  {folder.path / 'report.html'}", file=sys.stderr)  # fmt: skip
    return 0


def _report(args: argparse.Namespace) -> int:
    folder = RunFolder(args.dir)
    if not folder.path.is_dir():
        raise ConfigurationError(f"no such folder: {folder.path}")
    info = folder.info()
    if info is None:
        raise ConfigurationError(f"{folder.path} is not a SuperICL run folder (no run.json)")
    records = list(ResultsFile(folder.results_path).load().values())
    if not records:
        raise ConfigurationError(f"{folder.results_path} holds no records")
    print(format_summary(write_outputs(folder, records, info)))
    print(f"report: {folder.path / 'report.html'}", file=sys.stderr)
    return 0
