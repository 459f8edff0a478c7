"""A rerun into a run folder with another model or other options, in every eval: refused with one line that names
the options as flags, the results left as they are; options that only say how to run (or where to write) resume;
a first run that failed before any result does not block the corrected command. In process, on scripted models
named after `--model`."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import reasoning.cli
from reasoning import Engine, GenerationRequest, ScriptedModel
from reasoning.engine import EngineConfig
from reasoning.errors import BadRequestError, ConfigurationError
from tests.conftest import SHARED_DATA, require
from tests.evals.audit.test_runner import planted


def answer(request: GenerationRequest, index: int) -> str:
    """Game 24 gets a right answer, a SuperICL prompt a label, an audit prompt `planted`'s letter."""
    text = request.prompt if request.prompt is not None else " ".join(m.content for m in request.messages or ())
    if "24" in text and "Answer choices" not in text:
        return "Answer: (10 - 6) * 5 + 4 = 24"
    if "positive" in text and "Answer choices" not in text:
        return " positive" if len(text) % 2 else " negative"
    return planted(request, index)


class Models:
    """What `make_engine` made, by name (`--model`, default "a"); models named in `failing` fail every call."""

    def __init__(self) -> None:
        self.made: dict[str, ScriptedModel] = {}
        self.failing: set[str] = set()

    def calls(self) -> int:
        return sum(len(m.calls) for m in self.made.values())

    def engine(self, args: argparse.Namespace) -> Engine:
        name = args.model or "a"

        def reply(request: GenerationRequest, index: int) -> str | BaseException:
            if name in self.failing:  # a 400 is not retried: the run fails at once
                return BadRequestError("HTTP 400 from server", model=name, status=400)
            return answer(request, index)

        model = self.made.setdefault(name, ScriptedModel(reply, name=name))
        return Engine(model, EngineConfig(max_concurrency=args.concurrency), cache=args.cache, log=args.log)


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> Models:
    made = Models()
    monkeypatch.setattr(reasoning.cli, "make_engine", made.engine)
    return made


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = reasoning.cli.main(list(argv))
    return code, capsys.readouterr().err


def game24(out: Path, *extra: str) -> list[str]:
    return ["game24", "run", "--method", "io", "--puzzle", "4 5 6 10", "--puzzle", "1 2 3 4", "--out", str(out),
            *extra]  # fmt: skip


def audit(out: Path, items: Path, *extra: str) -> list[str]:
    return ["audit", "run", "--items", str(items), "--no-cot", "--out", str(out), *extra]


def supericl(out: Path, data: Path, *extra: str) -> list[str]:
    return ["supericl", "run", "--train-file", str(data / "train.tsv"), "--test-file", str(data / "test.tsv"),
            "--methods", "icl", "--shots", "2", "--out", str(out), *extra]  # fmt: skip


def write_items(folder: Path) -> Path:
    path = folder / "items.jsonl"
    rows = [{"id": i, "question": f"Question {i}: which one?", "choices": ["choice 0", "choice 1", "choice 2"],
             "answer": i % 3, "random_ans_idx": (i + 1) % 3} for i in range(4)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_tsv(folder: Path) -> Path:
    require("sklearn")
    folder = folder / "sst"
    folder.mkdir()
    words = ["good fine great", "bad awful poor", "great good", "poor bad", "fine great", "awful bad", "good", "bad"]
    rows = [f"{w}\t{'positive' if i % 2 == 0 else 'negative'}\n" for i, w in enumerate(words)]
    (folder / "train.tsv").write_text("sentence\tlabel\n" + "".join(rows))
    (folder / "test.tsv").write_text("sentence\tlabel\n" + "".join(rows[:4]))
    return folder


@pytest.fixture
def items(tmp_path: Path) -> Path:
    return write_items(tmp_path)


@pytest.fixture
def tsv(tmp_path: Path) -> Path:
    return write_tsv(tmp_path)


Command = Callable[..., list[str]]


def commands(tmp_path: Path, items: Path, tsv: Path) -> dict[str, Command]:
    return {"game24": lambda out, *extra: game24(out, *extra), "audit": lambda out, *extra: audit(out, items, *extra),
            "supericl": lambda out, *extra: supericl(out, tsv, *extra)}  # fmt: skip


EVALS = ["game24", "audit", "supericl"]


@pytest.mark.parametrize("name", EVALS)
def test_a_rerun_with_another_model_is_refused_and_the_results_untouched(models, items, tsv, tmp_path, capsys,
                                                                          name) -> None:  # fmt: skip
    command = commands(tmp_path, items, tsv)[name]
    out = tmp_path / "run"
    code, err = run(capsys, *command(out, "--model", "a"))
    assert code == 0, err
    written = {name: (out / name).read_bytes() for name in ("results.jsonl", "summary.json", "report.html")}
    calls = models.calls()
    # The reported case: game-24 did this run, reported model a's results as model b's.
    code, err = run(capsys, *command(out, "--model", "b"))
    assert code == 2 and models.calls() == calls, err
    assert err.count("\n") == 1 and err.startswith("reasoning: error: ")
    assert "(--model 'a' there, 'b' now)" in err and "use another --out" in err
    assert {name: (out / name).read_bytes() for name in written} == written
    assert json.loads((out / "run.json").read_text())["identity"]["--model"] == "a"


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("game24", ["--max-tokens", "100", "--temperature", "0"],
         "(--temperature 0.7 there, 0.0 now; --max-tokens 256 there, 100 now)"),
        ("game24", ["--prompt-format", "chat"], "(--prompt-format 'auto' there, 'chat' now)"),
        ("game24", ["--puzzle", "1 1 4 6"],
         "(--puzzle '4 5 6 10' '1 2 3 4' there, '4 5 6 10' '1 2 3 4' '1 1 4 6' now)"),
        ("game24", ["--method", "cot"], "(--method 'io' there, 'cot' now)"),
        ("game24", ["--budget-calls", "2"], "(--budget-calls unset there, 2 now)"),
        ("game24", ["--seed", "1"], "(--seed 0 there, 1 now)"),  # --check-steps: not read by IO
        ("audit", ["--max-tokens", "300"], "(--max-tokens 700 there, 300 now)"),  # was `cot_max_tokens`
        ("audit", ["--judge"], "(--judge off there, on now)"),
        ("audit", ["--temperature", "0", "--seed", "3"], "(--seed 0 there, 3 now; --temperature 0.7 there, 0.0 now)"),
        ("audit", ["--prompt-format", "chat"], "(--prompt-format 'auto' there, 'chat' now)"),
        ("audit", ["--direct-max-tokens", "9"], "(--direct-max-tokens 5 there, 9 now)"),
        ("supericl", ["--max-tokens", "3", "--seed", "2"], "(--max-tokens 5 there, 3 now; --seed 0 there, 2 now)"),
        ("supericl", ["--threshold", "0.5"], "(--threshold 0.9 there, 0.5 now)"),
    ],
)  # fmt: skip
def test_other_options_are_refused_by_their_flags(models, items, tsv, tmp_path, capsys, name, options,
                                                  message) -> None:  # fmt: skip
    command = commands(tmp_path, items, tsv)[name]
    out = tmp_path / "run"
    assert run(capsys, *command(out))[0] == 0
    results, calls = (out / "results.jsonl").read_bytes(), models.calls()
    code, err = run(capsys, *command(out, *options))
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert models.calls() == calls and (out / "results.jsonl").read_bytes() == results


def test_audit_a_rerun_whose_prompt_format_resolves_otherwise_is_refused(models, items, tmp_path, capsys) -> None:
    # --prompt-format auto is chat for a --base-url server, raw completion otherwise: the same flags, other records.
    out = tmp_path / "run"
    assert run(capsys, *audit(out, items, "--base-url", "http://127.0.0.1:9/v1"))[0] == 0
    written = {f: (out / f).read_bytes() for f in ("results.jsonl", "run.json")}
    calls = models.calls()
    code, err = run(capsys, *audit(out, items))
    assert code == 2 and err.count("\n") == 1 and "(chat on there, off now)" in err, err
    assert models.calls() == calls and {f: (out / f).read_bytes() for f in written} == written
    assert json.loads(written["run.json"])["identity"]["chat"] is True


def test_game24_a_rerun_whose_prompt_format_resolves_otherwise_is_refused(models, tmp_path, capsys) -> None:
    # As the audit's: --prompt-format auto is chat for a --base-url server, raw few-shot text otherwise.
    out = tmp_path / "run"
    assert run(capsys, *game24(out, "--base-url", "http://127.0.0.1:9/v1"))[0] == 0
    written = {f: (out / f).read_bytes() for f in ("results.jsonl", "run.json")}
    calls = models.calls()
    code, err = run(capsys, *game24(out))
    assert code == 2 and err.count("\n") == 1 and "(chat on there, off now)" in err, err
    assert models.calls() == calls and {f: (out / f).read_bytes() for f in written} == written


@pytest.mark.parametrize("name", EVALS)
def test_how_and_where_a_run_goes_are_not_its_identity(models, items, tsv, tmp_path, capsys, name) -> None:
    command = commands(tmp_path, items, tsv)[name]
    out = tmp_path / "run"
    assert run(capsys, *command(out, "--base-url", "http://127.0.0.1:9/v1"))[0] == 0
    results, calls = (out / "results.jsonl").read_bytes(), models.calls()
    # The same model on another server, fewer items at once, another log, a budget: the run resumes.
    code, err = run(capsys, *command(out, "--base-url", "http://127.0.0.1:10/v1", "--parallel", "1", "--concurrency",
                                     "3", "--log", str(tmp_path / "l.jsonl"), "--max-dollars", "5"))  # fmt: skip
    assert code == 0, err
    assert models.calls() == calls and (out / "results.jsonl").read_bytes() == results  # resumed: nothing to do


@pytest.mark.parametrize("name", EVALS)
def test_a_first_run_that_failed_before_any_result_does_not_block_the_corrected_command(
    models, items, tsv, tmp_path, capsys, name
) -> None:
    command = commands(tmp_path, items, tsv)[name]
    out = tmp_path / "run"
    models.failing.add("wrong")
    code, err = run(capsys, *command(out, "--model", "wrong", "--max-tokens", "7"))
    assert code == 2 and "HTTP 400" in err
    assert not (out / "results.jsonl").exists() or not (out / "results.jsonl").read_text().strip()
    code, err = run(capsys, *command(out, "--model", "right"))
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["identity"]["--model"] == "right"


def test_game24_a_wider_range_extends_the_run_and_the_status_line_counts_what_was_done(models, tmp_path,
                                                                                        capsys) -> None:  # fmt: skip
    puzzles = tmp_path / "p.txt"
    puzzles.write_text("4 5 6 10\n1 2 3 4\n4 5 6 10\n1 1 4 6\n")
    base = ["game24", "run", "--method", "io", "--puzzles-file", str(puzzles), "--out", str(tmp_path / "run")]
    assert run(capsys, *base, "--range", "0-1")[0] == 0
    code, err = run(capsys, *base, "--range", "0-3")
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert lines[0].startswith("[############............] 2/4 (2 resumed) success  50.0%")
    assert lines[-1].startswith("[########################] 4/4 (2 resumed) success  50.0%")
    # Another source of puzzles is another run: row 0 of another file is another puzzle.
    other = tmp_path / "q.txt"
    other.write_text("1 1 4 6\n")
    code, err = run(capsys, "game24", "run", "--method", "io", "--puzzles-file", str(other), "--range", "0",
                    "--out", str(tmp_path / "run"))  # fmt: skip
    assert code == 2 and f"--puzzles-file {str(puzzles)!r} there, {str(other)!r} now" in err


def test_game24_a_run_json_from_before_the_harness_resumes_and_still_refuses_other_options(models, tmp_path,
                                                                                          capsys) -> None:  # fmt: skip
    out = tmp_path / "run"
    assert run(capsys, *game24(out))[0] == 0
    then = json.loads((out / "run.json").read_text())["identity"]
    (out / "run.json").write_text(json.dumps({"version": 1, "identity": then}, indent=1) + "\n")  # the old format
    results, calls = (out / "results.jsonl").read_bytes(), models.calls()
    code, err = run(capsys, *game24(out, "--temperature", "0"))
    assert code == 2 and "(--temperature 0.7 there, 0.0 now)" in err, err
    code, err = run(capsys, *game24(out))
    assert code == 0, err
    assert models.calls() == calls and (out / "results.jsonl").read_bytes() == results  # resumed: nothing to do
    info = json.loads((out / "run.json").read_text())
    assert info["identity"] == then and info["header"]["eval"] == "game24" and info["config"]["method"] == "io"


def test_identity_is_the_options_by_flag_less_those_that_do_not_change_a_record(tmp_path: Path) -> None:
    from evals.identity import check_identity, identity, option_flags

    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=5)
    parser.add_argument("--cot", default="on")
    parser.add_argument("--no-cot", dest="cot", action="store_const", const="off")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--tasks", action="append")
    flags = option_flags(parser)
    assert flags == {"max_tokens": "--max-tokens", "cot": "--cot", "limit": "--limit", "parallel": "--parallel",
                     "tasks": "--tasks"}  # fmt: skip
    args = parser.parse_args(["--no-cot", "--tasks", "x", "--limit", "3"])
    assert identity(args, flags, selection=("limit",)) == {"--max-tokens": 5, "--cot": "off", "--tasks": ["x"]}
    # Compared only once the folder holds a result.
    then, now = {"--max-tokens": 5, "--cot": "off"}, {"--max-tokens": 6, "--cot": "off"}
    check_identity(tmp_path, then, now)
    (tmp_path / "results.jsonl").write_text("{}\n")
    with pytest.raises(ConfigurationError, match=r"\(--max-tokens 5 there, 6 now\)"):
        check_identity(tmp_path, then, now)
    check_identity(tmp_path, then, {"--cot": "off"})  # what `now` lacks (the model, before it is loaded) waits


CORRUPT_LINES = {"too deep": b"[" * 100_000, "a list": b"[1, 2]", "a number": b"7", "null": b"null",
                 "not JSON": b"{nope"}  # fmt: skip


@pytest.mark.parametrize("name", EVALS)
@pytest.mark.parametrize(("where", "line"), [("run.json", b"[" * 100_000)] + [("results.jsonl", line) for line in
                                             CORRUPT_LINES.values()],
                         ids=["run.json too deep", *(f"results line {kind}" for kind in CORRUPT_LINES)])  # fmt: skip
def test_a_corrupt_run_file_or_results_line_is_refused_in_one_line_and_the_run_left_as_it_is(
    models, items, tsv, tmp_path, capsys, name, where, line
) -> None:
    # game-24 raised RecursionError, AttributeError ('list' object has no attribute 'get') or ValueError with a
    # traceback; the audit RecursionError.
    command = commands(tmp_path, items, tsv)[name]
    out = tmp_path / "run"
    assert run(capsys, *command(out))[0] == 0
    path = out / where
    path.write_bytes(line + b"\n" + (path.read_bytes() if where == "results.jsonl" else b""))
    written = {f: (out / f).read_bytes() for f in ("results.jsonl", "summary.json", "report.html", "run.json")}
    calls = models.calls()
    code, err = run(capsys, *command(out))
    assert code == 2 and err.count("\n") == 1 and err.startswith("reasoning: error: ") and str(path) in err, err
    assert models.calls() == calls and {f: (out / f).read_bytes() for f in written} == written


def test_supericl_a_rerun_whose_options_resolve_otherwise_is_refused(models, tsv, tmp_path, capsys) -> None:
    # --prompt-format auto is chat for a --base-url server, raw completion otherwise: the same flags, other records.
    out = tmp_path / "run"
    assert run(capsys, *supericl(out, tsv, "--base-url", "http://127.0.0.1:9/v1"))[0] == 0
    results, calls = (out / "results.jsonl").read_bytes(), models.calls()
    code, err = run(capsys, *supericl(out, tsv))
    assert code == 2 and err.count("\n") == 1 and "(chat on there, off now)" in err, err
    assert models.calls() == calls and (out / "results.jsonl").read_bytes() == results
    assert json.loads((out / "run.json").read_text())["identity"]["plugin"] == "tfidf-logreg"


def test_supericl_a_rerun_whose_task_data_changed_is_refused(models, tsv, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert run(capsys, *supericl(out, tsv))[0] == 0
    results, calls = (out / "results.jsonl").read_bytes(), models.calls()
    with (tsv / "train.tsv").open("a") as f:
        f.write("fine good\tpositive\n")  # the same --train-file, other training data
    code, err = run(capsys, *supericl(out, tsv))
    assert code == 2 and err.count("\n") == 1, err
    assert ": its labels, training data, examples or plug-in changed" in err and "use another --out" in err
    assert models.calls() == calls and (out / "results.jsonl").read_bytes() == results


# -- options the run's method does not read: neither its identity nor a reason to refuse ---------------------------
def crosswords(out: Path, *extra: str) -> list[str]:
    return ["crosswords", "run", "--method", "io", "--games", "0,5", "--out", str(out), *extra]


def text(out: Path, *extra: str) -> list[str]:
    return ["text", "run", "--method", "io", "--range", "0-1", "--judge", "none", "--out", str(out), *extra]


# Per eval: its IO command, and options IO does not read (another method's; the plug-in's, the replay's, the judge's
# without them), by flag with a value other than the default.
UNREAD: dict[str, tuple[Command, dict[str, str | None]]] = {
    "game24": (game24, {"--breadth": "2", "--select": "sample", "--n-value": "1", "--evaluator": "plugin",
                        "--plugin-file": "nowhere.pkl", "--plugin-threshold": "0.5", "--check-steps": None,
                        "--paper-values": None, "--thoughts": "paper", "--answer": "program",
                        "--propose-samples": "2", "--threshold": "0.5", "--accept": "1", "--max-steps": "3",
                        "--value-max-tokens": "9", "--replay-log": "nowhere.json"}),
    "crosswords": (crosswords, {"--no-prune": None, "--breadth": "1", "--max-visits": "2", "--propose-samples": "1",
                                "--prune-max-tokens": "9", "--replay-dir": "nowhere"}),
    "text": (text, {"--breadth": "2", "--n-generate": "1", "--n-vote": "1", "--vote-max-tokens": "9",
                    "--judge-samples": "1", "--judge-temperature": "0", "--judge-max-tokens": "9",
                    "--replay-log": "nowhere.json"}),
}  # fmt: skip


def _argv(options: dict[str, str | None]) -> list[str]:
    return [word for flag, value in options.items() for word in (flag, value) if word is not None]


@pytest.fixture
def shared_data(monkeypatch: pytest.MonkeyPatch) -> None:
    for path in ("tot/crosswords/mini0505.json", "tot/text/data_100_random_text.txt"):
        if not (SHARED_DATA / path).is_file():
            pytest.skip(f"{path} is not in the shared data")
    monkeypatch.setenv("REASONING_SHARED_DATA", str(SHARED_DATA))


@pytest.mark.parametrize("name", UNREAD)
def test_options_io_does_not_read_neither_refuse_nor_are_recorded(
    models: Models, shared_data: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    # The reported case: `game24 run --method io` then the same with --breadth 2 was refused ("--breadth 5 there,
    # 2 now"), though IO never reads --breadth; its run.json recorded --n-value, --evaluator, --threshold, ...
    command, unread = UNREAD[name]
    out = tmp_path / "run"
    code, err = run(capsys, *command(out))
    assert code == 0, err
    identity = json.loads((out / "run.json").read_text())["identity"]
    assert not set(unread) & set(identity) and {"--method", "--temperature", "--max-tokens", "--seed"} <= set(identity)
    results, calls = (out / "results.jsonl").read_bytes(), models.calls()
    code, err = run(capsys, *command(out, *_argv(unread)))
    assert code == 0, err
    assert models.calls() == calls and (out / "results.jsonl").read_bytes() == results  # resumed: nothing to do
    assert json.loads((out / "run.json").read_text())["identity"] == identity
    # What IO reads is still its identity.
    code, err = run(capsys, *command(out, "--max-tokens", "100"))
    assert code == 2 and "(--max-tokens " in err and "there, 100 now)" in err, err


def test_game24_a_tree_search_ignores_what_it_does_not_read_and_refuses_what_it_does(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    base = ["game24", "run", "--method", "tot-bfs", "--puzzle", "4 5 6 10", "--out", str(out)]
    assert run(capsys, *base)[0] == 0
    identity = json.loads((out / "run.json").read_text())["identity"]
    assert "--breadth" in identity and "--n-value" in identity and "--samples" not in identity
    assert "--threshold" not in identity and "--max-steps" not in identity and "--plugin-file" not in identity
    results, calls = (out / "results.jsonl").read_bytes(), models.calls()
    code, err = run(capsys, *base, "--samples", "3", "--threshold", "0.5", "--max-steps", "2", "--accept", "1")
    assert code == 0, err
    assert models.calls() == calls and (out / "results.jsonl").read_bytes() == results
    code, err = run(capsys, *base, "--breadth", "2")
    assert code == 2 and "(--breadth 5 there, 2 now)" in err, err


def test_game24_an_old_run_json_that_recorded_unread_options_still_resumes(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A folder written when every option was identity and the config kept every option as given: its run.json holds
    # --breadth and the rest, its config IO's with breadth 2 and lenient thoughts, its records that config's key.
    from evals.game24.eval import RunInfo

    out = tmp_path / "run"
    assert run(capsys, *game24(out))[0] == 0
    raw = json.loads((out / "run.json").read_text())
    info = RunInfo.model_validate({k: v for k, v in raw.items() if k != "header"})
    assert info.config is not None
    old = dataclasses.replace(info.config, breadth=2, thoughts="lenient", answer="program", evaluator="solver")
    then = {**info.identity, "--breadth": 2, "--n-value": 3, "--evaluator": "solver", "--threshold": 1.0,
            "--max-steps": 20, "--thoughts": "auto", "--answer": "auto", "--replay-log": None}  # fmt: skip
    written = RunInfo(identity=then, model=info.model, config=old).model_dump(mode="json")
    (out / "run.json").write_text(json.dumps({**written, "header": raw["header"]}, indent=1) + "\n")
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    (out / "results.jsonl").write_text("".join(json.dumps({**r, "run": old.key()}) + "\n" for r in lines))
    results, calls = (out / "results.jsonl").read_bytes(), models.calls()
    # What IO reads must still agree ...
    code, err = run(capsys, *game24(out, "--temperature", "0"))
    assert code == 2 and "(--temperature 0.7 there, 0.0 now)" in err, err
    # ... and then it resumes, whatever the options it does not read say: nothing solved again.
    code, err = run(capsys, *game24(out, "--breadth", "7", "--evaluator", "llm"))
    assert code == 0, err
    assert models.calls() == calls and (out / "results.jsonl").read_bytes() == results
    assert json.loads((out / "run.json").read_text())["config"]["breadth"] == 2  # the records' config, kept
