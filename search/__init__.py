"""Search strategies over the shared node / evaluator abstraction: BFS (beam), DFS, best-first and A*.

Each strategy is one function taking a `Task`, an `Evaluator` and a `SearchContext`, and returning a
`SearchResult`.
"""

from .best_first import astar, best_first
from .bfs import bfs
from .dfs import dfs
from .result import SearchResult, StepRecord, StopReason

__all__ = ["SearchResult", "StepRecord", "StopReason", "astar", "best_first", "bfs", "dfs"]
