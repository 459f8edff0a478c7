"""A reliability campaign: many unique requests through the `Engine`, against a real HTTP server behind a
`FaultProxy` that injects one kind of fault, and an account of what became of every request.

Each scenario starts a fresh upstream (`ModelServer` over an echo model: it answers each prompt with the request
id the prompt carries, and counts how often each id reached it), one `FaultProxy` in front of it per endpoint,
and an `Engine` with retries and no cache (a cache could hide a duplicate). `requests` unique requests are sent
by `concurrency` workers. Then, per request:

- **succeeded**: a result, and the result is this request's (its text names this request's id);
- **failed**: a typed `BackendError` after the retries, counted by class;
- **lost**: neither, i.e. an exception outside the `BackendError` hierarchy, or no answer at all before the
  deadline. Must be 0;
- **duplicated**: a result for another request, or a request that reached the endpoint (or the upstream) more
  often than the engine made attempts for it (`Scenario.sends_per_attempt` each), i.e. a request sent again
  without a failure to retry. A request the proxy forwarded and whose response it then broke reached the upstream
  once per attempt: that is a retry, not a duplicate. Must be 0.

Attempts per request come from the engine's own JSONL call log. The proxies record every request they saw, so
the gap from an injected HTTP error to the same request's next attempt is measured (a 429's `Retry-After` must
be honoured; without one the engine's jittered backoff applies).

A scenario's model is built by a function of the endpoints' `/v1` URLs, so a scenario can put several endpoints
behind one model (a pool), with faults or an outage on some of them.

    rows = await run_campaign(1000)
    print(markdown_table(rows))
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._words import counted
from ..backends.base import LanguageModel
from ..backends.openai_compat import OpenAICompatibleModel
from ..backends.pool import EndpointPool
from ..engine import CallLog, Engine, EngineConfig, RetryPolicy
from ..errors import (
    APIConnectionError,
    APITimeoutError,
    BackendError,
    BadRequestError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from ..serve import ModelServer
from ..types import GenerationRequest
from .fault_proxy import Fault, FaultProxy, ProxyEvent
from .scripted import ScriptedModel

__all__ = [
    "FAST_RETRY",
    "PATIENT_RETRY",
    "SCENARIOS",
    "EchoUpstream",
    "ModelFactory",
    "Outage",
    "RowResult",
    "Scenario",
    "describe_pool",
    "expected_error",
    "markdown_table",
    "openai_endpoint",
    "pool_endpoints",
    "run_campaign",
    "run_scenario",
]

MODEL_NAME = "echo"
_RID = re.compile(r"\[rid:([A-Za-z0-9_-]+)\]")

ModelFactory = Callable[[Sequence[str]], LanguageModel]
"""Builds the model under test from the endpoints' `/v1` base URLs (one per proxy, in order)."""

# Short delays keep the campaign fast; 3 attempts at a 20% fault rate leave ~0.8% of requests to exhaust them,
# so "failed with a typed error" is exercised, not only retried success.
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.1)
# Enough backoff in total (up to ~3 s, ~1.6 s on average with full jitter) to ride out a ~1 s outage.
PATIENT_RETRY = RetryPolicy(max_attempts=10, initial_delay=0.05, max_delay=0.5)


def openai_endpoint(*, timeout: float = 5.0) -> ModelFactory:
    """One `OpenAICompatibleModel` on the one endpoint, with a client timeout of `timeout` seconds."""

    def build(urls: Sequence[str]) -> LanguageModel:
        if len(urls) != 1:
            raise ValueError(f"openai_endpoint takes one endpoint, got {len(urls)}")
        return OpenAICompatibleModel(MODEL_NAME, base_url=urls[0], timeout=timeout)

    return build


def pool_endpoints(*, timeout: float = 5.0, cooldown: float = 0.2) -> ModelFactory:
    """An `EndpointPool` over one `OpenAICompatibleModel` per endpoint."""

    def build(urls: Sequence[str]) -> LanguageModel:
        return EndpointPool(
            [OpenAICompatibleModel(MODEL_NAME, base_url=url, timeout=timeout) for url in urls], cooldown=cooldown
        )

    return build


def describe_pool(model: LanguageModel) -> str:
    """Failovers within a call, and per endpoint: requests sent, ejections, re-admissions."""
    if not isinstance(model, EndpointPool):
        return ""
    return f"{model.failovers} failovers; " + "; ".join(
        f"endpoint {i}: {s.sent} sent, {s.ejections} ejected, {s.readmissions} re-admitted"
        for i, s in enumerate(model.stats)
    )


@dataclass(frozen=True)
class Outage:
    """Endpoint `endpoint` dies once `at` (a fraction) of the requests have finished, and comes back on the same
    port `seconds` later."""

    at: float = 0.3
    seconds: float = 1.0
    endpoint: int = 0


@dataclass(frozen=True)
class Scenario:
    """One row of the campaign.

    `faults` are injected into a share `rate` of the requests reaching each endpoint in `faulty_endpoints` (all
    when `None`; one fault picked at random per faulted request, seeded). Retries are requests like any other and
    meet the same rate. `outage` takes one endpoint down mid-run. `retry` and `call_timeout` go to the
    `EngineConfig`.

    `model` builds the model under test from the endpoints' URLs. `sends_per_attempt` is how many endpoints one
    engine attempt may legitimately reach (a pool that fails over within a call reaches several); beyond that, a
    send is a duplicate. `describe`, if given, turns the model after the run into a note for the report (a pool's
    ejections, say).
    """

    name: str
    faults: tuple[Fault, ...] = ()
    rate: float = 0.2
    outage: Outage | None = None
    model: ModelFactory = field(default_factory=openai_endpoint)
    retry: RetryPolicy = FAST_RETRY
    call_timeout: float | None = None
    endpoints: int = 1
    faulty_endpoints: tuple[int, ...] | None = None
    sends_per_attempt: int = 1
    describe: Callable[[LanguageModel], str] | None = None


_SLOW_TIMEOUT = 0.5  # the client timeout of the timeout rows; their fault stalls twice that

_MIXED = (
    Fault.http(429, retry_after=0.25),
    Fault.http(429),
    Fault.http(500),
    Fault.http(502),
    Fault.http(503),
    Fault.slow(2 * _SLOW_TIMEOUT),
    Fault.reset(),
    Fault.malformed(),
    Fault.truncated(),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("429 with Retry-After 0.25 s", (Fault.http(429, retry_after=0.25),)),
    Scenario("429 without Retry-After", (Fault.http(429),)),
    Scenario("500", (Fault.http(500),)),
    Scenario("502", (Fault.http(502),)),
    Scenario("503", (Fault.http(503),)),
    Scenario(
        f"timeout (stalls 1 s, client timeout {_SLOW_TIMEOUT:g} s)",
        (Fault.slow(2 * _SLOW_TIMEOUT),),
        model=openai_endpoint(timeout=_SLOW_TIMEOUT),
    ),
    # The same stall cut by the engine's own deadline: the request is cancelled mid-flight inside the client.
    Scenario(
        f"timeout (stalls 1 s, engine call_timeout {_SLOW_TIMEOUT:g} s)",
        (Fault.slow(2 * _SLOW_TIMEOUT),),
        call_timeout=_SLOW_TIMEOUT,
    ),
    Scenario("connection reset mid-body", (Fault.reset(),)),
    Scenario("malformed JSON", (Fault.malformed(),)),
    Scenario("truncated JSON (valid HTTP)", (Fault.truncated(),)),
    Scenario("all of the above, mixed", _MIXED, model=openai_endpoint(timeout=_SLOW_TIMEOUT)),
    Scenario("endpoint down 1 s, fast retries", outage=Outage()),
    Scenario("endpoint down 1 s, patient retries", outage=Outage(), retry=PATIENT_RETRY),
    Scenario("503 at 60% (retries exhausted)", (Fault.http(503),), rate=0.6),
    # Several endpoints of one model: the pool fails over within an engine attempt (up to one send per endpoint).
    # A short outage early, so that the run sees the endpoint come back and be re-admitted.
    Scenario(
        "2-endpoint pool, one down 0.3 s, fast retries",
        outage=Outage(at=0.1, seconds=0.3),
        endpoints=2,
        model=pool_endpoints(),
        sends_per_attempt=2,
        describe=describe_pool,
    ),
    Scenario(
        "2-endpoint pool, one with every fault above at 20%",
        _MIXED,
        endpoints=2,
        faulty_endpoints=(0,),
        model=pool_endpoints(timeout=_SLOW_TIMEOUT),
        sends_per_attempt=2,
        describe=describe_pool,
    ),
    Scenario(
        "3-endpoint pool, 503 at 20% on all",
        (Fault.http(503),),
        endpoints=3,
        model=pool_endpoints(),
        sends_per_attempt=3,
        describe=describe_pool,
    ),
)


def expected_error(fault: Fault) -> type[BackendError]:
    """The typed error a request ends in when `fault` persists through every retry."""
    if fault.kind == "status":
        if fault.status == 429:
            return RateLimitError
        return ServerError if fault.status >= 500 else BadRequestError
    if fault.kind == "slow":
        return APITimeoutError
    if fault.kind == "reset":
        return APIConnectionError
    if fault.kind in ("malformed", "truncated"):
        return MalformedResponseError
    raise ValueError(f"no expected error for {fault.label}")


class EchoUpstream:
    """A model that answers each prompt with the request id in it (`[rid:ID]`), counting deliveries per id."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.model = ScriptedModel(self._answer, name=MODEL_NAME)

    def _answer(self, request: GenerationRequest, index: int) -> str:
        rid = request_id(request.prompt or "")
        self.deliveries[rid or "?"] += 1
        return f"answer for {rid}"


def request_id(text: str) -> str | None:
    match = _RID.search(text)
    return match.group(1) if match else None


def _event_rid(event: ProxyEvent) -> str | None:
    try:
        body = json.loads(event.body or b"null")
    except ValueError:
        return None
    prompt = body.get("prompt") if isinstance(body, dict) else None
    return request_id(prompt) if isinstance(prompt, str) else None


@dataclass
class RowResult:
    """What became of the requests of one scenario (see the module docstring for the definitions)."""

    scenario: str
    requests: int
    injected: dict[str, int]  # faults applied by the proxies, by `Fault.label`
    outages: int
    outage_seconds: float | None  # measured, down() to up()
    dropped: int  # connections open when the endpoint died
    retried: int  # requests that took more than one attempt
    retries: int  # attempts beyond the first, in all
    succeeded: int
    failed: dict[str, int]  # typed BackendError after the last retry, by class name
    untyped: dict[str, int]  # exceptions outside BackendError, by class name (counted as lost)
    hung: int  # no answer before the deadline (counted as lost)
    wrong: int  # results for another request, or a second result (counted as duplicated)
    excess_sends: int  # arrivals at the endpoints / upstream beyond the attempts made (counted as duplicated)
    upstream_deliveries: int
    seconds: float
    gaps: dict[str, list[float]]  # by fault label: seconds from the injected error response to the next attempt
    anomalies: list[str] = field(default_factory=list)  # broken invariants of the campaign's own bookkeeping
    notes: list[str] = field(default_factory=list)

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def lost(self) -> int:
        return sum(self.untyped.values()) + self.hung

    @property
    def duplicated(self) -> int:
        return self.wrong + self.excess_sends


async def run_scenario(
    scenario: Scenario, requests: int, *, concurrency: int = 16, seed: int = 0, deadline: float = 300.0
) -> RowResult:
    """Run one scenario with `requests` unique requests; see the module docstring."""
    upstream = EchoUpstream()
    async with contextlib.AsyncExitStack() as stack:
        proxies: list[FaultProxy] = []
        for i in range(scenario.endpoints):
            server = await stack.enter_async_context(ModelServer(upstream.model, served_name=MODEL_NAME))
            proxy = await stack.enter_async_context(
                FaultProxy(upstream=f"http://{server.host}:{server.port}", record=True)
            )
            if scenario.faults and (scenario.faulty_endpoints is None or i in scenario.faulty_endpoints):
                proxy.inject_at_rate(scenario.faults, scenario.rate, seed=seed * 1000 + i)
            proxies.append(proxy)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        log = CallLog(tmp / "calls.jsonl")
        stack.callback(log.close)
        model = scenario.model([p.url + "/v1" for p in proxies])
        engine = await stack.enter_async_context(
            Engine(
                model,
                EngineConfig(max_concurrency=concurrency, retry=scenario.retry, call_timeout=scenario.call_timeout),
                log=log,
            )
        )
        row = await _drive(scenario, engine, proxies, upstream, log.path, requests, concurrency, deadline)
        if scenario.describe is not None:
            row.notes.append(scenario.describe(model))
    return row


async def _drive(
    scenario: Scenario,
    engine: Engine,
    proxies: list[FaultProxy],
    upstream: EchoUpstream,
    log_path: Path,
    n: int,
    concurrency: int,
    deadline: float,
) -> RowResult:
    rids = [f"r{i:06d}" for i in range(n)]
    requests = {rid: GenerationRequest(prompt=f"[rid:{rid}] Which request is this?", max_tokens=8) for rid in rids}
    texts: dict[str, str] = {}
    typed: dict[str, BackendError] = {}
    untyped: Counter[str] = Counter()
    wrong = 0
    done = 0
    reached = asyncio.Event()
    threshold = n * scenario.outage.at if scenario.outage else n + 1
    pending = iter(rids)

    async def worker() -> None:
        nonlocal wrong, done
        for rid in pending:  # one shared iterator: each request is taken by exactly one worker
            try:
                result = await engine.generate(requests[rid])
            except BackendError as exc:
                typed[rid] = exc
            except Exception as exc:  # a failure outside the typed hierarchy: what the campaign hunts for
                untyped[type(exc).__name__] += 1
            else:
                if rid in texts or result.text != f"answer for {rid}":
                    wrong += 1
                else:
                    texts[rid] = result.text
            done += 1
            if done >= threshold:
                reached.set()

    outage_seconds: list[float] = []

    async def outage() -> None:
        assert scenario.outage is not None
        await reached.wait()
        proxy = proxies[scenario.outage.endpoint]
        began = time.monotonic()
        await proxy.down()
        await asyncio.sleep(scenario.outage.seconds)
        await proxy.up()
        outage_seconds.append(time.monotonic() - began)

    started = time.monotonic()
    outage_task = asyncio.ensure_future(outage()) if scenario.outage else None
    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    _, late = await asyncio.wait(workers, timeout=deadline)
    for task in late:
        task.cancel()
    seconds = time.monotonic() - started
    anomalies: list[str] = []
    if outage_task is not None:
        if reached.is_set():
            await outage_task  # the endpoint comes back even when every request ended while it was down
        else:
            anomalies.append("the outage never happened")
            outage_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outage_task
    # Requests the proxies still hold (a stalled one forwards after its client gave up) may yet reach the
    # upstream: wait for them, so every delivery is counted.
    for proxy in proxies:
        try:
            async with asyncio.timeout(10.0):
                await proxy.wait_idle()
        except TimeoutError:
            anomalies.append(f"{proxy.url} still handling requests 10 s after the run")

    attempts = _attempts_from_log(log_path, {r.digest(): rid for rid, r in requests.items()}, anomalies)
    arrivals: Counter[str] = Counter()
    by_rid: dict[str, list[ProxyEvent]] = {}
    for proxy in proxies:
        for event in proxy.events:
            rid = _event_rid(event)
            if rid is not None:
                arrivals[rid] += 1
                by_rid.setdefault(rid, []).append(event)
    excess = 0
    for rid in rids:
        made = attempts.get(rid, 0)
        if rid in typed and typed[rid].attempts != made:
            anomalies.append(f"{rid}: error says {counted(typed[rid].attempts, 'attempt')}, call log {made}")
        allowed = made * scenario.sends_per_attempt
        excess += max(0, arrivals[rid] - allowed, upstream.deliveries[rid] - allowed)
    stray = set(upstream.deliveries) - set(rids)
    if stray:
        anomalies.append(f"upstream saw unknown request ids: {sorted(stray)[:5]}")

    gaps: dict[str, list[float]] = {}
    for events in by_rid.values():
        events.sort(key=lambda e: e.start)
        for event, after in itertools.pairwise(events):
            if event.fault is not None and event.fault.startswith("http") and event.end is not None:
                gaps.setdefault(event.fault, []).append(after.start - event.end)

    injected: Counter[str] = Counter()
    for proxy in proxies:
        injected.update(proxy.stats.injected)
    answered = len(texts) + len(typed) + sum(untyped.values()) + wrong
    return RowResult(
        scenario=scenario.name,
        requests=n,
        injected=dict(injected),
        outages=sum(p.stats.outages for p in proxies),
        outage_seconds=outage_seconds[0] if outage_seconds else None,
        dropped=sum(p.stats.dropped for p in proxies),
        retried=sum(1 for rid in rids if attempts.get(rid, 0) > 1),
        retries=sum(max(0, attempts.get(rid, 0) - 1) for rid in rids),
        succeeded=len(texts),
        failed=dict(Counter(type(exc).__name__ for exc in typed.values())),
        untyped=dict(untyped),
        hung=n - answered,
        wrong=wrong,
        excess_sends=excess,
        upstream_deliveries=sum(upstream.deliveries.values()),
        seconds=seconds,
        gaps=gaps,
        anomalies=anomalies,
    )


def _attempts_from_log(path: Path, rid_of: dict[str, str], anomalies: list[str]) -> dict[str, int]:
    attempts: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        rid = rid_of.get(record["request"])
        if rid is None:
            anomalies.append(f"call log names an unknown request {record['request']}")
        elif rid in attempts:
            anomalies.append(f"{rid}: logged twice")
        else:
            attempts[rid] = int(record["attempts"])
    return attempts


async def run_campaign(
    requests: int,
    scenarios: Sequence[Scenario] = SCENARIOS,
    *,
    concurrency: int = 16,
    seed: int = 0,
    progress: Callable[[RowResult], None] | None = None,
) -> list[RowResult]:
    """Every scenario in turn, each on fresh servers; `progress` is called with each row as it finishes."""
    rows = []
    for index, scenario in enumerate(scenarios):
        # A seed per row, so rows do not share one fault plan (and one injected count).
        row = await run_scenario(scenario, requests, concurrency=concurrency, seed=seed * 100 + index)
        if progress is not None:
            progress(row)
        rows.append(row)
    return rows


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _notes(row: RowResult) -> str:
    notes = []
    for label, gaps in sorted(row.gaps.items()):
        if gaps:
            notes.append(
                f"after {label}: next try {_ms(min(gaps))} min / {_ms(statistics.median(gaps))} median / "
                f"{_ms(max(gaps))} max later"
            )
    if row.outage_seconds is not None:
        notes.append(f"down {row.outage_seconds:.2f} s, {row.dropped} open connections dropped")
    if row.untyped:
        notes.append("untyped: " + ", ".join(f"{k} {v}" for k, v in sorted(row.untyped.items())))
    if row.hung:
        notes.append(f"{row.hung} never answered")
    notes.extend(row.notes)
    notes.extend(row.anomalies[:3])
    return "; ".join(notes)


def markdown_table(rows: Sequence[RowResult], *, notes: bool = True) -> str:
    """The campaign as a Markdown table, one row per scenario."""
    head = [
        "fault",
        "injected",
        "requests",
        "retried (requests / extra attempts)",
        "succeeded",
        "failed, typed",
        "lost",
        "duplicated",
        "seconds",
    ]
    if notes:
        head.append("notes")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        injected = sum(row.injected.values())
        shown = f"{injected}" if injected or not row.outages else ""
        if row.outages:
            shown = (shown + " + " if shown else "") + f"{row.outages} outage"
        failed = (
            f"{row.failed_total} (" + ", ".join(f"{name} {count}" for name, count in sorted(row.failed.items())) + ")"
            if row.failed
            else "0"
        )
        cells = [
            row.scenario,
            shown,
            str(row.requests),
            f"{row.retried} / {row.retries}",
            str(row.succeeded),
            failed,
            str(row.lost),
            str(row.duplicated),
            f"{row.seconds:.1f}",
        ]
        if notes:
            cells.append(_notes(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
