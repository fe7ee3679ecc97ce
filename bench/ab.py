"""A/B the Beam silver + gold stages of two versions of the code on the same bronze.

    .venv/bin/python bench/ab.py d9468b1                    # the pre-lakehouse code vs this checkout
    .venv/bin/python bench/ab.py d9468b1 --rounds 10 --events 10000000
    .venv/bin/python bench/ab.py HEAD~3 HEAD --rounds 6     # two commits

This machine's speed drifts by ±30 % within minutes, so two figures taken minutes apart
do not compare. Here the two sides take turns, round by round, in ABBA order (A B, B A,
A B …), each run in a fresh process on a fresh copy of the same bronze, so a slow spell
lands on both. Per side: CPU (user + sys) and wall time of silver + gold; the summary
gives the medians and the per-round ratios B / A — the figure to trust on a noisy machine.

Commits are checked out with ``git worktree`` under the work folder (``.`` is this
working tree, uncommitted changes included); every side runs on this checkout's
``.venv``, so the comparison is of code, not of library versions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PY = sys.executable
SIDE = ROOT / "bench" / "_ab_side.py"


def checkout(rev: str, work: Path) -> tuple[str, Path]:
    """(label, folder) of ``rev``: this working tree for ``.``, else a detached worktree."""
    if rev == ".":
        return "working tree", ROOT
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True, text=True).stdout.strip()
    folder = work / "checkouts" / sha
    if not folder.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), sha], check=True, capture_output=True)
    return sha, folder


def run_side(folder: Path, bronze: Path, data_dir: Path) -> dict:
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    shutil.copytree(bronze, data_dir / "bronze")
    # write back what the previous run left dirty, so that it does not slow this one
    os.sync()
    proc = subprocess.run([PY, str(SIDE), str(folder), str(data_dir)], capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("AB_RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{folder}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    stages = json.loads(lines[-1].removeprefix("AB_RESULT "))
    return {
        **stages,
        "cpu": round(sum(s["cpu"] for s in stages.values()), 3),
        "wall": round(sum(s["wall"] for s in stages.values()), 3),
        "load": float(Path("/proc/loadavg").read_text().split()[0]) if Path("/proc/loadavg").exists() else None,
    }


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f} %"


def summarise(runs: list[dict], a: str, b: str) -> dict:
    summary: dict = {}
    for measure in ("cpu", "wall"):
        med_a = statistics.median(r["a"][measure] for r in runs)
        med_b = statistics.median(r["b"][measure] for r in runs)
        ratios = [r["b"][measure] / r["a"][measure] for r in runs]
        summary[measure] = {
            "median_a": round(med_a, 3),
            "median_b": round(med_b, 3),
            "ratio_of_medians": round(med_b / med_a, 4),
            "per_round_ratios": [round(x, 4) for x in ratios],
            "median_per_round_ratio": round(statistics.median(ratios), 4),
        }
        print(
            f"{measure:4}  A {a}: median {med_a:.2f} s   B {b}: median {med_b:.2f} s   "
            f"B/A of medians {_pct(med_b / med_a)}   per round {', '.join(_pct(x) for x in ratios)} "
            f"(median {_pct(statistics.median(ratios))})"
        )
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="side A: a commit (e.g. d9468b1) or . for this working tree")
    p.add_argument("b", nargs="?", default=".", help="side B (default: this working tree)")
    p.add_argument("--rounds", type=int, default=8, help="alternations (default: %(default)s)")
    p.add_argument("--events", type=int, default=1_000_000, help="total events over 7 days (default: %(default)s)")
    p.add_argument("--users", type=int, help="users (default: events / 100)")
    p.add_argument("--seed", type=int, default=51)
    p.add_argument("--work-dir", default=None, help="scratch folder (default: /tmp/ott-ab-<scale>)")
    p.add_argument("--out", default=None, help="result JSON (default: <work-dir>/ab.json)")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")

    from bench.run import generate, scale_name

    scale = scale_name(args.events)
    work = Path(args.work_dir or f"/tmp/ott-ab-{scale}")
    work.mkdir(parents=True, exist_ok=True)
    (label_a, folder_a), (label_b, folder_b) = checkout(args.a, work), checkout(args.b, work)
    source = work / "source"
    if not (source / "bronze").exists():
        print(f"generating {args.events:,} events (seed {args.seed}) …", flush=True)
        generate(str(source), args.events, args.users or max(args.events // 100, 10), args.seed)
    runs = []
    for r in range(1, args.rounds + 1):
        order = (("a", folder_a), ("b", folder_b)) if r % 2 else (("b", folder_b), ("a", folder_a))
        result = {"round": r}
        for side, folder in order:
            t0 = time.perf_counter()
            result[side] = run_side(folder, source / "bronze", work / f"data-{side}")
            print(
                f"round {r} {side.upper()}: cpu {result[side]['cpu']:.2f} s, wall {result[side]['wall']:.2f} s "
                f"(load {result[side]['load']}; {time.perf_counter() - t0:.0f} s with copy and start-up)",
                flush=True,
            )
        runs.append(result)
    summary = summarise(runs, label_a, label_b)
    out = Path(args.out or work / "ab.json")
    out.write_text(json.dumps({"a": label_a, "b": label_b, "events": args.events, "runs": runs, "summary": summary}, indent=2) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
