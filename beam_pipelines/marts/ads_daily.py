"""``gold_ads_daily`` — one row per (event_date, placement, campaign_id) with a valid ad event.

Counts come from the shared ad sums (cross-partition duplicates already left out);
rates and revenue are computed once, from the merged counts and the campaigns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from beam_pipelines.marts.frames import ratio
from beam_pipelines.marts.shared import AD_KEYS, AD_SUMS, ads_by_date
from beam_pipelines.marts.spec import Finish, Mart


def finish(ctx: Finish) -> pd.DataFrame:
    ad_sums = ctx.shared(ads_by_date)
    ads = ad_sums[ad_sums["events"] > 0].copy()
    per_slot = ads.groupby(["event_date", "placement"], sort=False)[["ad_requests", "filled_requests"]].transform("sum")
    ads["fill_rate"] = ratio(per_slot["filled_requests"], per_slot["ad_requests"])
    ads["ctr"] = ratio(ads["clicks"], ads["impressions"])
    ads["completion_rate"] = ratio(ads["completes"], ads["impressions"])
    bids = ctx.campaigns[["campaign_id", "bid_strategy", "bid_usd"]]
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


MART = Mart("gold_ads_daily", (AD_SUMS,), finish)
