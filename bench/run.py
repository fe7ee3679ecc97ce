"""Side-by-side benchmark: the Beam silver + gold stages against DuckDB on the same bronze.

    .venv/bin/python bench/run.py                      # 1M events, 3 alternating runs each
    .venv/bin/python bench/run.py --events 10000000    # 10M events
    .venv/bin/python bench/run.py --events 1000000 --runs 3 \\
        -- --direct_running_mode=multi_processing --direct_num_workers=2   # Beam flags after --
    .venv/bin/python bench/run.py --incremental        # one new day on 3 vs 30 days (bench/incremental.py)

What it does, on one machine, in one session:
1. generates bronze once (timed: generator events/s);
2. alternates, ``--runs`` times, (a) ``ott silver`` + ``ott gold`` (Beam, FnApiRunner) and
   (b) the independent DuckDB implementation of the same silver + gold rules that the
   differential tests use (``tests/reference``), each in a fresh process so that peak
   resident memory is its own;
3. checks that both sides produced the same nine gold tables, cell by cell;
4. times the warehouse load (rows/s) and, with ``--end-to-end``, ``ott run`` as a whole;
5. prints a summary and writes ``bench/results/<scale>.json`` (medians of the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from beam_pipelines import catalog  # noqa: E402
from beam_pipelines.schema import GOLD_TABLES, TABLE_KEYS  # noqa: E402

PY = sys.executable
DAYS = 7


def scale_name(events: int) -> str:
    return f"{events // 1_000_000}M" if events % 1_000_000 == 0 else f"{events // 1000}k"


def measure(args: list[str]) -> dict:
    """Run bench/_measure.py in a fresh process and return its JSON figures."""
    proc = subprocess.run([PY, str(ROOT / "bench" / "_measure.py"), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step {args[0]} failed:\n{proc.stderr[-3000:]}")
    line = next(l for l in proc.stdout.splitlines() if l.startswith("BENCH_RESULT "))
    return json.loads(line.removeprefix("BENCH_RESULT "))


def generate(data_dir: str, events: int, users: int, seed: int) -> dict:
    from scripts.generate import main as generate_main

    shutil.rmtree(data_dir, ignore_errors=True)
    t0 = time.perf_counter()
    code = generate_main(
        ["--data-dir", data_dir, "--seed", str(seed), "--days", str(DAYS), "--users", str(users),
         "--events-per-day", str(events // DAYS)]
    )
    seconds = time.perf_counter() - t0
    if code:
        raise SystemExit("generation failed")
    written = _count_bronze_rows(data_dir)
    return {"seconds": seconds, "events": written, "events_per_s": written / seconds}


def _count_bronze_rows(data_dir: str) -> int:
    total = 0
    for manifest in sorted(Path(catalog.manifest_dir(data_dir)).glob("dt=*.json")):
        totals = json.loads(manifest.read_text()).get("totals", {})
        total += sum(v.get("rows_written", 0) for k, v in totals.items() if k in ("playback_events", "ad_events"))
    return total


def compare_gold(data_dir: str, duckdb_out: str) -> list[str]:
    """Names of gold tables where Beam and DuckDB differ (empty when all match)."""
    import pyarrow.parquet as pq

    from tests.reference.compare import assert_frames_match, load_gold

    import pandas as pd

    mismatched = []
    for table in GOLD_TABLES:
        expected = pq.read_table(Path(duckdb_out) / f"{table}.parquet").to_pandas(types_mapper=pd.ArrowDtype)
        try:
            assert_frames_match(load_gold(data_dir, table), expected, TABLE_KEYS[table])
        except AssertionError as exc:
            print(f"  MISMATCH {table}: {str(exc)[:400]}")
            mismatched.append(table)
    return mismatched


def warehouse_load(data_dir: str) -> dict:
    from scripts.warehouse import main as warehouse_main

    t0 = time.perf_counter()
    if warehouse_main(["--data-dir", data_dir]):
        raise SystemExit("warehouse load failed")
    seconds = time.perf_counter() - t0
    con = sqlite3.connect(catalog.warehouse_file(data_dir))
    try:
        names = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        rows = sum(con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names)
    finally:
        con.close()
    return {"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds}


def end_to_end(data_dir: str, users: int, events: int) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(Path(PY).parent / "ott"), "run", "--data-dir", data_dir, "--days", str(DAYS),
         "--users", str(users), "--events-per-day", str(events // DAYS)],
        capture_output=True, text=True,
    )
    if proc.returncode:
        raise SystemExit(f"ott run failed: {proc.stderr[-2000:]}")
    return {"seconds": time.perf_counter() - t0}


def summarise(runs: list[dict]) -> dict:
    keys = runs[0]["stages"].keys()
    return {
        "seconds_median": statistics.median(r["seconds"] for r in runs),
        "seconds_all": [round(r["seconds"], 3) for r in runs],
        "stages_median": {k: statistics.median(r["stages"][k] for r in runs) for k in keys},
        # Iceberg commits + release after each Beam job (SPEC §11), and their share of the stage
        **(
            {
                "commit_s_median": {k: statistics.median(r["commit_s"][k] for r in runs) for k in runs[0]["commit_s"]},
                "commit_share_median": {
                    k: statistics.median(r["commit_s"][k] / r["stages"][k] for r in runs) for k in runs[0]["commit_s"]
                },
            }
            if "commit_s" in runs[0]
            else {}
        ),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "peak_rss_children_mib": max(r["peak_rss_children_mib"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    beam_flags: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, beam_flags = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000, help="total events over 7 days (default: %(default)s)")
    p.add_argument("--users", type=int, help="users (default: events / 100)")
    p.add_argument("--runs", type=int, default=3, help="alternating runs per side (default: %(default)s)")
    p.add_argument("--seed", type=int, default=51)
    p.add_argument("--work-dir", default=None, help="scratch folder (default: /tmp/ott-bench-<scale>)")
    p.add_argument("--end-to-end", action="store_true", help="also time `ott run` at this scale")
    p.add_argument("--out", default=None, help="result JSON (default: bench/results/<scale>.json)")
    p.add_argument(
        "--incremental", action="store_true",
        help="instead: time one daily run (ott silver --dt + ott gold) on top of --history days (bench/incremental.py)",
    )  # fmt: skip
    p.add_argument("--history", default="3,30", help="with --incremental: history lengths in days (default: %(default)s)")
    p.add_argument(
        "--events-per-day", type=int, default=1_000_000, help="with --incremental: daily volume (default: %(default)s)"
    )
    args = p.parse_args(argv)
    if args.incremental:
        sys.path.insert(0, str(ROOT / "bench"))
        import incremental

        return incremental.run(args, measure, beam_flags)
    scale = scale_name(args.events)
    users = args.users or max(100, args.events // 100)
    work = Path(args.work_dir or f"/tmp/ott-bench-{scale}")
    data_dir, duck_out = str(work / "data"), str(work / "duckdb_out")

    print(f"[bench] {scale}: generating {args.events:,} events, {users:,} users, {DAYS} days → {data_dir}")
    gen = generate(data_dir, args.events, users, args.seed)
    print(f"[bench] generator: {gen['events']:,} events in {gen['seconds']:.1f} s = {gen['events_per_s']:,.0f} events/s")

    beam_runs, duck_runs = [], []
    for i in range(args.runs):
        beam_runs.append(measure(["beam", data_dir, *beam_flags]))
        print(
            f"[bench] run {i + 1}: beam   {beam_runs[-1]['seconds']:7.1f} s  {beam_runs[-1]['stages']}"
            f"  commits {beam_runs[-1]['commit_s']}"
        )
        duck_runs.append(measure(["duckdb", data_dir, duck_out]))
        print(f"[bench] run {i + 1}: duckdb {duck_runs[-1]['seconds']:7.1f} s")

    mismatched = compare_gold(data_dir, duck_out)
    wh = warehouse_load(data_dir)
    print(f"[bench] warehouse: {wh['rows']:,} rows in {wh['seconds']:.1f} s = {wh['rows_per_s']:,.0f} rows/s")
    e2e = end_to_end(str(work / "e2e"), users, args.events) if args.end_to_end else None

    beam, duck = summarise(beam_runs), summarise(duck_runs)
    result = {
        "scale": scale,
        "events": gen["events"],
        "users": users,
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "beam_flags": beam_flags,
        "generator": gen,
        "beam": beam,
        "duckdb": duck,
        "ratio_beam_over_duckdb": beam["seconds_median"] / duck["seconds_median"],
        "beam_events_per_s": gen["events"] / beam["seconds_median"],
        "duckdb_events_per_s": gen["events"] / duck["seconds_median"],
        "gold_identical": not mismatched,
        "gold_mismatched_tables": mismatched,
        "warehouse": wh,
        "end_to_end": e2e,
    }
    out = Path(args.out or ROOT / "bench" / "results" / f"{scale}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(
        f"[bench] {scale}: beam {beam['seconds_median']:.1f} s (peak {beam['peak_rss_mib']:.0f} MiB) | "
        f"duckdb {duck['seconds_median']:.1f} s (peak {duck['peak_rss_mib']:.0f} MiB) | "
        f"ratio {result['ratio_beam_over_duckdb']:.2f}× | gold identical: {not mismatched} → {out}"
    )
    return 0 if not mismatched else 1


if __name__ == "__main__":
    raise SystemExit(main())
