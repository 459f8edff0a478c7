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
it), an `--out` that is a folder, a file other than an eval log or a link to one (an eval log there is replaced:
exporting again writes the same log, with the records added since), an unknown `--to`, and a machine without
inspect_ai (`pip install 'reasoning-toolkit[inspect]'`, said before anything is read). A last line cut short by a
killed run is dropped, as every reader of a run folder drops it, with a note. A run that did not keep its prompts
is exported with what it kept (the model's replies, scores and the record's fields), each sample's metadata saying
so (`prompts_kept`, `prompts_note`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import zipfile
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
    parser = sub.add_parser(
        "export",
        help="write a run folder as an inspect_ai eval log, which `inspect view` opens",
        description="Write the run folder DIR (the --out of any `reasoning NAME run`) as an inspect_ai eval log: "
        "one sample per record, its scores' means as the results. The folder is read as `reasoning NAME report DIR` "
        "reads it, and left as it is (but for a last line cut short by a killed run, which is dropped, as a rerun "
        "would redo it). An eval log already at FILE is replaced; any other file there is refused.",
    )
    parser.add_argument("dir", metavar="DIR", help="a run folder (the --out of any `reasoning NAME run`)")
    parser.add_argument("--to", choices=FORMATS, default="inspect", help="the log's format: inspect (inspect_ai's "
                        "eval log; the default and, for now, the only one)")  # fmt: skip
    # Not `out`: every command's --out is checked as a run's folder (reasoning.cli); this one is a file.
    parser.add_argument("--out", dest="log_file", metavar="FILE", help="the log file, ending in .eval (inspect_ai's "
                        "log format; replaced if it is one already); default: DIR/inspect.eval")  # fmt: skip
    parser.set_defaults(run=lambda args: _command(args, sub))


def _command(args: argparse.Namespace, sub: Any) -> int:
    path = Path(args.dir)
    name = run_eval_name(path)
    eval_type = eval_of_command(sub, name)
    if eval_type is None:
        raise ConfigurationError(f"{path} holds a run of `reasoning {name}`, which is not installed here")
    if args.log_file is not None and not args.log_file.strip():  # a script's empty variable
        raise ConfigurationError("--out is empty; give a file ending in .eval, or leave it out (DIR/inspect.eval)")
    out = Path(args.log_file) if args.log_file is not None else path / "inspect.eval"
    count = export_run(path, eval_type, out)
    print(f"wrote {count} samples to {out}")
    print(f"open it: inspect view --log-dir {shlex.quote(str(out.parent))}")  # a command to paste: quoted
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
    if head is None or not head.eval.strip():
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
    _check_out(out)
    writer = _inspect_log()  # before reading: a machine without inspect_ai learns it at once
    with read_run(eval_type, path) as (folder, info, ev, records):
        found = folder.read()
        header = found[1] if found is not None else None
        ev.attach(folder.path)  # what else of the folder the samples and summary read (the audit's human verdicts)
        samples = [ev.log_sample(record, info) for record in records]
        summary = ev.summarize(records, info)
        info_fields = info.model_dump(mode="json")
        changed = folder.results_path.stat().st_mtime
    try:
        log = writer.eval_log(eval_name=ev.name, run=folder.path, info=info_fields, header=header,
                              samples=samples, summary=summary, changed=changed)  # fmt: skip
        writer.write_log(out, log)
    except OSError as exc:  # inspect_ai's writer names its temporary file: name the log instead
        raise OSError(exc.errno, exc.strerror, str(out)) from None
    return len(samples)


def _check_out(out: Path) -> None:
    """`ConfigurationError` for a log path that is a folder, not a file, or a file that is not an eval log (the
    writer would replace it: a link's target is written through, the run's results too)."""
    if out.is_symlink() and Path(os.path.realpath(out)).suffix != ".eval":
        raise ConfigurationError(f"--out {out} is a link to {os.path.realpath(out)}, not to an .eval log; give "
                                 "another path")  # fmt: skip
    if not out.exists():
        return
    if out.is_dir():
        raise ConfigurationError(f"--out {out} is a folder; give a file ending in .eval")
    if not out.is_file() or not zipfile.is_zipfile(out):  # an .eval log is a zip archive
        raise ConfigurationError(f"--out {out} exists and is not an eval log; move it or give another path")


def _inspect_log() -> Any:
    """`evals.inspect_log`, which imports inspect_ai; `ConfigurationError` naming the extra when it is missing."""
    try:
        from . import inspect_log
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("inspect_ai"):
            raise
        raise ConfigurationError(f"exporting to inspect needs inspect_ai, which is not installed: {INSTALL}") from None
    return inspect_log
