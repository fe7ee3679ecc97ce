"""Warehouses for the report and dashboard tests that wh_fixtures does not build: one
day of data, two days, and hostile text (see test_report_findings, test_dashboard).

    data_dir = build_report_dir(tmp_path, one_day_dataset())   # warehouse + analytics + report
"""

from __future__ import annotations

import datetime as dt_
from pathlib import Path

from wh_fixtures import Dataset, build_dataset, derive_gold, write_dataset

from scripts import report

LONG_COUNTRY = "Q" * 20_000
RLO = "\u202e"  # right-to-left override
HOSTILE_TITLE = f"{RLO}gnp.exe\u202c Evil\nTitle\r\n<script>alert(1)</script>\x07\u2066end\u2069"
HOSTILE_ADVERTISER = "<script>alert('ad')</script>\u202d" + "A" * 5_000


def cut_to_days(base: Dataset, days: int) -> Dataset:
    """``base`` restricted to its first ``days`` dates (gold derived again)."""
    t = base.tables
    dims = {k: t[k] for k in ("silver_users", "silver_content", "silver_campaigns")}
    last = base.first_day + dt_.timedelta(days=days - 1)
    sessions = t["silver_sessions"][t["silver_sessions"].event_date <= last].reset_index(drop=True)
    ads = t["gold_ads_daily"][t["gold_ads_daily"].event_date <= last].reset_index(drop=True)
    gold = derive_gold(dims, sessions, ads)
    return Dataset({**dims, "silver_sessions": sessions, **gold}, base.first_day, last)


def one_day_dataset() -> Dataset:
    return cut_to_days(build_dataset(), 1)


def two_day_dataset() -> Dataset:
    return cut_to_days(build_dataset(), 2)


def hostile_dataset() -> Dataset:
    """The fixture with a 20,000-character country for every user, a top title holding
    bidi overrides, line breaks, a bell and a script tag, and an advertiser of 5,000+
    characters with a script tag."""
    base = build_dataset(title_override={"c04": HOSTILE_TITLE})
    t = base.tables
    users = t["silver_users"].assign(country=LONG_COUNTRY)
    campaigns = t["silver_campaigns"].copy()
    campaigns["advertiser"] = [HOSTILE_ADVERTISER if c == "k03" else a
                               for c, a in zip(campaigns.campaign_id, campaigns.advertiser)]
    dims = {"silver_users": users, "silver_content": t["silver_content"], "silver_campaigns": campaigns}
    gold = derive_gold(dims, t["silver_sessions"], t["gold_ads_daily"])
    return Dataset({**dims, "silver_sessions": t["silver_sessions"], **gold}, base.first_day, base.last_day)


def build_report_dir(data_dir: Path, data: Dataset) -> Path:
    """Write ``data``, build the warehouse and analytics, run ``ott report``."""
    from scripts import analytics, warehouse

    write_dataset(data, data_dir)
    warehouse.build_warehouse(str(data_dir))
    analytics.run_analytics(str(data_dir))
    assert report.main(["--data-dir", str(data_dir), "--generated-at", "T"]) == 0
    return data_dir


__all__ = ["HOSTILE_ADVERTISER", "HOSTILE_TITLE", "LONG_COUNTRY", "RLO", "build_report_dir", "cut_to_days",
           "hostile_dataset", "one_day_dataset", "two_day_dataset"]
