"""Streaming helpers of the in-process backends: `StreamedText` (no stop string, no half character ever released)
and `WorkerThread.stream` (items handed to the event loop as the thread makes them; closing the stream early
abandons the call and returns once the thread has let go)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from reasoning.backends.streaming import StreamedText, first_stop
from reasoning.backends.worker import WorkerThread


def _stream(pieces: list[bytes], stop: tuple[str, ...]) -> tuple[list[str], str]:
    """What `StreamedText` releases when a decoder re-decodes the output after each piece, and the final text."""
    text = StreamedText(stop)
    made, released = b"", []
    for piece in pieces:
        made += piece
        released.append(text.update(made.decode("utf-8", errors="replace")))
        if text.stopped:
            break
    decoded = made.decode("utf-8", errors="replace")
    cut = first_stop(decoded, stop)
    final = decoded if cut is None else decoded[:cut]
    released.append(text.finish(final))
    return released, final


@pytest.mark.parametrize(
    ("pieces", "stop", "expected"),
    [
        ([b"Hel", b"lo EN", b"D more"], ("END",), ["Hel", "lo ", "", ""]),  # the stop in two pieces
        ([b"a\n", b"\nb"], ("\n\n",), ["a", "", ""]),  # a one-character hold
        ([b"abc", b"ab", b"d"], ("abd", "cab"), ["ab", "", ""]),  # held for "cab", which comes first
        ([b"x E", b"Nd"], ("END",), ["x ", "ENd", ""]),  # a false start is released once it is one
        ([b"caf", b"\xc3", b"\xa9 \xe2", b"\x82\xac"], (), ["caf", "", "\xe9 ", "\u20ac", ""]),  # UTF-8 halves held
        ([b"ok"], (), ["ok", ""]),
    ],
)
def test_streamed_text_releases_only_what_is_final(pieces, stop, expected):
    released, final = _stream(pieces, stop)
    assert released == expected
    assert "".join(released) == final  # joined, the pieces are the text a non-streaming call returns
    assert not any("\ufffd" in piece for piece in released)


def test_streamed_text_holds_the_longest_tail_that_could_begin_a_stop():
    text = StreamedText(("<|end|>", "STOP"))
    assert text.update("answer: 4 <|en") == "answer: 4 "
    assert text.update("answer: 4 <|en|>") == "<|en|>"  # not a stop after all
    assert text.update("answer: 4 <|en|> ST") == " "
    assert text.update("answer: 4 <|en|> STOP and more") == "" and text.stopped
    assert text.finish("answer: 4 <|en|> ") == ""


async def test_a_worker_stream_yields_items_as_they_are_made_and_raises_what_the_call_raises():
    worker = WorkerThread("m")
    gate = threading.Event()

    def make(emit: Callable[[int], None]) -> None:
        emit(1)
        assert gate.wait(10)  # the first item arrives while the call still runs
        emit(2)
        emit(3)

    stream = worker.stream(make)
    assert await anext(stream) == 1
    gate.set()
    assert [item async for item in stream] == [2, 3]

    def fail(emit: Callable[[int], None]) -> None:
        emit(1)
        raise ValueError("bad")

    got = []
    with pytest.raises(ValueError, match="bad"):
        async for item in worker.stream(fail):
            got.append(item)
    assert got == [1]
    await worker.close()


async def test_closing_a_worker_stream_early_abandons_the_call_once_the_thread_let_go():
    worker = WorkerThread("m")
    steps, inside = [], threading.Event()

    def endless(emit: Callable[[int], None]) -> None:
        while True:
            worker.checkpoint()  # an abandoned call stops here
            inside.set()
            steps.append(len(steps))
            emit(len(steps))
            inside.clear()

    stream = worker.stream(endless)
    assert await anext(stream) == 1
    await stream.aclose()  # returns once the thread is out of the call
    done = len(steps)
    assert not inside.is_set()
    assert await worker.run(len, steps) == done  # the thread is free: nothing ran after the close
    await worker.close()
