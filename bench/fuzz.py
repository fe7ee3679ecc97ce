"""The long fuzz run: the hostile-bronze property test of ``tests/beam_pipelines/test_fuzz.py``
with a bigger budget than CI's.

    .venv/bin/python bench/fuzz.py --cases 20000              # 50 data sets of 400 cases
    .venv/bin/python bench/fuzz.py --cases 4000 --seed 7      # reproducible
    nice -n 10 .venv/bin/python bench/fuzz.py --cases 20000 --shrink   # minimise a failure

A hypothesis example is one bronze data set of ``--per-run`` mutated rows (at most ~600:
hypothesis caps the choices one example may draw) and costs one ``ott silver`` + one
``ott gold`` run, so the number of pipeline runs is 2 × ⌈cases / per-run⌉. The summary
(cases, data sets, wall time, outcome) is printed and written to
``bench/results/fuzz.json``; record the last one in ``bench/NOTES.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/beam_pipelines/test_fuzz.py::test_hostile_rows_never_crash_drop_or_overflow"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="mutated rows in total (default: %(default)s)")
    parser.add_argument(
        "--per-run", type=int, default=400, help="cases per data set / pipeline run (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, help="hypothesis seed (default: random)")
    parser.add_argument("--shrink", action="store_true", help="let hypothesis minimise a failing data set (slow)")
    args = parser.parse_args(argv)
    runs = math.ceil(args.cases / args.per_run)
    env = {**os.environ, "OTT_FUZZ_EXAMPLES": str(runs), "OTT_FUZZ_CASES": str(args.per_run)}
    if args.shrink:
        env["OTT_FUZZ_SHRINK"] = "1"
    # no per-test timeout: the long run is one hypothesis test of many pipeline runs
    command = [sys.executable, "-m", "pytest", "-n", "0", "-q", "-p", "no:cacheprovider", "--timeout=0", TEST]
    if args.seed is not None:
        command.append(f"--hypothesis-seed={args.seed}")
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    summary = {
        "cases": runs * args.per_run,
        "data_sets": runs,
        "pipeline_runs": 2 * runs,
        "seed": args.seed,
        "wall_s": round(elapsed, 1),
        "s_per_data_set": round(elapsed / runs, 1),
        "passed": result.returncode == 0,
        "last_line": (result.stdout.strip().splitlines() or [""])[-1],
    }
    out = ROOT / "bench" / "results" / "fuzz.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    if result.returncode != 0:
        sys.stdout.write(result.stdout[-6000:])
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
