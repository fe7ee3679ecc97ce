"""``gold_genre_daily`` — one row per (event_date, genre) with at least one session.

The content sums summed per genre; distinct viewers counted per genre in each bucket
(a viewer of two titles of one genre counts once).
"""

from __future__ import annotations

import pandas as pd

from beam_pipelines.marts.frames import ratio, sum_partials
from beam_pipelines.marts.shared import CONTENT_MEASURES, CONTENT_SUMS, MS_PER_HOUR, players_partial
from beam_pipelines.marts.spec import Finish, Mart


GENRE_VIEWERS = players_partial("genre_viewers", ("event_date", "genre"), "unique_viewers")


def finish(ctx: Finish) -> pd.DataFrame:
    rows = ctx.partial(CONTENT_SUMS).merge(ctx.content[["content_id", "genre"]], on="content_id", how="inner")
    sums = sum_partials([rows], ("event_date", "genre"), CONTENT_MEASURES)
    out = sums[sums["sessions"] > 0].merge(ctx.partial(GENRE_VIEWERS), on=["event_date", "genre"], how="left")
    out["unique_viewers"] = out["unique_viewers"].fillna(0).astype("int64")
    out["watch_hours"] = out["watch_ms"].to_numpy("float64") / MS_PER_HOUR
    out["completion_rate"] = ratio(out["completed"], out["plays"])
    return out


MART = Mart("gold_genre_daily", (CONTENT_SUMS, GENRE_VIEWERS), finish, by_date=True, dims=("content",))
