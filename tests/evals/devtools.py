"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: the browser reads
commands on its fd 3 and writes replies and events on its fd 4, each a JSON text ending in a NUL byte), for tests
that must wait for a script-built page to show something: `Page.wait_for(expression)` waits in the page until the
expression is true, up to a deadline, and never sleeps a fixed time.

    with Browser(chromium(), tmp_path / "profile") as page:
        page.goto("http://127.0.0.1:8000/")
        page.wait_for("document.body.innerText.includes('game24')", timeout=120)
        text = page.evaluate("document.body.innerText")
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["Browser"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000")  # fmt: skip


class Browser:
    """A headless Chromium with one page, attached to over a DevTools pipe; closed (the process ended) on exit."""

    def __init__(self, binary: str, profile: Path) -> None:
        commands_r, self._commands_w = os.pipe()  # we write, the browser reads on its fd 3
        self._replies_r, replies_w = os.pipe()  # the browser writes on its fd 4, we read
        # The browser's ends moved to 10 or above, so that making them its 3 and 4 overwrites neither.
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_r, replies_w)]
        for fd in (commands_r, replies_w):
            os.close(fd)
        shell = f'exec "$@" 3<&{ends[0]} 4>&{ends[1]}'  # bash: dash takes one-digit descriptors only
        self.process = subprocess.Popen(
            ["bash", "-c", shell, "bash", binary, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "about:blank"],
            pass_fds=ends, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        for fd in ends:
            os.close(fd)
        self._buffer = b""
        self._next = 0
        self.session: str | None = None
        self.events: list[str] = []  # the events seen, by name (`Page.loadEventFired`)

    def __enter__(self) -> Browser:
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=page, flatten=True)["sessionId"]
        self.send("Page.enable")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.session = None
            self.send("Browser.close", timeout=10)
        except (OSError, TimeoutError, RuntimeError):
            pass
        finally:
            os.close(self._commands_w)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            os.close(self._replies_r)
            if self.process.stderr is not None:
                self.process.stderr.close()

    def send(self, method: str, *, timeout: float = 60, **params: Any) -> dict[str, Any]:
        """Send one command (to the page once attached) and return its result; `RuntimeError` for an error reply,
        `TimeoutError` when none comes within `timeout` seconds."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self.session is not None:
            message["sessionId"] = self.session
        os.write(self._commands_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            if "method" in reply:
                self.events.append(str(reply["method"]))

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies_r], [], [], left)[0]:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self._replies_r, 1 << 16)
            if not chunk:
                said = self.process.stderr.read().decode(errors="replace")[-2000:] if self.process.stderr else ""
                raise RuntimeError(f"the browser closed its DevTools pipe:\n{said}")
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(text))

    def goto(self, url: str, *, timeout: float = 120) -> None:
        """Load `url` in the page and wait for its load event (none for a move within the page: another #route)."""
        self.events.clear()
        moved = self.send("Page.navigate", url=url, timeout=timeout)
        deadline = time.monotonic() + timeout
        while "loaderId" in moved and "Page.loadEventFired" not in self.events:  # a new document is loading
            event = self._read(deadline)
            if "method" in event:
                self.events.append(str(event["method"]))

    def evaluate(self, expression: str, *, timeout: float = 60) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True,
                           timeout=timeout)  # fmt: skip
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} failed in the page: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, condition: str, *, timeout: float = 120) -> bool:
        """Wait in the page until the JavaScript expression `condition` is true (checked on each animation frame and
        after every DOM change) or `timeout` seconds pass; return whether it became true."""
        script = f"""new Promise(resolve => {{
            const met = () => {{ try {{ return Boolean({condition}); }} catch (e) {{ return false; }} }};
            if (met()) return resolve(true);
            const observer = new MutationObserver(() => {{ if (met()) {{ observer.disconnect(); resolve(true); }} }});
            observer.observe(document, {{subtree: true, childList: true, characterData: true, attributes: true}});
            setTimeout(() => {{ observer.disconnect(); resolve(met()); }}, {int(timeout * 1000)});
        }})"""
        return bool(self.evaluate(script, timeout=timeout + 30))
