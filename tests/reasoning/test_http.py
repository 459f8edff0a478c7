"""The one reading of a server's named wait (`Retry-After`, `retry-after-ms`) and the headers our server sends."""

import email.utils

import pytest

from reasoning._http import parse_retry_after, retry_after_headers

NOW = 1_700_000_000.0  # a fixed Unix time, so dates are read without a clock


def date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "8"}, 8.0),
        ({"retry-after": " 2 "}, 2.0),
        ({"RETRY-AFTER": "0"}, 0.0),
        ({"Retry-After": "1.5"}, 1.5),  # not HTTP, but servers send it
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After-Ms": "1000"}, 1.0),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),  # the precise form wins
        ({"retry-after-ms": "soon", "Retry-After": "3"}, 3.0),  # a bad ms falls back to Retry-After
        ({"Retry-After": date(5)}, 5.0),
        ({"Retry-After": date(-60)}, 0.0),  # a date past: now
        ({"Retry-After": email.utils.formatdate(NOW + 7)}, 7.0),  # "-0000" zone: UTC
        ({"Retry-After": "31536000000"}, 31536000000.0),  # huge: returned, for the caller to cap
    ],
)
def test_parse_retry_after_reads_every_form(headers, expected):
    assert parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize(
    "value",
    ["soon", "", "-1", "-0.5", "nan", "inf", "-inf", "1e999", "0x10", "Wed, 32 Foo 2015 07:28:00 GMT", "1,2"],
)
def test_garbage_negative_and_non_finite_waits_are_ignored(value):
    assert parse_retry_after({"Retry-After": value}, now=NOW) is None
    assert parse_retry_after({"retry-after-ms": value}, now=NOW) is None


def test_no_headers_no_wait():
    assert parse_retry_after(None) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after({"content-type": "application/json"}) is None


def test_a_date_is_read_against_the_clock_by_default():
    wait = parse_retry_after({"Retry-After": email.utils.formatdate(2_000_000_000, usegmt=True)})
    assert wait is not None and wait > 0


def test_headers_we_send_are_standard_and_exact():
    assert retry_after_headers(2.5) == {"Retry-After": "3", "retry-after-ms": "2500"}
    assert retry_after_headers(8) == {"Retry-After": "8", "retry-after-ms": "8000"}
    assert retry_after_headers(None) == {}
    assert retry_after_headers(-1) == {} and retry_after_headers(float("nan")) == {}
    # What we send reads back as what we meant.
    assert parse_retry_after(retry_after_headers(0.25)) == 0.25
