"""`reasoning supericl run | report`: the plug-in alone, ICL, SuperICL and the cascade on a classification task
into a run folder, and its report rebuilt (the harness's command pair, `evals.harness.add_eval_commands`, running
the `SuperICL` eval).

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
from collections.abc import Sequence
from pathlib import Path

from reasoning.cli import Subparsers
from reasoning.errors import ConfigurationError
from reasoning.plugins import Plugin

from ..files import missing_shared_data
from ..harness import add_eval_commands, add_prompt_format, uses_chat
from ..turpin import default_data_dir
from .data import BBH_BINARY, Dataset, bbh_dataset, hf_dataset, tsv_dataset
from .eval import SuperICL, prepare
from .info import Selection
from .methods import METHODS, Options
from .plugin import load_plugin, plugin_spec, train_tfidf_plugin

__all__ = ["register"]

# Which tasks, items and methods a command asks for: a rerun may change them (records are per item and method, and
# the summary covers the latest selection); every other option but those `evals.identity` leaves out must match.
SELECTION = ("tasks", "limit", "methods")


def register(sub: Subparsers) -> None:
    """Add this eval's subcommand to `reasoning` (the `reasoning.commands` entry point in pyproject.toml)."""
    add_eval_commands(sub, SuperICL, help="small models as plug-ins for a large one (SuperICL, Xu et al., 2023)",
                      build=build, configure=_options, selection=SELECTION,
                      run_help="compare the methods on a task; rerunning the same command resumes")  # fmt: skip


def _options(run: argparse.ArgumentParser) -> None:
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
    data.add_argument("--limit", type=int, help="the first N test items of each task (default: every item)")
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
    add_prompt_format(how)
    plug = run.add_argument_group("plug-in (default: TF-IDF + logistic regression trained per task)")
    plug.add_argument("--plugin-file", help="a pickled scikit-learn pipeline (SklearnPlugin.save); yours only")
    plug.add_argument("--hf-model", help="a Hugging Face text-classification model (needs transformers)")
    plug.add_argument("--plugin-labels", help="rename the HF model's labels, e.g. LABEL_0=negative,LABEL_1=positive "
                      "(labels that differ from the task's only in case are matched anyway)")  # fmt: skip


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


async def build(args: argparse.Namespace) -> SuperICL:
    """The eval a `run` command asks for: its options checked, the data read, each task's plug-in trained (or the
    user's loaded) and its in-context examples chosen."""
    for name in ("max_tokens", "explain_max_tokens", "limit", "shot_max_chars"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigurationError(f"--{name.replace('_', '-')} must be at least 1")
    if args.shots < 0 or not 0.0 <= args.threshold <= 1.0:
        raise ConfigurationError("--shots must be 0 or more and --threshold between 0 and 1")
    datasets, selection = _datasets(args)
    renames = _label_names(args.plugin_labels, "--plugin-labels")
    own = load_plugin(args.plugin_file, args.hf_model, renames)
    options = Options(chat=uses_chat(args), temperature=args.temperature, max_tokens=args.max_tokens, shots=args.shots,
                      shot_max_chars=args.shot_max_chars, threshold=args.threshold, cascade_to=args.cascade_to,
                      explain=args.explain, explain_max_tokens=args.explain_max_tokens,
                      train_fraction=args.train_fraction, seed=args.seed,
                      plugin=plugin_spec(args.plugin_file, args.hf_model, renames))  # fmt: skip
    prepared, tasks = [], {}
    for dataset in datasets:
        plugin: Plugin = own or train_tfidf_plugin(dataset.train, seed=args.seed)
        shots, tasks[dataset.name] = await prepare(dataset, plugin, options)
        prepared.append((dataset, plugin, shots))
    return SuperICL(options, prepared, tasks=tasks, selection=selection)
