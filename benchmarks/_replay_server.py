"""A stand-in OpenAI-compatible server, in its own process, answering from the published GPT-4 ToT run.

The request's model name picks the replay: "replay-<idx>-<anything>" answers as puzzle <idx>; each distinct name
has its own replay state. Every answer waits `--latency` seconds. Prints the port, then serves until killed.

    python benchmarks/_replay_server.py LOG --latency 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from evals.game24 import Game24Config, Game24Task, ReplayModel, load_log
from reasoning import GenerationRequest
from reasoning.testing import FaultProxy


def tokens(text: str) -> int:
    return len(text.split())  # whitespace words: real token counts are taken in part 2, in process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log", type=Path)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    records = {r["idx"]: r for r in load_log(args.log)}
    count = tokens  # cheap on purpose: the server must not be the bottleneck it is measuring around
    models: dict[str, ReplayModel] = {}

    def respond(path: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["model"]
        if name not in models:
            record = records[int(name.split("-")[1])]
            task = Game24Task(record["steps"][0]["x"], Game24Config(zero_unfinished=False))
            models[name] = ReplayModel(record, task)
        content = body["messages"][-1]["content"]
        coro = models[name].generate(GenerationRequest.chat(content, n=int(body.get("n") or 1)))
        try:
            coro.send(None)  # the replay does no I/O: it finishes on the first step
        except StopIteration as done:
            texts = [c.text for c in done.value.completions]
        choices = [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                   for i, t in enumerate(texts)]  # fmt: skip
        usage = {"prompt_tokens": count(content), "completion_tokens": sum(count(t) for t in texts)}
        return {"choices": choices, "usage": usage}

    async def serve() -> None:
        async with FaultProxy(latency=args.latency, responder=respond) as server:
            print(server.port, flush=True)
            await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
