"""A Task or Evaluator that breaks its interface fails at the boundary, with an error naming the method and what it
must return, in every strategy (not an AttributeError or TypeError deep inside one)."""

import math

import pytest

from reasoning import ConfigurationError, Engine, ScriptedModel
from reasoning.checks import TASK_METHODS
from reasoning.errors import InterfaceError
from reasoning.evaluators import Cascade, Evaluator, Heuristic
from reasoning.tree import Node, SearchContext, Task
from search import astar, best_first, bfs, dfs

STRATEGIES = {
    "bfs": lambda task, ev, ctx: bfs(task, ev, ctx, breadth=2, steps=2),
    "dfs": lambda task, ev, ctx: dfs(task, ev, ctx, threshold=0.0),
    "best_first": lambda task, ev, ctx: best_first(task, ev, ctx, priority=lambda n: n.depth),
    "astar": lambda task, ev, ctx: astar(task, ev, ctx, heuristic=lambda n: 0.0),
}


class GoodTask:
    """Two levels of children "a", "b", built without a model."""

    def root(self):
        return Node(state="")

    async def expand(self, node, ctx):
        return [node.child(node.state + c, c) for c in "ab"]

    def is_terminal(self, node):
        return node.depth >= 2

    def key(self, node):
        return node.state


class BareStates(GoodTask):
    async def expand(self, node, ctx):
        return [node.state + c for c in "ab"]


class Tuples(GoodTask):
    async def expand(self, node, ctx):
        return [(node.state + c, c) for c in "ab"]


class SyncExpand(GoodTask):
    def expand(self, node, ctx):
        return [node.child(node.state + c, c) for c in "ab"]


class ExpandsToNone(GoodTask):
    async def expand(self, node, ctx):
        node.child(node.state + "a", "a")  # forgot the return


class Orphans(GoodTask):
    async def expand(self, node, ctx):
        return [Node(state=node.state + c) for c in "ab"]


class SameNodeAgain(GoodTask):
    async def expand(self, node, ctx):
        return [node]


class NoKey:
    root, expand, is_terminal = GoodTask.root, GoodTask.expand, GoodTask.is_terminal


class NoExpandNoRoot:
    is_terminal, key = GoodTask.is_terminal, GoodTask.key


class RootIsAState(GoodTask):
    def root(self):
        return ""


class AsyncRoot(GoodTask):
    async def root(self):
        return Node(state="")


class AsyncKey(GoodTask):
    async def key(self, node):
        return node.state


class ListKey(GoodTask):
    def key(self, node):
        return list(node.state)


class AsyncTerminal(GoodTask):
    async def is_terminal(self, node):
        return node.depth >= 2


BAD_TASKS = {
    BareStates: r"BareStates\.expand must be an async method returning a list of Node \(got list of str\).*"
    r"node\.child\(",
    Tuples: r"Tuples\.expand must be an async method returning a list of Node \(got list of tuple\).*node\.child",
    SyncExpand: r"SyncExpand\.expand must be an async method .*without an await.*async def expand",
    ExpandsToNone: r"ExpandsToNone\.expand must be an async method returning a list of Node \(got NoneType\)",
    Orphans: r"Orphans\.expand returned a Node that is not a child of the node expanded.*node\.child",
    SameNodeAgain: r"SameNodeAgain\.expand returned a Node .*(not a child|already in the search tree)",
    NoKey: r"NoKey is not a Task: it lacks key\. .*key\(node\) -> a hashable",
    NoExpandNoRoot: r"NoExpandNoRoot is not a Task: it lacks root, expand\. .*async expand\(node, ctx\)",
    RootIsAState: r"RootIsAState\.root must return a Node \(got str\).*Node\(state=",
    AsyncRoot: r"AsyncRoot\.root must be a plain \(not async\) method returning a Node",
    AsyncKey: r"AsyncKey\.key must be a plain \(not async\) method",
    ListKey: r"ListKey\.key must return a hashable value \(got (empty list|list of str)\)",
    AsyncTerminal: r"AsyncTerminal\.is_terminal must be a plain \(not async\) method returning bool",
}


def context():
    return SearchContext(Engine(ScriptedModel([])), tag="t")


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no "coroutine was never awaited" from a wrong method
@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("task", list(BAD_TASKS), ids=lambda t: t.__name__)
async def test_a_bad_task_gets_a_clear_error(task, strategy):
    with pytest.raises(InterfaceError, match=BAD_TASKS[task]) as caught:
        await STRATEGIES[strategy](task(), Heuristic(lambda n: 1.0), context())
    assert isinstance(caught.value, ConfigurationError)


class Short:
    async def evaluate(self, nodes, ctx):
        for node in nodes:
            node.value = 1.0
        return [1.0]


class Words:
    async def evaluate(self, nodes, ctx):
        for node in nodes:
            node.value = 1.0
        return ["sure" for _ in nodes]


class Nothing:
    async def evaluate(self, nodes, ctx):
        for node in nodes:
            node.value = 1.0


class SyncEvaluate:
    def evaluate(self, nodes, ctx):
        return [1.0 for _ in nodes]


class ValuesOnly:
    async def evaluate(self, nodes, ctx):
        return [1.0 for _ in nodes]  # forgot node.value


class NaNs:
    async def evaluate(self, nodes, ctx):
        for node in nodes:
            node.value = math.nan
        return [math.nan for _ in nodes]


class TextValues:
    async def evaluate(self, nodes, ctx):
        for node in nodes:
            node.value = "likely"
        return [1.0 for _ in nodes]


BAD_EVALUATORS = {
    "short": (Short, r"Short\.evaluate must be .* one per node.*: it returned 1 value for 2 nodes"),
    "words": (Words, r"Words\.evaluate must be an async method returning a list of numbers.*got list of str"),
    "nothing": (Nothing, r"Nothing\.evaluate must be .*\(got NoneType\)"),
    "sync": (SyncEvaluate, r"SyncEvaluate\.evaluate must be an async method.*without an await"),
    "values-only": (ValuesOnly, r"ValuesOnly\.evaluate .*was left with value None; set node\.value"),
    "nan": (NaNs, r"NaNs\.evaluate must be .*nan"),
    "text-values": (TextValues, r"TextValues\.evaluate .*was left with value 'likely'"),
    "function": (lambda: (lambda node: 1.0), r"<lambda> is not an Evaluator: it lacks evaluate.*Heuristic\(fn\)"),
    "in-cascade": (lambda: Cascade(Short(), Heuristic(lambda n: 1.0), unsure=lambda n: True),
                   r"Short\.evaluate .*returned 1 value for 2 nodes"),
}  # fmt: skip


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("evaluator", list(BAD_EVALUATORS))
async def test_a_bad_evaluator_gets_a_clear_error(evaluator, strategy):
    make, pattern = BAD_EVALUATORS[evaluator]
    with pytest.raises(InterfaceError, match=pattern):
        await STRATEGIES[strategy](GoodTask(), make(), context())


@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_a_good_task_passes_the_checks(strategy):
    result = await STRATEGIES[strategy](GoodTask(), Heuristic(lambda n: 1.0), context())
    assert result.outputs and result.stopped == "exhausted"


# -- a subclass of the protocol that does not define a method ---------------------------------------------------------
# It inherits the Protocol's `...` body, which returns None: a `key` of None made every state a duplicate of the root,
# and every strategy ended `stopped="exhausted", outputs=[]` without a word (the reported case).
class ProtocolTask(Task[str]):
    def root(self):
        return Node(state="")

    async def expand(self, node, ctx):
        return [node.child(node.state + c, c) for c in "ab"]

    def is_terminal(self, node):
        return node.depth >= 2

    def key(self, node):
        return node.state


def without(*methods: str) -> type:
    """A subclass of `Task` with `methods` left to the protocol (defined by none of its bases but Task)."""
    body = {m: f for m, f in vars(ProtocolTask).items() if m in TASK_METHODS and m not in methods}
    return type(f"No{''.join(m.title().replace('_', '') for m in methods)}", (Task,), body)


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("methods", [("key",), ("root",), ("expand",), ("is_terminal",), ("is_terminal", "key")],
                         ids="+".join)  # fmt: skip
async def test_a_protocol_method_left_undefined_is_named(strategy, methods):
    task = without(*methods)()
    assert (await STRATEGIES[strategy](ProtocolTask(), Heuristic(lambda n: 1.0), context())).outputs  # the full one
    pattern = rf"{type(task).__name__} does not define {', '.join(methods)}: it subclasses Task .* returns None"
    with pytest.raises(InterfaceError, match=pattern):
        await STRATEGIES[strategy](task, Heuristic(lambda n: 1.0), context())


class UndefinedEvaluate(Evaluator[str]):
    pass


class Scores(Evaluator[str]):
    async def evaluate(self, nodes, ctx):
        for node in nodes:
            node.value = 1.0
        return [1.0 for _ in nodes]


class InheritsScores(Scores):  # defined by a base that is not the protocol: fine
    pass


@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_an_evaluator_protocol_subclass_without_evaluate_is_named(strategy):
    with pytest.raises(InterfaceError, match=r"UndefinedEvaluate does not define evaluate: it subclasses Evaluator"):
        await STRATEGIES[strategy](ProtocolTask(), UndefinedEvaluate(), context())
    with pytest.raises(InterfaceError, match=r"UndefinedEvaluate does not define evaluate"):  # inside a Cascade too
        await STRATEGIES[strategy](ProtocolTask(), Cascade(UndefinedEvaluate(), Scores(), lambda n: True), context())
    assert (await STRATEGIES[strategy](ProtocolTask(), InheritsScores(), context())).outputs
