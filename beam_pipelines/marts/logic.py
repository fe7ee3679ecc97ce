"""Every gold metric of SPEC §6/§10 as plain, typed functions over pandas frames.

Frames use the internal encoding of :mod:`beam_pipelines.marts.frames` (day numbers,
epoch milliseconds). The work is split the way a distributed run needs it:

1. *per batch* of silver rows: additive partials (:func:`content_partials`,
   :func:`qoe_partials`, :func:`ad_partials`) and the raw values of the non-additive
   QoE statistics (:func:`qoe_values`);
2. *per hash bucket* of one key, where all rows of a key meet:
   :func:`summarise_user_bucket` (distinct users, favourite genre, binges, retention)
   and :func:`drop_cross_partition_duplicates` (earliest ``dt`` wins);
3. *once per mart*: the ``build_*`` functions turn the combined partials and the
   dimensions into the final rows (ratios, revenue, pacing, cohorts …).

No function here knows about Beam, so each is tested directly on literal frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from beam_pipelines.marts.frames import empty_frame, monday_of, nearest_rank, ratio, stable_hash, sum_partials
from beam_pipelines.schema import AUDIT_COUNTS as SILVER_AUDIT_COUNTS
from beam_pipelines.schema import (
    BINGE_MAX_GAP_MS,
    BINGE_MIN_PLAYS,
    DIM_DATASETS,
    PACING_OVER,
    PACING_UNDER,
    QUARANTINE_REASONS,
)

MS_PER_HOUR = 3.6e6
MS_PER_MINUTE = 60_000.0

# ---------------------------------------------------------------- silver columns read

SESSION_COLUMNS: tuple[str, ...] = (
    "session_id",
    "user_id",
    "content_id",
    "device_type",
    "session_start_ts",
    "event_date",
    "end_ts",
    "started",
    "startup_ms",
    "start_failure",
    "exit_before_start",
    "playback_failure",
    "rebuffer_ms",
    "rebuffer_count",
    "watch_ms",
    "completed",
    "avg_bitrate_kbps",
)
# the slice of a session the per-user bucket needs (shuffled, so kept narrow)
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
AD_COLUMNS: tuple[str, ...] = ("event_id", "dt", "event_date", "placement", "campaign_id", "event_type")
PLAYBACK_COLUMNS: tuple[str, ...] = ("event_id", "dt")
USER_COLUMNS: tuple[str, ...] = ("user_id", "signup_date", "plan", "country")
CONTENT_COLUMNS: tuple[str, ...] = ("content_id", "title", "content_type", "series_id", "genre")
CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "advertiser",
    "bid_strategy",
    "bid_usd",
    "budget_usd",
    "start_date",
    "end_date",
)

# ---------------------------------------------------------------- partial layouts

CONTENT_KEYS = ("event_date", "content_id")
CONTENT_MEASURES = ("sessions", "plays", "watch_ms", "completed")
QOE_KEYS = ("event_date", "device_type")
QOE_MEASURES = (
    "attempts",
    "plays",
    "start_failures",
    "exits_before_start",
    "playback_failures",
    "rebuffer_ms",
    "rebuffer_count",
    "watch_ms",
)
AD_KEYS = ("event_date", "placement", "campaign_id")
AD_MEASURES = ("events", "ad_requests", "filled_requests", "impressions", "clicks", "completes", "conversions")
CROSS_KEYS = ("dt",)
CROSS_MEASURES = ("cross_partition_duplicates",)

# what summarise_user_bucket emits: name -> (keys, additive measures)
USER_BUCKET_PARTIALS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "content_viewers": (("event_date", "content_id"), ("unique_viewers",)),
    "genre_viewers": (("event_date", "genre"), ("unique_viewers",)),
    "active_users": (("event_date",), ("active_users",)),
    "retained": (("cohort_week", "week_number"), ("retained_users",)),
}
ENGAGEMENT_COLUMNS: dict[str, str] = {
    "user_id": "str",
    "sessions": "int64",
    "plays": "int64",
    "active_days": "int64",
    "watch_ms": "int64",
    "favorite_genre": "str",
    "binge_sessions": "int64",
    "last_active_date": "float64",  # day number, NaN without plays
}
QOE_STAT_COLUMNS: dict[str, str] = {
    "event_date": "int64",
    "device_type": "str",
    "startup_ms_p50": "Int64",
    "startup_ms_p95": "Int64",
    "bitrate_sum": "float64",
    "bitrate_n": "int64",
}

# ---------------------------------------------------------------- per-batch partials


def content_partials(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions → per (event_date, content_id): sessions, plays, watch_ms, completed plays."""
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


def qoe_partials(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions → per (event_date, device_type): the additive QoE counts and sums."""
    started = sessions["started"].to_numpy(bool)
    data = pd.DataFrame(
        {
            "event_date": sessions["event_date"],
            "device_type": sessions["device_type"],
            "attempts": 1,
            "plays": started.astype("int64"),
            "start_failures": sessions["start_failure"].astype("int64"),
            "exits_before_start": sessions["exit_before_start"].astype("int64"),
            "playback_failures": (started & sessions["playback_failure"].to_numpy(bool)).astype("int64"),
            "rebuffer_ms": sessions["rebuffer_ms"].fillna(0).astype("int64"),
            "rebuffer_count": sessions["rebuffer_count"].fillna(0).astype("int64"),
            "watch_ms": sessions["watch_ms"].fillna(0).astype("int64"),
        }
    )
    return sum_partials([data], QOE_KEYS, QOE_MEASURES)


def qoe_values(sessions: pd.DataFrame) -> Iterator[tuple[tuple[int, str], tuple[np.ndarray, np.ndarray]]]:
    """Sessions → ((event_date, device_type), (startup_ms values, avg_bitrate_kbps values)).

    Startup values come from started sessions with a startup_ms; bitrates from plays
    that have an average bitrate (SPEC §10).
    """
    plays = sessions[sessions["started"].to_numpy(bool)]
    for (day, device), group in plays.groupby(["event_date", "device_type"], sort=True):
        startup = group["startup_ms"].dropna().to_numpy("int64")
        bitrate = group["avg_bitrate_kbps"].dropna().to_numpy("float64")
        yield (int(day), str(device)), (startup, bitrate)


def qoe_value_stats(key: tuple[int, str], values: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    """Sorted startup and bitrate values of one (event_date, device_type) → one stats row.

    The bitrate sum runs over the ascending values, so it is the same float whatever the
    order in which workers delivered them.
    """
    startup, bitrate = values
    return pd.DataFrame(
        {
            "event_date": [key[0]],
            "device_type": [key[1]],
            "startup_ms_p50": pd.array([nearest_rank(startup, 50)], dtype="Int64"),
            "startup_ms_p95": pd.array([nearest_rank(startup, 95)], dtype="Int64"),
            "bitrate_sum": [float(np.sum(bitrate)) if len(bitrate) else 0.0],
            "bitrate_n": [len(bitrate)],
        }
    )


# ---------------------------------------------------------------- per-user buckets


def binge_counts(plays: pd.DataFrame) -> pd.Series:
    """Number of binges per user_id.

    ``plays``: the started sessions of some users with user_id, session_id,
    session_start_ts, end_ts, content_type, series_id. A binge is a maximal run of
    ≥ 3 consecutive plays (by session_start_ts, session_id) that are episodes of one
    series, each starting ≤ 30 min after the previous play's end_ts (overlaps count).
    """
    p = plays.sort_values(["user_id", "session_start_ts", "session_id"], kind="mergesort").reset_index(drop=True)
    is_episode = (p["content_type"] == "episode").fillna(False).to_numpy(bool) & p["series_id"].notna().to_numpy()
    user = p["user_id"].to_numpy(object)
    series = p["series_id"].astype(object).to_numpy(object)
    start = p["session_start_ts"].to_numpy("int64")
    end = p["end_ts"].to_numpy("int64")
    cont = np.zeros(len(p), dtype=bool)
    if len(p) > 1:
        cont[1:] = (
            (user[1:] == user[:-1])
            & is_episode[1:]
            & is_episode[:-1]
            & (series[1:] == series[:-1])
            & (start[1:] - end[:-1] <= BINGE_MAX_GAP_MS)
        )
    run_id = np.cumsum(~cont)
    runs = pd.DataFrame({"user_id": p["user_id"], "run": run_id}).groupby("run", sort=False)
    sizes = runs.size()
    run_user = runs["user_id"].first()
    binges = run_user[sizes >= BINGE_MIN_PLAYS]
    return binges.value_counts().rename("binge_sessions")


def favourite_genres(plays: pd.DataFrame) -> pd.Series:
    """Per user_id, the genre with the most watch_ms over plays; ties → code-point order."""
    by_genre = plays.dropna(subset=["genre"]).groupby(["user_id", "genre"], sort=False)["watch_ms"].sum().reset_index()
    by_genre["genre_key"] = by_genre["genre"].astype(object)
    ranked = by_genre.sort_values(["user_id", "watch_ms", "genre_key"], ascending=[True, False, True], kind="mergesort")
    return ranked.drop_duplicates("user_id").set_index("user_id")["genre"].rename("favorite_genre")


def summarise_user_bucket(
    sessions: pd.DataFrame, users: pd.DataFrame, content: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """All sessions of a set of users → their engagement rows and additive distinct counts.

    Every user lies in exactly one bucket, so the distinct-user counts of different
    buckets simply add up (see ``USER_BUCKET_PARTIALS``).
    """
    s = sessions.merge(content[["content_id", "genre", "content_type", "series_id"]], on="content_id", how="left")
    s["watch_ms"] = s["watch_ms"].fillna(0).astype("int64")
    plays = s[s["started"].to_numpy(bool)]

    per_user = s.groupby("user_id", sort=True).agg(sessions=("session_id", "size"), watch_ms=("watch_ms", "sum"))
    play_stats = plays.groupby("user_id", sort=False).agg(
        plays=("session_id", "size"),
        active_days=("event_date", "nunique"),
        last_active_date=("event_date", "max"),
    )
    engagement = per_user.join(play_stats).join(favourite_genres(plays)).join(binge_counts(plays))
    engagement = engagement.reset_index()
    for name in ("plays", "active_days", "binge_sessions"):
        engagement[name] = engagement[name].fillna(0).astype("int64")
    engagement["last_active_date"] = engagement["last_active_date"].astype("float64")

    def distinct(keys: list[str], name: str) -> pd.DataFrame:
        pairs = plays.dropna(subset=keys).drop_duplicates(keys + ["user_id"])
        return pairs.groupby(keys, sort=True).size().rename(name).reset_index()

    user_days = plays[["user_id", "event_date"]].drop_duplicates()
    cohorts = user_days.merge(users[["user_id", "signup_date"]].dropna(), on="user_id", how="inner")
    cohorts["cohort_week"] = monday_of(cohorts["signup_date"])
    cohorts["week_number"] = (cohorts["event_date"].to_numpy("int64") - cohorts["cohort_week"]) // 7
    cohorts = cohorts[cohorts["week_number"] >= 0].drop_duplicates(["user_id", "cohort_week", "week_number"])
    retained = cohorts.groupby(["cohort_week", "week_number"], sort=True).size().rename("retained_users").reset_index()

    return {
        "engagement": engagement[list(ENGAGEMENT_COLUMNS)],
        "content_viewers": distinct(["event_date", "content_id"], "unique_viewers"),
        "genre_viewers": distinct(["event_date", "genre"], "unique_viewers"),
        "active_users": distinct(["event_date"], "active_users"),
        "retained": retained,
    }


# ---------------------------------------------------------------- ad events


def drop_cross_partition_duplicates(
    events: pd.DataFrame, keep_rows: bool = True
) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """All rows of some event_ids → (rows kept, per-dt count of cross-partition duplicates).

    For each event_id the row of the earliest ``dt`` wins; every other row is a valid
    row of its own dt that an earlier dt already had (SPEC §4, §10). With
    ``keep_rows=False`` only the counts are made (the kept rows come back as None).
    """
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
    dropped = events[duplicate]
    counts = dropped.groupby("dt", sort=True).size().rename("cross_partition_duplicates").reset_index()
    return (events[~duplicate] if keep_rows else None), counts


def ad_partials(events: pd.DataFrame) -> pd.DataFrame:
    """Deduplicated ad events → per (event_date, placement, campaign_id) event counts."""
    kind = events["event_type"].to_numpy(object)
    request = kind == "ad_request"
    data = pd.DataFrame(
        {
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
    return sum_partials([data], AD_KEYS, AD_MEASURES)


# ---------------------------------------------------------------- final marts


def build_ads_daily(ad_sums: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """gold_ads_daily: one row per (event_date, placement, campaign_id) with a valid ad event."""
    ads = ad_sums[ad_sums["events"] > 0].copy()
    per_slot = ads.groupby(["event_date", "placement"], sort=False)[["ad_requests", "filled_requests"]].transform("sum")
    ads["fill_rate"] = ratio(per_slot["filled_requests"], per_slot["ad_requests"])
    ads["ctr"] = ratio(ads["clicks"], ads["impressions"])
    ads["completion_rate"] = ratio(ads["completes"], ads["impressions"])
    bids = campaigns[["campaign_id", "bid_strategy", "bid_usd"]]
    ads = ads.merge(bids, on="campaign_id", how="left")
    strategy = ads["bid_strategy"].astype(object).to_numpy(object)
    bid = ads["bid_usd"].to_numpy("float64", na_value=np.nan)
    revenue = np.select(
        [strategy == "CPM", strategy == "CPC", strategy == "CPA"],
        [
            ads["impressions"].to_numpy("float64") * bid / 1000,
            ads["clicks"].to_numpy("float64") * bid,
            ads["conversions"].to_numpy("float64") * bid,
        ],
        default=0.0,
    )
    ads["revenue_usd"] = revenue
    has_campaign = ads["campaign_id"].notna().to_numpy()
    ecpm = ratio(revenue, ads["impressions"]) * 1000
    ads["ecpm_usd"] = np.where(has_campaign, ecpm, np.nan)
    return ads.sort_values(list(AD_KEYS), na_position="first", kind="mergesort").reset_index(drop=True)


def data_window(content_sums: pd.DataFrame, ads_daily: pd.DataFrame) -> tuple[int, int] | None:
    """(first, last) day number with a session or a valid ad event; None without data."""
    days = pd.concat([content_sums["event_date"], ads_daily["event_date"]]).dropna()
    if days.empty:
        return None
    return int(days.min()), int(days.max())


def build_daily_kpis(
    content_sums: pd.DataFrame, active_users: pd.DataFrame, ads_daily: pd.DataFrame, users: pd.DataFrame
) -> pd.DataFrame:
    """gold_daily_kpis: one row per date with at least one session or one valid ad event."""
    sessions = content_sums.groupby("event_date")[["sessions", "plays", "watch_ms"]].sum()
    ads = ads_daily.groupby("event_date")[["impressions", "revenue_usd"]].sum()
    days = sorted(set(sessions.index.astype("int64")) | set(ads.index.astype("int64")))
    out = pd.DataFrame({"event_date": np.array(days, dtype="int64")}).set_index("event_date")
    out = out.join(sessions).join(active_users.set_index("event_date")["active_users"]).join(ads)
    signups = users["signup_date"].dropna().astype("int64").value_counts().rename("new_signups")
    out = out.join(signups)
    ints = ["sessions", "plays", "watch_ms", "active_users", "impressions", "new_signups"]
    out[ints] = out[ints].fillna(0).astype("int64")
    out["revenue_usd"] = out["revenue_usd"].fillna(0.0).astype("float64")
    watch_ms = out["watch_ms"].to_numpy("float64")
    out["watch_hours"] = watch_ms / MS_PER_HOUR
    out["avg_watch_min_per_active_user"] = ratio(watch_ms / MS_PER_MINUTE, out["active_users"])
    out = out.reset_index().rename(
        columns={"sessions": "attempts", "impressions": "ad_impressions", "revenue_usd": "ad_revenue_usd"}
    )
    return out


def build_content_daily(
    content_sums: pd.DataFrame, content_viewers: pd.DataFrame, content: pd.DataFrame
) -> pd.DataFrame:
    """gold_content_daily: one row per (event_date, content_id) with at least one session."""
    out = content_sums[content_sums["sessions"] > 0].merge(content_viewers, on=["event_date", "content_id"], how="left")
    out = out.merge(content[["content_id", "title", "genre", "content_type"]], on="content_id", how="left")
    out["unique_viewers"] = out["unique_viewers"].fillna(0).astype("int64")
    out["watch_hours"] = out["watch_ms"].to_numpy("float64") / MS_PER_HOUR
    out["completion_rate"] = ratio(out["completed"], out["plays"])
    return out


def build_genre_daily(content_sums: pd.DataFrame, genre_viewers: pd.DataFrame, content: pd.DataFrame) -> pd.DataFrame:
    """gold_genre_daily: one row per (event_date, genre) with at least one session."""
    rows = content_sums.merge(content[["content_id", "genre"]], on="content_id", how="inner")
    sums = sum_partials([rows], ("event_date", "genre"), CONTENT_MEASURES)
    out = sums[sums["sessions"] > 0].merge(genre_viewers, on=["event_date", "genre"], how="left")
    out["unique_viewers"] = out["unique_viewers"].fillna(0).astype("int64")
    out["watch_hours"] = out["watch_ms"].to_numpy("float64") / MS_PER_HOUR
    out["completion_rate"] = ratio(out["completed"], out["plays"])
    return out


def build_qoe_daily(qoe_sums: pd.DataFrame, qoe_stats: pd.DataFrame) -> pd.DataFrame:
    """gold_qoe_daily: one row per (event_date, device_type) with at least one session."""
    out = qoe_sums[qoe_sums["attempts"] > 0].merge(qoe_stats, on=list(QOE_KEYS), how="left")
    out["video_start_failure_rate"] = ratio(out["start_failures"], out["attempts"])
    out["exit_before_start_rate"] = ratio(out["exits_before_start"], out["attempts"])
    out["playback_failure_rate"] = ratio(out["playback_failures"], out["plays"])
    rebuffer = out["rebuffer_ms"].to_numpy("float64")
    watch = out["watch_ms"].to_numpy("float64")
    out["rebuffer_ratio"] = ratio(rebuffer, rebuffer + watch)
    out["rebuffers_per_hour"] = ratio(out["rebuffer_count"], watch / MS_PER_HOUR)
    out["avg_bitrate_kbps"] = ratio(out["bitrate_sum"].fillna(0.0), out["bitrate_n"].fillna(0))
    return out


def build_user_engagement(engagement: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """gold_user_engagement: one row per user with at least one session; plan and country from users.csv."""
    out = engagement.copy()
    out["watch_hours"] = out["watch_ms"].to_numpy("float64") / MS_PER_HOUR
    return out.merge(users[["user_id", "plan", "country"]], on="user_id", how="left")


def build_campaign_pacing(
    campaigns: pd.DataFrame, ads_daily: pd.DataFrame, window: tuple[int, int] | None
) -> pd.DataFrame:
    """gold_campaign_pacing: one row per valid campaign."""
    spend = ads_daily.dropna(subset=["campaign_id"]).groupby("campaign_id", sort=True)["revenue_usd"].sum()
    out = campaigns[["campaign_id", "advertiser", "budget_usd", "start_date", "end_date"]].copy()
    out = out.merge(spend.rename("spend_usd").reset_index(), on="campaign_id", how="left")
    out["spend_usd"] = out["spend_usd"].fillna(0.0).astype("float64")
    start = out["start_date"].to_numpy("int64")
    flight = out["end_date"].to_numpy("int64") - start + 1
    last = window[1] if window else None
    elapsed = np.zeros(len(out), dtype="int64") if last is None else np.maximum(0, np.minimum(last - start + 1, flight))
    out["flight_days"] = flight
    out["days_elapsed"] = elapsed
    spent_share = out["spend_usd"].to_numpy("float64") / out["budget_usd"].to_numpy("float64")
    pacing = ratio(spent_share, np.where(elapsed > 0, elapsed / np.where(flight > 0, flight, 1), 0.0))
    out["pacing_index"] = np.where(elapsed > 0, pacing, np.nan)
    out["status"] = np.select(
        [elapsed <= 0, pacing < PACING_UNDER, pacing > PACING_OVER],
        ["not_started", "under", "over"],
        default="on_track",
    )
    return out


def build_retention_cohorts(
    retained: pd.DataFrame, users: pd.DataFrame, window: tuple[int, int] | None
) -> pd.DataFrame:
    """gold_retention_cohorts: per (cohort_week, week_number ≥ 0) overlapping the data window."""
    columns = {"cohort_week": "int64", "week_number": "int64", "cohort_size": "int64", "retained_users": "int64"}
    if window is None:
        return empty_frame({**columns, "retention_rate": "float64"})
    first, last = window
    signup = users["signup_date"].dropna().to_numpy("int64")
    sizes = pd.Series(monday_of(signup)).value_counts().sort_index()
    rows = []
    for cohort, size in sizes.items():
        if cohort > last:
            continue
        # week w covers [cohort + 7w, cohort + 7w + 6]; keep it when that meets [first, last]
        w_first = max(0, -(-(first - 6 - cohort) // 7))
        w_last = (last - cohort) // 7
        rows.extend((int(cohort), w, int(size)) for w in range(w_first, w_last + 1))
    out = pd.DataFrame(rows, columns=["cohort_week", "week_number", "cohort_size"]).astype("int64")
    out = out.merge(retained, on=["cohort_week", "week_number"], how="left")
    out["retained_users"] = out["retained_users"].fillna(0).astype("int64")
    out["retention_rate"] = ratio(out["retained_users"], out["cohort_size"])
    return out


# ---------------------------------------------------------------- data quality

AUDIT_COUNTS: tuple[str, ...] = SILVER_AUDIT_COUNTS + QUARANTINE_REASONS


def audit_row(dataset: str, dt: str, counts: Mapping[str, int]) -> dict:
    """One silver audit JSON object → a gold_data_quality row (missing reasons count 0)."""
    return {"dataset": dataset, "dt": dt, **{name: int(counts.get(name) or 0) for name in AUDIT_COUNTS}}


def build_data_quality(audits: pd.DataFrame, cross: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """gold_data_quality: one row per silver audit file, with cross_partition_duplicates.

    ``cross`` maps an event dataset to its per-dt duplicate counts (day numbers);
    dimensions have none.
    """
    frames = []
    for dataset, counts in cross.items():
        if len(counts):
            dts = pd.to_datetime(counts["dt"].astype("int64"), unit="D").dt.strftime("%Y-%m-%d")
            frames.append(pd.DataFrame({"dataset": dataset, "dt": dts, "cross": counts["cross_partition_duplicates"]}))
    dups = pd.concat(frames, ignore_index=True) if frames else empty_frame({"dataset": "str", "dt": "str", "cross": "int64"})
    out = audits.merge(dups, on=["dataset", "dt"], how="left")
    out["cross_partition_duplicates"] = out["cross"].fillna(0).astype("int64")
    out.loc[out["dataset"].isin(DIM_DATASETS), "cross_partition_duplicates"] = 0
    return out
