"""The judges beside the audited model: the embedded model (`--local-judge`) and a model at an OpenAI-compatible URL
(`--judge-url`, `--judge-model`), asked only on flipped chain-of-thought pairs, each verdict stored under its name
with its own cost; an unparsable reply recorded; a server down or failing named in one line; the API key never
written; a resume with other judge options refused; a run.json from before the judges resumes."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

import evals.audit.judges
import reasoning.cli
from evals.audit import SETTINGS, Audit, SuggestedAnswer
from evals.audit.detect import Judge
from evals.audit.records import LLM_JUDGE, LOCAL_JUDGE, ProbeRecord, flipped
from evals.audit.runner import Sampling
from evals.harness import run_eval
from reasoning import Engine, GenerationRequest, ResponseCache, ScriptedModel
from reasoning.testing import Fault, FaultProxy

from .conftest import cli, lend_model
from .test_runner import items, planted, text_of

COT_ZS, _, DIRECT_ZS, _ = SETTINGS


def judge_replies(reply: str) -> ScriptedModel:
    """A judge that answers every judge question with `reply` and refuses anything else."""

    def answer(request: GenerationRequest, _: int) -> str:
        assert text_of(request).startswith("You are checking"), "a judge was asked to probe"
        assert request.temperature == 0.0
        return reply

    return ScriptedModel(answer)


async def test_judges_are_asked_only_on_flipped_chain_of_thought_pairs(tmp_path: Path) -> None:
    local, llm = ScriptedModel(planted), judge_replies("Maybe so")
    sampling = Sampling(temperature=0.0, local_judge=True, judge_model="j")
    async with Engine(ScriptedModel(planted), cache=ResponseCache()) as engine, Engine(local) as e1, Engine(llm) as e2:
        judges = [Judge(LOCAL_JUDGE, e1, "the embedded model"), Judge(LLM_JUDGE, e2, "--judge-url x")]
        audit = Audit(items(12), [SuggestedAnswer()], [COT_ZS, DIRECT_ZS], sampling, judges=judges)
        entries, _ = await run_eval(audit, tmp_path, engine, model="scripted")
        assert e1.ledger.by_tag == {} and e2.ledger.by_tag == {}  # each judge's session released
    pairs = [e for e in entries if isinstance(e.record, ProbeRecord)]
    cot_flipped = [e for e in pairs if e.record.setting == COT_ZS.key and flipped(e.record)]
    # Items 1, 4, 5, 8, 9 follow a suggestion pointing to a wrong answer (item 0's points to the gold one).
    assert [e.record.item_id for e in cot_flipped] == ["toy/1", "toy/4", "toy/5", "toy/8", "toy/9"]
    for e in pairs:
        if e in cot_flipped:
            assert e.detection is not None and set(e.detection.judges) == {LOCAL_JUDGE, LLM_JUDGE}
        else:  # not flipped, or no chain of thought: no judge asked (the rule still is, on every CoT pair)
            assert e.detection is None or e.detection.judges == {}
    assert len(local.calls) == len(llm.calls) == 5
    local_says = [e.detection.judges[LOCAL_JUDGE] for e in cot_flipped]  # type: ignore[union-attr]
    # "You think" (items 4 and 8) is said to the local judge, which answers Yes exactly then.
    assert [j.mentions for j in local_says] == [False, True, False, True, False]
    assert all(j.calls == 1 and j.spend.calls == 1 and j.prompt_tokens > 0 for j in local_says)
    # The other judge's replies are not Yes or No: verdicts of None, with why.
    llm_says = [e.detection.judges[LLM_JUDGE] for e in cot_flipped]  # type: ignore[union-attr]
    assert all(j.mentions is None and j.unparsed == "not a plain yes or no: 'Maybe so'" for j in llm_says)
    assert all(j.calls == 1 and j.paid.calls == 1 for j in llm_says)
    # Written as they are kept: each line's verdicts by name.
    lines = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    written = {r["key"]: r["detection"]["judges"] for r in lines if r["detection"] and r["detection"]["judges"]}
    assert sorted(written) == sorted(e.key for e in cot_flipped)
    assert all(set(v) == {"local", "llm"} and v["llm"]["unparsed"] for v in written.values())
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["sampling"]["local_judge"] is True and run["sampling"]["judge_model"] == "j"


async def test_judges_the_options_name_must_be_the_judges_given(tmp_path: Path) -> None:
    from reasoning.errors import ConfigurationError

    async with Engine(ScriptedModel(planted)) as engine:
        audit = Audit(items(2), [SuggestedAnswer()], [COT_ZS], Sampling(local_judge=True))
        with pytest.raises(ConfigurationError, match=r"name the judges \['local'\], but the audit was given \[\]"):
            await run_eval(audit, tmp_path, engine, model="scripted")


# The command line: the audited model scripted (as in test_cli), the local judge a scripted stand-in for the
# embedded model, the URL judge a real HTTP server on loopback.


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    scripted = ScriptedModel(planted)

    lend_model(monkeypatch, scripted)
    return scripted


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    """What `--local-judge` loads instead of the embedded model."""
    scripted = ScriptedModel(planted, name="embedded-stand-in")
    monkeypatch.setattr(evals.audit.judges, "embedded_model", lambda: scripted)
    return scripted


async def cli_in_thread(*args: str) -> int:
    """The command in a thread of its own, while this test's event loop serves the loopback server."""
    return await asyncio.to_thread(reasoning.cli.main, ["audit", *args])


def judge_server(reply: Any = None) -> FaultProxy:
    """An OpenAI-compatible server on loopback that answers a judge question Yes when the explanation says "You
    think", else No (or `reply(text)` when given)."""

    def respond(path: str, body: dict[str, Any]) -> dict[str, Any]:
        text = "\n\n".join(str(m["content"]) for m in body["messages"])
        assert text.startswith("You are checking") and body["temperature"] == 0.0
        answer = reply(text) if reply is not None else ("Yes" if "You think" in text else "No")
        return {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 1}}  # fmt: skip

    return FaultProxy(responder=respond)


def verdicts(out: Path, name: str) -> dict[str, bool | None]:
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {r["item_id"]: r["detection"]["judges"][name]["mentions"] for r in lines
            if r["detection"] and name in r["detection"]["judges"]}  # fmt: skip


def test_local_judge_from_the_command_line(model, embedded, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--items", str(items_file), "--local-judge", "--out", str(out))
    assert code == 0, stderr
    assert verdicts(out, "local") == {"mine/1": False, "mine/4": True, "mine/5": False, "mine/8": True,
                                      "mine/9": False}  # fmt: skip
    assert len(embedded.calls) == 5
    assert {"judge-local-cache.sqlite", "judge-local-calls.jsonl"} <= {p.name for p in out.iterdir()}
    assert len((out / "judge-local-calls.jsonl").read_text().splitlines()) == 5
    run = json.loads((out / "run.json").read_text())
    assert run["identity"]["--local-judge"] is True and run["identity"]["--judge-model"] is None
    assert run["sampling"]["local_judge"] is True and "--judge-url" not in run["identity"]
    # The same command again resumes: nothing asked of either model.
    calls = len(model.calls)
    assert cli(capsys, "run", "--items", str(items_file), "--local-judge", "--out", str(out))[0] == 0
    assert len(model.calls) == calls and len(embedded.calls) == 5


async def test_url_judge_on_loopback_and_the_key_is_never_written(model, items_file, tmp_path, monkeypatch) -> None:
    key = "sk-judge-" + "7" * 32
    monkeypatch.setenv("MY_JUDGE_KEY", key)
    out = tmp_path / "run"
    async with judge_server() as server:
        code = await cli_in_thread("run", "--items", str(items_file), "--out", str(out), "--judge-url",
                                   f"{server.url}/v1", "--judge-model", "judge-m", "--judge-api-key-env",
                                   "MY_JUDGE_KEY")  # fmt: skip
        assert code == 0
        assert server.stats.requests == 5
    assert verdicts(out, "llm") == {"mine/1": False, "mine/4": True, "mine/5": False, "mine/8": True, "mine/9": False}
    judged = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    costs = [r["detection"]["judges"]["llm"] for r in judged if r["detection"] and r["detection"]["judges"]]
    assert all((c["calls"], c["prompt_tokens"], c["completion_tokens"]) == (1, 50, 1) for c in costs)
    run = json.loads((out / "run.json").read_text())
    assert run["identity"]["--judge-model"] == "judge-m" and run["sampling"]["judge_model"] == "judge-m"
    assert not any(k.startswith("--judge-url") or k.startswith("--judge-api") for k in run["identity"])
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key.encode() not in data and b"MY_JUDGE_KEY" not in data, path
            assert server.url.encode() not in data, path  # where the judge ran is not part of the record


async def test_url_judge_down_or_failing_is_one_line_naming_the_url(model, items_file, tmp_path, capsys) -> None:
    down = "http://127.0.0.1:9/v1"
    args = ("run", "--items", str(items_file), "--judge-model", "judge-m", "--out")
    started = time.monotonic()
    code = await cli_in_thread(*args, str(tmp_path / "a"), "--judge-url", down)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"reasoning: error: the llm judge (--judge-url {down}): connection failed")
    assert "attempts=5" in line  # after the engine's retries
    async with judge_server() as server:
        server.outage(600, Fault.http(503))
        code = await cli_in_thread(*args, str(tmp_path / "b"), "--judge-url", f"{server.url}/v1")
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert code == 2 and line.startswith(f"reasoning: error: the llm judge (--judge-url {server.url}/v1): HTTP 503")
    assert time.monotonic() - started < 60


def test_judge_options_checked_before_anything_runs(model, items_file, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    base = ("run", "--items", str(items_file), "--out", str(tmp_path / "run"))
    for extra, message in [
        (("--judge-url", "http://127.0.0.1:9/v1"), "--judge-url needs --judge-model"),
        (("--judge-model", "m"), "--judge-model needs --judge-url"),
        (("--judge-url", "127.0.0.1:9/v1", "--judge-model", "m"), "has no scheme: use http://127.0.0.1:9/v1"),
        (("--judge-url", "http://127.0.0.1:9/v1", "--judge-model", "m", "--judge-api-key-env", "NO_SUCH_KEY_VAR"),
         "--judge-api-key-env names NO_SUCH_KEY_VAR, which is not set"),
    ]:  # fmt: skip
        code, _, err = cli(capsys, *base, *extra)
        assert code == 2 and err.strip() == f"reasoning: error: {err.strip().removeprefix('reasoning: error: ')}"
        assert message in err and len(err.strip().splitlines()) == 1
    assert model.calls == []


def test_resume_with_other_judge_options_is_refused(model, embedded, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    base = ("run", "--items", str(items_file), "--out", str(out))
    assert cli(capsys, *base, "--local-judge")[0] == 0
    code, _, err = cli(capsys, *base)
    assert code == 2 and err.strip().splitlines() == [
        f"reasoning: error: {out} holds results made with other options (--local-judge on there, off now); rerun "
        "with the same options to resume, or use another --out"
    ]
    code, _, err = cli(capsys, *base, "--local-judge", "--judge-url", "http://127.0.0.1:9/v1", "--judge-model", "m")
    assert code == 2 and "(--judge-model unset there, 'm' now)" in err and len(err.strip().splitlines()) == 1


async def test_another_judge_url_for_the_same_model_resumes(model, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = ("run", "--items", str(items_file), "--out", str(out), "--judge-model", "judge-m", "--judge-url")
    async with judge_server() as first:
        assert await cli_in_thread(*args, f"{first.url}/v1") == 0
    async with judge_server(lambda text: "No") as second:  # another server, the same model: nothing to ask
        assert await cli_in_thread(*args, f"{second.url}/v1") == 0
        assert second.stats.requests == 0
    capsys.readouterr()


def test_a_run_json_from_before_the_judges_resumes(model, items_file, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = ("run", "--items", str(items_file), "--cot", "both", "--out", str(out))
    assert cli(capsys, *args)[0] == 0
    run = json.loads((out / "run.json").read_text())
    for name in ("--local-judge", "--judge-model"):
        del run["identity"][name]
    for name in ("local_judge", "judge_model"):
        del run["sampling"][name]
    (out / "run.json").write_text(json.dumps(run))
    lines = (out / "results.jsonl").read_text().splitlines()
    old = [json.loads(line) for line in lines]
    for record in old:  # and results lines from before `Detection.judges`
        if record["detection"] is not None:
            del record["detection"]["judges"]
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    calls = len(model.calls)
    code, _, err = cli(capsys, "report", str(out))
    assert code == 0, err
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    assert len(model.calls) == calls  # resumed: nothing asked again
    assert json.loads((out / "run.json").read_text())["sampling"]["local_judge"] is False


@pytest.mark.model
def test_local_judge_on_the_embedded_model(model, embedded_gguf_path, tmp_path, capsys) -> None:
    """`--local-judge` as shipped: the embedded model on its fastest backend judges the two flipped pairs (items 1
    and 4 follow the suggestion; 4 says so). A 0.5B model's verdicts are not checked for being right, only that each
    is a verdict (Yes, No, or why not) with its own cost."""
    from tests.conftest import require

    require("llama_cpp")
    path = tmp_path / "two.jsonl"
    rows = [{"id": i, "question": f"Question {i}: which one?", "choices": ["choice 0", "choice 1", "choice 2"],
             "answer": i % 3, "random_ans_idx": (i + 1) % 3} for i in (1, 4)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    code, _, stderr = cli(capsys, "run", "--items", str(path), "--local-judge", "--out", str(out))
    assert code == 0, stderr[-3000:]
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    said = {r["item_id"]: r["detection"]["judges"]["local"] for r in lines}
    assert sorted(said) == ["two/1", "two/4"]  # every pair flipped: each judged
    for verdict in said.values():
        assert (verdict["mentions"] is None) == (verdict["unparsed"] is not None)
        assert verdict["calls"] == 1 and verdict["prompt_tokens"] > 0 and verdict["completion_tokens"] > 0
    assert len((out / "judge-local-calls.jsonl").read_text().splitlines()) == 2
    # The same command again is served from the judge's cache in the run folder.
    assert cli(capsys, "run", "--items", str(path), "--local-judge", "--out", str(out))[0] == 0
    with capsys.disabled():
        print(f"\n[local judge verdicts: {[(k, v['mentions'], v['unparsed']) for k, v in sorted(said.items())]}]")
