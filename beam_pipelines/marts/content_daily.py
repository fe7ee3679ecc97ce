"""``gold_content_daily`` — one row per (event_date, content_id) with at least one session."""

from __future__ import annotations

import pandas as pd

from beam_pipelines.marts.frames import ratio
from beam_pipelines.marts.shared import CONTENT_SUMS, MS_PER_HOUR, players_partial
from beam_pipelines.marts.spec import Finish, Mart


CONTENT_VIEWERS = players_partial("content_viewers", ("event_date", "content_id"), "unique_viewers")


def finish(ctx: Finish) -> pd.DataFrame:
    content_sums = ctx.partial(CONTENT_SUMS)
    out = content_sums[content_sums["sessions"] > 0].merge(
        ctx.partial(CONTENT_VIEWERS), on=["event_date", "content_id"], how="left"
    )
    out = out.merge(ctx.content[["content_id", "title", "genre", "content_type"]], on="content_id", how="left")
    out["unique_viewers"] = out["unique_viewers"].fillna(0).astype("int64")
    out["watch_hours"] = out["watch_ms"].to_numpy("float64") / MS_PER_HOUR
    out["completion_rate"] = ratio(out["completed"], out["plays"])
    return out


MART = Mart("gold_content_daily", (CONTENT_SUMS, CONTENT_VIEWERS), finish, by_date=True, dims=("content",))
