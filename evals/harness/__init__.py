"""One harness for every eval: an `Eval` (samples, `solve(sample, session) -> record`, summary and report) run into
a run folder by one driver, through one `run`/`report` command pair.

- `Eval`: what an eval supplies (`eval.py`).
- `run_eval`, `write_outputs`: run one into a folder, rebuild its outputs (`run.py`).
- `run_samples`, `resume`: the run loop (`driver.py`).
- `RunFolder`, `RunHeader`, `ResultsFile`, `RecordFields`: the folder's files (`folder.py`, `results.py`).
- `page`, `escape`, `csp`, `STYLESHEET`: the one HTML shell of every report (`page.py`).
- `add_eval_commands`: `reasoning NAME run | report` (`command.py`).
- `LogSample`, `Turn`, `Scored`: a record as one sample of an eval log (`Eval.log_sample`; `log_sample.py`).
"""

from .command import (
    Engines,
    add_eval_commands,
    add_prompt_format,
    check_counts,
    default_engines,
    eval_of_command,
    read_run,
    report_command,
    uses_chat,
)
from .driver import resume, run_samples
from .eval import Eval, RunInfo
from .folder import RunFolder, RunHeader, git_revision, toolkit_version
from .log_sample import LogSample, Scored, Turn, as_fields
from .page import STYLESHEET, csp, escape, page
from .results import RecordFields, ResultsFile
from .run import open_folder, open_results, run_eval, write_outputs

__all__ = [
    "STYLESHEET",
    "Engines",
    "Eval",
    "LogSample",
    "RecordFields",
    "ResultsFile",
    "RunFolder",
    "RunHeader",
    "RunInfo",
    "Scored",
    "Turn",
    "add_eval_commands",
    "add_prompt_format",
    "as_fields",
    "check_counts",
    "csp",
    "default_engines",
    "escape",
    "eval_of_command",
    "git_revision",
    "open_folder",
    "open_results",
    "page",
    "read_run",
    "report_command",
    "resume",
    "run_eval",
    "run_samples",
    "toolkit_version",
    "uses_chat",
    "write_outputs",
]
