"""A toy task for the search tests: states are strings of digits; the scripted model proposes children."""

import asyncio

from reasoning import Engine, EngineConfig, GenerationRequest, ScriptedModel
from reasoning.tree import Node, Propose, SearchContext


class Peak:
    def __init__(self):
        self.now = self.max = 0

    async def hold(self, seconds):
        self.now += 1
        self.max = max(self.max, self.now)
        await asyncio.sleep(seconds)
        self.now -= 1


def toy_model(children="01", delay=0.01, peak=None, values=None):
    """Propose: "expand: s" -> lines s+c for c in children. Value: "value: s" -> the number values(s)."""
    peak = peak or Peak()

    async def handler(request, index):
        await peak.hold(delay)
        text = request.prompt
        if text.startswith("expand: "):
            state = text.removeprefix("expand: ")
            return "\n".join(state + c for c in children)
        if text.startswith("value: "):
            return str(values(text.removeprefix("value: ")) if values else 1.0)
        return "?"

    return ScriptedModel(handler), peak


class ToyTask:
    def __init__(self, depth=3):
        self.depth = depth
        self.generate = Propose(
            lambda node: GenerationRequest(prompt=f"expand: {node.state}", temperature=0.7),
            lambda node, text: [node.child(line, line) for line in text.split("\n") if line],
        )

    def root(self):
        return Node(state="")

    async def expand(self, node, ctx):
        return await self.generate(node, ctx)

    def is_terminal(self, node):
        return node.depth >= self.depth

    def key(self, node):
        return node.state


def context(model, **config):
    return SearchContext(Engine(model, EngineConfig(**config)), tag="toy")
