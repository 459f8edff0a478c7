"""Time `make demo` as a new user meets it: a fresh clone, no pip cache, nothing built.

    python benchmarks/cold_demo.py [--shared ../shared] [--keep]

Clones this repository's HEAD into a temporary folder, links the shared data folder beside it (where the demo reads
`../shared/data`), runs `PIP_NO_CACHE_DIR=1 make demo` there, and prints the machine, the wall time of the whole
command (venv, llama.cpp build, model install, plug-in training and the three runs), and the demo's comparison table.
Issue 14's target: under 15 minutes, with at least one puzzle solved by ToT. Run it on an otherwise idle machine:
the build and the model share the cores with anything else running.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import describe

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="folder holding data/")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its runs/demo) after the run")
    args = parser.parse_args()
    shared = args.shared.resolve()
    if not (shared / "data").is_dir():
        print(f"error: no data/ folder in {shared} (pass --shared)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="cold-demo-"))
    try:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(work / "main")], check=True)
        (work / "shared").symlink_to(shared)
        env = {**os.environ, "PIP_NO_CACHE_DIR": "1"}
        env.pop("VIRTUAL_ENV", None)
        log = work / "demo.log"
        started = time.perf_counter()
        with log.open("w") as out:
            rc = subprocess.run(
                ["make", "demo"], cwd=work / "main", env=env, stdout=out, stderr=subprocess.STDOUT
            ).returncode
        seconds = time.perf_counter() - started
        text = log.read_text(errors="replace")
        command = text.rfind("game24 compare ")
        table = text[text.find("\n", command) + 1 :] if command >= 0 else ""
        print(f"machine: {describe()}")
        print(f"make demo (fresh clone, PIP_NO_CACHE_DIR=1): exit {rc}, {seconds:.0f} s ({seconds / 60:.1f} min)")
        print(table.rstrip() or f"(no comparison table; see {log})")
        return rc
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
