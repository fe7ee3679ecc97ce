"""Composite PTransforms of the gold stage: wiring only, the logic lives in ``logic``.

Element shapes (frames use the encoding of :mod:`beam_pipelines.marts.frames`):

- silver inputs: ``PCollection[pandas.DataFrame]``, one element per Parquet record
  batch (:class:`ReadSilverFrames`), or literal frames in tests;
- audits: ``PCollection[dict]``, one gold_data_quality row per silver audit file;
- each ``Build<Mart>`` returns a ``PCollection`` holding exactly one
  ``pandas.DataFrame``: the finished mart, still in the internal encoding;
- :class:`WriteGoldTable` turns that frame into ``gold/<table>/part-00000.parquet``
  and ``gold/<table>.jsonl``.

Additive metrics travel as per-batch partial frames combined with
:class:`~beam_pipelines.marts.frames.SumPartialsFn` (lifted before the shuffle).
Non-additive ones — distinct users, favourite genre, binges, retention, cross-partition
duplicates — are computed per stable hash bucket of their key after one
``GroupByKey``, and percentiles per (date, device) from sorted value arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import apache_beam as beam
import pandas as pd
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsSingleton, TaggedOutput

from beam_pipelines import catalog
from beam_pipelines.marts import logic
from beam_pipelines.schema import DIM_DATASETS, EVENT_DATASETS
from beam_pipelines.marts.frames import (
    CollectSortedValuesFn,
    ConcatFramesFn,
    SumPartialsFn,
    jsonl_bytes,
    match_paths,
    parquet_bytes,
    read_parquet_frames,
    split_by_bucket,
    to_gold_table,
    write_atomically,
)

# Hash buckets of the per-user / per-event_id steps: enough to keep a few workers busy;
# raise it on Dataflow (each bucket is one pandas job, so very many small ones cost overhead).
DEFAULT_BUCKETS = 4
METRICS_NAMESPACE = "ott.gold"

# ------------------------------------------------------------------ reading


class _ReadParquetFn(beam.DoFn):
    """A Parquet path → normalised frames, counting the rows read (never silently zero)."""

    def __init__(self, columns: tuple[str, ...], counter: str):
        self._columns, self._counter_name = columns, counter

    def setup(self):
        self._rows = Metrics.counter(METRICS_NAMESPACE, self._counter_name)

    def process(self, path: str):
        for frame in read_parquet_frames(path, self._columns):
            self._rows.inc(len(frame))
            yield frame


class ReadSilverFrames(beam.PTransform):
    """A silver table's Parquet files (glob, matched at run time) → frames of ``columns``."""

    def __init__(self, pattern: str, columns: Sequence[str], counter: str = "rows_read"):
        super().__init__()
        self._pattern = pattern
        self._columns = tuple(columns)
        self._counter = counter

    def expand(self, pbegin):
        return (
            pbegin
            | "Pattern" >> beam.Create([self._pattern])
            | "MatchFiles" >> beam.FlatMap(match_paths)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadBatches" >> beam.ParDo(_ReadParquetFn(self._columns, self._counter))
        )


def _read_audit(path: str) -> dict:
    with FileSystems.open(path) as handle:
        return logic.parse_audit(path, handle.read())


class ReadSilverAudits(beam.PTransform):
    """Every silver audit JSON (events per dt, dimensions per file) → gold_data_quality rows."""

    def __init__(self, data_dir: str):
        super().__init__()
        # only the audits of the five datasets: other files silver may keep there are not rows
        self._patterns = [catalog.silver_audit_file(data_dir, ds) for ds in DIM_DATASETS] + [
            catalog.silver_audit_file(data_dir, ds, "*") for ds in EVENT_DATASETS
        ]

    def expand(self, pbegin):
        return (
            pbegin
            | "Patterns" >> beam.Create(self._patterns)
            | "MatchFiles" >> beam.FlatMap(match_paths)
            | "ParseAudits" >> beam.Map(_read_audit)
        )


def _single_frame(columns: dict[str, str], keys: Sequence[str]) -> beam.CombineGlobally:
    return beam.CombineGlobally(ConcatFramesFn(columns, keys))


class CollectFrame(beam.PTransform):
    """Many frames of one table (e.g. a dimension read in batches) → one frame, sorted by ``keys``."""

    def __init__(self, columns: Sequence[str], keys: Sequence[str]):
        super().__init__()
        self._columns = {c: "object" for c in columns}
        self._keys = tuple(keys)

    def expand(self, frames):
        return frames | "Concat" >> _single_frame(self._columns, self._keys)


# ------------------------------------------------------------------ shared stages


def _bucket_rows(frame: pd.DataFrame, columns: tuple[str, ...], key: str, buckets: int):
    """Keep ``columns`` (less to shuffle) and split the rows by the hash bucket of ``key``."""
    return split_by_bucket(frame[list(columns)], key, buckets)


class SummariseSessions(beam.PTransform):
    """Session batches → {content_sums, qoe_sums, qoe_stats}: one frame each."""

    def expand(self, sessions):
        content_sums = (
            sessions
            | "ContentPartials" >> beam.Map(logic.content_partials)
            | "SumContent" >> beam.CombineGlobally(SumPartialsFn(logic.CONTENT_KEYS, logic.CONTENT_MEASURES))
        )
        qoe_sums = (
            sessions
            | "QoePartials" >> beam.Map(logic.qoe_partials)
            | "SumQoe" >> beam.CombineGlobally(SumPartialsFn(logic.QOE_KEYS, logic.QOE_MEASURES))
        )
        qoe_stats = (
            sessions
            | "QoeValues" >> beam.FlatMap(logic.qoe_values)
            | "CollectValues" >> beam.CombinePerKey(CollectSortedValuesFn(width=2))
            | "ValueStats" >> beam.MapTuple(logic.qoe_value_stats)
            | "StatsFrame" >> _single_frame(logic.QOE_STAT_COLUMNS, logic.QOE_KEYS)
        )
        return {"content_sums": content_sums, "qoe_sums": qoe_sums, "qoe_stats": qoe_stats}


class _SummariseUserBucketFn(beam.DoFn):
    """(bucket, [session frames]) → engagement frame (main) + tagged additive partials."""

    def process(self, element, users: pd.DataFrame, content: pd.DataFrame):
        _, frames = element
        parts = logic.summarise_user_bucket(pd.concat(list(frames), ignore_index=True), users, content)
        yield parts.pop("engagement")
        for name, frame in parts.items():
            yield TaggedOutput(name, frame)


class SummariseUsers(beam.PTransform):
    """Session batches → per-user engagement and distinct-user counts, via user_id buckets.

    Output: {engagement, content_viewers, genre_viewers, active_users, retained}.
    """

    def __init__(self, users, content, buckets: int = DEFAULT_BUCKETS):
        super().__init__()
        self._users, self._content, self._buckets = users, content, buckets

    def expand(self, sessions):
        columns = tuple(logic.USER_SESSION_COLUMNS)
        parts = (
            sessions
            | "BucketByUser" >> beam.FlatMap(_bucket_rows, columns, "user_id", self._buckets)
            | "GroupBuckets" >> beam.GroupByKey()
            | "SummariseBuckets"
            >> beam.ParDo(_SummariseUserBucketFn(), AsSingleton(self._users), AsSingleton(self._content)).with_outputs(
                *logic.USER_BUCKET_PARTIALS, main="engagement"
            )
        )
        out = {"engagement": parts.engagement | "ConcatEngagement" >> _single_frame(logic.ENGAGEMENT_COLUMNS, ["user_id"])}
        for name, (keys, measures) in logic.USER_BUCKET_PARTIALS.items():
            label = name.title().replace("_", "")
            out[name] = parts[name] | f"Sum{label}" >> beam.CombineGlobally(SumPartialsFn(keys, measures))
        return out


class _DropDuplicatesFn(beam.DoFn):
    """(bucket, [event frames]) → kept-event partials (main) + per-dt duplicate counts."""

    def __init__(self, partials: Callable[[pd.DataFrame], pd.DataFrame] | None, counter: str):
        self._partials, self._counter_name = partials, counter

    def setup(self):
        self._dropped = Metrics.counter(METRICS_NAMESPACE, self._counter_name)

    def process(self, element):
        _, frames = element
        kept, counts = logic.drop_cross_partition_duplicates(pd.concat(list(frames), ignore_index=True))
        self._dropped.inc(int(counts["cross_partition_duplicates"].sum()))
        if self._partials is not None:
            yield self._partials(kept)
        yield TaggedOutput("cross", counts)


class ResolveCrossPartitionDuplicates(beam.PTransform):
    """Event batches → {kept: partials of the surviving rows, cross: per-dt duplicate counts}.

    All rows of an event_id meet in one event_id bucket, where the earliest dt wins.
    ``partials`` reduces the surviving rows of a bucket (None: counts only).
    """

    def __init__(
        self,
        columns: Sequence[str],
        partials=None,
        keys=(),
        measures=(),
        buckets: int = DEFAULT_BUCKETS,
        counter: str = "cross_partition_duplicates",
    ):
        super().__init__()
        self._columns, self._partials = list(columns), partials
        self._keys, self._measures, self._buckets = keys, measures, buckets
        self._counter = counter

    def expand(self, events):
        parts = (
            events
            | "BucketByEventId" >> beam.FlatMap(_bucket_rows, tuple(self._columns), "event_id", self._buckets)
            | "GroupBuckets" >> beam.GroupByKey()
            | "DropDuplicates" >> beam.ParDo(_DropDuplicatesFn(self._partials, self._counter)).with_outputs("cross", main="kept")
        )
        out = {"cross": parts.cross | "SumCross" >> beam.CombineGlobally(SumPartialsFn(logic.CROSS_KEYS, logic.CROSS_MEASURES))}
        if self._partials is not None:
            out["kept"] = parts.kept | "SumKept" >> beam.CombineGlobally(SumPartialsFn(self._keys, self._measures))
        return out


# ------------------------------------------------------------------ the marts


class _FinishMart(beam.PTransform):
    """Apply ``build(*frames)`` once to single-frame PCollections (side inputs)."""

    def __init__(self, build: Callable[..., pd.DataFrame], inputs: Sequence, extra: Sequence = ()):
        super().__init__()
        self._build, self._inputs, self._extra = build, list(inputs), tuple(extra)

    def expand(self, pbegin):
        sides = [AsSingleton(p) for p in self._inputs]
        build, extra = self._build, self._extra
        return (
            pbegin
            | "Once" >> beam.Create([None])
            | "Build" >> beam.Map(lambda _, *frames: build(*frames, *extra), *sides)
        )


class BuildAdsDaily(_FinishMart):
    """gold_ads_daily from deduplicated ad sums and campaigns."""

    def __init__(self, ad_sums, campaigns):
        super().__init__(logic.build_ads_daily, [ad_sums, campaigns])


class BuildDailyKpis(_FinishMart):
    """gold_daily_kpis from content sums, active users, ads daily and users."""

    def __init__(self, content_sums, active_users, ads_daily, users):
        super().__init__(logic.build_daily_kpis, [content_sums, active_users, ads_daily, users])


class BuildContentDaily(_FinishMart):
    """gold_content_daily from content sums, distinct viewers and content."""

    def __init__(self, content_sums, content_viewers, content):
        super().__init__(logic.build_content_daily, [content_sums, content_viewers, content])


class BuildGenreDaily(_FinishMart):
    """gold_genre_daily from content sums, distinct genre viewers and content."""

    def __init__(self, content_sums, genre_viewers, content):
        super().__init__(logic.build_genre_daily, [content_sums, genre_viewers, content])


class BuildQoeDaily(_FinishMart):
    """gold_qoe_daily from QoE sums and per-(date, device) value statistics."""

    def __init__(self, qoe_sums, qoe_stats):
        super().__init__(logic.build_qoe_daily, [qoe_sums, qoe_stats])


class BuildUserEngagement(_FinishMart):
    """gold_user_engagement from per-user rows and users."""

    def __init__(self, engagement, users):
        super().__init__(logic.build_user_engagement, [engagement, users])


def _pacing(campaigns, ads_daily, content_sums):
    return logic.build_campaign_pacing(campaigns, ads_daily, logic.data_window(content_sums, ads_daily))


def _retention(retained, users, content_sums, ads_daily):
    return logic.build_retention_cohorts(retained, users, logic.data_window(content_sums, ads_daily))


def _quality(_, audits, playback_cross, ad_cross):
    rows = pd.DataFrame(audits, columns=["dataset", "dt", *logic.AUDIT_COUNTS])
    return logic.build_data_quality(rows, {"playback_events": playback_cross, "ad_events": ad_cross})


class BuildCampaignPacing(_FinishMart):
    """gold_campaign_pacing from campaigns and ads daily (last date from the data window)."""

    def __init__(self, campaigns, ads_daily, content_sums):
        super().__init__(_pacing, [campaigns, ads_daily, content_sums])


class BuildRetentionCohorts(_FinishMart):
    """gold_retention_cohorts from retained counts, users and the data window."""

    def __init__(self, retained, users, content_sums, ads_daily):
        super().__init__(_retention, [retained, users, content_sums, ads_daily])


class BuildDataQuality(beam.PTransform):
    """gold_data_quality from audit rows and the cross-partition duplicate counts."""

    def __init__(self, playback_cross, ad_cross):
        super().__init__()
        self._playback_cross, self._ad_cross = playback_cross, ad_cross

    def expand(self, audits):
        return (
            audits
            | "CollectAudits" >> beam.combiners.ToList()
            | "Build"
            >> beam.Map(
                lambda rows, playback, ads: _quality(None, rows, playback, ads),
                AsSingleton(self._playback_cross),
                AsSingleton(self._ad_cross),
            )
        )


class BuildGoldMarts(beam.PTransform):
    """Silver inputs → the nine gold marts, one single-frame PCollection per table.

    Input: a dict with ``sessions``, ``ad_events``, ``playback_events`` (frame batches),
    ``users``, ``content``, ``campaigns`` (one frame each) and ``audits`` (rows).
    """

    def __init__(self, buckets: int = DEFAULT_BUCKETS):
        super().__init__()
        self._buckets = buckets

    def expand(self, inputs):
        p = inputs["sessions"].pipeline
        users, content, campaigns = inputs["users"], inputs["content"], inputs["campaigns"]
        sums = inputs["sessions"] | "SummariseSessions" >> SummariseSessions()
        per_user = inputs["sessions"] | "SummariseUsers" >> SummariseUsers(users, content, self._buckets)
        ads = inputs["ad_events"] | "ResolveAdDuplicates" >> ResolveCrossPartitionDuplicates(
            logic.AD_COLUMNS, logic.ad_partials, logic.AD_KEYS, logic.AD_MEASURES, self._buckets,
            counter="ad_events_cross_partition_duplicates",
        )
        playback = inputs["playback_events"] | "ResolvePlaybackDuplicates" >> ResolveCrossPartitionDuplicates(
            logic.PLAYBACK_COLUMNS, buckets=self._buckets, counter="playback_events_cross_partition_duplicates"
        )
        ads_daily = p | "BuildAdsDaily" >> BuildAdsDaily(ads["kept"], campaigns)
        return {
            "gold_daily_kpis": p
            | "BuildDailyKpis" >> BuildDailyKpis(sums["content_sums"], per_user["active_users"], ads_daily, users),
            "gold_content_daily": p
            | "BuildContentDaily" >> BuildContentDaily(sums["content_sums"], per_user["content_viewers"], content),
            "gold_genre_daily": p
            | "BuildGenreDaily" >> BuildGenreDaily(sums["content_sums"], per_user["genre_viewers"], content),
            "gold_qoe_daily": p | "BuildQoeDaily" >> BuildQoeDaily(sums["qoe_sums"], sums["qoe_stats"]),
            "gold_user_engagement": p | "BuildUserEngagement" >> BuildUserEngagement(per_user["engagement"], users),
            "gold_ads_daily": ads_daily,
            "gold_campaign_pacing": p
            | "BuildCampaignPacing" >> BuildCampaignPacing(campaigns, ads_daily, sums["content_sums"]),
            "gold_retention_cohorts": p
            | "BuildRetentionCohorts"
            >> BuildRetentionCohorts(per_user["retained"], users, sums["content_sums"], ads_daily),
            "gold_data_quality": inputs["audits"]
            | "BuildDataQuality" >> BuildDataQuality(playback["cross"], ads["cross"]),
        }


# ------------------------------------------------------------------ writing


def write_gold_table(frame: pd.DataFrame, data_dir: str, table: str) -> str:
    """Write one finished mart as Parquet + JSON lines (each file atomically); return the table."""
    arrow = to_gold_table(frame, table)
    Metrics.counter(METRICS_NAMESPACE, f"{table}_rows").inc(arrow.num_rows)
    write_atomically(f"{catalog.gold_table_dir(data_dir, table)}/part-00000.parquet", parquet_bytes(arrow))
    write_atomically(catalog.gold_jsonl_file(data_dir, table), jsonl_bytes(arrow))
    return table


class WriteGoldTable(beam.PTransform):
    """The single frame of a mart → ``gold/<table>/part-00000.parquet`` + ``gold/<table>.jsonl``."""

    def __init__(self, data_dir: str, table: str):
        super().__init__()
        self._data_dir, self._table = data_dir, table

    def expand(self, frames):
        return frames | "WriteFiles" >> beam.Map(write_gold_table, self._data_dir, self._table)
