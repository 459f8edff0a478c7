"""`reasoning export DIR [--to inspect] [--out FILE]`: any run folder (game 24, the audit, SuperICL, crosswords, the
creative-writing task) written as an inspect_ai eval log, which `inspect view` opens.

    reasoning game24 run --backend replay --range 900-909 --out runs/game24
    reasoning export runs/game24 --to inspect                 # writes runs/game24/inspect.eval
    inspect view --log-dir runs/game24

One exporter serves every eval: it reads the folder as `reasoning NAME report DIR` does (`evals.harness.read_run`,
NAME from the run.json header, the eval found by its command: `evals.harness.eval_of_command`), turns each record
the report covers into a sample with the eval's `Eval.log_sample`, and writes the log (`evals.inspect_log`, the one
module that imports inspect_ai, only here). The eval's own summary (`summary.json`'s content) goes in the log's
results metadata; each score's mean over the samples that have it is the results' metric.

Refused with one line (exit 2): a folder that is not a run (no run.json, or one that names no eval), a run of an
eval not installed here, a run still being written (another process holds the folder), a results line that is not
a record (the file and line are named: the export holds every record of the run or none, as the report does),
`--out` not ending in `.eval` (the format `inspect view` lists by any name; `inspect log convert` makes JSON of
it), an unknown `--to`, and a machine without inspect_ai (`pip install 'reasoning-toolkit[inspect]'`, said before
anything is read). A run that did not keep its prompts is exported with what it kept (the model's replies, scores
and the record's fields), each sample's metadata saying so (`prompts_kept`, `prompts_note`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from reasoning.errors import ConfigurationError

from .files import read_text
from .harness import Eval, RunHeader, eval_of_command, read_run

__all__ = ["FORMATS", "export_run", "register", "run_eval_name"]

FORMATS = ("inspect",)
"""What `--to` takes: `inspect`, an inspect_ai eval log."""
INSTALL = "pip install 'reasoning-toolkit[inspect]'"


def register(sub: Any) -> None:
    """Add `reasoning export` to the subparsers `sub` (an entry point of `reasoning.commands`)."""
    parser = sub.add_parser("export", help="write a run folder as an inspect_ai eval log, which `inspect view` opens")
    parser.add_argument("dir", help="a run folder (the --out of any `reasoning NAME run`)")
    parser.add_argument("--to", choices=FORMATS, default="inspect", help="the log's format: inspect (inspect_ai's "
                        "eval log; the default and, for now, the only one)")  # fmt: skip
    parser.add_argument("--out", help="the log file, ending in .eval (inspect_ai's log format); default: "
                        "DIR/inspect.eval")  # fmt: skip
    parser.set_defaults(run=lambda args: _command(args, sub))


def _command(args: argparse.Namespace, sub: Any) -> int:
    path = Path(args.dir)
    name = run_eval_name(path)
    eval_type = eval_of_command(sub, name)
    if eval_type is None:
        raise ConfigurationError(f"{path} holds a run of `reasoning {name}`, which is not installed here")
    out = Path(args.out) if args.out else path / "inspect.eval"
    count = export_run(path, eval_type, out)
    print(f"wrote {count} samples to {out}")
    print(f"open it: inspect view --log-dir {out.parent}")
    return 0


def run_eval_name(path: Path) -> str:
    """The eval that wrote the run folder `path`, from its run.json header (`evals.harness.RunHeader`).
    `ConfigurationError` (one line) for a missing path, a file, a folder with no run.json or a run.json that is
    not a run's, or one written before run.json named its eval."""
    if not path.exists():
        raise ConfigurationError(f"no such folder: {path}")
    if not path.is_dir():
        raise ConfigurationError(f"{path} is not a folder; give the --out folder of a run")
    run_json = path / "run.json"
    if not run_json.exists():
        raise ConfigurationError(f"{path} is not a run folder (no run.json)")
    text = read_text(run_json, "a run file")
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        header = raw.get("header")
        head = RunHeader.model_validate(header) if header is not None else None
    except (ValueError, RecursionError):  # not JSON, or a header that is not one (pydantic's is a ValueError)
        raise ConfigurationError(f"{run_json} is not a run file; fix or move it") from None
    if head is None:
        raise ConfigurationError(f"{run_json} does not say which eval wrote it (a run from before run.json named "
                                 "its eval); rerun its command with this version, which adds it")  # fmt: skip
    return head.eval


def export_run(path: str | Path, eval_type: type[Eval[Any, Any, Any]], out: str | Path) -> int:
    """Write the run folder `path`, made by `eval_type`, as an inspect_ai eval log at `out` (a `.eval` file; its
    folder is made); return the number of samples (one per record the eval's report covers).

    `ConfigurationError` (one line) when inspect_ai is not installed, for an `out` of another suffix, and for
    whatever `reasoning NAME report DIR` refuses (`read_run`: not a run of this eval, in use by a run, a results
    line that is not a record, no records)."""
    out = Path(out)
    if out.suffix != ".eval":
        raise ConfigurationError(f"--out must end in .eval (inspect_ai's log format); got {out}")
    writer = _inspect_log()  # before reading: a machine without inspect_ai learns it at once
    with read_run(eval_type, path) as (folder, info, ev, records):
        found = folder.read()
        header = found[1] if found is not None else None
        samples = [ev.log_sample(record, info) for record in records]
        ev.attach(folder.path)  # what else of the folder the summary reads (the audit's human verdicts)
        summary = ev.summarize(records, info)
        info_fields = info.model_dump(mode="json")
        changed = folder.results_path.stat().st_mtime
    writer.write_log(out, eval_name=ev.name, run=folder.path, info=info_fields, header=header, samples=samples,
                     summary=summary, changed=changed)  # fmt: skip
    return len(samples)


def _inspect_log() -> Any:
    """`evals.inspect_log`, which imports inspect_ai; `ConfigurationError` naming the extra when it is missing."""
    try:
        from . import inspect_log
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("inspect_ai"):
            raise
        raise ConfigurationError(f"exporting to inspect needs inspect_ai, which is not installed: {INSTALL}") from None
    return inspect_log
