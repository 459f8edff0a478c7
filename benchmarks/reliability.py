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

## Not covered here

- Streaming responses (the backend does not stream).
- Requests with `n > 1` fanned out as one HTTP request per sample (`OpenAICompatibleModel` with a server that
  ignores `n`): every row sends `n = 1`. Probing that path while building this campaign found that when one
  sample's request fails, the others are not cancelled: they run on, unawaited, while the engine's retry sends
  them again, so HTTP requests in flight can exceed `max_concurrency`, and samples the server answered are
  discarded without reaching the ledger.
- Several endpoints behind one model: the campaign takes a model factory of the endpoints' URLs
  (`Scenario.model`), so pool rows ("2 endpoints, one dies and comes back") slot in.

## Rerun

    python benchmarks/reliability.py --requests {requests} --write RELIABILITY.md

The CI test runs the same rows with fewer requests: `python -m pytest tests/reasoning/testing/test_campaign.py`.
"""


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
    outages = [r for r in rows if r.outages]
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
    if args.write:
        rate = SCENARIOS[0].rate
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
            ),
            encoding="utf-8",
        )
        print(f"wrote {args.write}")
    if any(r.lost or r.duplicated or r.anomalies for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
