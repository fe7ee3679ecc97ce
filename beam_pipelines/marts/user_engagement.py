"""``gold_user_engagement`` — one row per user with at least one session.

Not additive over users' sessions (favourite genre, binges), so computed where all of a
user's sessions meet: each bucket emits the finished rows of its users.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from beam_pipelines.marts.frames import ConcatFramesFn
from beam_pipelines.marts.shared import MS_PER_HOUR, SESSIONS, USER_SESSION_COLUMNS, user_sessions
from beam_pipelines.marts.spec import Bucket, Finish, Mart, Partial
from beam_pipelines.schema import BINGE_MAX_GAP_MS, BINGE_MIN_PLAYS

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


def engagement(bucket: Bucket) -> pd.DataFrame:
    """All sessions of the bucket's users → one engagement row per user (watch_ms, not hours)."""
    s, plays = bucket.shared(user_sessions)
    per_user = s.groupby("user_id", sort=True).agg(sessions=("session_id", "size"), watch_ms=("watch_ms", "sum"))
    play_stats = plays.groupby("user_id", sort=False).agg(
        plays=("session_id", "size"),
        active_days=("event_date", "nunique"),
        last_active_date=("event_date", "max"),
    )
    out = per_user.join(play_stats).join(favourite_genres(plays)).join(binge_counts(plays)).reset_index()
    for name in ("plays", "active_days", "binge_sessions"):
        out[name] = out[name].fillna(0).astype("int64")
    out["last_active_date"] = out["last_active_date"].astype("float64")
    return out[list(ENGAGEMENT_COLUMNS)]


ENGAGEMENT = Partial(
    "engagement", SESSIONS, USER_SESSION_COLUMNS, engagement, ConcatFramesFn(ENGAGEMENT_COLUMNS, ["user_id"])
)


def finish(ctx: Finish) -> pd.DataFrame:
    out = ctx.partial(ENGAGEMENT).copy()
    out["watch_hours"] = out["watch_ms"].to_numpy("float64") / MS_PER_HOUR
    return out.merge(ctx.users[["user_id", "plan", "country"]], on="user_id", how="left")


MART = Mart("gold_user_engagement", (ENGAGEMENT,), finish)
