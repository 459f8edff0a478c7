"""`benchmarks/search_workload.py` without a real model: a ToT BFS run recorded on a scripted model (each puzzle's
groups in order, a group's requests sent before any was answered), replayed through the engine on scripted
backends (every request answered, groups kept together, `--greedy`, `--requests`), the table's columns, and a bad
trace file as one error line."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import reasoning.cli
from reasoning import GenerationRequest, ScriptedModel
from tests.benchmarks.scripts import load

PUZZLES = ("--puzzle", "4 5 6 10", "--puzzle", "1 1 4 6")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load("search_workload")


def reply(request: GenerationRequest, _: int) -> str:
    """Two correct steps from the numbers left for a proposal, "sure" for a value, an answer for the rest."""
    text = request.prompt or "\n".join(m.content for m in request.messages or ())
    tail = text.rsplit("Input:", 1)[-1]
    if "Possible next steps" in tail:
        numbers = [int(x) for x in re.findall(r"\d+", tail.split("\n", 1)[0])]
        if len(numbers) < 2:
            return ""
        a, b, *rest = numbers
        return "\n".join(f"{a} {op} {b} = {c} (left: {' '.join(map(str, sorted([*rest, c])))})"
                         for op, c in (("+", a + b), ("*", a * b)))  # fmt: skip
    if "Steps:" in tail:
        return "Answer: (10 - 6) * 5 + 4 = 24"
    return "sure"  # a value of the numbers left, or a judgement of an answer


def scripted(bench: ModuleType, models: list[ScriptedModel], computed: int | None = None) -> Any:
    """A backend opener: a scripted model (kept in `models`) that answers after a pause; it says it computed
    `computed` prompt tokens a request (None: it does not say)."""

    async def open_(stack: contextlib.AsyncExitStack, out: Path) -> Any:
        (out / "scripted.log").write_text("started\n")  # as a server's log: `out` exists by now
        model = ScriptedModel(reply, delay=0.01)
        models.append(model)
        return bench.Opened(model, (lambda: None) if computed is None else (lambda: computed * len(model.calls)), "ok")

    return open_


@pytest.fixture(scope="module")
def trace_file(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "trace.jsonl"
    code = bench.record([*bench.TOT_SEARCH, *PUZZLES], path, make_model=lambda args: ScriptedModel(reply, delay=0.01))
    assert code == 0 and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["trace.jsonl"]  # the run folder is removed
    return path


def test_the_trace_keeps_each_puzzles_groups_in_order_and_a_group_together(bench: ModuleType, trace_file: Path):
    header, *entries = [json.loads(line) for line in trace_file.read_text().splitlines()]
    assert header["kind"] == "search-workload-trace" and header["model"] == "scripted" and header["complete"]
    assert header["command"].startswith("reasoning game24 run --method tot-bfs --breadth 5")
    assert "--check-steps" in header["command"] and header["requests"] == len(entries)
    assert header["concurrency"] == 8 and header["parallel"] == 4 and header["machine"]  # game24 run's defaults
    tags = sorted({e["tag"] for e in entries})
    assert tags == ["game24/0", "game24/1"]
    for tag in tags:
        mine = [e for e in entries if e["tag"] == tag]
        steps = sorted({e["step"] for e in mine})
        assert steps == list(range(len(steps))) and len(steps) >= 4  # propose, value, propose, value, ...
        by_step = [[e for e in mine if e["step"] == s] for s in steps]
        assert [len(g) for g in by_step[:2]] == [1, 2]  # one proposal, then a value request per step proposed
        assert by_step[1][0]["request"]["n"] == 3 and by_step[1][0]["request"]["temperature"] == 0.7
        for group, after in itertools.pairwise(by_step):
            assert len({e["group"] for e in group}) == 1
            assert max(e["sent"] for e in group) <= min(e["answered"] for e in group)  # all sent, then answers
            assert min(e["sent"] for e in after) >= max(e["answered"] for e in group)  # BFS: the step's end
    # Both puzzles were in flight together, and the file reads back as the same requests.
    assert max(e["in_flight"] for e in entries) >= 2
    trace = bench.load_trace(trace_file)
    assert [t.request.model_dump(mode="json", exclude_none=True) for t in trace.requests] == [
        e["request"] for e in entries
    ]
    assert sum(len(g) for g in trace.groups()) == len(entries) and "requests" in trace.summary()


def test_a_replay_answers_every_request_and_sends_a_group_at_once(bench: ModuleType, trace_file: Path) -> None:
    trace = bench.load_trace(trace_file)
    in_flight, most = 0, Counter[int]()

    async def counting(request: GenerationRequest, index: int) -> str:
        nonlocal in_flight
        in_flight += 1
        most[0] = max(most[0], in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return reply(request, index)

    async def run() -> Any:
        model = ScriptedModel(counting)
        async with bench.Engine(model, bench.EngineConfig(max_concurrency=8)) as engine:
            return model, await bench.replay(trace, engine, parallel=1)  # one puzzle at a time

    model, replayed = asyncio.run(run())
    assert replayed.sent == replayed.answered == len(trace.requests) and not replayed.errors
    assert Counter(r.digest() for r in model.calls) == Counter(t.request.digest() for t in trace.requests)
    widest = max(len(g) for g in trace.groups())
    assert most[0] == widest > 1  # a group's requests were in flight together, and never two groups
    assert replayed.completion_tokens > 0 and replayed.prompt_tokens_sent > 0


def test_the_table_has_a_row_per_backend_and_the_default_first(bench, trace_file, tmp_path, capsys) -> None:
    first: list[ScriptedModel] = []
    second: list[ScriptedModel] = []

    async def missing(stack: contextlib.AsyncExitStack, out: Path) -> Any:
        raise bench.Skipped("not installed here")

    backends = (bench.Backend("one", "scripted", scripted(bench, first)),
                bench.Backend("two", "scripted, reporting", scripted(bench, second, computed=5)),
                bench.Backend("gone", "not here", missing))  # fmt: skip
    code = bench.main(["--trace", str(trace_file), "--out", str(tmp_path), "--greedy"], backends=backends)
    out = capsys.readouterr().out
    assert code == 0, out
    header = "| backend | wall s | answered | generated tok/s | prompt tokens sent | computed | vs default | note |"
    assert header in out
    requests = len(bench.load_trace(trace_file).requests)
    one = next(line for line in out.splitlines() if line.startswith("| one |")).split(" | ")
    assert one[2] == f"{requests}/{requests}" and one[5] == "not reported" and one[6] == "1.00x"
    two = next(line for line in out.splitlines() if line.startswith("| two |")).split(" | ")
    # What the backend computed: here 5 tokens a call it got (identical requests in flight shared one call).
    assert two[5].startswith(f"{5 * len(second[0].calls)} (") and two[6].endswith("x")
    assert "| gone | | | | | | | skipped: not installed here |" in out
    assert all(r.temperature == 0.0 for r in first[0].calls + second[0].calls)  # --greedy
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["backend"] for r in results["rows"]] == ["one", "two", "gone"] and results["greedy"] is True


def test_requests_replays_only_the_first_groups(bench, trace_file, tmp_path, capsys) -> None:
    models: list[ScriptedModel] = []
    backends = (bench.Backend("one", "scripted", scripted(bench, models)),)
    out = tmp_path / "not" / "yet"
    assert bench.main(["--trace", str(trace_file), "--out", str(out), "--requests", "2"], backends=backends) == 0
    assert (out / "scripted.log").is_file() and (out / "results.json").is_file()
    groups = bench.load_trace(trace_file).groups()[:2]
    assert len(models[0].calls) == sum(len(g) for g in groups) == 2  # each puzzle's first proposal
    assert "replaying 2 requests in 2 groups" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty, not a trace"),
        ("hello\n", "line 1 is not a trace header"),
        ('{"kind": "search-workload-trace", "version": 1}\n{"id": 0}\n', "line 2 is not a traced request: no 'group'"),
        ('{"kind": "search-workload-trace", "version": 1}\n{"id": 0, "group": 0, "tag": "t", "step": 0, '
         '"request": {"n": 1}}\n', "line 2 is not a traced request: .*exactly one of `prompt` or `messages`"),
        ('{"kind": "search-workload-trace", "version": 1}\n{"id": \n', "line 2 is not JSON"),
        ('{"kind": "search-workload-trace", "version": 1}\n', "has a header and no request"),
        ('{"kind": "search-workload-trace", "version": 9}\n', "trace version 9"),
    ],
)  # fmt: skip
def test_a_bad_trace_file_is_one_error_line(bench, tmp_path, capsys, text: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    assert bench.main(["--trace", str(path), "--out", str(tmp_path), "--backends", "llamacpp"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err
    assert err.startswith("search_workload.py: error: ")


def test_a_missing_trace_file_is_one_error_line(bench, tmp_path, capsys) -> None:
    assert bench.main(["--trace", str(tmp_path / "nowhere.jsonl"), "--backends", "llamacpp"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("search_workload.py: error: cannot read the trace") and len(err.splitlines()) == 1


def test_llamacpp_prompt_forwards_are_counted_from_each_completions_first_forward(bench: ModuleType) -> None:
    forwards: list[list[int]] = []

    class Llama:  # what `LlamaCppModel` holds: a completion runs its prompt's forward, then one per token
        def eval(self, tokens: list[int]) -> None:
            forwards.append(list(tokens))

        def create_completion(self, prompt: str, reused: int = 0) -> None:
            tokens = list(range(len(prompt.split())))
            self.eval(tokens[reused:])  # the prefix kept from the previous call is not computed again
            for token in (7, 8):
                self.eval([token])

        def create_chat_completion(self, messages: list[str]) -> None:
            self.create_completion(" ".join(messages))

    model = ScriptedModel([])
    model._llama = Llama()  # type: ignore[attr-defined]
    computed = bench.count_prompt_forwards(model)
    assert computed() == 0
    model._llama.create_completion("a b c d e")  # type: ignore[attr-defined]
    model._llama.create_completion("a b c d e f", reused=5)  # type: ignore[attr-defined]
    model._llama.create_chat_completion(["x", "y"])  # type: ignore[attr-defined]
    assert computed() == 5 + 1 + 2 and len(forwards) == 9
    assert bench.count_prompt_forwards(ScriptedModel([]))() is None  # not llama.cpp: not reported


def test_vllm_prompt_tokens_computed_are_its_prefix_cache_queries_less_hits(bench: ModuleType) -> None:
    metrics = """# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
vllm:prefix_cache_queries_total{engine="0",model_name="embedded"} 1200.0
vllm:prefix_cache_hits_total{engine="0",model_name="embedded"} 900.0
vllm:prompt_tokens_total{engine="0",model_name="embedded"} 1200.0
"""
    assert bench.prefix_cache_computed(metrics) == 300
    assert bench.prefix_cache_computed("vllm:prompt_tokens_total 5.0\n") is None


def test_a_recording_stopped_early_keeps_the_requests_sent(bench: ModuleType, tmp_path: Path, capsys) -> None:
    def stopped(argv: list[str]) -> int:  # a run that sends one request, then is stopped (Ctrl-C: 130)
        args = reasoning.cli.build_parser().parse(argv)
        args.log = None
        engine = reasoning.cli.make_engine(args)  # the recording engine, while `record` runs
        asyncio.run(engine.generate(GenerationRequest(prompt="Input: 4 5 6 10\n", n=3, seed=1), tag="game24/900"))
        return 130

    scripted_model = lambda args: ScriptedModel(reply)  # noqa: E731
    argv = ["--range", "900", "--record-only", "--out", str(tmp_path)]
    assert bench.main(argv, cli=stopped, make_model=scripted_model) == 130
    assert "recording stopped (exit 130): the trace holds the requests sent" in capsys.readouterr().err
    trace = bench.load_trace(tmp_path / "trace.jsonl")
    assert trace.header["complete"] is False and "partial" in trace.summary()
    assert [(t.tag, t.step, t.request.n, t.request.seed) for t in trace.requests] == [("game24/900", 0, 3, 1)]
    # Stopped before any request: no trace.
    (tmp_path / "trace.jsonl").unlink()
    assert bench.main(argv, cli=lambda argv: 2, make_model=scripted_model) == 2
    assert "no request was sent, no trace written" in capsys.readouterr().err
    assert not (tmp_path / "trace.jsonl").exists()
