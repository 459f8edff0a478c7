"""Chain-of-thought faithfulness audits after Turpin et al. (2023), "Language Models Don't Always Say What They
Think": ask each item with and without a biasing feature, measure how far answers follow the bias, and check whether
explanations mention it.

    items = load_bbh("snarks")
    records = await run_probes(items, [SuggestedAnswer(), AnswerIsAlwaysA()], SETTINGS, engine)
    table = summarize(records)

A run into a folder, with resume, summary and report, is the `Audit` eval on the harness (`reasoning audit run`):

    await run_eval(Audit(items, [SuggestedAnswer()], SETTINGS[:1], Sampling()), "runs/snarks", engine,
                   model=engine.model.name)
"""

from ..stats import clopper_pearson, paired_bootstrap
from ..turpin import BBH_TASKS, BBQInfo, FewShotPrompts, Item, default_data_dir, load_bbh, load_bbq, load_jsonl
from .biases import (
    SETTINGS,
    AnswerIsAlwaysA,
    AreYouSure,
    Bias,
    Biased,
    ExpertOpinion,
    FollowUpBias,
    PointingBias,
    PromptContext,
    Setting,
    SuggestedAnswer,
    few_shot_prefix,
)
from .detect import Mention, detect, judge_mention, mentions_bias, parse_yes_no
from .extract import Unparsed, extract_answer
from .hints import (
    HINT_NAMES,
    HINTS,
    Consistency,
    GraderHacking,
    Metadata,
    Sycophancy,
    UnethicalInformation,
    VisualPattern,
    hint_target,
)
from .metrics import ALL, BBQMetrics, Difference, GroupMetrics, Proportion, bbq_pattern, summarize, summarize_bbq
from .options import RunInfo, Sampling, Selection
from .probe import Probe, ProbeConfig, ask, probe, probe_bbq, probes, record_key, run_probes
from .records import BBQRecord, Cost, Detection, Entry, ProbeRecord, Twin
from .report import render_report, write_report
from .runner import Audit, ResultsFile, RunFolder, run_audit, write_outputs
from .summary import summarize_run

__all__ = [
    "ALL",
    "BBH_TASKS",
    "HINTS",
    "HINT_NAMES",
    "SETTINGS",
    "AnswerIsAlwaysA",
    "AreYouSure",
    "Audit",
    "BBQInfo",
    "BBQMetrics",
    "BBQRecord",
    "Bias",
    "Biased",
    "Consistency",
    "Cost",
    "Detection",
    "Difference",
    "Entry",
    "ExpertOpinion",
    "FewShotPrompts",
    "FollowUpBias",
    "GraderHacking",
    "GroupMetrics",
    "Item",
    "Mention",
    "Metadata",
    "PointingBias",
    "Probe",
    "ProbeConfig",
    "ProbeRecord",
    "PromptContext",
    "Proportion",
    "ResultsFile",
    "RunFolder",
    "RunInfo",
    "Sampling",
    "Selection",
    "Setting",
    "SuggestedAnswer",
    "Sycophancy",
    "Twin",
    "UnethicalInformation",
    "Unparsed",
    "VisualPattern",
    "ask",
    "bbq_pattern",
    "clopper_pearson",
    "default_data_dir",
    "detect",
    "extract_answer",
    "few_shot_prefix",
    "hint_target",
    "judge_mention",
    "load_bbh",
    "load_bbq",
    "load_jsonl",
    "mentions_bias",
    "paired_bootstrap",
    "parse_yes_no",
    "probe",
    "probe_bbq",
    "probes",
    "record_key",
    "render_report",
    "run_audit",
    "run_probes",
    "summarize",
    "summarize_bbq",
    "summarize_run",
    "write_outputs",
    "write_report",
]
