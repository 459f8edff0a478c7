"""`benchmarks/profile_shares.py`: a frame's share counts each sample once, only samples under the root frame."""

from __future__ import annotations

from tests.benchmarks.scripts import load

RAW = """run (a.py:1);decode_batch (b.py:2);forward (c.py:3);linear (d.py:4) 6
run (a.py:1);decode_batch (b.py:2);forward (c.py:3);norm (d.py:9) 3
run (a.py:1);decode_batch (b.py:2);draw (e.py:5);softmax (e.py:6);softmax (e.py:7) 1
run (a.py:1);idle (f.py:1) 90
malformed line
"""


def test_shares_count_each_sample_once_under_the_root(tmp_path, capsys):
    bench = load("profile_shares")
    total, inclusive = bench.shares(RAW.splitlines(), "decode_batch")
    assert total == 10 and inclusive["forward"] == 9 and inclusive["linear"] == 6
    assert inclusive["softmax"] == 1 and "idle" not in inclusive  # a recursive frame once; others' samples out
    path = tmp_path / "prof.raw"
    path.write_text(RAW)
    bench.main([str(path), "--under", "forward", "--top", "2"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "9 samples under forward" and out[1].strip().startswith("100.0%")
