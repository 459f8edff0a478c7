"""Reliability campaign: unique requests through the engine, against a real HTTP server behind a fault-injecting
proxy, one fault type per row; what became of every request (succeeded, failed with a typed error, lost,
duplicated). The logic is `reasoning.testing.campaign`; tests/reasoning/testing/test_campaign.py runs it smaller
in CI. Run:

    python benchmarks/reliability.py [--requests 1000] [--write RELIABILITY.md]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import statistics
import sys
import textwrap
import time
from pathlib import Path

from reasoning.testing.campaign import (
    FAST_RETRY,
    PATIENT_RETRY,
    SCENARIOS,
    RowResult,
    expected_error,
    markdown_table,
    run_campaign,
)

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

INTRO = """\
# Reliability

What the engine does with every request when the endpoint misbehaves. Every figure below comes from
`benchmarks/reliability.py` (logic in `reasoning/testing/campaign.py`), run as shown at the end; a smaller run of
the same campaign is a CI test (`tests/reasoning/testing/test_campaign.py`) that fails on any lost or duplicated
request, any untyped failure, or a fault that was not injected.

## What was run

Each row starts fresh servers: the upstream is a real OpenAI-compatible HTTP server (`reasoning.serve.ModelServer`)
over a deterministic model that answers each prompt with the unique request id the prompt carries, and counts how
many times each id reached it. In front of it, a `FaultProxy` (`reasoning/testing/fault_proxy.py`) injects the
row's fault into a seeded random {rate_pct}% of the requests it receives (retries included: a retry meets the fault
again with the same odds). The client is `OpenAICompatibleModel` through an `Engine` with retries, no cache (a cache
could hide a duplicate), {concurrency} requests in flight, {requests} unique requests per row.

Retry policy, unless a row says otherwise, "fast": `{fast}`. Short delays keep the campaign quick; with 3
attempts a request fails only if all three meet the fault ({exhaust_pct:.1f}% of requests at a {rate_pct}% rate), so
every row shows typed failures as well as retried successes. The "patient" policy is `{patient}`.

The faults:

- **429 with / without Retry-After**: the proxy answers 429 (with `Retry-After: 0.25`, or none) and does not forward.
- **500 / 502 / 503**: the proxy answers the status and does not forward.
- **timeout**: the proxy holds the request 1 s before forwarding; the client gives up after 0.5 s (the HTTP client's
  timeout in one row, the engine's `call_timeout`, which cancels the call mid-flight, in the other).
- **connection reset mid-body**: the proxy forwards, sends the headers (full `Content-Length`) and half the body,
  then resets the connection (TCP RST).
- **malformed JSON**: forwarded, then 200 with a third of the body followed by bytes that are not JSON.
- **truncated JSON**: forwarded, then 200 with the first half of the JSON body and a `Content-Length` that matches
  it: valid HTTP, only the JSON parser can tell.
- **mixed**: each faulted request gets one of all the faults above at random.
- **endpoint down 1 s**: once 30% of the requests have finished, the proxy closes its listening socket and every open
  connection (requests in flight get no response; new connections are refused) and comes back on the same port
  1 s later. Once with the fast policy (its retries span ~0.1 s, far less than the outage), once with the patient one.
- **503 at 60%**: a rate high enough that many requests exhaust their retries.
- **endpoint pools** (`EndpointPool`, least outstanding requests, failover within a call, ejection and probe
  re-admission; cooldown 0.2 s): two endpoints of which one goes down for 0.3 s early in the run and comes back;
  two endpoints of which one meets every fault above at 20%; three endpoints all meeting 503 at 20%. A pool may
  send one engine attempt to each endpoint once (failover), so "duplicated" there means more sends than attempts ×
  endpoints; the notes count failovers and, per endpoint, requests sent, ejections and re-admissions.

## Results

Run {date} on the development machine, {requests} requests per row, {total:.0f} s in all. Machine: {machine}.

{table}

Columns: **injected**: faults the proxy applied (attempts, not requests). **retried**: requests that needed more
than one attempt / attempts beyond the first, from the engine's call log. **succeeded**: a result, and the result
is this request's own (its text names this request's id). **failed, typed**: a `BackendError` subclass after the
last retry, by class. **lost**: neither a result nor a typed error (an exception outside the `BackendError`
hierarchy, or no answer at all). **duplicated**: a result for another request, or a request that reached the proxy
or the upstream more times than the engine made attempts for it, i.e. sent again without a failure to retry. A
request the proxy forwarded and then broke (reset, malformed, truncated, timed out) did reach the upstream, once
per attempt: that is a retry, not a duplicate. The notes give the time from an injected error response to the same
request's next attempt, as the proxy saw it.

## Reading

{reading}

## Budget caps under concurrency

{budget}

## Load

{load}

## Not covered here

- Streaming responses (the backend does not stream).
- Requests with `n > 1` fanned out as one HTTP request per sample (`OpenAICompatibleModel` with a server that
  ignores `n`): every row sends `n = 1`. Probing that path while building this campaign found that a failed
  sample left its siblings running while the engine retried; fixed (a task group cancels them; test in
  `tests/reasoning/backends/test_openai_compat.py`). Samples answered before a sibling failed are still discarded
  and asked again on the retry.

## Rerun

    python benchmarks/reliability.py --requests {requests} --write RELIABILITY.md

The CI test runs the same rows with fewer requests: `python -m pytest tests/reasoning/testing/test_campaign.py`.
`--skip-load` leaves out the load rows (about a minute).
"""

KEPT = "<!-- Sections below are written by hand and kept when benchmarks/reliability.py rewrites the file. -->"

BUDGET_INTRO = """\
The engine reserves each call's estimate (prompt characters / 4 + `max_tokens` per sample) before sending it and
waits while spend plus the reservations of the calls in flight could pass a limit. So `max_calls` is never passed;
the token and dollar limits are passed only by what calls in flight spend beyond their estimates, or by one call
admitted alone when nothing else is in flight. Below: {requests} requests fired at once through the real HTTP
stack (`OpenAICompatibleModel` to the stand-in server, which reports 5 prompt tokens and 3 completion tokens per
call; a prompt like `budget request 17` is estimated at 4 prompt tokens, `max_tokens` is 8, so each call beats its
estimate by 1 prompt token and the bound is concurrency × 1 token). Tests: `tests/reasoning/engine/test_engine.py`
(concurrency 1–256, calls, tokens, dollars).

| concurrency | limit | spent | over the limit | bound | refused |
|---:|---|---:|---:|---:|---:|
"""


async def budget_rows(requests: int = 600) -> str:
    from reasoning import Budget, Engine, EngineConfig, GenerationRequest, OpenAICompatibleModel
    from reasoning.errors import BudgetExceededError
    from reasoning.testing import FaultProxy

    lines = [BUDGET_INTRO.format(requests=requests).rstrip("\n")]
    for concurrency in (1, 4, 16, 64, 256):
        for kind, budget in (("calls", Budget(max_calls=200)), ("tokens", Budget(max_tokens=2004))):
            async with FaultProxy(latency=0.002) as server:
                model = OpenAICompatibleModel("stub", base_url=server.url + "/v1")
                async with Engine(model, EngineConfig(max_concurrency=concurrency, budget=budget)) as engine:
                    results = await asyncio.gather(
                        *(
                            engine.generate(GenerationRequest(prompt=f"budget request {i}", max_tokens=8))
                            for i in range(requests)
                        ),
                        return_exceptions=True,
                    )
            refused = sum(isinstance(r, BudgetExceededError) for r in results)
            if kind == "calls":
                limit, spent, bound = 200, engine.spend.calls, 0
            else:
                limit, spent, bound = 2004, engine.spend.total_tokens, max(concurrency, 8 + 5)
            lines.append(
                f"| {concurrency} | {limit} {kind} | {spent} | {max(0, spent - limit)} | {bound} | {refused} |"
            )
    return "\n".join(lines)


LOAD_INTRO = """\
`reasoning.testing.load.run_load`: distinct requests from as many concurrent callers as the engine's
`max_concurrency`, through an `Engine` (disk cache on) and an `EndpointPool` of two stand-in OpenAI-compatible
servers running in a child process. Counted from `/proc/self/fd` and `asyncio.all_tasks()` before the run, at the
peak (sampled every 0.25 s) and after the engine is closed. **Engine overhead** is a request's time in
`Engine.generate` less its HTTP call's time (measured around each endpoint's client, so the pool counts as
engine); at concurrency 500 it is mostly waiting for the one event loop that 500 callers and their HTTP clients
share, at concurrency 1 it is the engine's own cost (cache lookup and write, accounting, log). CI runs the
10,000 × 500 row and fails on any leak (`tests/reasoning/testing/test_load.py`).

"""
LOAD_HEADER = (
    "| requests | concurrency | ok | failed | seconds | req/s | engine overhead p50 / p99 | HTTP call p50 "
    "| tasks / sockets / fds before | peak sockets | after |\n|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|"
)


async def load_rows() -> str:
    import tempfile

    from reasoning.testing.load import run_load

    lines = [LOAD_INTRO + LOAD_HEADER]
    for requests, concurrency in ((2000, 1), (10_000, 500)):
        with tempfile.TemporaryDirectory() as tmp:
            r = await run_load(requests=requests, concurrency=concurrency, servers=2, cache=Path(tmp) / "cache.sqlite")
        b, a = r.before, r.after
        lines.append(
            f"| {r.requests} | {r.concurrency} | {r.succeeded} | {r.failed} | {r.seconds:.1f} "
            f"| {r.requests / r.seconds:.0f} | {r.overhead_p50_ms:.2f} / {r.overhead_p99_ms:.2f} ms "
            f"| {r.backend_p50_ms:.2f} ms | {b.tasks} / {b.sockets} / {b.fds} | {r.peak_sockets} "
            f"| {a.tasks} / {a.sockets} / {a.fds} |"
        )
    return "\n".join(lines)


def _policy(policy: object) -> str:
    return str(policy)


def _bullet(text: str) -> str:
    return textwrap.fill(text, width=116, initial_indent="- ", subsequent_indent="  ")


def _median_ms(gaps: list[float]) -> str:
    return f"{statistics.median(gaps) * 1000:.0f} ms"


def reading(rows: list[RowResult], rate: float, concurrency: int) -> str:
    """Bullets computed from the rows, so the prose cannot drift from the table."""
    lines = []
    lost = sum(r.lost for r in rows)
    duplicated = sum(r.duplicated for r in rows)
    total = sum(r.requests for r in rows)
    lines.append(
        f"- **Lost: {lost}, duplicated: {duplicated}** over {total} requests in {len(rows)} rows. Every request "
        "ended in its own result or in a typed error; none was answered with another's result, and none reached "
        "the upstream more often than it was attempted."
    )
    plain = [(s, r) for s, r in zip(SCENARIOS, rows, strict=True) if s.faults and s.rate == rate]
    if plain:
        failed = [r.failed_total / r.requests for _, r in plain]
        # Each failure's class against the class its row's fault(s) map to.
        mismatched = [
            r.scenario for s, r in plain if not set(r.failed) <= {expected_error(f).__name__ for f in s.faults}
        ]
        lines.append(
            f"- **Fault rows at {rate:.0%}**: {min(failed):.1%}–{max(failed):.1%} of requests failed (typed) after "
            f"{FAST_RETRY.max_attempts} attempts, against {rate**FAST_RETRY.max_attempts:.1%} expected if each "
            "attempt meets the fault independently. "
            + (
                "Every failure is of the class its fault maps to (429 → `RateLimitError`, 5xx → `ServerError`, "
                "stall → `APITimeoutError`, reset → `APIConnectionError`, malformed or truncated body → "
                "`MalformedResponseError`)."
                if not mismatched
                else f"Failures of an unexpected class in: {', '.join(mismatched)}."
            )
        )
    for row in rows:
        for label, gaps in sorted(row.gaps.items()):
            if "retry-after" in label and gaps and "mixed" not in row.scenario:
                wanted = float(label.rsplit("=", 1)[1])
                lines.append(
                    f"- **Retry-After is honoured**: after a 429 with `Retry-After: {wanted:g}`, the next attempt came "
                    f"{min(gaps) * 1000:.0f} ms later at the soonest (median {_median_ms(gaps)}; {len(gaps)} "
                    "retries), " + ("never sooner than asked." if min(gaps) >= wanted else "**sooner than asked**.")
                )
            elif label == "http 429" and gaps and "mixed" not in row.scenario:
                lines.append(
                    f"- **Without Retry-After, backoff**: after a bare 429 the next attempt came "
                    f"{min(gaps) * 1000:.0f}–{max(gaps) * 1000:.0f} ms later (median "
                    f"{_median_ms(gaps)}): the policy's jittered exponential backoff (at most "
                    f"{FAST_RETRY.initial_delay * 1000:.0f} ms, then {FAST_RETRY.initial_delay * 2000:.0f} ms, before "
                    "the first and second retry) plus the time the one event loop, shared by client, proxy and "
                    f"server with {concurrency} requests in flight, takes to get to it. The 5xx rows, same "
                    "policy: median "
                    + ", ".join(
                        f"{_median_ms(r.gaps[k])} after {k.removeprefix('http ')}"
                        for r in rows
                        for k in sorted(r.gaps)
                        if k.startswith("http 5") and "mixed" not in r.scenario and "60%" not in r.scenario
                    )
                    + "."
                )
    outages = [r for r in rows if r.outages and "pool" not in r.scenario]
    for row in outages:
        lines.append(
            f"- **{row.scenario}**: down {row.outage_seconds or 0:.2f} s, {row.dropped} connections cut "
            f"mid-request; {row.failed_total} requests failed"
            + (f" ({', '.join(sorted(row.failed))})" if row.failed else "")
            + f", {row.succeeded} succeeded."
        )
    if len(outages) == 2:
        fast, patient = outages
        lines.append(
            f"- With the fast policy the outage failed {fast.failed_total} requests: each gives up after ~0.1 s of "
            "backoff, so every request that starts while the endpoint is down fails, quickly and typed. With the "
            "patient policy (up to ~3 s of backoff) the requests in flight wait it out: "
            + ("nothing failed." if not patient.failed_total else f"{patient.failed_total} still failed.")
            + " On one endpoint retries can only wait; serving through an outage needs a second endpoint."
        )
    for row in rows:
        if "pool" in row.scenario:
            lines.append(
                f"- **{row.scenario}**: {row.succeeded} succeeded, {row.failed_total} failed"
                + (f" ({', '.join(sorted(row.failed))})" if row.failed else "")
                + f". {row.notes[-1] if row.notes else ''}."
            )
    heavy = [r for r in rows if "60%" in r.scenario]
    for row in heavy:
        lines.append(
            f"- **503 at 60%**: {row.failed_total / row.requests:.1%} failed with `ServerError` after 3 attempts "
            f"({0.6**3:.1%} expected); the rest succeeded; still nothing lost or duplicated."
        )
    return "\n".join(_bullet(line.removeprefix("- ")) for line in lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path, help="write the report (e.g. RELIABILITY.md) here")
    parser.add_argument("--skip-load", action="store_true", help="leave out the load rows")
    args = parser.parse_args()
    machine = describe()
    print(f"machine: {machine}; requests per row: {args.requests}; concurrency {args.concurrency}", flush=True)
    started = time.monotonic()

    def progress(row: RowResult) -> None:
        print(
            f"{row.scenario:50} ok {row.succeeded:5} failed {row.failed_total:4} lost {row.lost} "
            f"dup {row.duplicated} ({row.seconds:.1f} s)",
            flush=True,
        )

    rows = await run_campaign(args.requests, concurrency=args.concurrency, seed=args.seed, progress=progress)
    total = time.monotonic() - started
    table = markdown_table(rows)
    print(table)
    budget = await budget_rows()
    print(budget)
    load = "(not run: --skip-load)" if args.skip_load else await load_rows()
    print(load)
    if args.write:
        rate = SCENARIOS[0].rate
        kept = ""
        if args.write.exists():
            old = args.write.read_text(encoding="utf-8")
            if KEPT in old:
                kept = old[old.index(KEPT) :]
        args.write.write_text(
            INTRO.format(
                rate_pct=round(rate * 100),
                concurrency=args.concurrency,
                requests=args.requests,
                fast=_policy(FAST_RETRY),
                patient=_policy(PATIENT_RETRY),
                exhaust_pct=rate**FAST_RETRY.max_attempts * 100,
                date=datetime.date.today().isoformat(),
                machine=machine,
                total=total,
                table=table,
                reading=reading(rows, rate, args.concurrency),
                budget=budget,
                load=load,
            )
            + ("\n" + kept if kept else ""),
            encoding="utf-8",
        )
        print(f"wrote {args.write}")
    if any(r.lost or r.duplicated or r.anomalies for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
