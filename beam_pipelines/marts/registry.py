"""The gold marts, one line each: what ``ott gold`` builds, in the contract's table order.

:class:`~beam_pipelines.marts.transforms.BuildGoldMarts` builds exactly these marts (and
computes exactly the partials they need); ``gold_pipeline`` writes one Iceberg table per
entry. The warehouse DDL, the BigQuery schemas, the exports and the generic SQL data
tests (unique grain, not-null keys) iterate ``GOLD_TABLES`` of
:mod:`beam_pipelines.schema` — the light contract module those processes import without
pandas or Beam — and importing this module fails unless the two name the same tables in
the same order. How to add a mart: ``docs/gold.md``.
"""

from __future__ import annotations

from beam_pipelines.marts import (
    ads_daily,
    campaign_pacing,
    content_daily,
    daily_kpis,
    data_quality,
    genre_daily,
    qoe_daily,
    retention_cohorts,
    user_engagement,
)
from beam_pipelines.marts.spec import Mart
from beam_pipelines.schema import GOLD_TABLES

MARTS: tuple[Mart, ...] = (
    daily_kpis.MART,
    content_daily.MART,
    genre_daily.MART,
    qoe_daily.MART,
    user_engagement.MART,
    ads_daily.MART,
    campaign_pacing.MART,
    retention_cohorts.MART,
    data_quality.MART,
)


def check_registry(marts: tuple[Mart, ...], tables: tuple[str, ...]) -> None:
    """Raise unless ``marts`` builds exactly ``tables``, in that order."""
    names = tuple(m.table for m in marts)
    if names != tables:
        raise ImportError(
            f"beam_pipelines/marts/registry.py lists {names}, the contract (GOLD_SCHEMAS) {tables}: "
            "every gold table needs one mart module and one registry line, in the same order"
        )


check_registry(MARTS, GOLD_TABLES)
