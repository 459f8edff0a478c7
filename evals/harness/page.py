"""The one HTML shell and stylesheet every eval's `report.html` is written in.

A report is one self-contained file, readable offline: no network, no CDN, no script unless the eval adds one (then
only that script runs, allowed by its hash). The Content-Security-Policy says so to the browser: nothing is
fetched (`default-src 'none'`), inline styles and `data:` images (inline SVG plots) are allowed, and a script only
by its SHA-256. Every model and data string an eval puts in the body must go through `escape`.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

__all__ = ["STYLESHEET", "csp", "escape", "page"]

# One stylesheet for every report: layout, tables, intervals, side-by-side explanations, search trees.
STYLESHEET = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;max-width:1400px}
h1{font-size:22px}h2{font-size:17px;margin-top:30px;border-bottom:1px solid #dde}h3{font-size:14px;margin:14px 0 4px}
h4{font-size:13px;margin:2px 0}
table{border-collapse:collapse;margin:8px 0;font-size:13px}.wide{overflow-x:auto}
td,th{border:1px solid #ccd;padding:3px 7px;text-align:left}th{background:#eef1f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.all td{font-weight:600}
.ci{color:#667;font-size:12px}.note{color:#556}figure{margin:12px 32px 12px 0;display:inline-block;vertical-align:top}
figcaption{font-weight:600}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f7f9;border:1px solid #e2e4ea;padding:6px;margin:4px 0;
font:12.5px/1.4 ui-monospace,monospace}
mark{background:#ffe066}.silent,.wrong{color:#b02a2a}.said,.right{color:#1d7a3c}tr.run td{background:#fff7d6}
.flip{border-top:1px solid #dde;padding:8px 0}.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
tr.ok td:first-child{border-left:4px solid #2a9d55}tr.no td:first-child{border-left:4px solid #c33}
.tree details{margin-left:18px;border-left:1px dotted #aab;padding-left:6px}
.tree summary{cursor:pointer;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12.5px}
.sel>summary{font-weight:600}.v{color:#555}.good{background:#e3f6e9}.dup{opacity:.55}
.puzzle{border-top:1px solid #dde;padding-top:6px}.bar{display:inline-block;height:10px;background:#4a7bd0}
button{margin-right:6px}
"""


def escape(value: Any) -> str:
    """`value` as text safe in an HTML element or a quoted attribute."""
    return html.escape(str(value), quote=True)


def csp(script: str | None = None) -> str:
    """The Content-Security-Policy of a report with `script` (its only script) or none."""
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    if script is not None:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        policy += f"; script-src 'sha256-{digest}'"
    return policy


def page(title: str, body: str, *, script: str | None = None) -> str:
    """A whole report: the shell (charset, policy, title, the stylesheet) around `body` (already escaped HTML),
    with `script` at the end when given. `title` is escaped here."""
    tail = f"<script>{script}</script>\n" if script is not None else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp(script)}">
<title>{escape(title)}</title>
<style>{STYLESHEET}</style></head><body>
{body}
{tail}</body></html>
"""
