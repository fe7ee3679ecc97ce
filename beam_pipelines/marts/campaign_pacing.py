"""``gold_campaign_pacing`` — one row per valid campaign: spend (from ``gold_ads_daily``)
against budget, paced over the flight days elapsed by the last date of the data window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from beam_pipelines.marts import ads_daily
from beam_pipelines.marts.frames import ratio
from beam_pipelines.marts.shared import AD_SUMS, CONTENT_SUMS, data_window
from beam_pipelines.marts.spec import Finish, Mart
from beam_pipelines.schema import PACING_OVER, PACING_UNDER


def finish(ctx: Finish) -> pd.DataFrame:
    ads, window = ctx.mart(ads_daily.MART), ctx.shared(data_window)
    spend = ads.dropna(subset=["campaign_id"]).groupby("campaign_id", sort=True)["revenue_usd"].sum()
    out = ctx.campaigns[["campaign_id", "advertiser", "budget_usd", "start_date", "end_date"]].copy()
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


MART = Mart("gold_campaign_pacing", (CONTENT_SUMS, AD_SUMS), finish, needs=(ads_daily.MART,))
