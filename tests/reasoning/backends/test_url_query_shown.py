"""A base URL's query can hold a key (`?api-key=...`, as some servers take it): no message or repr shows it, any
more than `user:password@`. Before, only the error of a request that reached the server left it out; a URL refused
up front (`check_base_url`) and a model's repr (`redact_url`) showed it."""

from __future__ import annotations

import pytest

from reasoning.backends import OpenAICompatibleModel
from reasoning.backends.openai_compat import check_base_url, redact_url
from reasoning.errors import ConfigurationError

SECRET = "q-s3cret-key"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"http://127.0.0.1:8000/v1?api-key={SECRET}", "http://127.0.0.1:8000/v1"),
        (f"http://bob:pw@10.0.0.5:8000/v1?key={SECRET}#frag", "http://[redacted]@10.0.0.5:8000/v1"),
        (f"https://h.example/v1#{SECRET}", "https://h.example/v1"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ],
)
def test_redact_url_leaves_out_the_query_and_fragment(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert SECRET not in repr(OpenAICompatibleModel("m", base_url=url))


@pytest.mark.parametrize(
    "url",
    [f"ftp://u:p@x/v1?api-key={SECRET}", f"http://x:notaport/v1?api-key={SECRET}", f"http:///v1?api-key={SECRET}",
     f"127.0.0.1:8000/v1?api-key={SECRET}"],
)  # fmt: skip
def test_a_refused_url_is_named_without_its_query(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_base_url(url)
    assert SECRET not in str(caught.value) and "base URL" in str(caught.value)
