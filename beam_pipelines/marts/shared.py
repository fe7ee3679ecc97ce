"""What several gold marts share: the silver inputs, the partials more than one mart
reads, the per-bucket work several partials start from, and the data window.

Frames use the internal encoding of :mod:`beam_pipelines.marts.frames` (day numbers,
epoch milliseconds). Partials used by one mart only live in that mart's module.

- :data:`CONTENT_SUMS` — per (event_date, content_id) session counts and sums: daily
  KPIs, content daily, genre daily and the data window read it;
- :data:`AD_SUMS` — per (event_date, placement, campaign_id) counts of the valid,
  deduplicated ad events: ads daily (hence KPIs and pacing) and the data window;
- :func:`user_sessions` — a bucket's sessions joined to content, and its plays: the
  start of every per-user partial (distinct users, engagement, retention);
- :func:`cross_partition_duplicates` — the rows of an event bucket that an earlier
  ``dt`` already had (ads daily drops them, data quality counts them).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from beam_pipelines.marts.frames import SumPartialsFn, stable_hash, sum_partials
from beam_pipelines.marts.spec import Bucket, Finish, Kind, Partial

MS_PER_HOUR = 3.6e6
MS_PER_MINUTE = 60_000.0

# ---------------------------------------------------------------- silver inputs

# Event tables are split into hash buckets: all sessions of a user meet in one bucket
# (distinct users, binges), all rows of an event_id in one (earliest dt wins).
SESSIONS = Kind("sessions", "silver_sessions", "user_id")
AD_EVENTS = Kind("ad_events", "silver_ad_events", "event_id", dedupe=True)
PLAYBACK_EVENTS = Kind("playback_events", "silver_playback_events", "event_id", dedupe=True)
KINDS: tuple[Kind, ...] = (SESSIONS, AD_EVENTS, PLAYBACK_EVENTS)

# Dimensions are small: each is read whole and given to every step as a side input.
DIMENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "users": ("silver_users", ("user_id", "signup_date", "plan", "country")),
    "content": ("silver_content", ("content_id", "title", "content_type", "series_id", "genre")),
    "campaigns": (
        "silver_campaigns",
        ("campaign_id", "advertiser", "bid_strategy", "bid_usd", "budget_usd", "start_date", "end_date"),
    ),
}

# ---------------------------------------------------------------- content sums

CONTENT_KEYS = ("event_date", "content_id")
CONTENT_MEASURES = ("sessions", "plays", "watch_ms", "completed")


def content_sums(bucket: Bucket) -> pd.DataFrame:
    """Sessions → per (event_date, content_id): sessions, plays, watch_ms, completed plays."""
    sessions = bucket.rows
    started = sessions["started"].to_numpy(bool)
    data = pd.DataFrame(
        {
            "event_date": sessions["event_date"],
            "content_id": sessions["content_id"],
            "sessions": 1,
            "plays": started.astype("int64"),
            "watch_ms": sessions["watch_ms"].fillna(0).astype("int64"),
            "completed": (started & sessions["completed"].to_numpy(bool)).astype("int64"),
        }
    )
    return sum_partials([data], CONTENT_KEYS, CONTENT_MEASURES)


CONTENT_SUMS = Partial(
    "content_sums",
    SESSIONS,
    ("event_date", "content_id", "started", "watch_ms", "completed"),
    content_sums,
    SumPartialsFn(CONTENT_KEYS, CONTENT_MEASURES),
)

# ---------------------------------------------------------------- per-user buckets

# the session columns every per-user partial reads
USER_SESSION_COLUMNS: tuple[str, ...] = (
    "session_id",
    "user_id",
    "content_id",
    "session_start_ts",
    "event_date",
    "end_ts",
    "started",
    "watch_ms",
)
# the content columns joined to each session (its key, then what per-user partials read)
CONTENT_OF_SESSION: tuple[str, ...] = ("content_id", "genre", "content_type", "series_id")


def user_sessions(bucket: Bucket) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sessions with genre, content_type and series_id; the started ones) of a bucket.

    Every user lies in exactly one bucket, so per-user results and distinct-user counts
    of different buckets simply add up. Use as ``bucket.shared(user_sessions)``.
    """
    s = bucket.rows.merge(bucket.content[list(CONTENT_OF_SESSION)], on="content_id", how="left")
    s["watch_ms"] = s["watch_ms"].fillna(0).astype("int64")
    return s, s[s["started"].to_numpy(bool)]


def distinct_players(bucket: Bucket, keys: tuple[str, ...], name: str) -> pd.DataFrame:
    """Per ``keys``, the number ``name`` of distinct users with a play of the bucket."""
    _, plays = bucket.shared(user_sessions)
    pairs = plays.dropna(subset=list(keys)).drop_duplicates([*keys, "user_id"])
    return pairs.groupby(list(keys), sort=True).size().rename(name).reset_index()


def players_partial(name: str, keys: tuple[str, ...], measure: str) -> Partial:
    """The partial ``name``: per ``keys`` (session columns, or genre/content_type/series_id
    of the content), ``measure`` = distinct users with a play.

    Additive across buckets because a user lives in exactly one bucket.
    """
    compute = functools.partial(distinct_players, keys=keys, name=measure)
    columns = tuple(dict.fromkeys(USER_SESSION_COLUMNS + tuple(k for k in keys if k not in CONTENT_OF_SESSION)))
    return Partial(name, SESSIONS, columns, compute, SumPartialsFn(keys, (measure,)))


# ---------------------------------------------------------------- event buckets


def cross_partition_duplicates(bucket: Bucket) -> np.ndarray:
    """Mask of the bucket's rows whose event_id an earlier ``dt`` already had.

    For each event_id the row of the earliest ``dt`` wins; every other row is a valid
    row of its own dt (SPEC §4, §10). The bucket holds every row of its ids that this
    run reads; ``bucket.earlier`` the others' (event_id, dt). Use as
    ``bucket.shared(cross_partition_duplicates)``.
    """
    events = bucket.rows[["event_id", "dt"]]
    if bucket.earlier is not None and len(bucket.earlier):
        outside = bucket.earlier[bucket.earlier["event_id"].isin(events["event_id"])]
        events = pd.concat([events, outside[["event_id", "dt"]]], ignore_index=True)
        return _later_rows(events)[: len(bucket.rows)]
    return _later_rows(events)


def _later_rows(events: pd.DataFrame) -> np.ndarray:
    """Mask of the rows (event_id, dt; ids unique within a dt) whose id an earlier dt has."""
    # Only rows whose 64-bit key hash repeats can be duplicates (equal ids, equal hashes):
    # the exact rule runs on those few candidates, not on every string of the bucket.
    hashes = pd.Series(stable_hash(events["event_id"]))
    candidates = np.flatnonzero(hashes.duplicated(keep=False).to_numpy())
    # Among them, a stable sort on the integer dt, then the first occurrence of each
    # event_id: the same answer as sorting by (event_id, dt) without the cost of a string
    # sort (silver already made event_id unique within a dt).
    some = events.iloc[candidates]
    order = np.argsort(some["dt"].to_numpy("int64"), kind="stable")
    later = some["event_id"].iloc[order].duplicated(keep="first").to_numpy()
    duplicate = np.zeros(len(events), dtype=bool)
    duplicate[candidates[order[later]]] = True
    return duplicate


AD_KEYS = ("event_date", "placement", "campaign_id")
AD_MEASURES = ("events", "ad_requests", "filled_requests", "impressions", "clicks", "completes", "conversions")
# kept per ingest dt too: every partial is keyed by its kind's slice column
AD_SLICE_KEYS = ("dt", *AD_KEYS)


def ad_sums(bucket: Bucket) -> pd.DataFrame:
    """Ad events, less cross-partition duplicates → per (dt, event_date, placement,
    campaign_id) event counts (:func:`ads_by_date` adds the dts up)."""
    events = bucket.rows[~bucket.shared(cross_partition_duplicates)]
    kind = events["event_type"].to_numpy(object)
    request = kind == "ad_request"
    data = pd.DataFrame(
        {
            "dt": events["dt"],
            "event_date": events["event_date"],
            "placement": events["placement"],
            "campaign_id": events["campaign_id"],
            "events": 1,
            "ad_requests": request.astype("int64"),
            "filled_requests": (request & events["campaign_id"].notna().to_numpy()).astype("int64"),
            "impressions": (kind == "impression").astype("int64"),
            "clicks": (kind == "click").astype("int64"),
            "completes": (kind == "complete").astype("int64"),
            "conversions": (kind == "conversion").astype("int64"),
        }
    )
    return sum_partials([data], AD_SLICE_KEYS, AD_MEASURES)


AD_SUMS = Partial(
    "ad_sums",
    AD_EVENTS,
    ("event_id", "dt", "event_date", "placement", "campaign_id", "event_type"),
    ad_sums,
    SumPartialsFn(AD_SLICE_KEYS, AD_MEASURES),
)


def ads_by_date(ctx: Finish) -> pd.DataFrame:
    """The merged :data:`AD_SUMS` per (event_date, placement, campaign_id), sorted; use as
    ``ctx.shared(ads_by_date)``."""
    return sum_partials([ctx.partial(AD_SUMS)], AD_KEYS, AD_MEASURES)

# ---------------------------------------------------------------- data window


def data_window(ctx: Finish) -> tuple[int, int] | None:
    """(first, last) day number with a session or a valid ad event; None without data.

    Needs :data:`CONTENT_SUMS` and :data:`AD_SUMS`; use as ``ctx.shared(data_window)``.
    """
    ads = ctx.partial(AD_SUMS)
    days = pd.concat([ctx.partial(CONTENT_SUMS)["event_date"], ads.loc[ads["events"] > 0, "event_date"]]).dropna()
    if days.empty:
        return None
    return int(days.min()), int(days.max())
