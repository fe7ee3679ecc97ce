"""Incremental daily runs (SPEC §12, issue 13): one new day on top of a short and a long history.

    .venv/bin/python bench/run.py --incremental                       # 1M events/day, 3 vs 30 days
    .venv/bin/python bench/run.py --incremental --events-per-day 100000 --history 3,10 --runs 1

For each history length H (same seed, users and daily volume; the new day is the same
calendar date in every case, so it holds the same volume):

1. generates H + 1 days of bronze ending on the new day, parks the new day's ``dt``
   folders (and the spill-over days after it) aside;
2. builds the history with a full ``ott silver`` + ``ott gold`` (timed, reported);
3. brings the new day back, keeps a copy of the built tables (``lake/``, ``catalog/``,
   ``gold/``), and times the daily run — ``ott silver --dt <new day>`` then ``ott gold``
   — in a fresh process (peak memory its own), ``--runs`` times, each time from that
   copy, the histories taking turns run by run: this VM's speed drifts by ±30 % within
   minutes, and alternating keeps a slow spell from landing on one history only.

Reported: the daily run's wall time per history and the ratio long/short (issue 13 asks
≤ 1.3×), each stage's time, and peak memory (asks: independent of history within 20 %).
"""

from __future__ import annotations

import datetime as dt_
import json
import shutil
import statistics
from pathlib import Path

NEW_DAY = dt_.date(2026, 12, 9)


def _bronze_dt_folders(data_dir: Path) -> list[Path]:
    return sorted(p for dataset in ("playback_events", "ad_events") for p in (data_dir / "bronze" / dataset).glob("dt=*"))


def prepare(work: Path, history: int, events_per_day: int, users: int, seed: int, measure) -> dict:
    """Bronze with ``history`` days + the new day, the history built; returns the build timing."""
    from scripts.generate import main as generate_main

    data_dir = work / f"history-{history}"
    shutil.rmtree(data_dir, ignore_errors=True)
    start = NEW_DAY - dt_.timedelta(days=history)
    code = generate_main(
        ["--data-dir", str(data_dir), "--seed", str(seed), "--start-date", start.isoformat(), "--days",
         str(history + 1), "--users", str(users), "--events-per-day", str(events_per_day)]
    )  # fmt: skip
    if code:
        raise SystemExit("generation failed")
    parked = work / f"parked-{history}"
    shutil.rmtree(parked, ignore_errors=True)
    for folder in _bronze_dt_folders(data_dir):
        if folder.name >= f"dt={NEW_DAY.isoformat()}":
            target = parked / folder.parent.name / folder.name
            target.parent.mkdir(parents=True, exist_ok=True)
            folder.rename(target)
    built = measure(["beam", str(data_dir)])
    for dataset in ("playback_events", "ad_events"):
        folder = parked / dataset / f"dt={NEW_DAY.isoformat()}"
        if folder.exists():
            folder.rename(data_dir / "bronze" / dataset / folder.name)
    return {"data_dir": str(data_dir), "history_build": built}


BUILT = ("lake", "catalog", "gold")  # what a daily run changes (bronze and run audits aside)


def _keep(data_dir: Path) -> Path:
    kept = data_dir.with_name(data_dir.name + "-built")
    shutil.rmtree(kept, ignore_errors=True)
    for name in BUILT:
        shutil.copytree(data_dir / name, kept / name)
    return kept


def _restore(data_dir: Path, kept: Path) -> None:
    for name in BUILT:
        shutil.rmtree(data_dir / name, ignore_errors=True)
        shutil.copytree(kept / name, data_dir / name)


def run(args, measure, beam_flags: list[str]) -> int:
    histories = [int(h) for h in args.history.split(",")]
    users = args.users or max(100, args.events_per_day // 100)
    work = Path(args.work_dir or "/tmp/ott-bench-incremental")
    prepared, kept = {}, {}
    for history in histories:
        print(f"[bench] history {history} days × {args.events_per_day:,} events/day: generating and building")
        prepared[history] = prepare(work, history, args.events_per_day, users, args.seed, measure)
        build = prepared[history]["history_build"]
        print(f"[bench]   history built in {build['seconds']:.1f} s {build['stages']}")
        kept[history] = _keep(Path(prepared[history]["data_dir"]))
    runs: dict[int, list[dict]] = {h: [] for h in histories}
    for i in range(args.runs):
        for history in histories:  # taking turns: see the module docstring
            data_dir = Path(prepared[history]["data_dir"])
            _restore(data_dir, kept[history])
            runs[history].append(measure(["daily", str(data_dir), NEW_DAY.isoformat(), *beam_flags]))
            r = runs[history][-1]
            print(f"[bench]   {history} days, daily run {i + 1}: {r['seconds']:.1f} s {r['stages']} peak {r['peak_rss_mib']:.0f} MiB")
    results = {}
    for history in histories:
        done = runs[history]
        results[history] = {
            "history_build": prepared[history]["history_build"],
            "daily_seconds_median": statistics.median(r["seconds"] for r in done),
            "daily_seconds_all": [round(r["seconds"], 3) for r in done],
            "daily_stages_median": {k: statistics.median(r["stages"][k] for r in done) for k in done[0]["stages"]},
            "daily_peak_rss_mib": max(r["peak_rss_mib"] for r in done),
        }
    for history in histories:  # 30 days at 1M/day is a lot of disk
        shutil.rmtree(prepared[history]["data_dir"], ignore_errors=True)
        shutil.rmtree(kept[history], ignore_errors=True)
    short, long = results[min(histories)], results[max(histories)]
    summary = {
        "events_per_day": args.events_per_day,
        "users": users,
        "new_day": NEW_DAY.isoformat(),
        "histories": results,
        "daily_ratio_long_over_short": long["daily_seconds_median"] / short["daily_seconds_median"],
        "stage_ratio_long_over_short": {
            k: long["daily_stages_median"][k] / short["daily_stages_median"][k] for k in short["daily_stages_median"]
        },
        "peak_ratio_long_over_short": long["daily_peak_rss_mib"] / short["daily_peak_rss_mib"],
    }
    out = Path(args.out or Path(__file__).resolve().parent / "results" / "incremental.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(
        f"[bench] daily run: {short['daily_seconds_median']:.1f} s on {min(histories)} days, "
        f"{long['daily_seconds_median']:.1f} s on {max(histories)} days → ratio {summary['daily_ratio_long_over_short']:.2f}× "
        f"(stages {summary['stage_ratio_long_over_short']}); peak ratio {summary['peak_ratio_long_over_short']:.2f} → {out}"
    )
    return 0
