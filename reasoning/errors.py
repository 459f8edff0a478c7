"""Every error the toolkit raises.

    ReasoningError
     ├── ConfigurationError          bad options, an unknown backend
     │    ├── ModelFileError         the embedded model is missing or its sha256 differs
     │    ├── CacheError             the response cache file is damaged or not ours (`path`); never trusted
     │    └── InterfaceError         a search's Task or Evaluator breaks its interface (names the method)
     ├── BudgetExceededError         a hard token / dollar / call budget was reached; no new calls
     ├── SearchBudgetReached         a search's own budget has no room for another call; the search stops cleanly
     ├── SessionClosedError          a request sent through a `Session` after its `close()`
     └── BackendError                a model call failed (after the engine's retries, `attempts` says how many)
          ├── APIConnectionError     the connection failed or dropped mid-response
          │    └── APITimeoutError   no complete response in time
          ├── MalformedResponseError the server answered something we cannot parse
          └── APIStatusError         an HTTP error status (`status`, `body`, `retry_after`)
               ├── BadRequestError   4xx other than 429: retrying will not help
               ├── RateLimitError    429
               └── ServerError       5xx (a 503 from a server loading or overloaded often names its wait)

`retry_after` is the wait in seconds the server named (`Retry-After`, `retry-after-ms`), on any status; `None`
when it named none.

`retryable` says whether another try may succeed, and is decided here alone (`retryable_status` for HTTP
statuses): connection failures, timeouts and malformed bodies are; a 429 is; of the 5xx, those that say the server
or a gateway failed for now (500, 502, 503, 504; a proxy's 520-524 and an overloaded 529) and any 5xx that names a
wait are, while one that says the request will never work there (501 Not Implemented: not an OpenAI-compatible
server, or the wrong URL; 505, 511, ...) is not; nor is any other 4xx.

Backend errors carry `model`, and where they apply `status`, `retry_after` and `attempts`. No error message ever
includes an API key or request headers.
"""

from __future__ import annotations

import math

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "BackendError",
    "BadRequestError",
    "BudgetExceededError",
    "CacheError",
    "ConfigurationError",
    "InterfaceError",
    "MalformedResponseError",
    "ModelFileError",
    "RateLimitError",
    "ReasoningError",
    "SearchBudgetReached",
    "ServerError",
    "SessionClosedError",
]

# 5xx that say the server (or a gateway in front of it) failed for now: worth another try. Any other 5xx is only
# when it names a wait (Retry-After).
TRANSIENT_5XX = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524, 529})


def retryable_status(status: int, retry_after: float | None = None) -> bool:
    """Whether a request that failed with HTTP `status` may succeed if sent again (after `retry_after` seconds, the
    wait the server named, if any): 429; 500, 502, 503, 504 and a gateway's 520-524 or an overloaded 529; any other
    5xx only if it named a wait. Never another 4xx."""
    if status == 429:
        return True
    return 500 <= status < 600 and (status in TRANSIENT_5XX or retry_after is not None)


def named_wait(exc: BaseException) -> float | None:
    """The wait in seconds a server named with this error (`APIStatusError.retry_after`), or None: not a status
    error, no wait named, or not a number (NaN). What the retry policy and the endpoint pool both go by."""
    wait = exc.retry_after if isinstance(exc, APIStatusError) else None
    return None if wait is None or math.isnan(wait) else wait


class ReasoningError(Exception):
    """Base of every error raised by the toolkit."""


class ConfigurationError(ReasoningError):
    """Options that cannot work: an unknown backend, a missing dependency, a bad value."""


class ModelFileError(ConfigurationError):
    """A model file is missing, incomplete, or fails its sha256 check."""


class CacheError(ConfigurationError):
    """The response cache file cannot be trusted: not SQLite, damaged, another schema, or a row that fails its
    checksum. The message names the file and what to do; the file is never overwritten."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class InterfaceError(ConfigurationError):
    """A search's `Task` or `Evaluator` does not keep its interface (`reasoning.tree.Task`,
    `reasoning.evaluators.Evaluator`): a method missing or not async where it must be, or returning the wrong
    thing. Raised where the search meets it; the message names the class, the method and what it must return."""


class BudgetExceededError(ReasoningError):
    """The engine's hard budget is spent; it refuses new calls."""

    def __init__(self, message: str, *, kind: str, spent: float, limit: float) -> None:
        super().__init__(message)
        self.kind = kind
        self.spent = spent
        self.limit = limit


class SearchBudgetReached(ReasoningError):
    """A search's own budget (`reasoning.tree.SearchBudget`) has no room for another request; raised inside the
    search, where the strategies in `search/` catch it and stop cleanly (`SearchResult.stopped == "budget"`)."""


class SessionClosedError(ReasoningError):
    """A request was sent through a `reasoning.session.Session` after its `close()`: the session's tag and its
    ledger entry are released, so nothing more can be sent or accounted under it. Open a new session instead."""


class BackendError(ReasoningError):
    """A model call failed."""

    retryable: bool = False

    def __init__(self, message: str, *, model: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.model = model
        self.attempts = attempts

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (model={self.model!r}, attempts={self.attempts})"


class APIConnectionError(BackendError):
    """The connection could not be made or dropped before the response was complete."""

    retryable = True


class APITimeoutError(APIConnectionError):
    """The response did not arrive in time."""


class MalformedResponseError(BackendError):
    """The server answered, but not with what the protocol promises (bad JSON, missing fields)."""

    retryable = True


class APIStatusError(BackendError):
    """The server answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        model: str,
        status: int,
        body: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, model=model, attempts=attempts)
        self.status = status
        self.body = body
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{Exception.__str__(self)} (model={self.model!r}, status={self.status}, attempts={self.attempts})"


class BadRequestError(APIStatusError):
    """A 4xx other than 429: the request itself is wrong."""


class RateLimitError(APIStatusError):
    """429 Too Many Requests."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        model: str,
        status: int = 429,
        body: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, model=model, status=status, body=body, retry_after=retry_after, attempts=attempts)


class ServerError(APIStatusError):
    """A 5xx: the server failed. Retrying may help or not, by its status (`retryable_status`): a 503 is retried, a
    501 Not Implemented is not."""

    @property
    def retryable(self) -> bool:  # type: ignore[override]  # decided by the status, not set
        return retryable_status(self.status, self.retry_after)
