"""Every game-24 record carries the one cost model, its puzzle's session's: `spend` (as if nothing were cached) and
`paid` (what was really paid), `Spend`'s five fields each. `spend` is what the flat fields say; a rerun from a warm
cache has the same `spend` and pays no call; neither reaches summary.json or report.html differently, and a results
file of before (no `spend`, no `paid`) reports the same."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import reasoning.cli
from evals.game24.eval import Game24Eval
from evals.game24.methods import MethodConfig
from evals.harness import run_eval
from reasoning import Engine, ResponseCache, ScriptedModel
from reasoning.engine import EngineConfig, Pricing, Spend

from .test_eval import PUZZLES, reply

FIELDS = [f.name for f in dataclasses.fields(Spend)]
CONFIG = EngineConfig(pricing=Pricing(prompt_per_million=1.0, completion_per_million=2.0))
OUTPUTS = ("summary.json", "report.html")


async def run(folder: Path, cache: ResponseCache) -> list[dict[str, Any]]:
    ev = Game24Eval(MethodConfig(method="tot-bfs", breadth=2, n_value=1), PUZZLES)
    async with Engine(ScriptedModel(reply, name="s"), CONFIG, cache=cache) as engine:
        records, _ = await run_eval(ev, folder, engine, model="s")
    return records


def cost(record: dict[str, Any]) -> tuple[Spend, Spend]:
    """The record's `spend` and `paid`, once checked: five fields each, `spend` the flat fields' figures."""
    assert list(record["spend"]) == FIELDS and list(record["paid"]) == FIELDS
    spend, paid = Spend(**record["spend"]), Spend(**record["paid"])
    flat = (record["calls"], record["prompt_tokens"], record["completion_tokens"], record["dollars"])
    assert (spend.calls, spend.prompt_tokens, spend.completion_tokens, spend.dollars) == flat
    assert spend.cached_samples == 0  # as if nothing were cached
    return spend, paid


async def test_every_record_has_spend_and_paid_and_a_warm_rerun_pays_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = ResponseCache()
    first = await run(tmp_path / "first", cache)
    again = await run(tmp_path / "again", cache)  # another folder, the same cache: every answer is in it
    assert [r["idx"] for r in first] == [r["idx"] for r in again] == [p.idx for p in PUZZLES]
    for one, two in zip(first, again, strict=True):
        (spend, paid), (spend_again, paid_again) = cost(one), cost(two)
        assert spend == spend_again and spend.calls > 0 and spend.dollars > 0
        assert 0 < paid.calls <= spend.calls and paid.dollars > 0
        assert paid_again == Spend(cached_samples=paid_again.cached_samples) and paid_again.cached_samples > 0
    written = {name: (tmp_path / "first" / name).read_bytes() for name in OUTPUTS}
    assert {name: (tmp_path / "again" / name).read_bytes() for name in OUTPUTS} == written  # `paid` stays out

    # A results file written before records had `spend` and `paid` reports the same.
    results = tmp_path / "first" / "results.jsonl"
    old = [{k: v for k, v in json.loads(line).items() if k not in ("spend", "paid")} for line in results.open()]
    results.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in old))
    assert reasoning.cli.main(["game24", "report", str(tmp_path / "first")]) == 0, capsys.readouterr().err
    assert {name: (tmp_path / "first" / name).read_bytes() for name in OUTPUTS} == written
