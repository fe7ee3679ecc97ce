"""``gold_user_engagement`` — one row per user with at least one session.

Kept per (event_date, user_id) so that a day's state never needs another day's rows
(SPEC §12): ``user_days`` holds each user-day's sessions, plays and watch time and a
summary of its plays' binge runs, ``user_genres`` its watch time per genre. ``finish``
adds the days up per user; a binge run that crosses midnight is joined from the last
run of one play-day and the first run of the user's next play-day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from beam_pipelines.marts.frames import ConcatFramesFn
from beam_pipelines.marts.shared import MS_PER_HOUR, SESSIONS, USER_SESSION_COLUMNS, user_sessions
from beam_pipelines.marts.spec import Bucket, Finish, Mart, Partial
from beam_pipelines.schema import BINGE_MAX_GAP_MS, BINGE_MIN_PLAYS

# A day's plays fall into runs (consecutive plays that may belong to one binge). Only the
# first ("head") and last ("tail") run can continue into another day; the runs between
# are final, so the day keeps just how many of them are binges.
RUN_COLUMNS: dict[str, str] = {"len": "int64", "start": "int64", "end": "int64", "series": "str"}
USER_DAY_COLUMNS: dict[str, str] = {
    "event_date": "int64",
    "user_id": "str",
    "sessions": "int64",
    "plays": "int64",
    "watch_ms": "int64",
    "inner_binges": "int64",
    **{f"head_{name}": dtype for name, dtype in RUN_COLUMNS.items()},
    **{f"tail_{name}": dtype for name, dtype in RUN_COLUMNS.items()},  # tail_len 0: one run only
}
USER_GENRE_COLUMNS: dict[str, str] = {"event_date": "int64", "user_id": "str", "genre": "str", "watch_ms": "int64"}
ENGAGEMENT_COLUMNS: tuple[str, ...] = (
    "user_id",
    "sessions",
    "plays",
    "active_days",
    "watch_ms",
    "favorite_genre",
    "binge_sessions",
    "last_active_date",  # day number, NaN without plays
)


def episode_series(plays: pd.DataFrame) -> np.ndarray:
    """Per play, its series_id when it is an episode of a series, else None."""
    is_episode = (plays["content_type"] == "episode").fillna(False).to_numpy(bool) & plays["series_id"].notna().to_numpy()
    return np.where(is_episode, plays["series_id"].astype(object).to_numpy(object), None)


def continues(user: np.ndarray, series: np.ndarray, start: np.ndarray, end: np.ndarray, apart: np.ndarray) -> np.ndarray:
    """Per element (a play, or a run of plays), whether it continues the previous one's
    run: same user, both episodes of one series, and starting ≤ 30 min after the previous
    element's end. ``apart``: pairs that may not join whatever their values."""
    cont = np.zeros(len(user), dtype=bool)
    if len(user) > 1:
        both = pd.notna(series[1:]) & pd.notna(series[:-1])
        cont[1:] = (
            (user[1:] == user[:-1])
            & ~apart[1:]
            & both
            & (np.where(both, series[1:], "") == np.where(both, series[:-1], ""))
            & (start[1:] - end[:-1] <= BINGE_MAX_GAP_MS)
        )
    return cont


def day_runs(plays: pd.DataFrame) -> pd.DataFrame:
    """The plays of some users → their runs within each (user_id, event_date): event_date,
    user_id, len, start (first play's session_start_ts), end (last play's end_ts), series.

    Plays are ordered by (session_start_ts, session_id); event_date is the date of
    session_start_ts, so a day's plays are consecutive in the user's order.
    """
    p = plays.sort_values(["user_id", "session_start_ts", "session_id"], kind="mergesort").reset_index(drop=True)
    user = p["user_id"].to_numpy(object)
    day = p["event_date"].to_numpy("int64")
    series = episode_series(p)
    start, end = p["session_start_ts"].to_numpy("int64"), p["end_ts"].to_numpy("int64")
    new_day = np.ones(len(p), dtype=bool)
    new_day[1:] = day[1:] != day[:-1]
    run = np.cumsum(~continues(user, series, start, end, new_day))
    runs = pd.DataFrame({"run": run, "event_date": day, "user_id": p["user_id"], "start": start, "end": end, "series": series})
    grouped = runs.groupby("run", sort=True)
    out = grouped.first()
    out["len"] = grouped.size()
    out["end"] = grouped["end"].last()
    return out.reset_index(drop=True)[["event_date", "user_id", "len", "start", "end", "series"]]


def user_days(bucket: Bucket) -> pd.DataFrame:
    """Per (event_date, user_id) of the bucket: sessions, plays, watch_ms and the binge summary."""
    s, plays = bucket.shared(user_sessions)
    keys = ["event_date", "user_id"]
    out = s.groupby(keys, sort=True).agg(sessions=("session_id", "size"), watch_ms=("watch_ms", "sum"))
    out = out.join(plays.groupby(keys, sort=False).size().rename("plays"))
    runs = day_runs(plays)
    grouped = runs.groupby(keys, sort=False)
    rank, count = grouped.cumcount().to_numpy(), grouped["len"].transform("size").to_numpy()
    head = runs[rank == 0].set_index(keys).add_prefix("head_")
    tail = runs[(rank == count - 1) & (count > 1)].set_index(keys).add_prefix("tail_")
    inner = runs[(rank > 0) & (rank < count - 1) & (runs["len"].to_numpy() >= BINGE_MIN_PLAYS)]
    out = out.join(inner.groupby(keys, sort=False).size().rename("inner_binges")).join(head).join(tail).reset_index()
    for name in ("plays", "inner_binges", "head_len", "head_start", "head_end", "tail_len", "tail_start", "tail_end"):
        out[name] = out[name].fillna(0).astype("int64")
    return out[list(USER_DAY_COLUMNS)]


def user_genres(bucket: Bucket) -> pd.DataFrame:
    """Per (event_date, user_id, genre): watch_ms over the bucket's plays."""
    _, plays = bucket.shared(user_sessions)
    keys = ["event_date", "user_id", "genre"]
    return plays.dropna(subset=["genre"]).groupby(keys, sort=True)["watch_ms"].sum().reset_index()


USER_DAYS = Partial(
    "user_days", SESSIONS, USER_SESSION_COLUMNS, user_days, ConcatFramesFn(USER_DAY_COLUMNS, ["event_date", "user_id"])
)
USER_GENRES = Partial(
    "user_genres",
    SESSIONS,
    USER_SESSION_COLUMNS,
    user_genres,
    ConcatFramesFn(USER_GENRE_COLUMNS, ["event_date", "user_id", "genre"]),
)


def binge_counts(days: pd.DataFrame) -> pd.Series:
    """User-day rows (``user_days``) of any days → binges per user_id.

    A binge is a maximal run of ≥ 3 consecutive plays that are episodes of one series,
    each starting ≤ 30 min after the previous play's end_ts (overlaps count). Runs inside
    a day are final; a day's head run may continue the previous play-day's tail run.
    """
    keys = ["user_id", "event_date"]
    ends = []
    for order, side in enumerate(("head", "tail")):
        part = days.loc[days[f"{side}_len"].to_numpy() > 0, [*keys, *(f"{side}_{c}" for c in RUN_COLUMNS)]]
        ends.append(part.set_axis([*keys, *RUN_COLUMNS], axis=1).assign(order=order))
    runs = pd.concat(ends, ignore_index=True).sort_values([*keys, "order"], kind="mergesort")
    user, day = runs["user_id"].to_numpy(object), runs["event_date"].to_numpy("int64")
    same_day = np.zeros(len(runs), dtype=bool)
    same_day[1:] = (day[1:] == day[:-1]) & (user[1:] == user[:-1])
    series = runs["series"].astype(object).to_numpy(object)
    joined = np.cumsum(~continues(user, series, runs["start"].to_numpy("int64"), runs["end"].to_numpy("int64"), same_day))
    sizes = runs.groupby(joined, sort=False).agg(user_id=("user_id", "first"), plays=("len", "sum"))
    binges = sizes.loc[sizes["plays"] >= BINGE_MIN_PLAYS, "user_id"].value_counts()
    inner = days.groupby("user_id", sort=False)["inner_binges"].sum()
    return binges.add(inner, fill_value=0).astype("int64").rename("binge_sessions")


def favourite_genres(genres: pd.DataFrame) -> pd.Series:
    """Per user_id, the genre with the most watch_ms over plays; ties → code-point order."""
    by_genre = genres.groupby(["user_id", "genre"], sort=False)["watch_ms"].sum().reset_index()
    by_genre["genre_key"] = by_genre["genre"].astype(object)
    ranked = by_genre.sort_values(["user_id", "watch_ms", "genre_key"], ascending=[True, False, True], kind="mergesort")
    return ranked.drop_duplicates("user_id").set_index("user_id")["genre"].rename("favorite_genre")


def engagement(days: pd.DataFrame, genres: pd.DataFrame) -> pd.DataFrame:
    """User-day and user-genre-day rows → one engagement row per user (watch_ms, not hours)."""
    played = days[days["plays"].to_numpy() > 0]
    out = days.groupby("user_id", sort=True).agg(sessions=("sessions", "sum"), plays=("plays", "sum"), watch_ms=("watch_ms", "sum"))
    out = out.join(played.groupby("user_id", sort=False).agg(active_days=("event_date", "size"), last_active_date=("event_date", "max")))
    out = out.join(favourite_genres(genres)).join(binge_counts(days)).reset_index()
    for name in ("active_days", "binge_sessions"):
        out[name] = out[name].fillna(0).astype("int64")
    out["last_active_date"] = out["last_active_date"].astype("float64")
    return out[list(ENGAGEMENT_COLUMNS)]


def finish(ctx: Finish) -> pd.DataFrame:
    out = engagement(ctx.partial(USER_DAYS), ctx.partial(USER_GENRES))
    out["watch_hours"] = out["watch_ms"].to_numpy("float64") / MS_PER_HOUR
    return out.merge(ctx.users[["user_id", "plan", "country"]], on="user_id", how="left")


MART = Mart("gold_user_engagement", (USER_DAYS, USER_GENRES), finish)
