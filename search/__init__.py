"""Search strategies over the shared node / evaluator abstraction (tree-of-thought BFS, DFS, A*, best-first)."""

__all__: list[str] = []
