import hashlib

import pytest

from reasoning import ModelFileError
from reasoning.embedded import EMBEDDED_MODEL, EmbeddedModelSpec, embedded_gguf


def test_corrupt_assembled_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONING_CACHE_DIR", str(tmp_path))
    target = tmp_path / "models" / EMBEDDED_MODEL.filename
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF but not really")
    with pytest.raises(ModelFileError, match="sha256"):
        embedded_gguf()


def test_missing_part_package_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONING_CACHE_DIR", str(tmp_path))
    spec = EmbeddedModelSpec(name="x", filename="x.gguf", sha256="0" * 64, parts=(("no_such_pkg_xyz", "a.bin"),))
    with pytest.raises(ModelFileError, match=r"pip install 'reasoning-toolkit\[embedded\]'"):
        embedded_gguf(spec)


def test_assembles_parts_in_order_and_verifies(tmp_path, monkeypatch):
    # Two fake part packages on sys.path stand in for the wheels; the real ones are exercised by the model tests.
    monkeypatch.setenv("REASONING_CACHE_DIR", str(tmp_path / "cache"))
    for i, data in enumerate([b"first-", b"second"], start=1):
        pkg = tmp_path / "site" / f"fake_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / "p.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = EmbeddedModelSpec(
        name="fake",
        filename="fake.gguf",
        sha256=hashlib.sha256(b"first-second").hexdigest(),
        parts=(("fake_part1", "data/p.bin"), ("fake_part2", "data/p.bin")),
    )
    path = embedded_gguf(spec)
    assert path.read_bytes() == b"first-second"
    assert not list(path.parent.glob("*.part"))  # no temporary file left behind


@pytest.mark.model
def test_real_embedded_file_verifies(embedded_gguf_path):
    assert hashlib.sha256(embedded_gguf_path.read_bytes()).hexdigest() == EMBEDDED_MODEL.sha256
