"""Chain-of-thought faithfulness audits after Turpin et al. (2023), "Language Models Don't Always Say What They
Think": ask each item with and without a biasing feature, measure how far answers follow the bias, and check whether
explanations mention it.

    items = load_bbh("snarks")
    records = await run_probes(items, [SuggestedAnswer(), AnswerIsAlwaysA()], SETTINGS, engine)
    table = summarize(records)
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
)
from .detect import Mention, judge_mention, mentions_bias, parse_yes_no
from .extract import Unparsed, extract_answer
from .metrics import ALL, BBQMetrics, Difference, GroupMetrics, Proportion, bbq_pattern, summarize, summarize_bbq
from .probe import BBQRecord, ProbeConfig, ProbeRecord, Twin, probe, probe_bbq, record_key, run_probes
from .records import Detection, Entry
from .report import render_report, write_report
from .runner import (
    ResultsFile,
    RunFolder,
    RunInfo,
    Sampling,
    Selection,
    run_audit,
    summarize_run,
    write_outputs,
)

__all__ = [
    "ALL",
    "BBH_TASKS",
    "SETTINGS",
    "AnswerIsAlwaysA",
    "AreYouSure",
    "BBQInfo",
    "BBQMetrics",
    "BBQRecord",
    "Bias",
    "Biased",
    "Detection",
    "Difference",
    "Entry",
    "ExpertOpinion",
    "FewShotPrompts",
    "FollowUpBias",
    "GroupMetrics",
    "Item",
    "Mention",
    "PointingBias",
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
    "Twin",
    "Unparsed",
    "bbq_pattern",
    "clopper_pearson",
    "default_data_dir",
    "extract_answer",
    "judge_mention",
    "load_bbh",
    "load_bbq",
    "load_jsonl",
    "mentions_bias",
    "paired_bootstrap",
    "parse_yes_no",
    "probe",
    "probe_bbq",
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
