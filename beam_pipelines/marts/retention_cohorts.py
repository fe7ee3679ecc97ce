"""``gold_retention_cohorts`` — one row per (cohort_week, week_number ≥ 0) overlapping the data window.

Retained users are distinct users per (cohort week, week number), counted from the
user-days with a play (``user_days`` of :mod:`~beam_pipelines.marts.user_engagement`,
kept per event_date); cohort sizes come from the users dimension.
"""

from __future__ import annotations

import pandas as pd

from beam_pipelines.marts.frames import empty_frame, monday_of, ratio
from beam_pipelines.marts.shared import AD_SUMS, CONTENT_SUMS, data_window
from beam_pipelines.marts.spec import Finish, Mart
from beam_pipelines.marts.user_engagement import USER_DAYS


def retained(days: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """Per (cohort_week, week_number ≥ 0), the valid users with a play in that week.

    ``days``: user-day rows (user_id, event_date, plays). A user retained on several
    days of a week counts once.
    """
    user_days = days.loc[days["plays"].to_numpy() > 0, ["user_id", "event_date"]]
    cohorts = user_days.merge(users[["user_id", "signup_date"]].dropna(), on="user_id", how="inner")
    cohorts["cohort_week"] = monday_of(cohorts["signup_date"])
    cohorts["week_number"] = (cohorts["event_date"].to_numpy("int64") - cohorts["cohort_week"]) // 7
    cohorts = cohorts[cohorts["week_number"] >= 0].drop_duplicates(["user_id", "cohort_week", "week_number"])
    return cohorts.groupby(["cohort_week", "week_number"], sort=True).size().rename("retained_users").reset_index()


def finish(ctx: Finish) -> pd.DataFrame:
    columns = {"cohort_week": "int64", "week_number": "int64", "cohort_size": "int64", "retained_users": "int64"}
    window = ctx.shared(data_window)
    if window is None:
        return empty_frame({**columns, "retention_rate": "float64"})
    first, last = window
    signup = ctx.users["signup_date"].dropna().to_numpy("int64")
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
    out = out.merge(retained(ctx.partial(USER_DAYS), ctx.users), on=["cohort_week", "week_number"], how="left")
    out["retained_users"] = out["retained_users"].fillna(0).astype("int64")
    out["retention_rate"] = ratio(out["retained_users"], out["cohort_size"])
    return out


MART = Mart("gold_retention_cohorts", (CONTENT_SUMS, AD_SUMS, USER_DAYS), finish)
