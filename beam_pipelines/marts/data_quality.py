"""``gold_data_quality`` — one row per silver audit (dataset, dt), with the
cross-partition duplicates gold left out of every other mart."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from apache_beam.metrics import Metrics

from beam_pipelines.marts.frames import SumPartialsFn, empty_frame
from beam_pipelines.marts.shared import AD_EVENTS, PLAYBACK_EVENTS, cross_partition_duplicates
from beam_pipelines.marts.spec import METRICS_NAMESPACE, Bucket, Finish, Mart, Partial
from beam_pipelines.schema import AUDIT_COUNTS as SILVER_AUDIT_COUNTS
from beam_pipelines.schema import DIM_DATASETS, QUARANTINE_REASONS

AUDIT_COUNTS: tuple[str, ...] = SILVER_AUDIT_COUNTS + QUARANTINE_REASONS


def audit_row(dataset: str, dt: str, counts: Mapping[str, int]) -> dict:
    """One silver audit JSON object → a gold_data_quality row (missing reasons count 0)."""
    return {"dataset": dataset, "dt": dt, **{name: int(counts.get(name) or 0) for name in AUDIT_COUNTS}}


def cross_counts(bucket: Bucket) -> pd.DataFrame:
    """Per dt, the bucket's rows whose event_id an earlier dt already had (also counted
    in the metric ``<kind>_cross_partition_duplicates``)."""
    rows = bucket.rows[bucket.shared(cross_partition_duplicates)]
    Metrics.counter(METRICS_NAMESPACE, f"{bucket.kind.name}_cross_partition_duplicates").inc(len(rows))
    return rows.groupby("dt", sort=True).size().rename("cross_partition_duplicates").reset_index()


# one partial per event table, by dataset name
CROSS = {
    kind.name: Partial(
        f"{kind.name}_cross", kind, ("event_id", "dt"), cross_counts, SumPartialsFn(("dt",), ("cross_partition_duplicates",))
    )
    for kind in (PLAYBACK_EVENTS, AD_EVENTS)
}


def finish(ctx: Finish) -> pd.DataFrame:
    """One row per silver audit row, with cross_partition_duplicates (0 for dimensions)."""
    audits = pd.DataFrame(ctx.audits, columns=["dataset", "dt", *AUDIT_COUNTS])
    frames = []
    for dataset, partial in CROSS.items():
        counts = ctx.partial(partial)
        if len(counts):
            dts = pd.to_datetime(counts["dt"].astype("int64"), unit="D").dt.strftime("%Y-%m-%d")
            frames.append(pd.DataFrame({"dataset": dataset, "dt": dts, "cross": counts["cross_partition_duplicates"]}))
    dups = pd.concat(frames, ignore_index=True) if frames else empty_frame({"dataset": "str", "dt": "str", "cross": "int64"})
    out = audits.merge(dups, on=["dataset", "dt"], how="left")
    out["cross_partition_duplicates"] = out["cross"].fillna(0).astype("int64")
    out.loc[out["dataset"].isin(DIM_DATASETS), "cross_partition_duplicates"] = 0
    return out


MART = Mart("gold_data_quality", tuple(CROSS.values()), finish)
