"""Benchmark of ``ott generate``: events written per second, in-process.

    .venv/bin/python bench/bench_generate.py                      # ~1M events: 7 days × 10k users
    .venv/bin/python bench/bench_generate.py --events 10000000 --users 100000

Runs ``scripts.generate.generate`` once on a tiny configuration (so imports and lazy
initialisation are not timed), then times one full generation — dimensions, simulation,
rendering and writing every file and manifest — into a temporary folder, and writes
``bench/results/generate_<events>.json`` with the events written, seconds and events/s.
Run it on an idle machine (check ``uptime``): the figure is CPU-bound.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.generate import GenerateConfig, generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000, help="target events in total (default: %(default)s)")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=51)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="threads (default: %(default)s)")
    p.add_argument("--data-dir", help="where to write; its bronze/ is replaced (default: a temporary folder, removed afterwards)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    scratch = tempfile.mkdtemp(prefix="bench-generate-")
    data_dir = args.data_dir or os.path.join(scratch, "data")
    try:
        generate(GenerateConfig(data_dir=os.path.join(scratch, "warmup"), days=1, users=100, events_per_day=2000))
        cfg = GenerateConfig(data_dir=data_dir, seed=args.seed, days=args.days, users=args.users,
                             events_per_day=max(1, args.events // args.days), clean=True, workers=args.workers)
        cpu0 = time.process_time()
        stats = generate(cfg)
        cpu = time.process_time() - cpu0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    result = {
        "command": "python bench/bench_generate.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "days": args.days,
        "users": args.users,
        "workers": args.workers,
        "events_per_day": cfg.events_per_day,
        "events": stats.events,
        "playback_events": stats.playback_events,
        "ad_events": stats.ad_events,
        "seconds": round(stats.seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "events_per_second": round(stats.events_per_second),
        "cpus": os.cpu_count(),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }
    out = ROOT / "bench" / "results" / f"generate_{args.events}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{stats.events:,} events in {stats.seconds:.2f} s → {stats.events_per_second:,.0f} events/s "
          f"(cpu {cpu:.2f} s) → {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
