"""``ott generate``: deterministic synthetic bronze (SPEC §2–3) with its ground truth.

    ott generate                                   # 7 days from 2026-11-02, 10k users, ~1M events
    ott generate --data-dir data --seed 51 --start-date 2026-11-02 --days 7 \\
                 --users 10000 --events-per-day 143000 --defect-rate 0.01
    ott generate --start-date 2026-11-05 --days 1  # one day (what the Airflow DAG runs per logical date)
    ott generate --users 100000 --events-per-day 1500000   # 10M+ events, written day by day

Same arguments → byte-identical bronze. Each generation day D draws from its own stream
``numpy.random.default_rng([seed, 4, D])`` and the dimensions depend only on
``(seed, users)``, so ``--days 7`` writes exactly what seven ``--days 1`` runs write, in
any order. Day D writes into dt=D, and into dt=D+1…D+3 (sessions crossing midnight,
late arrivals, replays) — also past the last requested day: those partitions are
simply the spill-over the next days' runs add to. See docs/generator.md for what is
generated and the manifest format (``bronze/_manifest/``).
"""

from __future__ import annotations

import datetime as dt_
import logging
import math
import re
import shutil
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_data_dir, configure_logging
from scripts.generator.calendar import SIGNUP_FIRST_DATE, WEEKDAY_FACTOR, day_number

# numpy, pyarrow and Faker are imported inside generate(): `--help` and flag errors
# answer at once.

log = logging.getLogger("ott.generate")

DEFAULT_START = "2026-11-02"  # a Monday; never "today": output must not depend on the clock
DEFAULT_EVENTS_PER_DAY = 143_000  # × 7 days ≈ 1M events
MAX_DAYS, MAX_USERS, MAX_EVENTS_PER_DAY = 3660, 5_000_000, 20_000_000


@dataclass
class GenerateConfig:
    data_dir: str = catalog.DEFAULT_DATA_DIR
    seed: int = 51
    start_date: dt_.date = dt_.date.fromisoformat(DEFAULT_START)
    days: int = 7
    users: int = 10_000
    events_per_day: int = DEFAULT_EVENTS_PER_DAY
    defect_rate: float = 0.01
    clean: bool = False
    workers: int = min(2, os.cpu_count() or 1)


@dataclass
class GenerateStats:
    events: int
    playback_events: int
    ad_events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def build_parser() -> OttArgumentParser:
    p = OttArgumentParser(prog="ott generate", description="Write deterministic synthetic bronze CSV and its manifest.",
                          epilog="Same arguments → byte-identical bronze. Details: docs/generator.md")
    add_data_dir(p)
    p.add_argument("--seed", type=int, default=51, help="random seed (default: %(default)s)")
    p.add_argument("--start-date", default=DEFAULT_START, help="first generation day, YYYY-MM-DD (default: %(default)s)")
    p.add_argument("--days", type=int, default=7, help="number of days (default: %(default)s)")
    p.add_argument("--users", type=int, default=10_000, help="users in users.csv (default: %(default)s)")
    p.add_argument("--events-per-day", type=int, default=DEFAULT_EVENTS_PER_DAY,
                   help="average events per day, playback + ads (weekends get more) (default: %(default)s)")
    p.add_argument("--defect-rate", type=float, default=0.01,
                   help="share of injected invalid rows, 0–0.5 (default: %(default)s)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="days generated in parallel threads; output does not depend on it (default: %(default)s)")
    p.add_argument("--clean", action="store_true",
                   help="delete the whole bronze folder first (needed to switch --seed/--users on existing bronze)")
    return p


def parse_config(argv: Sequence[str] | None) -> GenerateConfig:
    a = build_parser().parse_args(argv)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", a.start_date):
        raise OttError(f"--start-date must be YYYY-MM-DD, got {a.start_date!r}")
    try:
        start = dt_.date.fromisoformat(a.start_date)
    except ValueError:
        raise OttError(f"--start-date is not a valid date: {a.start_date!r}") from None
    if start < SIGNUP_FIRST_DATE:
        raise OttError(f"--start-date must be on or after {SIGNUP_FIRST_DATE} (no users have signed up before)")
    checks = [
        (1 <= a.days <= MAX_DAYS, f"--days must be between 1 and {MAX_DAYS}, got {a.days}"),
        (1 <= a.users <= MAX_USERS, f"--users must be between 1 and {MAX_USERS}, got {a.users}"),
        (1 <= a.events_per_day <= MAX_EVENTS_PER_DAY,
         f"--events-per-day must be between 1 and {MAX_EVENTS_PER_DAY}, got {a.events_per_day}"),
        (math.isfinite(a.defect_rate) and 0 <= a.defect_rate <= 0.5,
         f"--defect-rate must be between 0 and 0.5, got {a.defect_rate}"),
        (a.seed >= 0, f"--seed must be >= 0, got {a.seed}"),
        (1 <= a.workers <= 64, f"--workers must be between 1 and 64, got {a.workers}"),
    ]
    for ok, message in checks:
        if not ok:
            raise OttError(message)
    return GenerateConfig(a.data_dir, a.seed, start, a.days, a.users, a.events_per_day, a.defect_rate, a.clean,
                          a.workers)


def generate(cfg: GenerateConfig) -> GenerateStats:
    """Write the dimensions and every requested day; return counts and timing."""
    import numpy as np

    from scripts.generator import bronze
    from scripts.generator.dims import build_dims
    from scripts.generator.ingest import ingest_day
    from scripts.generator.sessions import EVENTS_PER_SESSION, simulate_day

    t0 = time.perf_counter()
    bronze_dir = catalog.bronze_dir(cfg.data_dir)
    if cfg.clean:
        if "://" in bronze_dir:
            from beam_pipelines import fileio

            fileio.delete_tree(bronze_dir)
        else:
            shutil.rmtree(bronze_dir, ignore_errors=True)
    dims_params = {"seed": cfg.seed, "users": cfg.users}
    previous = bronze.read_dims_params(cfg.data_dir)
    days = [cfg.start_date + dt_.timedelta(days=i) for i in range(cfg.days)]
    if previous is not None and {k: previous.get(k) for k in dims_params} != dims_params:
        others = bronze.existing_gen_days(cfg.data_dir) - {d.strftime("%Y%m%d") for d in days}
        if others:
            raise OttError(
                f"{bronze_dir} holds days generated with --seed {previous.get('seed')} --users {previous.get('users')};"
                " use the same values, another --data-dir, or --clean")
    dims = build_dims(cfg.seed, cfg.users, cfg.defect_rate)
    bronze.write_dims(cfg.data_dir, dims, {**dims_params, "defect_rate": cfg.defect_rate})
    log.info("dimensions: %d users, %d titles, %d campaigns (%.2f s)", len(dims.user_ids), len(dims.content_ids),
             len(dims.campaign_ids), time.perf_counter() - t0)

    params = {"seed": cfg.seed, "users": cfg.users, "events_per_day": cfg.events_per_day,
              "defect_rate": cfg.defect_rate}
    gen_days = [d.strftime("%Y%m%d") for d in days]
    bronze.purge_days(cfg.data_dir, gen_days)

    def one_day(day: dt_.date) -> tuple[dict, int, int, float]:
        """Simulate, render and write one generation day (its own random stream)."""
        t_day = time.perf_counter()
        dn = day_number(day)
        rng = np.random.default_rng([cfg.seed, 4, dn])
        n_sessions = max(1, round(cfg.events_per_day * WEEKDAY_FACTOR[day.weekday()] / EVENTS_PER_SESSION))
        outputs = ingest_day(dims, simulate_day(dims, dn, n_sessions, rng), dn, cfg.defect_rate, rng)
        as_text = {ds: {str(np.datetime64(d, "D")): v for d, v in per.items()} for ds, per in outputs.items()}
        counts = bronze.write_parts(cfg.data_dir, day.strftime("%Y%m%d"), as_text)
        n_pb = sum(c["rows_written"] for _, c in outputs["playback_events"].values())
        n_ad = sum(c["rows_written"] for _, c in outputs["ad_events"].values())
        return counts, n_pb, n_ad, time.perf_counter() - t_day

    # Days are independent, and numpy/pyarrow release the GIL in their kernels, so a few
    # threads keep both cores busy; manifests are merged here, one day at a time, in order.
    n_pb = n_ad = 0
    with ThreadPoolExecutor(max_workers=max(1, min(cfg.workers, len(days)))) as pool:
        for day, (counts, day_pb, day_ad, secs) in zip(days, pool.map(one_day, days)):
            bronze.merge_manifests(cfg.data_dir, day.strftime("%Y%m%d"), counts, params)
            n_pb, n_ad = n_pb + day_pb, n_ad + day_ad
            log.info("%s: %d playback + %d ad events in %.2f s", day, day_pb, day_ad, secs)
    stats = GenerateStats(n_pb + n_ad, n_pb, n_ad, time.perf_counter() - t0)
    log.info("generated %d events (%d playback, %d ad) in %.2f s — %.0f events/s → %s", stats.events, n_pb, n_ad,
             stats.seconds, stats.events_per_second, bronze_dir)
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_config(argv)
    configure_logging()
    generate(cfg)
    return 0


if __name__ == "__main__":
    from beam_pipelines.cli_support import guarded

    raise SystemExit(guarded(main, "ott generate", None))
