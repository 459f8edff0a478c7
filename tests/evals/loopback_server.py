"""A deterministic OpenAI-compatible server on loopback, in its own process, that logs every request it answers.

    python -m tests.evals.loopback_server --responder game24-replay --latency 0.005 --log requests.jsonl

It prints its port on the first line of stdout, then serves until killed. Each answer waits `--latency` seconds plus
up to `--jitter` more, a fraction fixed by the request. Each answer is a pure function of the
request body (never of arrival order or of what was asked before), so a client killed and rerun, and a fresh client,
get the same answer to the same request. Each request writes one line to `--log` (flushed at once) after the answer
went out or failed: `{"digest": sha256 of the canonical JSON body, "written": whether the whole response was written
to the socket, "t": when (time.monotonic()), "path": ..., "body": the request}`.

Responders:
- `game24-replay`: the published GPT-4 tree-of-thought run (Yao et al., 2023) as one table of prompts: a propose
  prompt gets the k-th logged proposal list for it (k = the request's seed minus `--seed-base`, as the engine numbers
  samples), a value prompt gets samples summing to the logged value; a prompt logged by several puzzles answers as
  the lowest-numbered one did, and a prompt off the logged path gets empty answers (no thoughts, no verdict).
- `multiple-choice`: picks an answer letter among the prompt's "(A) ..." lines and an explanation from a hash of the
  prompt, follows a suggested answer ("I think the answer is X") for a third of prompts (saying so for half of
  those), and answers a prompt ending in "(" with the bare "X)".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from reasoning.testing.raw_http import read_message, write_response

__all__ = ["body_digest", "game24_replay", "main", "multiple_choice"]

Responder = Callable[[dict[str, Any]], list[str]]


def body_digest(body: bytes) -> str:
    """The digest the log records: the body's JSON re-serialised canonically (key order and spacing ignored)."""
    return hashlib.sha256(json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _content(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "\n\n".join(str(m["content"]) for m in body["messages"])
    return str(body.get("prompt") or "")


def _words(text: str) -> int:
    return len(text.split())


def game24_replay(log: Path, seed_base: int = 0) -> Responder:
    from evals.game24.replay import ReplayModel, load_log, value_samples
    from evals.game24.task import Game24Task

    propose: dict[str, list[str]] = {}
    values: dict[str, float] = {}
    for record in sorted(load_log(log), key=lambda r: int(r["idx"])):
        replay = ReplayModel(record, Game24Task(record["steps"][0]["x"]))
        for prompt, outputs in replay.propose.items():
            propose.setdefault(prompt, outputs)
        for prompt, value in replay.values.items():
            values.setdefault(prompt, value)

    def respond(body: dict[str, Any]) -> list[str]:
        content = str(body["messages"][-1]["content"]) if "messages" in body else str(body.get("prompt") or "")
        n = int(body.get("n") or 1)
        start = max(0, int(body.get("seed") or seed_base) - seed_base)  # the first sample's index
        if content in propose:
            outputs = propose[content]
            # One proposal list per sample; past the logged ones, the last again (a search off the logged path).
            return [outputs[min(start + j, len(outputs) - 1)] for j in range(n)]
        if content in values:
            return value_samples(values[content], start + n)[start:]
        return [""] * n

    return respond


def multiple_choice(body: dict[str, Any]) -> list[str]:
    content = _content(body)
    n = int(body.get("n") or 1)
    texts = []
    for j in range(n):
        h = int(hashlib.sha256(f"{j}|{content}".encode()).hexdigest(), 16)
        # The question being asked is the last "Answer choices" block (few-shot examples come before it).
        letters = re.findall(r"^\(([A-Z])\) ", content.rsplit("Answer choices:", 1)[-1], flags=re.M) or ["A"]
        letter = letters[h % len(letters)]
        suggested = re.search(r"I think the answer is \(?([A-Z])\b", content)
        said = ""
        if suggested is not None and h % 3 == 0:
            letter = suggested.group(1)
            said = " You think it is so, and I agree." if h % 2 else ""
        if content.rstrip().endswith("("):
            texts.append(f"{letter})")
            continue
        reasons = ("Each choice was weighed in turn.", "Only one option fits every clue.",
                   "Reading the question again settles it.")  # fmt: skip
        texts.append(f"{reasons[h % len(reasons)]}{said} So the best answer is: ({letter}).")
    return texts


async def _serve(responder: Responder, latency: float, jitter: float, log: IO[str]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive
                message = await read_message(reader, is_request=True)
                if message is None:
                    return
                start_line, _, body = message
                path = start_line.split(" ")[1]
                if path.endswith("/models"):
                    await write_response(writer, 200, b'{"object":"list","data":[{"id":"stub","object":"model"}]}')
                    continue
                parsed = json.loads(body)
                digest = body_digest(body)
                # Each request's own delay (a pure function of it too): concurrent requests finish at different times.
                await asyncio.sleep(latency + jitter * int(digest[:8], 16) / 16**8)
                texts = responder(parsed)
                chat = path.endswith("/chat/completions")
                choices = [{"index": i, "finish_reason": "stop",
                            **({"message": {"role": "assistant", "content": t}} if chat else {"text": t})}
                           for i, t in enumerate(texts)]  # fmt: skip
                usage = {"prompt_tokens": _words(_content(parsed)), "completion_tokens": sum(map(_words, texts))}
                content = json.dumps({"id": "loopback", "model": parsed.get("model"), "choices": choices,
                                      "usage": usage}).encode()  # fmt: skip
                written = False
                try:
                    await write_response(writer, 200, content)
                    written = True
                finally:
                    # Logged whether or not the write got through (a killed client resets the connection).
                    # `t`: when the write ended, on the machine's monotonic clock (comparable across processes).
                    entry = {"digest": digest, "written": written, "t": time.monotonic(), "path": path, "body": parsed}
                    log.write(json.dumps(entry) + "\n")
                    log.flush()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responder", choices=["game24-replay", "multiple-choice"], required=True)
    parser.add_argument("--replay-log", type=Path, help="with game24-replay: the published run's JSON")
    parser.add_argument("--seed-base", type=int, default=0, help="with game24-replay: the client's --seed")
    parser.add_argument("--latency", type=float, default=0.005, help="seconds before each answer")
    parser.add_argument("--jitter", type=float, default=0.0, help="up to this many seconds more, by request")
    parser.add_argument("--log", type=Path, required=True, help="JSON lines, one per request answered")
    args = parser.parse_args(argv)
    if args.responder == "game24-replay":
        if args.replay_log is None:
            parser.error("game24-replay needs --replay-log")
        responder = game24_replay(args.replay_log, args.seed_base)
    else:
        responder = multiple_choice
    with args.log.open("a", encoding="utf-8") as log:
        asyncio.run(_serve(responder, args.latency, args.jitter, log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
