"""The crosswords report: the letter / word / game table, then each game's board beside the answer and, for DFS,
its search in visiting order, in the one report shell (`evals.harness.page`: self-contained, no script).

The DFS listing has one line per visited state, indented by depth: its visit number, the fill, the confidence,
the prune counts (sure / maybe / impossible), "PRUNED" for a state with an impossible clue, and its word score; a
line marked "backtrack" starts a new branch (its parent is not the state visited just before). The output state
and the oracle's best state are marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..harness import escape, page

__all__ = ["render_report"]

_STYLE = (".grid{font-family:monospace;font-size:1.2em;line-height:1.2;white-space:pre;display:inline-block;"
          "margin-right:2em}.pruned{color:#a00}.out{font-weight:bold}.visits{font-family:monospace;"
          "white-space:pre;font-size:.9em}")  # fmt: skip


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _grid(rows: Sequence[str], title: str) -> str:
    body = "\n".join(" ".join(row) for row in rows)
    return f'<div class="grid"><b>{escape(title)}</b>\n{escape(body)}</div>'


def _visits(record: dict[str, Any]) -> str:
    rows = record.get("visited") or []
    deepest = max((len(r["fills"]) for r in rows), default=0)
    output = next((i for i, r in enumerate(rows) if len(r["fills"]) == deepest), None)
    best = (record.get("best") or {}).get("visit")
    lines = []
    for i, r in enumerate(rows):
        number = i + 1
        back = r["parent"] != (number - 1) and i > 0
        count = r.get("count") or {}
        counts = f"{count.get('sure', 0)}/{count.get('maybe', 0)}/{count.get('impossible', 0)}"
        marks = ["PRUNED" if r["pruned"] else "", "backtrack" if back else "",
                 "OUTPUT" if i == output else "", "BEST" if number == best else ""]  # fmt: skip
        text = (f"{number:>3} {'  ' * (len(r['fills']) - 1)}{r['fills'][-1]:<10} conf {r.get('confidence') or 0:4.1f} "
                f"s/m/i {counts:<7} words {round(10 * r['word'])}/10 {' '.join(m for m in marks if m)}")  # fmt: skip
        css = "pruned" if r["pruned"] else "out" if i == output else ""
        lines.append(f'<span class="{css}">{escape(text)}</span>')
    return '<div class="visits">' + "\n".join(lines) + "</div>"


def render_report(records: Sequence[dict[str, Any]], summary: dict[str, Any], info: dict[str, Any]) -> str:
    """report.html's content: the summary, then every game (board, answer, and for DFS the visited states)."""
    title = f"crosswords — {summary.get('method', '')} — {info.get('model') or ''}"
    keys = [("games", "games"), ("letter", "letter"), ("word", "word"), ("game", "game"),
            ("best_letter", "best state: letter"), ("best_word", "best state: word"),
            ("best_game", "best state: game"), ("visited_per_game", "states visited / game"),
            ("calls_per_game", "calls / game"), ("tokens_per_game", "tokens / game")]  # fmt: skip
    cells = []
    for key, label in keys:
        if key in summary:
            value = summary[key]
            shown = _pct(value) if key in ("letter", "word", "game") or key.startswith("best_") else value
            cells.append(f"<tr><th>{escape(label)}</th><td>{escape(shown)}</td></tr>")
    parts = [f"<h1>{escape(title)}</h1>", f'<table id="summary">{"".join(cells)}</table>']
    for r in records:
        head = (f"game {r['idx']}: letters {_pct(r['letter'])}, words {_pct(r['word'])}, "
                f"{'solved' if r['solved'] else 'not solved'}")  # fmt: skip
        parts.append(f'<section class="game"><h2>{escape(head)}</h2>')
        parts.append(_grid(r["output"], "output") + _grid(r.get("answer") or ["_____"] * 5, "answer"))
        if "visited" in r:
            stopped = r.get("stopped", "")
            parts.append(f"<p>{len(r['visited'])} states visited (stopped: {escape(stopped)}); s/m/i: the prune "
                         "verdicts sure / maybe / impossible</p>")  # fmt: skip
            parts.append(_visits(r))
        elif r.get("text"):
            parts.append(f"<details><summary>model output</summary><pre>{escape(r['text'])}</pre></details>")
        parts.append("</section>")
    return page(title, f"<style>{_STYLE}</style>" + "".join(parts))
