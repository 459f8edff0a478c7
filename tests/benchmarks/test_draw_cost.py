"""`benchmarks/draw_cost.py` on a small vocabulary: both draws are timed, and the old draw it times against is the
same distribution as the sampler's (their frequencies agree)."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks.scripts import load

torch = pytest.importorskip("torch")


def test_both_draws_are_timed(tmp_path, capsys):
    bench = load("draw_cost")
    out = tmp_path / "draw.json"
    result = bench.main(["--vocab", "97", "--calls", "3", "--repeats", "1", "--top-p", "0.9", "--flip-seeds", "20",
                         "--json", str(out)])  # fmt: skip
    assert result["multinomial_ms"] > 0 and result["race_ms"] > 0
    assert set(result["flips"]) == {"race", "cumulative"} and all(0 <= n <= 20 for n in result["flips"].values())
    assert json.loads(out.read_text())["vocab"] == 97 and "ms a draw" in capsys.readouterr().out


@pytest.mark.parametrize("top_p", [1.0, 0.8])
def test_the_two_draws_follow_one_distribution(top_p):
    from reasoning.decoding import _draw

    bench = load("draw_cost")
    logits = torch.tensor([0.5, 2.0, -1.0, 1.5, 0.0])
    old, new = torch.Generator().manual_seed(3), torch.Generator().manual_seed(4)
    draws = 8000
    a = torch.bincount(torch.tensor([bench.multinomial(logits, 0.7, top_p, old) for _ in range(draws)]), minlength=5)
    b = torch.bincount(torch.tensor([_draw(logits, 0.7, top_p, new) for _ in range(draws)]), minlength=5)
    assert ((a == 0) == (b == 0)).all()
    assert ((a - b).abs().double() / draws).max() < 0.03, (a, b)
