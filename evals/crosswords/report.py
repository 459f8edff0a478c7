"""The crosswords report, in the one report shell (`evals.harness.page`: self-contained, no script): the success
rates as the paper's Table 3 (letter / word / game %, with the oracle "+best state" row) and the cost, what the run
is (pruned or not, a replay whose proposals were rebuilt), a legend of the DFS listing, then each game: its clues
with the output's, the best state's and the answer's words, the three boards side by side with their scores, and
for DFS the visited states in visiting order.

The clues come from the record (`clues`) when it holds them, else from the run's games file (run.json's
`--games-file`, or the shared mini0505.json), used only when the game's answer there is the record's. Every figure
is rounded once, by `figure`: fractions as percentages with one decimal, per-game means with one decimal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from reasoning.errors import ReasoningError

from ..harness import escape, page
from .board import CLUE_NAMES, words_of
from .data import load_games

__all__ = ["LABELS", "PAPER", "figure", "label", "render_report", "title_of"]

_STYLE = (".grid{font-family:monospace;font-size:1.2em;line-height:1.2;white-space:pre;display:inline-block;"
          "margin-right:2em;vertical-align:top}.pruned{color:#a00}.out{font-weight:bold}.visits{font-family:"
          "monospace;white-space:pre;font-size:.9em;overflow-x:auto}.legend dt{font-family:monospace;"
          "font-weight:600}.legend dd{margin:0 0 4px 2em}")  # fmt: skip

# Yao et al. (2023), Table 3: GPT-4's success rates (%), letter / word / game, by method and pruning.
PAPER = {("io", True): (38.7, 14.0, 0.0), ("cot", True): (40.6, 15.6, 1.0), ("tot-dfs", True): (78.0, 60.0, 20.0),
         ("tot-dfs", False): (65.4, 41.5, 5.0)}  # fmt: skip
PAPER_BEST = (82.4, 67.5, 35.0)  # ToT "+best state"
_RATES = ("letter", "word", "game")
_FILL = re.compile(r"^([hv][1-5])\.")


# The printed summary's and the report's names for summary.json's keys (a key not here is shown as it is).
LABELS = {"letter": "letter success", "word": "word success", "game": "game success",
          "best_letter": "letter success, best state (oracle)", "best_word": "word success, best state (oracle)",
          "best_game": "game success, best state (oracle)", "visited_per_game": "states visited / game",
          "calls_per_game": "model calls / game", "tokens_per_game": "tokens / game",
          "dollars": "dollars (all games)"}  # fmt: skip


def label(key: str) -> str:
    """`key` of summary.json as the printed summary and the report name it (`LABELS`)."""
    return LABELS.get(key, key)


def figure(key: str, value: Any) -> str:
    """A summary value as the report (and the printed summary) shows it, rounded once: the success rates
    (`letter`, `word`, `game`, `best_*`: fractions) as percentages with one decimal, the per-game means with one
    decimal, dollars with four; anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if key in _RATES or key.startswith("best_"):
        return f"{100 * value:.1f}%"
    if key == "dollars":
        return f"{value:.4f}"
    if key.endswith("_per_game"):
        return f"{value:.1f}"
    return str(value)


def _config(info: dict[str, Any]) -> dict[str, Any]:
    return info.get("config") or {}


def _replay(info: dict[str, Any]) -> bool:
    return (info.get("identity") or {}).get("--backend") == "replay"


def _rebuilt(info: dict[str, Any]) -> bool:
    """Whether the confidences are placeholders: a replay without pruning rebuilds every proposal from the log."""
    return _replay(info) and _config(info).get("prune") is False


def title_of(summary: dict[str, Any], info: dict[str, Any]) -> str:
    """The report's title: the method, for DFS whether it pruned, the model, and "replay" for a replayed run."""
    method = str(summary.get("method") or _config(info).get("method") or "")
    if method == "tot-dfs":
        method = "ToT DFS, " + ("pruned" if _config(info).get("prune", True) else "without pruning (ablation)")
    model = str(info.get("model") or summary.get("model") or "")
    return f"Mini crosswords — {method} — {model}" + (" (replay of the published run)" if _replay(info) else "")


def _clues(records: Sequence[dict[str, Any]], info: dict[str, Any]) -> tuple[dict[int, list[str]], str]:
    """Game number -> its 10 clues: the record's, else the run's games file's where its answer is the record's;
    and a note saying where the clues the records lack were read ("" when none was)."""
    found = {r["idx"]: [str(c) for c in r["clues"]] for r in records if len(r.get("clues") or ()) == 10}
    if len(found) == len(records):
        return found, ""
    path = (info.get("identity") or {}).get("--games-file")
    try:
        games = load_games(path if isinstance(path, str) else None)
    except (ReasoningError, OSError):
        return found, "The records hold no clues and the run's games file could not be read."
    for r in records:
        idx = r["idx"]
        if idx not in found and 0 <= idx < len(games) and _cells(r.get("answer")) == list(games[idx].answer):
            found[idx] = list(games[idx].clues)
    where = path if isinstance(path, str) else "the shared mini0505.json"
    return found, f"Clues read from {where} (the run's games file, as it is now), by game number and answer."


def _cells(rows: Any) -> list[str] | None:
    """25 cells of a 5-row grid, or None for anything else."""
    if not isinstance(rows, list) or len(rows) != 5 or not all(isinstance(r, str) and len(r) == 5 for r in rows):
        return None
    return list("".join(rows))


def _grid(rows: Any, title: str, answer: list[str] | None) -> str:
    """A board, its letters that differ from the answer's in red."""
    cells = _cells(rows) or ["?"] * 25
    shown = [escape(c) if answer is None or c == a else f'<span class="wrong">{escape(c)}</span>'
             for c, a in zip(cells, answer or cells, strict=True)]  # fmt: skip
    body = "\n".join(" ".join(shown[r * 5 : r * 5 + 5]) for r in range(5))
    return f'<div class="grid"><b>{escape(title)}</b>\n{body}</div>'


def _scores(letter: float, word: float, solved: bool) -> str:
    return f"{round(25 * letter)}/25 letters, {round(10 * word)}/10 words, {'solved' if solved else 'not solved'}"


def _summary(summary: dict[str, Any], info: dict[str, Any]) -> str:
    method = str(summary.get("method", ""))
    prune = bool(_config(info).get("prune", True))
    head = "<tr><th></th><th>letter</th><th>word</th><th>game</th></tr>"

    def row(name: str, values: Sequence[str]) -> str:
        return f"<tr><th>{escape(name)}</th>" + "".join(f'<td class="n">{escape(v)}</td>' for v in values) + "</tr>"

    rows = [row("output", [figure(k, summary[k]) for k in _RATES])] if "letter" in summary else []
    if "best_letter" in summary:
        rows.append(row("+best state (oracle)", [figure(f"best_{k}", summary[f"best_{k}"]) for k in _RATES]))
    paper = PAPER.get((method, prune or method != "tot-dfs"))
    if paper:
        rows.append(row("paper, GPT-4: output", [f"{v:.1f}%" for v in paper]))
        if method == "tot-dfs" and prune:
            rows.append(row("paper, GPT-4: +best state", [f"{v:.1f}%" for v in PAPER_BEST]))
    games = summary.get("games", 0)
    costs = ("games", "visited_per_game", "calls_per_game", "tokens_per_game", "dollars")
    cost = "".join(f'<tr><th>{escape(label(k))}</th><td class="n">{escape(figure(k, summary[k]))}</td></tr>'
                   for k in costs if k in summary)  # fmt: skip
    return (f'<table id="summary"><caption>Success rate (%), mean over {escape(games)} games (as the paper\'s Table '
            f"3)</caption>{head}{''.join(rows)}</table>"
            '<p class="note">letter: the share of the 25 cells right; word: of the 10 words (rows h1-h5, columns '
            "v1-v5) right; game: the share of games whose whole board is right. +best state: the oracle's pick, the "
            "visited state with the most words right in each game (it looks at the answer; the search does not)."
            f'</p><table id="cost">{cost}</table>')  # fmt: skip


def _notes(info: dict[str, Any], dfs: bool) -> str:
    if not _replay(info):
        return ""
    text = ("This run replays the paper's published GPT-4 run (--backend replay): the visited states, their order "
            "and their sure / maybe / impossible counts are the log's; which clue got which verdict is a "
            "placeholder that gives those counts.")  # fmt: skip
    if dfs and _rebuilt(info):
        text += (" The run without pruning has no proposals in the published cache (env_cache.json): every proposal "
                 "was rebuilt from the log's visiting order, so its confidences (1.0, 2.0, 3.0, ...) are "
                 "placeholders that give that order, not the model's.")  # fmt: skip
    elif dfs:
        text += " The confidences are GPT-4's, from the published proposal cache (env_cache.json)."
    return f'<p class="note" id="replay"><b>{escape(text)}</b></p>'


def _legend(prune: bool, rebuilt: bool) -> str:
    conf = ("the proposer's confidence in the fill: its confidence words (certain 1, high 0.5, medium 0.2, low 0.1) "
            "summed over the proposal samples; a state's children are visited in that order.")  # fmt: skip
    if rebuilt:
        conf += " † Here a placeholder: the proposals were rebuilt from the log, not the model's."
    items = [
        ("number", "the visit number: the order the DFS scored the states in."),
        ("indentation", "the depth: one step per fill made since the empty board; a line shows its last fill."),
        ("h2. motor", "the fill: the clue (h1-h5 rows, v1-v5 columns) and the word written; the clue's text ends "
         "the line."),
        ("conf" + ("†" if rebuilt else ""), conf),
        ("s/m/i", "the prune verdicts' counts, sure / maybe / impossible, over the clues with 2 or more letters"
         + ("." if prune else "; without pruning they are asked and counted, but no state is pruned.")),
        ("words k/10", "the board's words right against the answer (for the reader; the search does not see it)."),
        ("↩ after backtracking", "the state's parent is not the line above: the search went back up to reach it."),
    ]  # fmt: skip
    if prune:
        items.append(("PRUNED", "a clue was judged impossible: the state is scored but not expanded."))
    items += [
        ("OUTPUT", "the run's output, by the paper's rule: the deepest visited state, the first reached at that "
         "depth, pruned or not (so OUTPUT can sit on a PRUNED state)."),
        ("BEST", "the oracle's pick: the visited state with the most words right (the first of equals)."),
    ]  # fmt: skip
    body = "".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in items)
    return f'<details open class="legend"><summary>How to read a DFS listing</summary><dl>{body}</dl></details>'


def _visits(record: dict[str, Any], clues: list[str] | None, rebuilt: bool) -> str:
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
        marks = ["PRUNED" if r["pruned"] else "", "↩ after backtracking" if back else "",
                 "OUTPUT" if i == output else "", "BEST" if number == best else ""]  # fmt: skip
        fill = str(r["fills"][-1])
        text = (f"{number:>3} {'  ' * (len(r['fills']) - 1)}{fill:<10} conf{'†' if rebuilt else ''} "
                f"{r.get('confidence') or 0:4.1f} s/m/i {counts:<7} words {round(10 * r['word'])}/10 "
                f"{' '.join(m for m in marks if m)}")  # fmt: skip
        name = _FILL.match(fill)
        clue = clues[CLUE_NAMES.index(name.group(1))] if clues and name else ""
        css = "pruned" if r["pruned"] else "out" if i == output else ""
        tail = f' <span class="v">“{escape(clue)}”</span>' if clue else ""
        lines.append(f'<span class="{css}">{escape(text.rstrip())}</span>{tail}')
    return '<div class="visits">' + "\n".join(lines) + "</div>"


def _clue_table(clues: list[str] | None, grids: Sequence[tuple[str, Any]], answer: list[str] | None) -> str:
    """One row per clue: its name and text, then each board's word for it (wrong ones in red)."""
    words = [(title, words_of(cells)) for title, rows in grids if (cells := _cells(rows)) is not None]
    right = words_of(answer) if answer else None
    head = "<tr><th>clue</th><th></th>" + "".join(f"<th>{escape(t)}</th>" for t, _ in words) + "</tr>"
    body = []
    for k, name in enumerate(CLUE_NAMES):
        row = "".join(
            f'<td class="{"right" if right and w[k] == right[k] else "wrong" if right else ""}">'
            f"<code>{escape(w[k])}</code></td>"
            for _, w in words
        )
        text = clues[k] if clues else "(clue not found)"
        body.append(f"<tr><th>{escape(name)}</th><td>{escape(text)}</td>{row}</tr>")
    return f'<table class="clues">{head}{"".join(body)}</table>'


def _game(r: dict[str, Any], clues: list[str] | None, rebuilt: bool) -> str:
    head = f"game {r['idx']}: output {_scores(r['letter'], r['word'], bool(r['solved']))}"
    answer = _cells(r.get("answer"))
    grids: list[tuple[str, Any]] = [("output", r["output"])]
    best = r.get("best")
    visited = r.get("visited") or []
    if best and 1 <= best.get("visit", 0) <= len(visited) and visited[best["visit"] - 1].get("grid"):
        grids.append((f"best state (visit {best['visit']})", visited[best["visit"] - 1]["grid"]))
    grids.append(("answer", r.get("answer") or ["_____"] * 5))
    scores = {"output": _scores(r["letter"], r["word"], bool(r["solved"]))}
    if best and len(grids) == 3:
        scores[grids[1][0]] = _scores(best["letter"], best["word"], bool(best["solved"]))
    boards = "".join(_grid(rows, f"{title}\n{scores[title]}" if title in scores else title, answer)
                     for title, rows in grids)  # fmt: skip
    parts = [f'<section class="game"><h2>{escape(head)}</h2>', boards, _clue_table(clues, grids, answer)]
    if "visited" in r:
        parts.append(f"<p>{len(visited)} states visited (stopped: {escape(r.get('stopped', ''))}); the legend above "
                     "says how to read each line.</p>")  # fmt: skip
        parts.append(_visits(r, clues, rebuilt))
    elif r.get("text"):
        parts.append(f"<details><summary>model output</summary><pre>{escape(r['text'])}</pre></details>")
    return "".join(parts) + "</section>"


def render_report(records: Sequence[dict[str, Any]], summary: dict[str, Any], info: dict[str, Any]) -> str:
    """report.html's content from the records, the summary and run.json's content (`info`: `identity`, `model`,
    `config`): the success table and cost, the run's notes and the DFS legend, then every game."""
    title = title_of(summary, info)
    dfs = any("visited" in r for r in records)
    rebuilt = dfs and _rebuilt(info)
    clues, source = _clues(records, info)
    parts = [f"<h1>{escape(title)}</h1>", _summary(summary, info), _notes(info, dfs)]
    if source:
        parts.append(f'<p class="note" id="clues">{escape(source)}</p>')
    if dfs:
        parts.append(_legend(bool(_config(info).get("prune", True)), rebuilt))
    parts += [_game(r, clues.get(r["idx"]), rebuilt) for r in records]
    return page(title, f"<style>{_STYLE}</style>" + "".join(parts))
