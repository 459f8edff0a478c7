"""SuperICL (Xu et al., 2023): a small plug-in's prediction and confidence in a large model's in-context examples.
The plug-in alone, in-context learning, SuperICL and a confidence cascade, compared on a classification task by the
`SuperICL` eval on the harness (`evals.harness`), behind `reasoning supericl`.

    dataset = bbh_dataset("sports_understanding", train_fraction=0.5, limit=30)
    plugin = train_tfidf_plugin(dataset.train)
    shots, info = await prepare(dataset, plugin, Options(shots=4))
    ev = SuperICL(Options(shots=4), [(dataset, plugin, shots)], tasks={dataset.name: info})
    records, summary = await run_eval(ev, "runs/supericl", engine, model=engine.model.name)
"""

from .data import (
    BBH_BINARY,
    Dataset,
    Example,
    bbh_dataset,
    hf_dataset,
    load_bbh_examples,
    load_hf,
    load_tsv,
    shuffled,
    split,
    tsv_dataset,
)
from .eval import CHUNK, SuperICL, prepare
from .info import RunInfo, Selection, TaskInfo
from .methods import METHODS, Explanation, ItemRun, Options, Record, choose_shots, record_key
from .metrics import (
    ALL,
    Calibration,
    MethodMetrics,
    Overrides,
    SweepRow,
    calibration,
    method_metrics,
    overrides,
    sweep,
    thresholds,
)
from .plugin import DEFAULT_PLUGIN, load_plugin, plugin_spec, train_tfidf_plugin
from .report import render_report, write_report
from .runner import Progress, ResultsFile, RunFolder, run_supericl, write_outputs
from .summary import format_summary, summarize_run

__all__ = [
    "ALL",
    "BBH_BINARY",
    "CHUNK",
    "DEFAULT_PLUGIN",
    "METHODS",
    "Calibration",
    "Dataset",
    "Example",
    "Explanation",
    "ItemRun",
    "MethodMetrics",
    "Options",
    "Overrides",
    "Progress",
    "Record",
    "ResultsFile",
    "RunFolder",
    "RunInfo",
    "Selection",
    "SuperICL",
    "SweepRow",
    "TaskInfo",
    "bbh_dataset",
    "calibration",
    "choose_shots",
    "format_summary",
    "hf_dataset",
    "load_bbh_examples",
    "load_hf",
    "load_plugin",
    "load_tsv",
    "method_metrics",
    "overrides",
    "plugin_spec",
    "prepare",
    "record_key",
    "render_report",
    "run_supericl",
    "shuffled",
    "split",
    "summarize_run",
    "sweep",
    "thresholds",
    "train_tfidf_plugin",
    "tsv_dataset",
    "write_outputs",
    "write_report",
]
