"""Small, deterministic silver + gold fixture data for the warehouse/analytics/report tests.

The Beam stages that normally write these inputs are built in parallel, so the tests
here do not depend on them: :func:`build_dataset` makes a few hundred seeded random
sessions plus dimensions and ad aggregates, derives every gold table from them with
plain pandas (following SPEC §6 closely enough that the cross-table invariants of the
SQL data tests hold), and writes them with the contract schemas
(``SILVER_SCHEMAS``/``GOLD_SCHEMAS``) in the catalog layout.

Usage in a test module (pytest fixtures are imported by name)::

    from wh_fixtures import built_warehouse, fixture_data_dir  # noqa: F401
"""

from __future__ import annotations

import datetime as dt_
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lake_fixtures import publish_both

from beam_pipelines.schema import (
    AD_PLACEMENTS,
    DEVICE_TYPES,
    GOLD_SCHEMAS,
    PLANS,
    QUARANTINE_REASONS,
    SILVER_SCHEMAS,
    TABLE_KEYS,
)

FIRST_DAY = dt_.date(2026, 3, 2)  # a Monday
N_DAYS = 10
UTC = dt_.timezone.utc

CONTENT = [
    # content_id, title, content_type, series_id, season, episode, genre, duration_sec
    ("c01", "The Long Night", "movie", None, None, None, "Drama", 6000),
    ("c02", "Laugh Track", "movie", None, None, None, "Comedy", 5400),
    ("c03", "Deep Blue, Deeper", "movie", None, None, None, "Documentary", 3600),
    ("c04", "Café Noir", "movie", None, None, None, "Drama", 7200),
    ("c05", "Harbour Lights S1E1", "episode", "s01", 1, 1, "Drama", 2700),
    ("c06", "Harbour Lights S1E2", "episode", "s01", 1, 2, "Drama", 2700),
    ("c07", "Harbour Lights S1E3", "episode", "s01", 1, 3, "Drama", 2700),
    ("c08", "Tiny Trucks E1", "episode", "s02", 1, 1, "Kids", 1200),
    ("c09", "Tiny Trucks E2", "episode", "s02", 1, 2, "Kids", 1200),
    ("c10", "Stand-Up\nSundays", "movie", None, None, None, "Comedy", 3900),
    ("c11", "Planet Ice", "movie", None, None, None, "Documentary", 3000),
    ("c12", "Office Hours E1", "episode", "s03", 1, 1, "Comedy", 1800),
]

CAMPAIGNS = [
    # campaign_id, advertiser, objective, bid_strategy, bid_usd, budget_usd, start, end
    ("k01", "Acme Sodas", "awareness", "CPM", 12.0, 40.0, "2026-03-01", "2026-03-20"),
    ("k02", "Zoom Cars", "consideration", "CPC", 0.5, 2.0, "2026-03-05", "2026-03-14"),
    ("k03", "Bank & Co", "conversion", "CPA", 4.0, 500.0, "2026-02-20", "2026-03-31"),
    ("k04", "Late Launch", "awareness", "CPM", 8.0, 100.0, "2026-04-01", "2026-04-30"),
]


@dataclass(frozen=True)
class Dataset:
    """The frames written to disk (pandas, one per silver/gold table)."""

    tables: dict[str, pd.DataFrame]
    first_day: dt_.date
    last_day: dt_.date


def _rate(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _nearest_rank(values: list[int], p: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def make_dims(rng: np.random.Generator, n_users: int) -> dict[str, pd.DataFrame]:
    users = pd.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(n_users)],
            "signup_date": [FIRST_DAY + dt_.timedelta(days=int(d)) for d in rng.integers(-90, N_DAYS, n_users)],
            "plan": [PLANS[int(i)] for i in rng.integers(0, len(PLANS), n_users)],
            "country": [("US", "GB", "DE", "BR")[int(i)] for i in rng.integers(0, 4, n_users)],
            "city": "Springfield",
            "age_band": "25-34",
            "primary_device": "smart_tv",
            "updated_at": dt_.datetime(2026, 2, 1, tzinfo=UTC),
        }
    )
    content = pd.DataFrame(
        CONTENT,
        columns=["content_id", "title", "content_type", "series_id", "season_number", "episode_number", "genre", "duration_sec"],
    ).assign(maturity_rating="PG", release_year=2020, language="en", is_original=False)
    campaigns = pd.DataFrame(
        CAMPAIGNS,
        columns=["campaign_id", "advertiser", "objective", "bid_strategy", "bid_usd", "budget_usd", "start_date", "end_date"],
    )
    for col in ("start_date", "end_date"):
        campaigns[col] = campaigns[col].map(dt_.date.fromisoformat)
    return {"silver_users": users, "silver_content": content, "silver_campaigns": campaigns}


def make_sessions(rng: np.random.Generator, users: pd.DataFrame, content: pd.DataFrame, n: int) -> pd.DataFrame:
    duration = dict(zip(content.content_id, content.duration_sec))
    rows = []
    for i in range(n):
        day = FIRST_DAY + dt_.timedelta(days=int(rng.integers(0, N_DAYS)))
        start = dt_.datetime.combine(day, dt_.time(), UTC) + dt_.timedelta(seconds=int(rng.integers(0, 86_000)))
        content_id = str(content.content_id.iloc[int(rng.integers(0, len(content)))])
        device = DEVICE_TYPES[int(rng.integers(0, len(DEVICE_TYPES)))]
        started = bool(rng.random() < (0.6 if device == "tablet" else 0.85))
        fatal_before = (not started) and bool(rng.random() < 0.5)
        playback_failure = started and bool(rng.random() < 0.05)
        watch_ms = int(rng.integers(60_000, duration[content_id] * 1000)) if started else 0
        rebuffer_count = int(rng.integers(0, 4)) if started else 0
        rebuffer_ms = rebuffer_count * int(rng.integers(200, 5000))
        paused_ms = int(rng.integers(0, 60_000)) if started else 0
        max_pos = watch_ms // 1000 + int(rng.integers(0, 300))
        rows.append(
            {
                "session_id": f"s{i:05d}",
                "user_id": str(users.user_id.iloc[int(rng.integers(0, len(users)))]),
                "content_id": content_id,
                "device_type": device,
                "country": "US",
                "session_start_ts": start,
                "event_date": day,
                "end_ts": start + dt_.timedelta(milliseconds=watch_ms + rebuffer_ms + paused_ms + 5000),
                "started": started,
                "startup_ms": int(rng.integers(300, 9000)) if started else None,
                "start_failure": fatal_before,
                "exit_before_start": (not started) and not fatal_before,
                "playback_failure": playback_failure,
                "rebuffer_ms": rebuffer_ms,
                "paused_ms": paused_ms,
                "rebuffer_count": rebuffer_count,
                "watch_ms": watch_ms,
                "max_position_sec": max_pos,
                "completed": started and 10 * max_pos >= 9 * duration[content_id],
                "avg_bitrate_kbps": float(rng.integers(800, 8000)) if started else None,
            }
        )
    return pd.DataFrame(rows)


def make_ads(rng: np.random.Generator, campaigns: pd.DataFrame) -> pd.DataFrame:
    bids = dict(zip(campaigns.campaign_id, zip(campaigns.bid_strategy, campaigns.bid_usd)))
    rows = []
    for d in range(N_DAYS):
        day = FIRST_DAY + dt_.timedelta(days=d)
        for placement in AD_PLACEMENTS:
            requests_by_campaign: dict[str | None, int] = {None: int(rng.integers(0, 4))}
            for campaign_id in ("k01", "k02", "k03"):
                if rng.random() < 0.7:
                    requests_by_campaign[campaign_id] = int(rng.integers(1, 30))
            all_requests = sum(requests_by_campaign.values())
            filled = all_requests - requests_by_campaign[None]
            for campaign_id, reqs in requests_by_campaign.items():
                impressions = 0 if campaign_id is None else int(rng.integers(0, reqs + 1))
                clicks = int(rng.integers(0, impressions + 1)) // 3
                completes = int(rng.integers(0, impressions + 1))
                conversions = clicks // 2
                if campaign_id is None:
                    revenue = 0.0
                else:
                    strategy, bid = bids[campaign_id]
                    revenue = {"CPM": impressions * bid / 1000, "CPC": clicks * bid, "CPA": conversions * bid}[strategy]
                rows.append(
                    {
                        "event_date": day,
                        "placement": placement,
                        "campaign_id": campaign_id,
                        "ad_requests": reqs,
                        "impressions": impressions,
                        "fill_rate": _rate(filled, all_requests),
                        "clicks": clicks,
                        "ctr": _rate(clicks, impressions),
                        "completes": completes,
                        "completion_rate": _rate(completes, impressions),
                        "conversions": conversions,
                        "revenue_usd": float(revenue),
                        "ecpm_usd": None if campaign_id is None else _rate(revenue * 1000, impressions),
                    }
                )
    return pd.DataFrame(rows)


def derive_gold(dims: dict[str, pd.DataFrame], sessions: pd.DataFrame, ads: pd.DataFrame) -> dict[str, pd.DataFrame]:
    users, content, campaigns = dims["silver_users"], dims["silver_content"], dims["silver_campaigns"]
    s = sessions.merge(content[["content_id", "title", "genre", "content_type", "series_id"]], on="content_id")
    plays = s[s.started]
    dates = sorted(set(s.event_date) | set(ads.event_date))
    first, last = dates[0], dates[-1]

    kpis = []
    for day in dates:
        ds, da = s[s.event_date == day], ads[ads.event_date == day]
        active = ds[ds.started].user_id.nunique()
        watch_hours = ds.watch_ms.sum() / 3.6e6
        kpis.append(
            {
                "event_date": day,
                "active_users": active,
                "attempts": len(ds),
                "plays": int(ds.started.sum()),
                "watch_hours": float(watch_hours),
                "avg_watch_min_per_active_user": _rate(watch_hours * 60, active),
                "new_signups": int((users.signup_date == day).sum()),
                "ad_impressions": int(da.impressions.sum()),
                "ad_revenue_usd": float(da.revenue_usd.sum()),
            }
        )

    def grouped(keys: list[str], extra: dict) -> pd.DataFrame:
        out = []
        for key, g in s.groupby(keys, sort=True):
            p = g[g.started]
            row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
            row.update({name: fn(g, p) for name, fn in extra.items()})
            out.append(row)
        return pd.DataFrame(out)

    content_daily = grouped(
        ["event_date", "content_id", "title", "genre", "content_type"],
        {
            "plays": lambda g, p: len(p),
            "unique_viewers": lambda g, p: p.user_id.nunique(),
            "watch_hours": lambda g, p: g.watch_ms.sum() / 3.6e6,
            "completion_rate": lambda g, p: _rate(p.completed.sum(), len(p)),
        },
    )
    genre_daily = grouped(
        ["event_date", "genre"],
        {
            "plays": lambda g, p: len(p),
            "unique_viewers": lambda g, p: p.user_id.nunique(),
            "watch_hours": lambda g, p: g.watch_ms.sum() / 3.6e6,
            "completion_rate": lambda g, p: _rate(p.completed.sum(), len(p)),
        },
    )
    qoe_daily = grouped(
        ["event_date", "device_type"],
        {
            "attempts": lambda g, p: len(g),
            "plays": lambda g, p: len(p),
            "video_start_failure_rate": lambda g, p: _rate(g.start_failure.sum(), len(g)),
            "exit_before_start_rate": lambda g, p: _rate(g.exit_before_start.sum(), len(g)),
            "playback_failure_rate": lambda g, p: _rate(p.playback_failure.sum(), len(p)),
            "startup_ms_p50": lambda g, p: _nearest_rank([int(x) for x in p.startup_ms.dropna()], 50),
            "startup_ms_p95": lambda g, p: _nearest_rank([int(x) for x in p.startup_ms.dropna()], 95),
            "rebuffer_ratio": lambda g, p: _rate(g.rebuffer_ms.sum(), g.rebuffer_ms.sum() + g.watch_ms.sum()),
            "rebuffers_per_hour": lambda g, p: _rate(g.rebuffer_count.sum(), g.watch_ms.sum() / 3.6e6),
            "avg_bitrate_kbps": lambda g, p: None if p.avg_bitrate_kbps.dropna().empty else float(p.avg_bitrate_kbps.mean()),
        },
    )

    engagement = []
    for user_id, g in s.groupby("user_id", sort=True):
        p = g[g.started].sort_values(["session_start_ts", "session_id"])
        user = users[users.user_id == user_id].iloc[0]
        by_genre = p.groupby("genre").watch_ms.sum()
        favorite = None if by_genre.empty else sorted(by_genre.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        # Binge runs: consecutive plays of episodes of one series (gap rule simplified
        # to "same series"): enough to exercise the analytic, which only reads the count.
        binges, run, prev_series = 0, 0, None
        for series in list(p.series_id) + [None]:
            if series is not None and series == prev_series:
                run += 1
            else:
                binges += run >= 3
                run = 1 if series is not None else 0
            prev_series = series
        engagement.append(
            {
                "user_id": user_id,
                "plan": user.plan,
                "country": user.country,
                "sessions": len(g),
                "plays": len(p),
                "active_days": p.event_date.nunique(),
                "watch_hours": g.watch_ms.sum() / 3.6e6,
                "favorite_genre": favorite,
                "binge_sessions": int(binges),
                "last_active_date": p.event_date.max() if len(p) else None,
            }
        )

    spend = ads.groupby("campaign_id").revenue_usd.sum()
    pacing = []
    for c in campaigns.itertuples():
        flight = (c.end_date - c.start_date).days + 1
        elapsed = min(max((last - c.start_date).days + 1, 0), flight)
        spent = float(spend.get(c.campaign_id, 0.0))
        index = None if elapsed == 0 else (spent / c.budget_usd) / (elapsed / flight)
        status = (
            "not_started" if index is None else "under" if index < 0.9 else "over" if index > 1.1 else "on_track"
        )
        pacing.append(
            {
                "campaign_id": c.campaign_id,
                "advertiser": c.advertiser,
                "budget_usd": c.budget_usd,
                "spend_usd": spent,
                "flight_days": flight,
                "days_elapsed": elapsed,
                "pacing_index": index,
                "status": status,
            }
        )

    retention = []
    monday = users.signup_date.map(lambda d: d - dt_.timedelta(days=d.weekday()))
    for cohort_week in sorted(set(monday)):
        if cohort_week > last:
            continue
        members = set(users.user_id[monday == cohort_week])
        week = 0
        while cohort_week + dt_.timedelta(days=7 * week) <= last:
            lo = cohort_week + dt_.timedelta(days=7 * week)
            hi = lo + dt_.timedelta(days=6)
            if hi >= first:
                in_week = plays[(plays.event_date >= lo) & (plays.event_date <= hi)]
                retained = len(members & set(in_week.user_id))
                retention.append(
                    {
                        "cohort_week": cohort_week,
                        "week_number": week,
                        "cohort_size": len(members),
                        "retained_users": retained,
                        "retention_rate": _rate(retained, len(members)),
                    }
                )
            week += 1

    quality = []
    for dataset, dts in (("campaigns", [""]), ("content", [""]), ("users", [""]), ("ad_events", None), ("playback_events", None)):
        for dt in dts or [d.isoformat() for d in dates]:
            reasons = {r: 0 for r in QUARANTINE_REASONS}
            reasons["missing_field"] = len(dt) % 3
            reasons["invalid_timestamp"] = 2 if dataset == "playback_events" else 0
            reasons["unknown_user"] = 1 if dataset != "campaigns" else 0
            valid, dups = 100 + len(dataset), 1 if dts is None else 0
            quarantined = sum(reasons.values())
            quality.append(
                {
                    "dataset": dataset,
                    "dt": dt,
                    "rows_read": valid + quarantined + dups,
                    "rows_valid": valid,
                    "duplicates_dropped": dups,
                    "rows_quarantined": quarantined,
                    **reasons,
                    "cross_partition_duplicates": 0,
                }
            )

    return {
        "gold_daily_kpis": pd.DataFrame(kpis),
        "gold_content_daily": content_daily,
        "gold_genre_daily": genre_daily,
        "gold_qoe_daily": qoe_daily,
        "gold_user_engagement": pd.DataFrame(engagement),
        "gold_ads_daily": ads,
        "gold_campaign_pacing": pd.DataFrame(pacing),
        "gold_retention_cohorts": pd.DataFrame(retention),
        "gold_data_quality": pd.DataFrame(quality),
    }


def build_dataset(seed: int = 7, n_users: int = 40, n_sessions: int = 400, title_override: dict[str, str] | None = None) -> Dataset:
    """Deterministic silver dims + sessions and gold tables derived from them."""
    rng = np.random.default_rng(seed)
    dims = make_dims(rng, n_users)
    if title_override:
        content = dims["silver_content"]
        content["title"] = [title_override.get(cid, t) for cid, t in zip(content.content_id, content.title)]
    sessions = make_sessions(rng, dims["silver_users"], dims["silver_content"], n_sessions)
    ads = make_ads(rng, dims["silver_campaigns"])
    gold = derive_gold(dims, sessions, ads)
    tables = {**dims, "silver_sessions": sessions, **gold}
    days = sorted(gold["gold_daily_kpis"].event_date)
    return Dataset(tables, days[0], days[-1])


def to_arrow(table: str, frame: pd.DataFrame) -> pa.Table:
    schema = GOLD_SCHEMAS.get(table) or SILVER_SCHEMAS[table]
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return pa.Table.from_pylist(records, schema=schema)


def write_dataset(data: Dataset, data_dir: Path) -> None:
    """Publish every table as the stages do: the silver tables as a silver release, the
    gold marts as a gold release built from it (Iceberg tables, one file per partition)."""
    publish_both(data_dir, {table: to_arrow(table, frame) for table, frame in data.tables.items()})


# ------------------------------------------------------------------ pytest fixtures


@pytest.fixture(scope="session")
def fixture_dataset() -> Dataset:
    return build_dataset()


@pytest.fixture(scope="session")
def _built_dir(tmp_path_factory: pytest.TempPathFactory, fixture_dataset: Dataset) -> Path:
    from scripts import analytics, warehouse

    data_dir = tmp_path_factory.mktemp("whdata")
    write_dataset(fixture_dataset, data_dir)
    warehouse.build_warehouse(str(data_dir))
    analytics.run_analytics(str(data_dir))
    return data_dir


@pytest.fixture()
def built_data_dir(_built_dir: Path, tmp_path: Path) -> Path:
    """A private copy of a data dir with inputs, warehouse and analytics already built."""
    target = tmp_path / "data"
    shutil.copytree(_built_dir, target)
    return target
