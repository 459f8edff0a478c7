"""Every SuperICL record, and every explanation of an override, carries the one cost model: `spend` (`Session.cost`
of the answer it used, as if nothing were cached) and `paid` (what its session really paid for it), `Spend`'s five
fields each. `spend` is what the flat fields say; a rerun from a warm cache has the same `spend` and pays no call;
and a results file of before (no `spend`, no `paid`) reports the same and resumes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import reasoning.cli
from evals.harness import run_eval
from evals.supericl import Options, SuperICL, prepare
from reasoning import Engine, ResponseCache, ScriptedModel
from reasoning.engine import EngineConfig, Pricing, Spend

from .conftest import toy_answer, toy_dataset, toy_plugin

FIELDS = [f.name for f in dataclasses.fields(Spend)]
CONFIG = EngineConfig(pricing=Pricing(prompt_per_million=1.0, completion_per_million=2.0))
OPTIONS = Options(shots=2, explain=True)
OUTPUTS = ("summary.json", "report.html")


async def run(folder: Path, cache: ResponseCache, model: ScriptedModel | None = None) -> list[dict[str, Any]]:
    model = model or ScriptedModel(toy_answer)
    dataset, plugin = toy_dataset(), toy_plugin()
    shots, task = await prepare(dataset, plugin, OPTIONS)
    async with Engine(model, CONFIG, cache=cache) as engine:
        ev = SuperICL(OPTIONS, [(dataset, plugin, shots)], tasks={"toy": task})
        await run_eval(ev, folder, engine, model=model.name)
    return [json.loads(line) for line in (folder / "results.jsonl").open()]


def cost(record: dict[str, Any]) -> tuple[Spend, Spend]:
    """A record's (or an explanation's) `spend` and `paid`, once checked: five fields each, `spend` the flat
    fields' figures, and `cached` whether the answer was another method's, reused (then nothing was paid for it,
    not even a cache read; an answer the engine's cache served is not `cached`: that is `paid`'s to say)."""
    assert list(record["spend"]) == FIELDS and list(record["paid"]) == FIELDS
    spend, paid = Spend(**record["spend"]), Spend(**record["paid"])
    flat = (record.get("requests", spend.calls), record["prompt_tokens"], record["completion_tokens"],
            record.get("dollars", spend.dollars))  # fmt: skip
    assert (spend.calls, spend.prompt_tokens, spend.completion_tokens, spend.dollars) == flat
    assert spend.cached_samples == 0  # as if nothing were cached
    if record.get("source") != "plugin":
        assert record["cached"] == int(paid == Spend()) or (record["cached"] == 0 and paid.cached_samples > 0)
    return spend, paid


def costs(record: dict[str, Any]) -> list[tuple[Spend, Spend]]:
    """The record's cost, then its explanation's (an override explained)."""
    return [cost(record)] + ([cost(record["explanation"])] if record["explanation"] is not None else [])


async def test_every_record_and_explanation_has_spend_and_paid_and_a_warm_rerun_pays_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = ResponseCache()
    first = await run(tmp_path / "first", cache)
    again = await run(tmp_path / "again", cache)  # another folder, the same cache: every answer is in it
    by_key = {r["key"]: r for r in again}
    assert len(first) == len(by_key) == 24 and sum(r["explanation"] is not None for r in first) == 3
    paid_first = Spend()
    for one in first:
        two = by_key[one["key"]]
        for (spend, paid), (spend_again, paid_again) in zip(costs(one), costs(two), strict=True):
            assert spend == spend_again and paid.calls <= spend.calls
            assert paid_again == Spend(cached_samples=paid_again.cached_samples)
            paid_first.add(paid)
        if one["source"] == "llm":
            assert costs(one)[0][0].calls == 1 and costs(one)[0][0].dollars > 0
        else:  # the plug-in's answer: no model call
            assert costs(one) == [(Spend(), Spend())]
    # The cascade reused SuperICL's answers: costed as if it had asked, paid for by SuperICL's sessions.
    shared = [r for r in first if r["method"] == "cascade" and r["source"] == "llm"]
    assert shared and all(r["spend"]["calls"] == 1 and r["paid"] == Spend().as_dict() for r in shared)
    assert paid_first.calls == 6 + 6 + 3 and paid_first.dollars > 0  # ICL, SuperICL, explanations
    # What the summary says the run cost is as if nothing were cached: a rerun the cache answered says the same.
    summaries = [json.loads((tmp_path / name / "summary.json").read_text()) for name in ("first", "again")]
    assert summaries[0] == summaries[1] and summaries[0]["spend"]["backend_requests"] == 15

    # A results file written before records had `spend` and `paid` reports the same, and resumes.
    folder = tmp_path / "first"
    written = {name: (folder / name).read_bytes() for name in OUTPUTS}
    old = []
    for record in first:
        record = {k: v for k, v in record.items() if k not in ("spend", "paid")}
        if record["explanation"] is not None:
            record["explanation"] = {k: v for k, v in record["explanation"].items() if k not in ("spend", "paid")}
        old.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    (folder / "results.jsonl").write_text("".join(old))
    assert reasoning.cli.main(["supericl", "report", str(folder)]) == 0, capsys.readouterr().err
    assert {name: (folder / name).read_bytes() for name in OUTPUTS} == written  # `spend` and `paid` stay out
    model = ScriptedModel(toy_answer)
    assert await run(folder, ResponseCache(), model) == [json.loads(line) for line in old]
    assert model.calls == [] and {name: (folder / name).read_bytes() for name in OUTPUTS} == written
