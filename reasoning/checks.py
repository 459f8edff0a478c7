"""Checks where a search meets the user's `Task` and `Evaluator`, so a wrong one fails with an error that names it.

`checked_task(task)` here and `reasoning.evaluators.checked_evaluator(evaluator)` (beside the `Evaluator` protocol,
as `reasoning.plugins` checks its `Plugin`, so this module never imports that one) wrap them (the strategies in
`search/` do at their start):
the wrapper raises `InterfaceError` at once for a missing method (or one a subclass of the `Task` or `Evaluator`
protocol inherits without defining it: the protocol's `...` body, which returns None), and at the first call for a
method that is async where it must not be (or the reverse) or returns the wrong thing. The message names the class,
the method and what it must return, instead of an `AttributeError` or `TypeError` deep inside a strategy.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Iterable
from typing import Any, Generic, TypeVar

from .errors import InterfaceError
from .tree import Node, SearchContext, Task

__all__ = [
    "CheckedTask",
    "check_defined",
    "checked_task",
    "function_name",
    "shown",
    "unimplemented",
]

S = TypeVar("S")

TASK_METHODS = {
    "root": "root() -> Node, the start (e.g. `Node(state=...)`)",
    "expand": "async expand(node, ctx) -> list of Node, the children (built with `node.child(state, thought)`)",
    "is_terminal": "is_terminal(node) -> bool, whether a node is finished",
    "key": "key(node) -> a hashable identity of the node's state",
}
_EXPAND = "must be an async method returning a list of Node"


def unimplemented(obj: object, protocol: type, methods: Iterable[str]) -> list[str]:
    """Those of `methods` that `obj` gets from `protocol` itself: a class that subclasses a `typing.Protocol` and
    does not define one inherits its `...` body, which returns None instead of failing (a `key` of None made every
    state a duplicate of the root, and the search ended "exhausted" with no output)."""
    return [m for m in methods if m in vars(protocol) and inspect.getattr_static(obj, m, None) is vars(protocol)[m]]


def check_defined(obj: object, protocol: type, needs: dict[str, str], *, name: str | None = None) -> None:
    """Raise `InterfaceError` naming the methods of `needs` (method -> what it must be) that `obj` inherits from
    `protocol` without defining them (see `unimplemented`)."""
    methods = unimplemented(obj, protocol, needs)
    if methods:
        name = name or type(obj).__name__
        where = f"{protocol.__module__}.{protocol.__name__}"
        raise InterfaceError(f"{name} does not define {', '.join(methods)}: it subclasses {protocol.__name__} and "
                             f"inherits the protocol's empty body, which returns None. Define "
                             f"{'; '.join(needs[m] for m in methods)} (see {where})")  # fmt: skip


def describe(value: Any) -> str:
    """A short description of what a method returned: "list of tuple", "coroutine", "NoneType"."""
    if isinstance(value, list | tuple):
        kinds = sorted({type(v).__name__ for v in value})
        return f"{type(value).__name__} of {' and '.join(kinds)}" if kinds else f"empty {type(value).__name__}"
    return type(value).__name__


def function_name(fn: Any) -> str:
    """How an error names a user's function: its qualified name, and where a lambda is defined (`<lambda> at
    task.py:12`)."""
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    code = getattr(fn, "__code__", None)
    if "<lambda>" in name and code is not None:
        name += f" at {code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno}"
    return str(name)


def shown(value: Any) -> str:
    """What a function returned, as an error quotes it: its type and a short repr (`str 'high'`, `None`); a
    coroutine (from an async function where a plain one was due) is closed, so Python does not warn about it."""
    if value is None:
        return "None"
    if _not_awaited(value):
        return f"{describe(value)} (an async function where a plain one is needed)"
    text = repr(value)
    return f"{describe(value)} {text if len(text) <= 40 else text[:37] + '...'}"


def _not_awaited(value: Any) -> bool:
    # A coroutine a plain method returned by mistake: closed, so Python does not warn it was never awaited.
    if inspect.iscoroutine(value):
        value.close()
    return inspect.isawaitable(value)


class CheckedTask(Generic[S]):
    """A `Task` whose methods' answers are checked (see the module docstring).

    Raises `InterfaceError` when the task lacks one of root, expand, is_terminal, key, or inherits one from the
    `Task` protocol without defining it; and when called, if `root` does not return a `Node`, `expand` is not async
    or returns anything but a list of new children of the node (`node.child(...)`), `is_terminal` or `key` is
    async, or `key` returns something unhashable.
    """

    def __init__(self, task: Task[S]) -> None:
        self.task = task
        self.name = type(task).__name__
        missing = [m for m in TASK_METHODS if not callable(getattr(task, m, None))]
        if missing:
            needs = "; ".join(TASK_METHODS[m] for m in missing)
            raise InterfaceError(f"{self.name} is not a Task: it lacks {', '.join(missing)}. A Task needs {needs} "
                                 "(see reasoning.tree.Task)")  # fmt: skip
        check_defined(task, Task, TASK_METHODS, name=self.name)

    def root(self) -> Node[S]:
        node = self.task.root()
        if _not_awaited(node):
            raise InterfaceError(f"{self.name}.root must be a plain (not async) method returning a Node")
        if not isinstance(node, Node):
            raise InterfaceError(f"{self.name}.root must return a Node (got {describe(node)}); "
                                 "wrap the start state: Node(state=...)")  # fmt: skip
        return node

    async def expand(self, node: Node[S], ctx: SearchContext) -> list[Node[S]]:
        out = self.task.expand(node, ctx)
        if not inspect.isawaitable(out):
            raise InterfaceError(f"{self.name}.expand {_EXPAND} (it returned {describe(out)} without an await); "
                                 "declare it `async def expand(self, node, ctx)`")  # fmt: skip
        children = await out
        if not isinstance(children, list | tuple) or not all(isinstance(c, Node) for c in children):
            raise InterfaceError(f"{self.name}.expand {_EXPAND} (got {describe(children)}); "
                                 "build children with node.child(state, thought)")  # fmt: skip
        for child in children:
            if child.parent is not node:
                raise InterfaceError(f"{self.name}.expand returned a Node that is not a child of the node expanded "
                                     f"({child!r}); build children with node.child(state, thought)")  # fmt: skip
            if child.id != -1:
                raise InterfaceError(f"{self.name}.expand returned a Node already in the search tree ({child!r}); "
                                     "return new nodes, built with node.child(state, thought)")  # fmt: skip
        return list(children)

    def is_terminal(self, node: Node[S]) -> bool:
        out = self.task.is_terminal(node)
        if _not_awaited(out):
            raise InterfaceError(f"{self.name}.is_terminal must be a plain (not async) method returning bool")
        return bool(out)

    def key(self, node: Node[S]) -> Hashable:
        out = self.task.key(node)
        if _not_awaited(out):
            raise InterfaceError(f"{self.name}.key must be a plain (not async) method returning a hashable value")
        try:
            hash(out)
        except TypeError:
            raise InterfaceError(f"{self.name}.key must return a hashable value (got {describe(out)}); "
                                 "e.g. a str, or a tuple instead of a list") from None  # fmt: skip
        return out


def checked_task(task: Task[S]) -> CheckedTask[S]:
    """`task` wrapped in `CheckedTask` (itself when it already is one). Raises `InterfaceError` (a method missing)."""
    return task if isinstance(task, CheckedTask) else CheckedTask(task)
