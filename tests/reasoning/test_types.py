import pydantic
import pytest

from reasoning import GenerationRequest, Message


def test_prompt_xor_messages():
    with pytest.raises(pydantic.ValidationError):
        GenerationRequest()
    with pytest.raises(pydantic.ValidationError):
        GenerationRequest(prompt="a", messages=(Message(role="user", content="b"),))
    with pytest.raises(pydantic.ValidationError):
        GenerationRequest(messages=())


@pytest.mark.parametrize("bad", [{"n": 0}, {"temperature": -1}, {"top_p": 0}, {"max_tokens": 0}])
def test_bad_options_rejected(bad):
    with pytest.raises(pydantic.ValidationError):
        GenerationRequest(prompt="a", **bad)


def test_chat_helper_and_digest():
    request = GenerationRequest.chat("hello", system="be brief", temperature=0)
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.is_chat
    assert request.digest() == GenerationRequest.chat("hello", system="be brief", temperature=0).digest()
    assert request.digest() != GenerationRequest.chat("hello!", system="be brief", temperature=0).digest()


def test_frozen():
    request = GenerationRequest(prompt="a")
    with pytest.raises(pydantic.ValidationError):
        request.n = 3


def test_decoding_per_request_is_not_part_of_the_cache_key():
    from reasoning.engine.cache import sample_key
    from reasoning.types import DecodingConfig

    plain = GenerationRequest(prompt="a", temperature=0)
    fast = GenerationRequest(prompt="a", temperature=0, decoding="lookahead")
    assert fast.decoding == DecodingConfig(mode="lookahead")
    assert GenerationRequest(prompt="a", decoding={"mode": "gs_jacobi", "block": 4}).decoding.block == 4
    assert sample_key("m", plain, 0) == sample_key("m", fast, 0)
    with pytest.raises(pydantic.ValidationError):
        GenerationRequest(prompt="a", decoding="warp-speed")
    with pytest.raises(pydantic.ValidationError):
        GenerationRequest(prompt="a", decoding={"mode": "jacobi", "block": 0})
