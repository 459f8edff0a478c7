"""Items that would make two samples of one key: an --items id that is also one of the paper's data (`--tasks
snarks` with an item of task "bbh" and id "snarks/0" is the item "bbh/snarks/0"), or two items of one id handed to
the library. Each pair would be asked twice, both records appended, and only the first counted: refused, one line,
before anything is asked or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import reasoning.cli
from evals.audit import Audit, Metadata, SuggestedAnswer
from evals.audit.runner import Sampling, plan
from evals.harness import run_eval
from reasoning import Engine, ResponseCache, ScriptedModel
from reasoning.errors import ConfigurationError

from .conftest import make
from .test_runner import COT_ZS, planted


def test_plan_refuses_two_items_of_one_id() -> None:
    todo = [make(0), make(1), make(0, gold=2)]
    with pytest.raises(ConfigurationError) as caught:
        plan(todo, [SuggestedAnswer()], [COT_ZS])
    assert str(caught.value) == ("two items have the id 'toy/0': each would be asked as the pair "
                                 "'toy/0|suggested-answer|cot/zero-shot' and only one counted; give every item an "
                                 "id of its own")  # fmt: skip


async def test_a_library_run_with_two_items_of_one_id_asks_and_writes_nothing(tmp_path: Path) -> None:
    model = ScriptedModel(planted)
    async with Engine(model, cache=ResponseCache()) as engine:
        with pytest.raises(ConfigurationError, match="two items have the id 'toy/1'"):
            await run_eval(Audit([make(1), make(1)], [Metadata()], [COT_ZS], Sampling()), tmp_path / "run", engine,
                           model=model.name)  # fmt: skip
    assert model.calls == []
    assert not (tmp_path / "run" / "results.jsonl").exists() or not (tmp_path / "run" / "results.jsonl").read_text()


def test_an_items_file_id_that_is_the_data_s_is_refused_on_the_command_line(
    turpin_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.jsonl"
    mine.write_text(json.dumps({"id": "snarks/0", "task": "bbh", "question": "Which?", "choices": ["a", "b"],
                                "answer": 0}) + "\n")  # fmt: skip
    out = tmp_path / "run"
    code = reasoning.cli.main(["audit", "run", "--data", str(turpin_dir), "--tasks", "snarks", "--limit", "1",
                               "--items", str(mine), "--biases", "metadata", "--base-url", "http://127.0.0.1:9/v1",
                               "--model", "m", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("reasoning: error: two items have the id 'bbh/snarks/0': ")
    assert not out.exists()


def test_an_items_task_named_as_the_pooled_rows_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Its rows would read "(all)" beside the rows pooling every task, twice per bias and setting in the table.
    mine = tmp_path / "mine.jsonl"
    mine.write_text(json.dumps({"id": 4, "task": "(all)", "question": "Which?", "choices": ["a", "b"], "answer": 0})
                    + "\n")  # fmt: skip
    out = tmp_path / "run"
    code = reasoning.cli.main(["audit", "run", "--items", str(mine), "--biases", "metadata", "--base-url",
                               "http://127.0.0.1:9/v1", "--model", "m", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err == (f"reasoning: error: {mine}: item (all)/4 has the task '(all)', the name of the rows "
                                 "that pool every task; give it another\n")  # fmt: skip
    assert not out.exists()
