"""What an audit run is made with, recorded in its folder's `run.json` (`RunInfo`): how every twin is asked
(`Sampling`, which a resume must match), which items, biases and settings the latest command selected (`Selection`,
which a rerun may change), and the command's options that identify the run (`evals.identity`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .probe import ProbeConfig

__all__ = ["Imported", "ImportedFile", "RunInfo", "Sampling", "Selection"]


class Sampling(BaseModel):
    """What every record of a run is made with. A resume must match it, and the model's name, exactly.

    `judge`: the audited model is asked whether each chain-of-thought pair's biased explanation mentions the bias.
    `local_judge`: the embedded model is asked that of each flipped pair's; `judge_model`: the model of that name at
    an OpenAI-compatible server is (the server's URL is not recorded: the same model elsewhere resumes). A run.json
    written before the two had them reads as False and None.

    `keep_prompts`: every twin's exact prompt is stored in its record (`Twin.prompt`), so the report can show the
    text of the hint where it shows a verdict. `reasoning audit run` sets it unless given `--no-keep-prompts`; it
    is False here so that a run.json written before the option (whose records hold no prompt) reads as what it
    was. It changes what a record holds, so it is part of the run's identity (`--keep-prompts`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chat: bool = False
    temperature: float = 0.7
    cot_max_tokens: int = 700
    direct_max_tokens: int = 5
    seed: int = 0
    judge: bool = False
    local_judge: bool = False
    judge_model: str | None = None
    keep_prompts: bool = False

    def probe_config(self) -> ProbeConfig:
        return ProbeConfig(chat=self.chat, temperature=self.temperature, cot_max_tokens=self.cot_max_tokens,
                           direct_max_tokens=self.direct_max_tokens, seed=self.seed,
                           keep_prompts=self.keep_prompts)  # fmt: skip


class Selection(BaseModel):
    """What the latest command asked for (a rerun may change it: records of either pool)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tasks: tuple[str, ...] = ()
    items_file: str | None = None
    data_dir: str | None = None
    biases: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    limit: int | None = None


class ImportedFile(BaseModel):
    """One file of published outputs an import read (`evals.audit.published`): its path as given, its SHA-256, the
    cell it holds, and how many of the task's `data_items` items it covers (its first `items` rows), `failed` its
    `failed_idx` count."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    sha256: str
    task: str
    bias: str
    few_shot: bool
    items: int
    data_items: int
    failed: int = 0


class Imported(BaseModel):
    """Where an imported run's records came from: published model outputs (`reasoning audit import-published`),
    their answers taken as recorded or read again from the completions (`answers`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["published"] = "published"
    answers: Literal["recorded", "extracted"]
    files: tuple[ImportedFile, ...]


class RunInfo(BaseModel):
    """`run.json`: the model, the sampling options, the latest selection, and the command's options that identify
    the run (`evals.identity`; the model's name alone for a run made through the library); `source` for a run
    imported from published outputs. The harness adds its header (`evals.harness.RunHeader`) beside these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    model: str
    sampling: Sampling | None  # None for an import: the published outputs were not sampled by us
    selection: Selection = Selection()
    identity: dict[str, Any] = {}
    source: Imported | None = None  # None for a run made by this toolkit
