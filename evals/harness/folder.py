"""A run folder: `run.json` (what the run is), `results.jsonl` (one record per finished sample), `summary.json` and
`report.html` (rebuilt from the records), the engine's `cache.sqlite` and `calls.jsonl`.

`run.json` holds the eval's own run information (a frozen pydantic model with at least `identity`, the options that
make a record what it is, keyed by flag; see `evals.identity`) and a `header`: which eval wrote it, the
reasoning-toolkit version, the git revision of the checkout it ran from (when there is one) and, for a local model,
what it computed in and why (the torch backend's dtype, chosen for the machine). The header says where
a run came from; it is not identity (a rerun with a newer version of the package resumes), but a folder another eval
wrote is refused by name.

While a run (or a report) works in the folder it holds `.lock` (`RunFolder.lock`): a second process is refused at
once instead of appending the same records again or cutting a line another is writing.

One rule refuses a rerun that would mix records: `check` compares the identity recorded in the folder with the new
one, option by option, once the folder holds a record (`evals.identity.check_identity`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from reasoning.errors import ConfigurationError

from ..files import has_records, read_text, write_atomic
from ..identity import check_identity

__all__ = ["RunFolder", "RunHeader", "git_revision", "toolkit_version"]

InfoT = TypeVar("InfoT", bound=BaseModel)


@functools.cache
def toolkit_version() -> str:
    """The version of the installed `reasoning-toolkit` distribution, this package ("unknown" when it runs from a
    checkout that is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reasoning-toolkit")
    except PackageNotFoundError:
        return "unknown"


@functools.cache
def git_revision() -> str | None:
    """The commit of the checkout this package runs from, with `+dirty` when files differ from it; None outside a
    git checkout or without git."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


class RunHeader(BaseModel):
    """Where a run came from: the eval, the reasoning-toolkit version, the git revision (None outside a checkout),
    and what a local model computed in and why (`backend`, e.g. "torch bfloat16: CPU has avx512_bf16"; None for
    other models)."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # a newer version's header may say more

    eval: str
    toolkit_version: str  # of the `reasoning-toolkit` distribution (not of a third-party eval's package)
    git_revision: str | None = None
    backend: str | None = None

    @classmethod
    def now(cls, eval_name: str, backend: str | None = None) -> RunHeader:
        return cls(eval=eval_name, toolkit_version=toolkit_version(), git_revision=git_revision(), backend=backend)


class RunFolder(Generic[InfoT]):
    """A run's folder. `info_type` is the eval's `run.json` model; `what` names it in errors ("an audit run file")."""

    def __init__(self, path: str | Path, info_type: type[InfoT], *, eval_name: str, what: str) -> None:
        self.path = Path(path)
        self.run_json = self.path / "run.json"
        self.results_path = self.path / "results.jsonl"
        self.info_type = info_type
        self.eval_name = eval_name
        self.what = what

    def has_records(self) -> bool:
        return has_records(self.results_path)

    def read(self) -> tuple[InfoT, RunHeader | None] | None:
        """The folder's run information and header (None for a folder written before runs had one); None for a new
        folder. `ConfigurationError` for results without a run.json, or a run.json that is not this eval's."""
        if not self.run_json.exists():  # a folder or other non-file there is read_text's to name
            if self.results_path.exists():
                raise ConfigurationError(f"{self.path} has results.jsonl but no run.json; use another folder")
            return None
        text = read_text(self.run_json, self.what)
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise ValueError("not an object")
            header = raw.pop("header", None)
            head = RunHeader.model_validate(header) if header is not None else None
        except (ValueError, ValidationError, RecursionError):
            raise ConfigurationError(f"{self.run_json} is not {self.what}; fix or move it") from None
        if head is not None and head.eval != self.eval_name:
            raise ConfigurationError(f"{self.path} holds a run of `reasoning {head.eval}`, not of `reasoning "
                                     f"{self.eval_name}`: use `reasoning {head.eval}` with it, or another "
                                     "folder")  # fmt: skip
        try:
            info = self.info_type.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "the file"
            raise ConfigurationError(f"{self.run_json} is not {self.what} ({where}: {first['msg'].lower()}); fix "
                                     "or move it") from None  # fmt: skip
        return info, head

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one process: a run (or a report) that finds another holding it is refused at once
        with `ConfigurationError`, so two never append to one results file or cut each other's lines. An advisory
        lock (`flock`) on `.lock` in the folder, released when the process ends however it ends; where the platform
        has no `flock`, nothing is locked."""
        try:
            import fcntl
        except ImportError:  # not POSIX
            yield
            return
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
                raise ConfigurationError(f"{self.path} is in use by another run (pid {holder}); wait for it to end, "
                                         "or use another folder") from None  # fmt: skip
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    def info(self) -> InfoT | None:
        """The folder's run information, or None for a new folder."""
        found = self.read()
        return found[0] if found is not None else None

    def check(self, identity: dict[str, Any]) -> None:
        """Refuse `identity` if the folder holds records made under another (the one rule: `check_identity`)."""
        old = self.info()
        then = getattr(old, "identity", None) if old is not None else None
        check_identity(self.path, then, identity)

    def write(self, info: InfoT, backend: str | None = None) -> None:
        """Record `info` (and a fresh header, with `backend`: `RunHeader`) in run.json, replacing it whole."""
        self.path.mkdir(parents=True, exist_ok=True)
        header = RunHeader.now(self.eval_name, backend).model_dump(mode="json")
        data = {**info.model_dump(mode="json"), "header": header}
        write_atomic(self.run_json, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
