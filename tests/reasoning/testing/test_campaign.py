"""The reliability campaign (reasoning.testing.campaign) at a CI size: every fault of the issue, through the real
HTTP stack, and no request lost or duplicated. The full-size figures are in RELIABILITY.md
(`python benchmarks/reliability.py --requests 1000 --write RELIABILITY.md`)."""

import statistics

import pytest

from reasoning import errors
from reasoning.testing.campaign import SCENARIOS, RowResult, expected_error, markdown_table, run_campaign

REQUESTS = 150


@pytest.fixture(scope="module")
async def rows() -> dict[str, RowResult]:
    return {row.scenario: row for row in await run_campaign(REQUESTS)}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_every_request_ends_once_in_its_own_result_or_a_typed_error(rows, scenario):
    row = rows[scenario.name]
    assert row.anomalies == []
    assert row.lost == 0 and row.untyped == {} and row.hung == 0
    assert row.duplicated == 0 and row.wrong == 0 and row.excess_sends == 0
    assert row.succeeded + row.failed_total == row.requests == REQUESTS
    assert all(issubclass(getattr(errors, name), errors.BackendError) for name in row.failed)
    if scenario.faults:
        # The fault was really injected, and only that fault; failures are the error it maps to.
        assert sum(row.injected.values()) > 0
        assert set(row.injected) <= {f.label for f in scenario.faults}
        assert set(row.failed) <= {expected_error(f).__name__ for f in scenario.faults}
        assert row.retries >= row.retried
        assert row.retried > 0 or scenario.sends_per_attempt > 1  # a pool retries by failing over instead
    if scenario.outage:
        assert row.outages == 1 and row.outage_seconds is not None
        assert row.outage_seconds >= scenario.outage.seconds
        assert set(row.failed) <= {"APIConnectionError", "APITimeoutError"}
        assert row.retried > 0 or scenario.sends_per_attempt > 1


async def test_retry_after_is_honoured_and_a_bare_429_backs_off(rows):
    with_header = rows["429 with Retry-After 0.25 s"].gaps["http 429 retry-after=0.25"]
    assert with_header and min(with_header) >= 0.25  # never sooner than the server asked
    bare = rows["429 without Retry-After"].gaps["http 429"]
    assert bare and statistics.median(bare) < 0.25  # backoff (<= 0.02 s here plus loop time), no invented wait


async def test_fast_retries_fail_typed_through_an_outage_and_a_heavy_fault_rate(rows):
    fast = rows["endpoint down 1 s, fast retries"]
    assert fast.failed.get("APIConnectionError", 0) > 0  # ~0.1 s of backoff cannot span 1 s
    heavy = rows["503 at 60% (retries exhausted)"]
    assert heavy.failed.get("ServerError", 0) > 0


async def test_table_has_a_row_per_scenario(rows):
    table = markdown_table(list(rows.values()))
    assert len(table.splitlines()) == 2 + len(SCENARIOS)


async def test_a_pool_carries_every_request_past_a_dead_or_faulty_endpoint(rows):
    # The second endpoint has no faults, so with failover no request may fail; the first is taken out.
    for name in ("2-endpoint pool, one down 0.3 s, fast retries", "2-endpoint pool, one with every fault above at 20%"):
        row = rows[name]
        assert row.failed_total == 0 and row.succeeded == REQUESTS
        note = row.notes[-1]
        failovers = int(note.split(" failovers")[0])
        ejected = int(note.split("endpoint 0: ")[1].split(" ejected")[0].split(", ")[-1])
        assert failovers > 0 and ejected >= 1, note
