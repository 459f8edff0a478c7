"""What a SuperICL run folder's `run.json` holds (`RunInfo`): the model, the options every record was made with,
each task's labels, train size, in-context examples and plug-in (`TaskInfo`), the latest selection (`Selection`),
and the identity the harness checks (`evals.identity`).

A rerun may add tasks (they are merged into run.json); one whose task was made from other data is refused
(`check_tasks`): a task's records depend on its labels, training data, examples and plug-in, which no option says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from reasoning.errors import ConfigurationError

from .methods import METHODS, Options

__all__ = ["RunInfo", "Selection", "TaskInfo", "check_tasks"]


class TaskInfo(BaseModel):
    """What a task's records depend on besides the options: its labels, training set size, examples, plug-in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    labels: tuple[str, ...]
    train: int
    shots: tuple[str, ...]
    plugin: str
    test: int = 0  # test items selected by the latest command (may change on a rerun)


class Selection(BaseModel):
    """What the latest command asked for (a rerun may change it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = "bbh"
    tasks: tuple[str, ...] = ()
    data: str | None = None
    limit: int | None = None
    methods: tuple[str, ...] = METHODS


class RunInfo(BaseModel):
    """`run.json` (the harness adds its header)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    model: str
    options: Options
    tasks: dict[str, TaskInfo] = {}
    selection: Selection = Selection()
    identity: dict[str, Any] = {}  # the options that identify the run, by flag (`evals.identity`)


def check_tasks(before: Mapping[str, TaskInfo], now: Mapping[str, TaskInfo]) -> None:
    """Refuse tasks of `now` that the folder holds (`before`) made from other data: other labels, training data,
    examples or plug-in (the number of test items selected may differ). `ConfigurationError`, one line."""
    changed = [f"task {name}: its labels, training data, examples or plug-in changed" for name, task in now.items()
               if name in before and _data(before[name]) != _data(task)]  # fmt: skip
    if changed:
        raise ConfigurationError(f"the run folder holds a run made with other data ({'; '.join(changed)}); rerun "
                                 "with the same data to resume, or use another --out")  # fmt: skip


def _data(task: TaskInfo) -> TaskInfo:
    return task.model_copy(update={"test": 0})
