"""10,000 requests at concurrency 500 through the engine and an endpoint pool to two loopback servers (in a child
process): every request answered, and the process holds no more tasks, sockets or file descriptors after than
before."""

from reasoning.testing.load import resources, run_load


async def test_ten_thousand_requests_at_concurrency_500_leak_nothing(tmp_path):
    report = await run_load(requests=10_000, concurrency=500, servers=2, cache=tmp_path / "cache.sqlite")
    assert (report.succeeded, report.failed) == (10_000, 0)
    assert report.leaked == type(report.leaked)(tasks=0, sockets=0, fds=0), (report.before, report.after)
    # One connection per caller at most (httpx keeps them per endpoint client); none left once the engine closed.
    assert report.concurrency <= report.peak_sockets - report.before.sockets <= report.concurrency + 4
    assert report.overhead_p50_ms >= 0


def test_resources_counts_what_is_opened():
    import socket

    before = resources()
    with socket.socket() as s, open(__file__) as f:
        during = resources()
        assert s and f
    assert (during.sockets - before.sockets, during.fds - before.fds) == (1, 2)
    assert resources() == before
