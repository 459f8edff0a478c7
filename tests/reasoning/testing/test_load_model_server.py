"""The load test against our own server (`ModelServer`, Starlette on uvicorn, in a child process): 200 callers at
once through the engine, every request answered, none lost, and the client process holds nothing after."""

from reasoning.testing.load import run_load


async def test_a_thousand_requests_at_concurrency_200_to_our_server_all_answered(tmp_path):
    report = await run_load(requests=1000, concurrency=200, servers=1, server="model")
    assert (report.succeeded, report.failed) == (1000, 0)
    assert report.leaked == type(report.leaked)(tasks=0, sockets=0, fds=0), (report.before, report.after)
    assert report.peak_sockets - report.before.sockets <= report.concurrency + 4  # one connection per caller at most
