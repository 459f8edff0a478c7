import pytest

from reasoning import Completion, ConfigurationError, GenerationRequest, ResponseCache
from reasoning.engine import sample_key


def test_sample_key_separates_samples_and_models():
    request = GenerationRequest(prompt="p", temperature=0.7, n=3)
    keys = {sample_key("m", request, i) for i in range(3)}
    assert len(keys) == 3
    assert sample_key("m", request, 0) != sample_key("other", request, 0)
    # `n` is not part of the key: sample 0 of n=3 is sample 0 of n=1.
    assert sample_key("m", request, 0) == sample_key("m", request.model_copy(update={"n": 1}), 0)


def test_roundtrip_and_persistence(tmp_path):
    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path)
    cache.put_many("m", [("k1", Completion(text="a", finish_reason="stop", completion_tokens=1))], 7)
    cache.close()
    again = ResponseCache(path)
    hit = again.get_many(["k1", "k2"])
    assert list(hit) == ["k1"] and hit["k1"][0].text == "a" and hit["k1"][1] == 7


def test_corrupt_file_is_reported_not_trusted(tmp_path):
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigurationError, match="not a usable SQLite database"):
        ResponseCache(path)
    assert path.read_bytes().startswith(b"this is not a database")
