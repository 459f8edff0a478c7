"""Every audit record, and every judge's verdict, carries the one cost model, its session's: `spend` (as if nothing
were cached) and `paid` (what was really paid), `Spend`'s five fields each. `spend` is what the flat fields say; a
rerun from a warm cache has the same `spend` and pays no call; neither reaches summary.json or report.html
differently, and a results file of before (no `spend`, no `paid`) reports the same and resumes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import reasoning.cli
from evals.audit import Audit, SuggestedAnswer
from evals.audit.runner import Sampling
from evals.harness import run_eval
from reasoning import Engine, ResponseCache, ScriptedModel
from reasoning.engine import EngineConfig, Pricing, Spend

from .test_probe import bbq_item
from .test_runner import COT_ZS, items, planted

FIELDS = [f.name for f in dataclasses.fields(Spend)]
CONFIG = EngineConfig(pricing=Pricing(prompt_per_million=1.0, completion_per_million=2.0))
SAMPLING = Sampling(temperature=0.0, judge=True)
TODO = [*items(8), bbq_item(0), bbq_item(1)]
OUTPUTS = ("summary.json", "report.html")


async def run(folder: Path, cache: ResponseCache, model: ScriptedModel | None = None) -> list[dict[str, Any]]:
    model = model or ScriptedModel(planted)
    async with Engine(model, CONFIG, cache=cache) as engine:
        await run_eval(Audit(TODO, [SuggestedAnswer()], [COT_ZS], SAMPLING), folder, engine, model=model.name)
    return [json.loads(line) for line in (folder / "results.jsonl").open()]


def cost(record: dict[str, Any], cached_samples: bool = True) -> tuple[Spend, Spend]:
    """A record's (or a verdict's) `spend` and `paid`, once checked: five fields each, `spend` the flat fields'
    figures, and a record's flat `cached_samples` what `paid` says."""
    assert list(record["spend"]) == FIELDS and list(record["paid"]) == FIELDS
    spend, paid = Spend(**record["spend"]), Spend(**record["paid"])
    flat = (record["calls"], record["prompt_tokens"], record["completion_tokens"], record["dollars"])
    assert (spend.calls, spend.prompt_tokens, spend.completion_tokens, spend.dollars) == flat
    assert spend.cached_samples == 0  # as if nothing were cached
    if cached_samples:
        assert record["cached_samples"] == paid.cached_samples
    return spend, paid


def costs(record: dict[str, Any]) -> list[tuple[Spend, Spend]]:
    """The record's cost, then its judge's (a chain-of-thought pair's)."""
    judge = (record["detection"] or {}).get("judge")
    return [cost(record)] + ([cost(judge, cached_samples=False)] if judge is not None else [])


async def test_every_record_and_verdict_has_spend_and_paid_and_a_warm_rerun_pays_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = ResponseCache()
    first = await run(tmp_path / "first", cache)
    again = await run(tmp_path / "again", cache)  # another folder, the same cache: every answer is in it
    by_key = {r["key"]: r for r in again}
    assert len(first) == len(by_key) == 8 + 2 and {r["kind"] for r in first} == {"pair", "bbq"}
    assert sum(r["detection"] is not None and r["detection"]["judge"] is not None for r in first) == 8
    paid_first = Spend()
    for one in first:
        two = by_key[one["key"]]
        for (spend, paid), (spend_again, paid_again) in zip(costs(one), costs(two), strict=True):
            assert spend == spend_again and spend.calls > 0 and spend.dollars > 0
            assert paid.calls <= spend.calls
            assert paid_again == Spend(cached_samples=paid_again.cached_samples) and paid_again.cached_samples > 0
            paid_first.add(paid)
    assert paid_first.calls > 0 and paid_first.dollars > 0
    written = {name: (tmp_path / "first" / name).read_bytes() for name in OUTPUTS}
    assert {name: (tmp_path / "again" / name).read_bytes() for name in OUTPUTS} == written  # `paid` stays out

    # A results file written before records had `spend` and `paid` reports the same, and resumes.
    results = tmp_path / "first" / "results.jsonl"
    old = []
    for record in first:
        record = {k: v for k, v in record.items() if k not in ("spend", "paid")}
        if record["detection"] is not None and record["detection"]["judge"] is not None:
            judge = {k: v for k, v in record["detection"]["judge"].items() if k not in ("spend", "paid")}
            record["detection"] = {**record["detection"], "judge": judge}
        old.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    results.write_text("".join(old))
    assert reasoning.cli.main(["audit", "report", str(tmp_path / "first")]) == 0, capsys.readouterr().err
    assert {name: (tmp_path / "first" / name).read_bytes() for name in OUTPUTS} == written
    model = ScriptedModel(planted)
    assert await run(tmp_path / "first", ResponseCache(), model) == [json.loads(line) for line in old]
    assert model.calls == [] and {name: (tmp_path / "first" / name).read_bytes() for name in OUTPUTS} == written
