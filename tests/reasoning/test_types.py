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
