"""The torch backend's dtype, chosen for the machine: bf16 where the CPU computes it natively (avx512_bf16, AMX),
fp32 elsewhere, the user's choice first; the choice and its reason in the model, the CLI's lines and the run's
run.json. The CPU flags are injected (never this machine's); the model is a tiny random one saved on the spot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import reasoning.cli
from reasoning.backends import torch_dtype
from reasoning.backends.torch_dtype import DtypeChoice, choose_dtype

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu sse2 avx2 avx512f AVX512_BF16 avx512_vnni
bogomips\t: 4800.00
"""


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2", "avx512f", "avx512_bf16"}, DtypeChoice("bfloat16", "CPU has avx512_bf16")),
        ({"amx_bf16", "amx_tile", "avx512_bf16"}, DtypeChoice("bfloat16", "CPU has amx_bf16 and avx512_bf16")),
        ({"amx_bf16"}, DtypeChoice("bfloat16", "CPU has amx_bf16")),
        ({"avx2", "avx512f"}, DtypeChoice("float32", "CPU has no native bf16 (amx_bf16 or avx512_bf16)")),
        (set(), DtypeChoice("float32", "CPU has no native bf16 (amx_bf16 or avx512_bf16)")),
    ],
)
def test_auto_is_bf16_only_where_the_cpu_computes_it_natively(flags: set[str], expected: DtypeChoice) -> None:
    assert choose_dtype("cpu", flags=flags) == expected


def test_the_users_dtype_wins() -> None:
    assert choose_dtype("cpu", "float32", flags={"avx512_bf16"}) == DtypeChoice("float32", "asked for")
    assert choose_dtype("cpu", "bfloat16", flags=set()) == DtypeChoice("bfloat16", "asked for")
    assert str(choose_dtype("cpu", flags={"avx512_bf16"})) == "bfloat16: CPU has avx512_bf16"
    with pytest.raises(ValueError, match="unsupported dtype 'int8'"):
        choose_dtype("cpu", "int8")


def test_flags_read_from_cpuinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert torch_dtype._cpuinfo_flags(CPUINFO) == frozenset(
        {"fpu", "sse2", "avx2", "avx512f", "avx512_bf16", "avx512_vnni"}
    )
    assert torch_dtype._cpuinfo_flags("processor : 0\nFeatures : fp asimd bf16\n") == frozenset({"fp", "asimd", "bf16"})
    assert torch_dtype._cpuinfo_flags("processor : 0\n") is None


@pytest.fixture
def flags(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The CPU flags the dtype choice sees (this machine's are never read); a test fills them in."""
    found: set[str] = set()
    monkeypatch.setattr(torch_dtype, "cpu_flags", lambda: frozenset(found))
    return found


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face folder of a tiny random Qwen2 and a word-level tokenizer."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    folder = tmp_path_factory.mktemp("tiny")
    words = "0 1 2 3 4 5 6 7 8 9 10 + - * / = ( ) left : Input Answer Possible next steps".split()
    vocab = {"[UNK]": 0, "</s>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="</s>")
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.Qwen2Config(vocab_size=48, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=1, eos_token_id=1)  # fmt: skip
    transformers.Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    ("cpu", "asked", "dtype", "reason"),
    [
        ({"avx512_bf16"}, "auto", "bfloat16", "CPU has avx512_bf16"),
        ({"avx2"}, "auto", "float32", "CPU has no native bf16 (amx_bf16 or avx512_bf16)"),
        ({"avx512_bf16"}, "float32", "float32", "asked for"),
    ],
)
async def test_torch_model_computes_in_the_chosen_dtype(
    tiny_folder: Path, flags: set[str], cpu: set[str], asked: str, dtype: str, reason: str
) -> None:
    import torch

    from reasoning import GenerationRequest
    from reasoning.backends.torch_local import TorchModel

    flags.update(cpu)
    model = TorchModel(tiny_folder, dtype=asked)
    assert (model.dtype, model.dtype_choice) == (dtype, DtypeChoice(dtype, reason))
    assert next(model.model.parameters()).dtype == getattr(torch, dtype)
    result = await model.generate(GenerationRequest(prompt="1 + 2 =", temperature=0, max_tokens=3))
    assert result.completions[0].completion_tokens <= 3
    await model.aclose()


def parse(*argv: str) -> Any:
    return reasoning.cli.build_parser().parse_args(["generate", "hi", *argv])


def test_the_cli_default_is_auto_and_only_the_torch_backend_has_a_dtype(flags: set[str]) -> None:
    flags.add("amx_bf16")
    assert parse("--backend", "torch").dtype == "auto"
    assert reasoning.cli.torch_dtype(parse("--backend", "torch")) == DtypeChoice("bfloat16", "CPU has amx_bf16")
    assert reasoning.cli.torch_dtype(parse("--backend", "torch", "--dtype", "float32")) == DtypeChoice(
        "float32", "asked for"
    )
    assert reasoning.cli.torch_dtype(parse("--decoding", "lookahead")).dtype == "bfloat16"  # type: ignore[union-attr]
    assert reasoning.cli.torch_dtype(parse("--backend", "llamacpp")) is None
    assert reasoning.cli.torch_dtype(parse("--base-url", "http://127.0.0.1:9/v1", "--model", "m")) is None


def test_a_run_records_the_dtype_and_why_and_resumes_only_in_it(
    tiny_folder: Path,
    flags: set[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reasoning.backends.torch_local import TorchModel

    def embedded(backend: str | None = None, **options: Any) -> TorchModel:
        assert backend == "torch"
        return TorchModel(tiny_folder, name="tiny", **options)

    monkeypatch.setattr(reasoning.cli, "embedded_model", embedded)
    flags.add("avx512_bf16")
    out = tmp_path / "run"
    command = ["game24", "run", "--method", "io", "--puzzle", "4 5 6 10", "--max-tokens", "4", "--backend", "torch",
               "--out", str(out)]  # fmt: skip
    assert reasoning.cli.main(command) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["identity"]["--dtype"] == "bfloat16"
    assert run["header"]["backend"] == "torch bfloat16: CPU has avx512_bf16"
    # bf16 and fp32 outputs differ: the folder resumes in bf16 only.
    capsys.readouterr()
    assert reasoning.cli.main([*command, "--dtype", "float32"]) == 2
    assert "(--dtype 'bfloat16' there, 'float32' now)" in capsys.readouterr().err
    assert reasoning.cli.main([*command, "--dtype", "bfloat16"]) == 0
    # `reasoning generate` says it too.
    capsys.readouterr()
    assert reasoning.cli.main(["generate", "1 + 2", "--completion", "--max-tokens", "2", "--backend", "torch"]) == 0
    assert "[tiny (torch bfloat16: CPU has avx512_bf16): " in capsys.readouterr().err


def test_other_backends_record_no_dtype(flags: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reasoning import Engine, ScriptedModel

    monkeypatch.setattr(reasoning.cli, "make_engine", lambda args: Engine(ScriptedModel(lambda r, i: "24")))
    out = tmp_path / "run"
    assert reasoning.cli.main(["game24", "run", "--method", "io", "--puzzle", "4 5 6 10", "--backend", "llamacpp",
                               "--out", str(out)]) == 0  # fmt: skip
    run = json.loads((out / "run.json").read_text())
    assert "--dtype" not in run["identity"] and run["header"]["backend"] is None
