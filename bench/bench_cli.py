"""Wall time of `ott --help` and of every `ott <command> --help` (fresh processes, median).

    .venv/bin/python bench/bench_cli.py            # 7 runs per command
    .venv/bin/python bench/bench_cli.py --runs 15 --json bench/results/cli_help.json

Help must stay under a second: it is answered before any heavy import (Beam, pyarrow,
pandas). For scale, the last row times importing the silver stage module, which is what
`ott silver --help` used to cost. A timing, not a test: tests/scripts/test_cli.py checks
that help imports neither Beam nor pandas.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.cli import COMMANDS  # noqa: E402 - after the path tweak

OTT = str(Path(sys.executable).parent / "ott")


def wall_time(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per command (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    cases = {"ott --help": [OTT, "--help"]}
    cases.update({f"ott {name} --help": [OTT, name, "--help"] for name in COMMANDS})
    cases["(import beam_pipelines.silver_pipeline)"] = [sys.executable, "-c", "import beam_pipelines.silver_pipeline"]
    results = {}
    for label, argv in cases.items():
        wall_time(argv)  # warm the page cache and the bytecode
        times = [wall_time(argv) for _ in range(args.runs)]
        results[label] = {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}
        print(f"{label:<42} median {results[label]['median_s']:.3f} s   max {results[label]['max_s']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
