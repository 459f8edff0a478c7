"""`reasoning NAME run` and `reasoning NAME report DIR`: the one command pair every eval is run through.

    def register(sub):  # an entry point in the `reasoning.commands` group
        runner, evals = add_eval_commands(sub, MyEval, help="my eval", build=build, configure=add_my_options)

`run` checks the eval's options, refuses a folder made with other options before anything is loaded (the one rule:
`evals.identity`), builds the eval (`build(args)`: data, config), makes the engine (`engines(args, ev)`, default:
`reasoning.cli.make_engine` with the cache and call log in the run folder), runs it (`run_eval`), and prints the
summary table, what this process paid, and where the files are. `report DIR` rebuilds `summary.json` and
`report.html` from a folder's records and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import math
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from reasoning._words import counted
from reasoning.engine import Engine
from reasoning.errors import ConfigurationError

from ..files import iter_lines
from ..identity import identity, option_flags
from .eval import Eval
from .folder import RunFolder
from .run import open_folder, open_results, run_eval, write_outputs

__all__ = [
    "Engines",
    "add_eval_commands",
    "add_prompt_format",
    "check_counts",
    "default_engines",
    "eval_of_command",
    "uses_chat",
]

AnyEval = Eval[Any, Any, Any]
EvalT = TypeVar("EvalT", bound=AnyEval)
# The engine (or one per sample), the model's name, and every engine made (closed after the run).
Engines = tuple[Engine | Callable[[Any], Engine], str, list[Engine]]


def check_counts(args: argparse.Namespace, counts: Sequence[str], samples: Sequence[str] = ()) -> None:
    """`ConfigurationError` naming the flag when an option of `counts` is below 1, or one of `samples` (the samples
    of one request) is above `MAX_SAMPLES`."""
    from reasoning.types import MAX_SAMPLES

    for name in counts:
        if getattr(args, name) < 1:
            raise ConfigurationError(f"--{name.replace('_', '-')} must be at least 1")
    for name in samples:
        if getattr(args, name) > MAX_SAMPLES:
            raise ConfigurationError(f"--{name.replace('_', '-')} must be at most {MAX_SAMPLES} (the samples of one "
                                     "request)")  # fmt: skip


def add_prompt_format(group: Any, local: str = "raw completion") -> None:
    """`--prompt-format auto | chat | completion`, the same in every eval; `local` says what auto sends to a local
    model (read back by `uses_chat`)."""
    group.add_argument("--prompt-format", choices=["auto", "chat", "completion"], default="auto",
                       help=f"auto: {local} on local models, chat for --base-url servers")  # fmt: skip


def uses_chat(args: argparse.Namespace) -> bool:
    """Whether prompts go as chat messages: as `--prompt-format` says, or for `auto`, chat for a server (`--base-url`,
    `--backend openai`: hosted chat models need chat) and raw text for a local model (small models follow a few-shot
    pattern, or answer "The best answer is: (", far more reliably as a raw completion)."""
    if args.prompt_format != "auto":
        return bool(args.prompt_format == "chat")
    return bool(args.backend == "openai" or (args.backend == "auto" and args.base_url))


def default_engines(args: argparse.Namespace, ev: AnyEval) -> Engines:
    """One engine from the model options (`reasoning.cli.make_engine`)."""
    from reasoning.cli import make_engine

    engine = make_engine(args)
    return engine, engine.model.name, [engine]


def add_eval_commands(
    sub: Any,
    eval_type: type[AnyEval],
    *,
    help: str,
    build: Callable[[argparse.Namespace], AnyEval | Awaitable[AnyEval]],
    configure: Callable[[argparse.ArgumentParser], None],
    selection: Sequence[str] = (),
    unused: Callable[[argparse.Namespace], Iterable[str]] | None = None,
    engines: Callable[[argparse.Namespace, AnyEval], Engines] = default_engines,
    run_help: str = "run the eval into a folder; rerunning the same command resumes",
    parallel: int = 8,
    noun: str = "item",
    extra_backends: tuple[str, ...] = (),
    commands: Callable[[Any], None] | None = None,
    after: Callable[[argparse.Namespace, AnyEval, Sequence[Engine]], None] | None = None,
) -> argparse.ArgumentParser:
    """Add `reasoning NAME` with `run` and `report` to the subparsers `sub`; return NAME's parser, whose default
    `eval_type` is `eval_type` (`eval_of_command`).

    `configure(run_parser)` adds the eval's own options; `selection` names the options that select samples (a rerun
    may change them; every other option but `evals.identity.NOT_IDENTITY` must match the folder's). `unused(args)`
    names (by destination, `n_value`) the options the run does not read under `args`, e.g. another method's: they
    are left out of the identity, so they neither refuse nor are recorded. It may decide only by options that are
    themselves identity (the method, the backend), so every run a folder accepts leaves out the same ones; a
    run.json written before, which holds them all, still resumes (only options in both are compared). `noun` names
    a sample in messages ("no item finished"). `commands(subparsers)` adds more subcommands beside run and report.
    `after(args, eval, engines)` is called once a run has finished, with the engines it made (e.g. to say on stderr
    what a replay could not answer)."""
    from reasoning.cli import add_model_options

    name = eval_type.name
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help)
    parser.set_defaults(eval_type=eval_type)  # the eval of NAME's folders: how `reasoning export` reads them
    inner = parser.add_subparsers(dest=f"{name}_command", required=True)
    run = inner.add_parser("run", help=run_help)
    configure(run)
    run.add_argument("--parallel", type=int, default=parallel,
                     help=f"{noun}s in flight at once (at most 2 x --concurrency)")  # fmt: skip
    run.add_argument("--out", default=f"runs/{name}", help="folder for run.json, results.jsonl, summary.json, "
                     "report.html, the cache and the call log")  # fmt: skip
    add_model_options(run, extra_backends=extra_backends)
    flags = option_flags(run)

    async def run_command(args: argparse.Namespace) -> int:
        if args.parallel < 1:
            raise ConfigurationError(f"--parallel must be at least 1; got {args.parallel}")
        out = Path(args.out)
        left_out = [*selection, *(unused(args) if unused is not None else ())]
        now = _with_dtype(args, identity(args, flags, left_out))
        open_folder(eval_type, out).check(now)  # before any data is read or model loaded
        with _removed_on_error(out):  # a command refused here leaves no folder it made behind
            built = build(args)
            ev = await built if inspect.isawaitable(built) else built
            _finite(args)  # after the eval's own checks, which may say more ("between 0 and 1")
            _in_folder(args, out)
            engine, model, made = engines(args, ev)
        summary: dict[str, Any] | None = None
        try:
            _, summary = await run_eval(ev, out, engine, model=model, identity=now, parallel=args.parallel,
                                        backend=_backend(made))  # fmt: skip
        finally:
            for each in made:
                await each.aclose()
        print(ev.format_summary(summary) if summary else f"no {noun} finished")
        _paid(made)
        if after is not None:
            after(args, ev, made)
        print(f"results: {out / 'results.jsonl'}\nsummary: {out / 'summary.json'}\nreport:  {out / 'report.html'}",
              file=sys.stderr)  # fmt: skip
        return 0

    run.set_defaults(run=lambda a: asyncio.run(run_command(a)), flags=flags)

    report = inner.add_parser("report", help="rebuild summary.json and report.html from a run folder")
    report.add_argument("dir", help=f"a folder written by `reasoning {name} run`")
    report.set_defaults(run=lambda a: report_command(eval_type, a.dir))
    if commands is not None:
        commands(inner)
    return parser


def eval_of_command(sub: Any, name: str) -> type[AnyEval] | None:
    """The eval whose `reasoning NAME run` writes a run folder (`add_eval_commands`), from the subparsers `sub` the
    commands were added to; None when no such command was added (not installed, or not an eval's)."""
    parser = sub.choices.get(name)
    found = parser.get_default("eval_type") if parser is not None else None
    return found if isinstance(found, type) and issubclass(found, Eval) else None


def _with_dtype(args: argparse.Namespace, now: dict[str, Any]) -> dict[str, Any]:
    """`now` with `--dtype` as the torch backend will compute (`auto` chosen for this machine: bf16 and fp32 outputs
    differ, so a folder is resumed only in the dtype it was made in); without it on other backends, which have no
    dtype to choose (so their folders made before `--dtype auto` resume)."""
    from reasoning.cli import torch_dtype

    if "--dtype" not in now:
        return now
    choice = torch_dtype(args)
    if choice is None:
        return {key: value for key, value in now.items() if key != "--dtype"}
    return {**now, "--dtype": choice.dtype}


def _backend(made: Sequence[Engine]) -> str | None:
    """What the run's local model computes in and why ("torch bfloat16: CPU has avx512_bf16"), for run.json's
    header; None for other models."""
    from reasoning.cli import backend_settings

    return backend_settings(made[0].model) if made else None


def _finite(args: argparse.Namespace) -> None:
    """argparse's float() takes "nan" and "inf": no option of a run means either, and NaN is unequal to itself (a
    run recorded with it would refuse its own rerun). Refused by flag, whichever option it is."""
    for name, value in sorted(vars(args).items()):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigurationError(f"--{name.replace('_', '-')} must be a finite number; got {value}")


def _in_folder(args: argparse.Namespace, out: Path) -> None:
    """Make the run folder; the cache and the call log go in it unless the command names others."""
    args.cache = args.cache or str(out / "cache.sqlite")
    args.log = args.log or str(out / "calls.jsonl")
    out.mkdir(parents=True, exist_ok=True)


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of `path` (itself included) that does not exist yet: what making `path` would create
    first; None when `path` exists."""
    missing = None
    for each in (path.absolute(), *path.absolute().parents):
        if os.path.lexists(each):
            break
        missing = each
    return missing


@contextlib.contextmanager
def _removed_on_error(out: Path) -> Iterator[None]:
    """Run the block that checks a run's options and makes its folder `out`, its data and its engines; if it fails
    (a refused option, a missing file, a model that does not load, Ctrl-C), remove the folders this call made for
    `out` (`out` and any parents that did not exist before it) that are still empty, so a refused command leaves
    nothing behind. Only empty folders are removed: a folder that existed before, or that holds a file (written by
    the block, or by another process meanwhile), is left as it is."""
    made = _first_missing(out)
    try:
        yield
    except BaseException:
        if made is not None:
            folder = out.absolute()
            while True:
                with contextlib.suppress(OSError):  # not empty, not there, not a folder: left as it is
                    folder.rmdir()
                if folder == made or folder.parent == folder:
                    break
                folder = folder.parent
        raise


@contextlib.contextmanager
def read_run(eval_type: type[EvalT], path: str | Path) -> Iterator[tuple[RunFolder[Any], Any, EvalT, list[Any]]]:
    """The run folder at `path` read as `report DIR` reads one: its folder, `run.json`'s info, the eval made from it
    (`for_report`) and the records it selects, held under the folder's lock (no run appends meanwhile) while the
    block runs. `ConfigurationError` (one line) for a missing path, a file, a folder with no `run.json` or another
    eval's, a results file that is not this eval's records, or no records at all. A partial last line (a killed
    run's) is dropped from the file, as a rerun drops it, and one line on stderr says so."""
    folder = open_folder(eval_type, path)
    what = eval_type.what_info().removesuffix(" file")  # "an audit run"
    if not folder.path.exists():
        raise ConfigurationError(f"no such folder: {folder.path}")
    if not folder.path.is_dir():
        raise ConfigurationError(f"{folder.path} is not a folder; give the --out folder of {what}")
    info = folder.info()
    if info is None:
        raise ConfigurationError(f"{folder.path} is not {what} folder (no run.json)")
    with folder.lock():  # not while a run appends to it (its last line would look cut short)
        ev = cast(EvalT, eval_type.for_report(info))  # for_report makes the class it is called on
        results = open_results(ev, folder)
        if results.repaired:  # a killed run's last line: dropped, as a rerun (which redoes that sample) drops it
            print(f"note: {results.path}'s last line was cut short (a killed run): dropped, as a rerun of the run "
                  "would redo it", file=sys.stderr)  # fmt: skip
        if not results.path.exists():  # a run stopped before its first record, or a folder made by hand
            raise ConfigurationError(f"{folder.path} holds no records yet (no {results.path.name}): the run stopped "
                                     "before it finished one; rerun its command to go on")  # fmt: skip
        records = ev.select(results.load())
        if not records:  # an empty file, or only lines of other runs (an eval's reader skips those)
            lines = sum(1 for _ in iter_lines(results.path))
            others = f" of the run in run.json ({counted(lines, 'line')} of another run)" if lines else ""
            raise ConfigurationError(f"{folder.results_path} holds no records{others}")
        yield folder, info, ev, records


def report_command(eval_type: type[AnyEval], path: str) -> int:
    """`reasoning NAME report DIR`."""
    with read_run(eval_type, path) as (folder, info, ev, records):
        summary = write_outputs(ev, folder, records, info)
    print(ev.format_summary(summary))
    print(f"report: {folder.path / 'report.html'}", file=sys.stderr)
    return 0


def _paid(engines: Sequence[Engine]) -> None:
    # The summary counts what the eval asked for, as if nothing were cached; this is what this process paid.
    paid = [engine.paid for engine in engines]
    cached = sum(p.cached_samples for p in paid)
    print(f"this process paid for {counted(sum(p.calls for p in paid), 'call')} "
          f"({counted(sum(p.total_tokens for p in paid), 'token')}, ${sum(p.dollars for p in paid):.4f}); "
          f"{counted(cached, 'sample')} came from the cache", file=sys.stderr)  # fmt: skip
