"""The data contract: every enum, bronze column list, validation rule and table schema.

This module is the single source of truth (SPEC.md §3–§6, §10). The generator, the
Beam stages, the warehouse loader, the report and the tests all import from here;
nothing else spells a column name list or an enum set by hand.

Shapes:
- ``BRONZE_FIELDS[dataset]`` is an ordered tuple of :class:`Field` — the bronze CSV
  columns in the contract's order, each with its type and validation rule.
- ``SILVER_SCHEMAS[table]`` / ``GOLD_SCHEMAS[table]`` are ``pyarrow.Schema`` objects
  whose field order is the column order on disk.
- ``TABLE_KEYS[table]`` is the grain (primary key) of each silver and gold table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

# --------------------------------------------------------------------------- enums

PLAYBACK_EVENT_TYPES: tuple[str, ...] = (
    "play_attempt",
    "video_start",
    "heartbeat",
    "pause",
    "resume",
    "seek",
    "buffer_start",
    "buffer_end",
    "bitrate_change",
    "error",
    "video_end",
)
DEVICE_TYPES: tuple[str, ...] = (
    "smart_tv",
    "mobile",
    "desktop",
    "tablet",
    "console",
    "streaming_stick",
)
AD_PLACEMENTS: tuple[str, ...] = (
    "pre_roll",
    "mid_roll",
    "post_roll",
    "pause_screen",
    "home_sponsorship",
)
AD_EVENT_TYPES: tuple[str, ...] = (
    "ad_request",
    "impression",
    "first_quartile",
    "midpoint",
    "third_quartile",
    "complete",
    "click",
    "conversion",
)
PLANS: tuple[str, ...] = ("ad_supported", "basic", "standard", "premium", "family", "student")
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55+")
CONTENT_TYPES: tuple[str, ...] = ("movie", "episode")
OBJECTIVES: tuple[str, ...] = ("awareness", "consideration", "conversion")
BID_STRATEGIES: tuple[str, ...] = ("CPM", "CPC", "CPA")
BOOLEANS: tuple[str, ...] = ("true", "false")

# Quarantine reasons in SPEC §4 order: a row gets the first that applies.
QUARANTINE_REASONS: tuple[str, ...] = (
    "malformed",
    "missing_field",
    "invalid_timestamp",
    "invalid_enum",
    "out_of_range",
    "future_timestamp",
    "unknown_user",
    "unknown_content",
    "unknown_campaign",
)

EVENT_DATASETS: tuple[str, ...] = ("playback_events", "ad_events")
DIM_DATASETS: tuple[str, ...] = ("users", "content", "campaigns")
DATASETS: tuple[str, ...] = DIM_DATASETS + EVENT_DATASETS

# ------------------------------------------------------------------ bronze fields

Kind = Literal["str", "enum", "int", "decimal", "bool", "ts", "date"]


@dataclass(frozen=True)
class Field:
    """One bronze column and how silver validates it.

    kind: ``str`` free text (trimmed only); ``enum`` normalised then checked against
    ``values``; ``int`` ``^[+-]?\\d+$`` within [min_value, max_value]; ``decimal``
    a decimal > 0; ``bool`` true/false; ``ts`` an event timestamp (ISO-8601 with
    offset, or epoch ms); ``date`` ``YYYY-MM-DD``.
    required: ``True``/``False``, or the name of a conditional rule evaluated by silver
    (see ``CONDITIONAL_REQUIRED``).
    """

    name: str
    kind: Kind = "str"
    required: bool | str = False
    values: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    upper: bool = False  # country codes are upper-cased


CONDITIONAL_REQUIRED = {
    # ads: campaign_id unless event_type is ad_request (normalised value)
    "unless_ad_request": ("event_type", "ad_request"),
    # ads: session_id unless placement is home_sponsorship (normalised value)
    "unless_home_sponsorship": ("placement", "home_sponsorship"),
    # content: series_id on episodes (normalised value)
    "if_episode": ("content_type", "episode"),
}

BRONZE_FIELDS: dict[str, tuple[Field, ...]] = {
    "users": (
        Field("user_id", required=True),
        Field("signup_date", "date", required=True),
        Field("plan", "enum", required=True, values=PLANS),
        Field("country", upper=True),
        Field("city"),
        Field("age_band", "enum", values=AGE_BANDS),
        Field("primary_device"),
        Field("updated_at", "ts"),
    ),
    "content": (
        Field("content_id", required=True),
        Field("title", required=True),
        Field("content_type", "enum", required=True, values=CONTENT_TYPES),
        Field("series_id", required="if_episode"),
        Field("season_number", "int", min_value=0),
        Field("episode_number", "int", min_value=0),
        Field("genre", required=True),
        Field("maturity_rating"),
        Field("duration_sec", "int", required=True, min_value=1),
        Field("release_year", "int"),
        Field("language"),
        Field("is_original", "bool"),
    ),
    "campaigns": (
        Field("campaign_id", required=True),
        Field("advertiser", required=True),
        Field("objective", "enum", required=True, values=OBJECTIVES),
        Field("bid_strategy", "enum", required=True, values=BID_STRATEGIES),
        Field("bid_usd", "decimal", required=True),
        Field("budget_usd", "decimal", required=True),
        Field("start_date", "date", required=True),
        Field("end_date", "date", required=True),
    ),
    "playback_events": (
        Field("event_id", required=True),
        Field("session_id", required=True),
        Field("user_id", required=True),
        Field("content_id", required=True),
        Field("event_type", "enum", required=True, values=PLAYBACK_EVENT_TYPES),
        Field("event_ts", "ts", required=True),
        Field("device_type", "enum", required=True, values=DEVICE_TYPES),
        Field("os"),
        Field("app_version"),
        Field("country", upper=True),
        Field("position_sec", "int", min_value=0),
        Field("bitrate_kbps", "int", min_value=1, max_value=100_000),
        Field("error_code"),
        Field("error_fatal", "bool"),
    ),
    "ad_events": (
        Field("event_id", required=True),
        Field("session_id", required="unless_home_sponsorship"),
        Field("user_id", required=True),
        Field("campaign_id", required="unless_ad_request"),
        Field("placement", "enum", required=True, values=AD_PLACEMENTS),
        Field("event_type", "enum", required=True, values=AD_EVENT_TYPES),
        Field("event_ts", "ts", required=True),
        Field("device_type", "enum", required=True, values=DEVICE_TYPES),
        Field("country", upper=True),
    ),
}

BRONZE_COLUMNS: dict[str, tuple[str, ...]] = {
    ds: tuple(f.name for f in fields) for ds, fields in BRONZE_FIELDS.items()
}

# The dimension key each dataset is deduplicated on, and the foreign keys that must
# exist in the valid rows of a dimension (SPEC §4 rule 7, in this order).
PRIMARY_KEY: dict[str, str] = {
    "users": "user_id",
    "content": "content_id",
    "campaigns": "campaign_id",
    "playback_events": "event_id",
    "ad_events": "event_id",
}
FOREIGN_KEYS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # (column, dimension dataset, reason)
    "playback_events": (
        ("user_id", "users", "unknown_user"),
        ("content_id", "content", "unknown_content"),
    ),
    "ad_events": (
        ("user_id", "users", "unknown_user"),
        ("campaign_id", "campaigns", "unknown_campaign"),
    ),
}

# ------------------------------------------------------------------ arrow schemas

TS = pa.timestamp("ms", tz="UTC")
_ARROW_OF_KIND: dict[str, pa.DataType] = {
    "str": pa.string(),
    "enum": pa.string(),
    "int": pa.int64(),
    "decimal": pa.float64(),
    "bool": pa.bool_(),
    "ts": TS,
    "date": pa.date32(),
}


def _silver_from_bronze(dataset: str, extra: list[pa.Field]) -> pa.Schema:
    fields = [pa.field(f.name, _ARROW_OF_KIND[f.kind]) for f in BRONZE_FIELDS[dataset]]
    return pa.schema(fields + extra)


SILVER_SCHEMAS: dict[str, pa.Schema] = {
    "silver_users": _silver_from_bronze("users", []),
    "silver_content": _silver_from_bronze("content", []),
    "silver_campaigns": _silver_from_bronze("campaigns", []),
    # event_date = UTC date of event_ts; dt = ingest partition.
    "silver_playback_events": _silver_from_bronze(
        "playback_events", [pa.field("event_date", pa.date32()), pa.field("dt", pa.date32())]
    ),
    "silver_ad_events": _silver_from_bronze(
        "ad_events", [pa.field("event_date", pa.date32()), pa.field("dt", pa.date32())]
    ),
    # SPEC §5; one row per session, partitioned by event_date (the session's start date).
    "silver_sessions": pa.schema(
        [
            ("session_id", pa.string()),
            ("user_id", pa.string()),
            ("content_id", pa.string()),
            ("device_type", pa.string()),
            ("country", pa.string()),
            ("session_start_ts", TS),
            ("event_date", pa.date32()),
            ("end_ts", TS),
            ("started", pa.bool_()),
            ("startup_ms", pa.int64()),
            ("start_failure", pa.bool_()),
            ("exit_before_start", pa.bool_()),
            ("playback_failure", pa.bool_()),
            ("rebuffer_ms", pa.int64()),
            ("paused_ms", pa.int64()),
            ("rebuffer_count", pa.int64()),
            ("watch_ms", pa.int64()),
            ("max_position_sec", pa.int64()),
            ("completed", pa.bool_()),
            ("avg_bitrate_kbps", pa.float64()),
        ]
    ),
}

# Quarantine rows: the raw record as it stood in bronze, where it came from, and why.
QUARANTINE_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("dt", pa.string()),  # "" for dimension files
        ("source_file", pa.string()),
        ("line_number", pa.int64()),  # 1-based physical line where the record starts
        ("reason", pa.string()),
        ("raw_line", pa.string()),
    ]
)

F64, I64, STR, DATE, BOOL = pa.float64(), pa.int64(), pa.string(), pa.date32(), pa.bool_()

GOLD_SCHEMAS: dict[str, pa.Schema] = {
    "gold_daily_kpis": pa.schema(
        [
            ("event_date", DATE),
            ("active_users", I64),
            ("attempts", I64),
            ("plays", I64),
            ("watch_hours", F64),
            ("avg_watch_min_per_active_user", F64),
            ("new_signups", I64),
            ("ad_impressions", I64),
            ("ad_revenue_usd", F64),
        ]
    ),
    "gold_content_daily": pa.schema(
        [
            ("event_date", DATE),
            ("content_id", STR),
            ("title", STR),
            ("genre", STR),
            ("content_type", STR),
            ("plays", I64),
            ("unique_viewers", I64),
            ("watch_hours", F64),
            ("completion_rate", F64),
        ]
    ),
    "gold_genre_daily": pa.schema(
        [
            ("event_date", DATE),
            ("genre", STR),
            ("plays", I64),
            ("unique_viewers", I64),
            ("watch_hours", F64),
            ("completion_rate", F64),
        ]
    ),
    "gold_qoe_daily": pa.schema(
        [
            ("event_date", DATE),
            ("device_type", STR),
            ("attempts", I64),
            ("plays", I64),
            ("video_start_failure_rate", F64),
            ("exit_before_start_rate", F64),
            ("playback_failure_rate", F64),
            ("startup_ms_p50", I64),
            ("startup_ms_p95", I64),
            ("rebuffer_ratio", F64),
            ("rebuffers_per_hour", F64),
            ("avg_bitrate_kbps", F64),
        ]
    ),
    "gold_user_engagement": pa.schema(
        [
            ("user_id", STR),
            ("plan", STR),
            ("country", STR),
            ("sessions", I64),
            ("plays", I64),
            ("active_days", I64),
            ("watch_hours", F64),
            ("favorite_genre", STR),
            ("binge_sessions", I64),
            ("last_active_date", DATE),
        ]
    ),
    "gold_ads_daily": pa.schema(
        [
            ("event_date", DATE),
            ("placement", STR),
            ("campaign_id", STR),
            ("ad_requests", I64),
            ("impressions", I64),
            ("fill_rate", F64),
            ("clicks", I64),
            ("ctr", F64),
            ("completes", I64),
            ("completion_rate", F64),
            ("conversions", I64),
            ("revenue_usd", F64),
            ("ecpm_usd", F64),
        ]
    ),
    "gold_campaign_pacing": pa.schema(
        [
            ("campaign_id", STR),
            ("advertiser", STR),
            ("budget_usd", F64),
            ("spend_usd", F64),
            ("flight_days", I64),
            ("days_elapsed", I64),
            ("pacing_index", F64),
            ("status", STR),
        ]
    ),
    "gold_retention_cohorts": pa.schema(
        [
            ("cohort_week", DATE),
            ("week_number", I64),
            ("cohort_size", I64),
            ("retained_users", I64),
            ("retention_rate", F64),
        ]
    ),
    "gold_data_quality": pa.schema(
        [("dataset", STR), ("dt", STR), ("rows_read", I64), ("rows_valid", I64)]
        + [("duplicates_dropped", I64), ("rows_quarantined", I64)]
        + [(reason, I64) for reason in QUARANTINE_REASONS]
        + [("cross_partition_duplicates", I64)]
    ),
}

PACING_STATUSES: tuple[str, ...] = ("not_started", "under", "on_track", "over")

# Counts of one silver partition (SPEC §4 conservation), as committed with it in the
# ``silver.audit`` table and read back by gold_data_quality; dt is "" for dimensions.
AUDIT_COUNTS: tuple[str, ...] = ("rows_read", "rows_valid", "duplicates_dropped", "rows_quarantined")
AUDIT_SCHEMA = pa.schema(
    [("dataset", pa.string()), ("dt", pa.string())]
    + [(name, pa.int64()) for name in AUDIT_COUNTS + QUARANTINE_REASONS]
    + [("run_id", pa.string())]
)

# The event-id index (SPEC §12): per valid row of a committed event partition, stable
# 64-bit keys of event_id and session_id (null for ad events) and its event_date; one
# index file beside each silver data file. What an incremental run reads of the history.
EVENT_INDEX_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("dt", pa.date32()),
        ("event_key", pa.int64()),
        ("session_key", pa.int64()),
        ("event_date", pa.date32()),
    ]
)

# The gold state (SPEC §12): per slice of silver — a sessions partition (event_date) or
# an event partition (dt) — the finished frame of every partial the marts need, as an Arrow
# IPC stream, with the silver files (and dimension fingerprint) it was computed from. A
# gold run recomputes only the slices whose inputs changed and merges the others' rows.
GOLD_STATE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),  # the silver table of the slice
        ("slice", pa.date32()),  # its partition value
        ("partial", pa.string()),
        ("frame", pa.binary()),
        ("inputs", pa.string()),  # JSON: digest of the silver files, content fingerprint, version
    ]
)

# A release (SPEC §11): the snapshot of every table of a stage that one complete run
# left, recorded in one atomic append. ``snapshots`` is JSON {table: snapshot id};
# gold releases also pin the silver snapshots they were built from (``inputs``).
RELEASE_SCHEMA = pa.schema(
    [
        ("release_id", pa.int64()),
        ("run_id", pa.string()),
        ("attempt", pa.string()),  # the run attempt whose commits it records
        ("kind", pa.string()),  # "publish", or "rollback" (re-points at an earlier release)
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("snapshots", pa.string()),
        ("inputs", pa.string()),
    ]
)

# Grain of every table: the primary key in the warehouse and the stable sort order of
# gold files. A nullable key column (gold_ads_daily.campaign_id) sorts nulls first.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "silver_users": ("user_id",),
    "silver_content": ("content_id",),
    "silver_campaigns": ("campaign_id",),
    "silver_playback_events": ("dt", "event_id"),
    "silver_ad_events": ("dt", "event_id"),
    "silver_sessions": ("session_id",),
    "gold_daily_kpis": ("event_date",),
    "gold_content_daily": ("event_date", "content_id"),
    "gold_genre_daily": ("event_date", "genre"),
    "gold_qoe_daily": ("event_date", "device_type"),
    "gold_user_engagement": ("user_id",),
    "gold_ads_daily": ("event_date", "placement", "campaign_id"),
    "gold_campaign_pacing": ("campaign_id",),
    "gold_retention_cohorts": ("cohort_week", "week_number"),
    "gold_data_quality": ("dataset", "dt"),
}

GOLD_TABLES: tuple[str, ...] = tuple(GOLD_SCHEMAS)
SILVER_TABLES: tuple[str, ...] = tuple(SILVER_SCHEMAS)

# The warehouse (SPEC §7), also loaded to BigQuery, in load order: the dimensions, the
# sessions, then every gold mart. Its DDL and the generic SQL data tests (unique grain,
# not-null keys) are generated from these tables' schemas and TABLE_KEYS.
WAREHOUSE_TABLES: tuple[str, ...] = ("silver_users", "silver_content", "silver_campaigns", "silver_sessions") + GOLD_TABLES
# Grain columns the contract allows to be null: the unfilled-request row of
# gold_ads_daily, and gold_data_quality's dimension rows whose dt is "empty" (a writer
# may spell that "" or null).
NULLABLE_KEYS: dict[str, tuple[str, ...]] = {
    "gold_ads_daily": ("campaign_id",),
    "gold_data_quality": ("dt",),
}

# Iceberg identity partitions of each table (SPEC §11); a table not listed is unpartitioned.
# Every data file a stage writes holds exactly one value of each partition column.
TABLE_PARTITIONS: dict[str, tuple[str, ...]] = {
    "silver_playback_events": ("dt",),
    "silver_ad_events": ("dt",),
    "silver_sessions": ("event_date",),
    "quarantine": ("dataset", "dt"),
    "event_index": ("dataset", "dt"),
    "partials": ("source", "slice"),
    **{table: ("event_date",) for table in GOLD_TABLES if GOLD_SCHEMAS[table].names[0] == "event_date"},
}
# Tables of each Iceberg namespace, with their Arrow schemas (the quarantine and the
# per-partition audit are silver tables of their own; releases are per namespace).
NAMESPACE_TABLES: dict[str, dict[str, pa.Schema]] = {
    "silver": {
        **SILVER_SCHEMAS,
        "quarantine": QUARANTINE_SCHEMA,
        "audit": AUDIT_SCHEMA,
        "event_index": EVENT_INDEX_SCHEMA,
        "releases": RELEASE_SCHEMA,
    },
    "gold": {**GOLD_SCHEMAS, "partials": GOLD_STATE_SCHEMA, "releases": RELEASE_SCHEMA},
}

# silver table written for each bronze dataset
SILVER_TABLE_OF: dict[str, str] = {ds: f"silver_{ds}" for ds in DATASETS}

# Fixed numbers of the contract.
FUTURE_TOLERANCE_HOURS = 25  # event_ts >= dt + 1 day 01:00 UTC is future_timestamp
BINGE_MIN_PLAYS = 3
BINGE_MAX_GAP_MS = 30 * 60 * 1000
PACING_UNDER, PACING_OVER = 0.9, 1.1


# ----------------------------------------------------------- enum normalisation


def enum_token(value: str) -> str:
    """Normalised comparison form of an enum value: trimmed, lower-case, ``' '``/``-`` → ``_``."""
    return value.strip().lower().replace(" ", "_").replace("-", "_")


# For every enum or bool field: normalised token → the spelling silver stores (§3).
ENUM_LOOKUP: dict[tuple[str, str], dict[str, str]] = {
    (ds, f.name): {enum_token(v): v for v in (f.values or BOOLEANS)}
    for ds, fields in BRONZE_FIELDS.items()
    for f in fields
    if f.kind in ("enum", "bool")
}
