"""Report data: run the report's SQL on the warehouse and return plain data (SPEC §8).

    data = build_report_data("data")      # -> ReportData
    data.daily[-1]["watch_hours"], data.comparison, data.partial_day

The queries live in ``sql/report/*.sql``, one statement per file, each opening with a
comment that states its question and grain. They are written in SQLite's dialect, not
BigQuery's like ``sql/analytics``: they read only the SQLite warehouse, and several of
them are presentation queries (``sqlite_master``, ``limit :top_n``) that have no reason
to run on BigQuery. Parameters are SQLite named parameters (``:event_date``).

Every number the report and the dashboard show comes from here: values are warehouse
values, rows are ``dict``s keyed by the query's column names, in the query's order
(every ORDER BY ends in a unique key, so the data is deterministic). No formatting,
no wall clock.

Trailing partial day: the generator's last date can hold only spill-over (sessions that
began just after midnight, late ad events). Gold keeps it (a date with a session is a
date), but comparing it with a full day would mislead, so :func:`detect_partial_day`
flags it: with at least ``PARTIAL_DAY_MIN_DATES`` dates, the latest date is partial when
its playback attempts are below ``PARTIAL_DAY_SHARE`` of the median attempts of the other
dates. The day-over-day comparison (:class:`Comparison`) then uses the latest complete
day, and only compares it with the day before when that day is in the data.
"""

from __future__ import annotations

import datetime as dt_
import sqlite3
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttError
from scripts.sql_dir import sql_dir

Row = dict[str, Any]

SQL_DIR = sql_dir() / "report"
TOP_TITLES = 10  # titles in the top-titles table and chart
TOP_USERS = 10
RETENTION_WEEKS = 8  # week_0 .. week_7 of analytics_retention_cohort_matrix
RECENT_COHORTS = 12  # cohorts shown in the report and dashboard (most recent)
PARTIAL_DAY_SHARE = 0.25  # latest date is partial below this share of the other dates' median attempts
PARTIAL_DAY_MIN_DATES = 3  # fewer dates than this: no partial-day detection
REQUIRED_ANALYTICS = (
    "analytics_rolling_active_users_7d",
    "analytics_daily_growth",
    "analytics_top_titles_by_genre",
    "analytics_ad_revenue_by_placement",
    "analytics_campaign_pacing_alerts",
    "analytics_retention_cohort_matrix",
    "analytics_worst_qoe_device_day",
    "analytics_binge_viewer_watch_share",
    "analytics_playback_funnel",
)


@dataclass(frozen=True)
class Window:
    """The dates of gold_daily_kpis."""

    first_date: str
    last_date: str
    days: int


@dataclass(frozen=True)
class PartialDay:
    """A trailing date that holds only spill-over (see :func:`detect_partial_day`)."""

    event_date: str
    previous_date: str
    attempts: int
    plays: int
    median_attempts: float


@dataclass(frozen=True)
class Comparison:
    """The day-over-day comparison the findings make: ``current`` is the latest complete
    day; ``previous`` the calendar day before it, or None when that day is not in the
    data (one day of data, or a gap) — then nothing is compared."""

    current: str
    previous: str | None


@dataclass(frozen=True)
class Move:
    """Watch hours of one genre or title on the two compared days."""

    label: str
    previous_hours: float
    current_hours: float

    @property
    def change(self) -> float:
        return self.current_hours - self.previous_hours


@dataclass(frozen=True)
class ReportData:
    """Everything the report and the dashboard show, read from the warehouse. Row keys
    are the column names of the named ``sql/report`` file."""

    window: Window
    volumes: Row  # volumes.sql
    table_rows: list[Row]  # {"table", "rows"} per warehouse_tables.sql
    daily: list[Row]  # daily_kpis.sql
    top_titles: list[Row]  # top_titles.sql
    top_by_genre: list[Row]  # top_titles_by_genre.sql
    genres: list[Row]  # genres.sql
    devices: list[Row]  # device_qoe_window.sql
    devices_day: list[Row]  # device_qoe_day.sql on comparison.current
    worst_qoe_days: list[Row]  # worst_qoe_days.sql
    top_users: list[Row]  # top_users.sql
    binge: list[Row]  # binge_by_plan.sql
    placements: list[Row]  # ad_placements.sql
    pacing_summary: list[Row]  # pacing_summary.sql
    alerts: list[Row]  # pacing_alerts.sql
    retention: list[Row]  # retention_recent.sql
    cohorts_total: int
    funnel: Row  # playback_funnel.sql
    quality: list[Row]  # data_quality.sql
    reasons: list[Row]  # quarantine_by_reason.sql
    comparison: Comparison
    genre_moves: list[Move]  # empty when comparison.previous is None
    title_moves: list[Move]
    partial_day: PartialDay | None = None

    @property
    def latest_complete(self) -> Row:
        """The daily row of the latest complete day."""
        return next(r for r in reversed(self.daily) if r["event_date"] == self.comparison.current)

    @property
    def campaigns(self) -> int:
        return sum(r["campaigns"] for r in self.pacing_summary)

    def is_partial(self, date: object) -> bool:
        return self.partial_day is not None and str(date) == self.partial_day.event_date

    def partial_week_cell(self, cohort_week: str, week: int) -> bool:
        """True if week ``week`` of a cohort starts on the partial day: its only day in
        the data window is then the partial day, so the cell is incomplete."""
        if self.partial_day is None:
            return False
        start = dt_.date.fromisoformat(str(cohort_week)[:10]) + dt_.timedelta(days=7 * week)
        return start.isoformat() == self.partial_day.event_date


# ------------------------------------------------------------------ queries


def load_sql(name: str) -> str:
    """The text of ``sql/report/<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def query(conn: sqlite3.Connection, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
    """Rows of ``sql/report/<name>.sql`` as dicts."""
    cur = conn.execute(load_sql(name), dict(params or {}))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def query_one(conn: sqlite3.Connection, name: str, params: Mapping[str, Any] | None = None) -> Row:
    rows = query(conn, name, params)
    if len(rows) != 1:
        raise ValueError(f"sql/report/{name}.sql returned {len(rows)} rows, expected one")
    return rows[0]


def open_warehouse(data_dir: str, path: str | None = None) -> sqlite3.Connection:
    """A read-only connection to the warehouse (``path``: a local copy of it), which must
    hold the analytics tables."""
    path = Path(path or catalog.warehouse_file(data_dir))
    if not path.is_file():
        raise OttError(f"no warehouse at {path} (run `ott warehouse` and `ott analytics` first)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in REQUIRED_ANALYTICS if t not in present]
    if missing:
        conn.close()
        raise OttError(f"warehouse {path} lacks {', '.join(missing)} (run `ott analytics` first)")
    return conn


# ------------------------------------------------------------------ rules over the data


def detect_partial_day(daily: Sequence[Row]) -> PartialDay | None:
    """The trailing partial day of ``daily`` (rows by date with ``attempts``), or None.

    Rule: with at least PARTIAL_DAY_MIN_DATES dates, the latest date is partial when its
    attempts are below PARTIAL_DAY_SHARE x the median attempts of the other dates."""
    if len(daily) < PARTIAL_DAY_MIN_DATES:
        return None
    last = daily[-1]
    median = statistics.median(r["attempts"] or 0 for r in daily[:-1])
    if (last["attempts"] or 0) >= PARTIAL_DAY_SHARE * median:
        return None
    return PartialDay(str(last["event_date"]), str(daily[-2]["event_date"]), last["attempts"] or 0,
                      last["plays"] or 0, median)


def comparison_days(daily: Sequence[Row], partial: PartialDay | None) -> Comparison:
    """The latest complete day and the day before it, if that day is in ``daily``."""
    dates = [str(r["event_date"]) for r in daily]
    current = partial.previous_date if partial else dates[-1]
    before = (dt_.date.fromisoformat(current) - dt_.timedelta(days=1)).isoformat()
    return Comparison(current, before if before in dates else None)


def watch_hour_moves(conn: sqlite3.Connection, kind: str, comparison: Comparison) -> list[Move]:
    """Genre (``kind="genre"``) or title moves between the compared days, largest first;
    none without a previous day."""
    if comparison.previous is None:
        return []
    rows = query(conn, f"watch_hour_moves_{kind}",
                 {"previous_date": comparison.previous, "current_date": comparison.current})
    return [Move(str(r["label"]), r["previous_hours"] or 0.0, r["current_hours"] or 0.0) for r in rows]


def table_row_counts(conn: sqlite3.Connection) -> list[Row]:
    """Rows of each table of warehouse_tables.sql. The name comes from sqlite_master and
    is quoted; a name cannot be a bound parameter."""
    names = [r["table_name"] for r in query(conn, "warehouse_tables")]
    return [
        {"table": name, "rows": conn.execute(f'SELECT COUNT(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0]}
        for name in names
    ]


def read_report_data(conn: sqlite3.Connection) -> ReportData:
    """Run every report query and apply the partial-day and comparison rules."""
    w = query_one(conn, "data_window")
    if not w["days"]:
        raise OttError("the warehouse holds no daily KPIs: nothing to report")
    window = Window(str(w["first_date"]), str(w["last_date"]), int(w["days"]))
    daily = query(conn, "daily_kpis")
    partial_day = detect_partial_day(daily)
    comparison = comparison_days(daily, partial_day)
    retention = query(conn, "retention_recent", {"recent_cohorts": RECENT_COHORTS})
    return ReportData(
        window=window,
        volumes=query_one(conn, "volumes"),
        table_rows=table_row_counts(conn),
        daily=daily,
        top_titles=query(conn, "top_titles", {"top_n": TOP_TITLES}),
        top_by_genre=query(conn, "top_titles_by_genre"),
        genres=query(conn, "genres"),
        devices=query(conn, "device_qoe_window"),
        devices_day=query(conn, "device_qoe_day", {"event_date": comparison.current}),
        worst_qoe_days=query(conn, "worst_qoe_days"),
        top_users=query(conn, "top_users", {"top_n": TOP_USERS}),
        binge=query(conn, "binge_by_plan"),
        placements=query(conn, "ad_placements"),
        pacing_summary=query(conn, "pacing_summary"),
        alerts=query(conn, "pacing_alerts"),
        retention=retention,
        cohorts_total=retention[0]["cohorts_total"] if retention else 0,
        funnel=query_one(conn, "playback_funnel"),
        quality=query(conn, "data_quality"),
        reasons=query(conn, "quarantine_by_reason"),
        comparison=comparison,
        genre_moves=watch_hour_moves(conn, "genre", comparison),
        # titles are labelled by their title; content_id would be unreadable in a finding
        title_moves=watch_hour_moves(conn, "title", comparison),
        partial_day=partial_day,
    )


def build_report_data(data_dir: str, path: str | None = None) -> ReportData:
    """:func:`read_report_data` on the warehouse of ``data_dir`` (or its local copy ``path``)."""
    conn = open_warehouse(data_dir, path)
    try:
        return read_report_data(conn)
    finally:
        conn.close()
