"""The two hooks an eval may use beside `samples`: `pending(done)` is told the keys already done (an eval whose
samples are costly to make leaves those out), and `identity()` adds to the run's identity what its config resolved
the options to (refused by the one rule when it changes)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import pytest

from reasoning import Engine, ScriptedModel
from reasoning.errors import ConfigurationError

from .test_harness import ITEMS, Echo, answer


class Costly(Echo):
    def __init__(self, items: list[tuple[str, str]], digest: str = "a") -> None:
        super().__init__(items)
        self.digest = digest
        self.told: list[Collection[str]] = []

    def pending(self, done: Collection[str]) -> Iterable[tuple[str, str]]:
        self.told.append(set(done))
        return [item for item in self.items if item[0] not in done]

    def identity(self) -> dict[str, Any]:
        return {"digest": self.digest}


async def test_pending_is_told_the_done_keys_and_identity_is_recorded_and_checked(tmp_path: Path) -> None:
    from evals.harness import run_eval

    async with Engine(ScriptedModel(answer)) as engine:
        await run_eval(Costly(ITEMS[:2]), tmp_path, engine, model="scripted", identity={"--x": 1})
        again = Costly(ITEMS[:4])
        records, _ = await run_eval(again, tmp_path, engine, model="scripted", identity={"--x": 1})
        assert again.told == [{"q0", "q1"}] and len(records) == 4
        with pytest.raises(ConfigurationError, match=r"\(digest 'a' there, 'b' now\)"):
            await run_eval(Costly(ITEMS, "b"), tmp_path, engine, model="scripted", identity={"--x": 1})
    assert '"digest": "a"' in (tmp_path / "run.json").read_text()
