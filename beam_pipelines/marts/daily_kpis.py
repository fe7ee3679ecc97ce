"""``gold_daily_kpis`` — one row per date with at least one session or one valid ad event.

Sessions, plays and watch time come from the shared content sums, active users from a
distinct count per bucket (a user lives in one bucket), ads from ``gold_ads_daily``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from beam_pipelines.marts import ads_daily
from beam_pipelines.marts.frames import ratio
from beam_pipelines.marts.shared import CONTENT_SUMS, MS_PER_HOUR, MS_PER_MINUTE, players_partial
from beam_pipelines.marts.spec import Finish, Mart


ACTIVE_USERS = players_partial("active_users", ("event_date",), "active_users")


def finish(ctx: Finish) -> pd.DataFrame:
    content_sums, ads = ctx.partial(CONTENT_SUMS), ctx.mart(ads_daily.MART)
    sessions = content_sums.groupby("event_date")[["sessions", "plays", "watch_ms"]].sum()
    ads = ads.groupby("event_date")[["impressions", "revenue_usd"]].sum()
    days = sorted(set(sessions.index.astype("int64")) | set(ads.index.astype("int64")))
    out = pd.DataFrame({"event_date": np.array(days, dtype="int64")}).set_index("event_date")
    out = out.join(sessions).join(ctx.partial(ACTIVE_USERS).set_index("event_date")["active_users"]).join(ads)
    signups = ctx.users["signup_date"].dropna().astype("int64").value_counts().rename("new_signups")
    out = out.join(signups)
    ints = ["sessions", "plays", "watch_ms", "active_users", "impressions", "new_signups"]
    out[ints] = out[ints].fillna(0).astype("int64")
    out["revenue_usd"] = out["revenue_usd"].fillna(0.0).astype("float64")
    watch_ms = out["watch_ms"].to_numpy("float64")
    out["watch_hours"] = watch_ms / MS_PER_HOUR
    out["avg_watch_min_per_active_user"] = ratio(watch_ms / MS_PER_MINUTE, out["active_users"])
    return out.reset_index().rename(
        columns={"sessions": "attempts", "impressions": "ad_impressions", "revenue_usd": "ad_revenue_usd"}
    )


MART = Mart("gold_daily_kpis", (CONTENT_SUMS, ACTIVE_USERS), finish, needs=(ads_daily.MART,))
