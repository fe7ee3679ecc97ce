"""``ott report``: the business report and the dashboard, built from the warehouse (SPEC §8).

    ott report                                   # -> data/reports/analysis_report.txt + dashboard.html
    ott report --data-dir /tmp/ott
    ott report --generated-at 2026-03-12T06:00:00Z   # pin the one time-dependent line (tests, diffs)

Reads ``warehouse/ott_analytics.db`` (the gold marts, silver sessions and the
``analytics_*`` tables written by ``ott analytics``) read-only. Every number in the
report is a warehouse value, formatted for people: thousands separators, hours,
percentages, USD. Identical data gives a byte-identical report apart from the single
``Generated at`` line, which is the only place the wall clock is used.

The dashboard (:mod:`scripts.dashboard`) is rendered from the same :class:`ReportData`.

Trailing partial day: the generator's last date can hold only spill-over (sessions that
began just after midnight, late ad events). Gold keeps it (a date with a session is a
date), but comparing it with a full day would mislead, so :func:`detect_partial_day`
flags it: with at least ``PARTIAL_DAY_MIN_DATES`` dates, the latest date is partial when
its playback attempts are below ``PARTIAL_DAY_SHARE`` of the median attempts of the other
dates. A partial day keeps its rows, marked ``*`` with a footnote; the header and the
day-over-day findings use the latest complete day (the one before it) instead.
"""

from __future__ import annotations

import datetime as dt_
import logging
import math
import re
import sqlite3
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_data_dir, configure_logging
from beam_pipelines.schema import QUARANTINE_REASONS

log = logging.getLogger("ott.report")

Row = dict[str, Any]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
WIDTH = 100  # report line width for rules and wrapped findings
TITLE_WIDTH = 34  # longest title shown before it is cut with an ellipsis
RETENTION_WEEKS = 8  # week_0 .. week_7 of analytics_retention_cohort_matrix
RECENT_COHORTS = 12  # cohorts shown in the report and dashboard (most recent)
TOP_ALERTS = 10  # pacing alerts listed in full
PARTIAL_DAY_SHARE = 0.25  # latest date is partial below this share of the other dates' median attempts
PARTIAL_DAY_MIN_DATES = 3  # fewer dates than this: no partial-day detection
PARTIAL_MARK = "*"  # marks a partial day's rows and incomplete retention cells
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

# ------------------------------------------------------------------ formatting


def fmt_int(value: int | float | None) -> str:
    return "–" if value is None else f"{int(value):,}"


def fmt_num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def fmt_hours(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} h"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A fraction (0–1) as a percentage."""
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def fmt_usd(value: float | None) -> str:
    if value is None:
        return "–"
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def fmt_change(value: float | None) -> str:
    """A relative change (0.123 → ``+12.3%``); ``n/a`` without a base."""
    if value is None:
        return "n/a"
    return f"{100 * value:+.1f}%"


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{int(value):,} ms"


def one_line(text: object) -> str:
    """Data text made safe for a plain-text table: control characters and line breaks
    become single spaces (a title with a newline must not break the alignment)."""
    if text is None:
        return "–"
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def cut(text: str | None, width: int = TITLE_WIDTH) -> str:
    text = one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class Col:
    """A text-table column: header, how to get the cell text, alignment."""

    header: str
    cell: Callable[[Row], str]
    align: str = ">"  # numbers right-aligned; text uses "<"


def render_table(rows: Sequence[Row], cols: Sequence[Col], indent: str = "  ") -> list[str]:
    """Aligned plain-text table (header, rule, rows)."""
    cells = [[one_line(c.cell(r)) for c in cols] for r in rows]
    widths = [max([len(c.header)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    def line(values: Sequence[str]) -> str:
        return indent + "  ".join(f"{v:{c.align}{w}}" for v, c, w in zip(values, cols, widths)).rstrip()
    out = [line([c.header for c in cols]), indent + "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    if not rows:
        out.append(indent + "(no rows)")
    return out


def wrap(text: str, indent: str = "  ", bullet: str = "- ") -> list[str]:
    """Wrap a finding at WIDTH with a hanging indent."""
    words, lines, current = text.split(), [], indent + bullet
    for word in words:
        if len(current) + len(word) + 1 > WIDTH and current.strip() not in ("", bullet.strip()):
            lines.append(current.rstrip())
            current = indent + " " * len(bullet)
        current += word + " "
    lines.append(current.rstrip())
    return lines


# ------------------------------------------------------------------ data


def nearest_rank(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile (SPEC §6): the value at rank ceil(p/100 × N)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def ratio(num: float | None, den: float | None) -> float | None:
    return None if not den or num is None else num / den


@dataclass
class ReportData:
    """Everything the report and the dashboard show, read from the warehouse."""

    window: Row
    volumes: Row
    table_rows: list[Row]
    daily: list[Row]
    top_titles: list[Row]
    top_by_genre: list[Row]
    genres: list[Row]
    devices: list[Row]
    worst_qoe_days: list[Row]
    top_users: list[Row]
    binge: list[Row]
    placements: list[Row]
    pacing: list[Row]
    alerts: list[Row]
    retention: list[Row]
    cohorts_total: int
    pacing_summary: list[Row]
    funnel: Row
    quality: list[Row]
    reasons: list[Row]
    genre_moves: list[tuple[str, float, float]]
    title_moves: list[tuple[str, float, float]]
    findings: list[str] = field(default_factory=list)
    partial_day: Row | None = None  # see detect_partial_day

    @property
    def latest_complete(self) -> Row:
        """The daily row of the latest complete day: the last one, or the one before a
        trailing partial day."""
        return self.daily[-2] if self.partial_day else self.daily[-1]

    def mark_date(self, date: object) -> str:
        """A date cell, with PARTIAL_MARK if it is the partial day."""
        partial = self.partial_day is not None and date == self.partial_day["event_date"]
        return f"{date}{PARTIAL_MARK}" if partial else str(date)

    def partial_week_cell(self, cohort_week: str, week: int) -> bool:
        """True if week ``week`` of a cohort starts on the partial day: its only day in
        the data window is then the partial day, so the cell is incomplete."""
        if self.partial_day is None:
            return False
        start = dt_.date.fromisoformat(str(cohort_week)[:10]) + dt_.timedelta(days=7 * week)
        return start.isoformat() == str(self.partial_day["event_date"])[:10]


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _one(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> Row:
    return _rows(conn, sql, params)[0]


def open_warehouse(data_dir: str) -> sqlite3.Connection:
    path = Path(catalog.warehouse_file(data_dir))
    if not path.is_file():
        raise OttError(f"no warehouse at {path} (run `ott warehouse` and `ott analytics` first)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in REQUIRED_ANALYTICS if t not in present]
    if missing:
        conn.close()
        raise OttError(f"warehouse {path} lacks {', '.join(missing)} (run `ott analytics` first)")
    return conn


def detect_partial_day(daily: Sequence[Row]) -> Row | None:
    """The trailing partial day of ``daily`` (rows by date with ``attempts``), or None.

    Rule: with at least PARTIAL_DAY_MIN_DATES dates, the latest date is partial when its
    attempts are below PARTIAL_DAY_SHARE x the median attempts of the other dates."""
    if len(daily) < PARTIAL_DAY_MIN_DATES:
        return None
    last = daily[-1]
    median = statistics.median(r["attempts"] or 0 for r in daily[:-1])
    if (last["attempts"] or 0) >= PARTIAL_DAY_SHARE * median:
        return None
    return {
        "event_date": last["event_date"],
        "previous_date": daily[-2]["event_date"],
        "attempts": last["attempts"] or 0,
        "plays": last["plays"] or 0,
        "median_attempts": median,
    }


def watch_hour_moves(conn: sqlite3.Connection, table: str, label: str, last_date: str) -> list[tuple[str, float, float]]:
    """(label, previous-day hours, last-day hours) from a daily mart, largest absolute
    change first (ties by label). ``table``/``label`` are code constants, never data."""
    rows = conn.execute(
        f"""SELECT {label} AS label,
                   SUM(CASE WHEN event_date = DATE(?, '-1 day') THEN watch_hours ELSE 0 END) AS prev_hours,
                   SUM(CASE WHEN event_date = ? THEN watch_hours ELSE 0 END) AS cur_hours
            FROM {table} WHERE event_date IN (DATE(?, '-1 day'), ?) GROUP BY {label}""",
        (last_date, last_date, last_date, last_date),
    ).fetchall()
    return sorted(((str(a), b, c) for a, b, c in rows), key=lambda m: (-abs(m[2] - m[1]), m[0]))


def read_report_data(conn: sqlite3.Connection) -> ReportData:
    """Query the warehouse; every ORDER BY ends in a unique key so output is deterministic."""
    window = _one(
        conn,
        "SELECT MIN(event_date) AS first_date, MAX(event_date) AS last_date, COUNT(*) AS days FROM gold_daily_kpis",
    )
    if not window["days"]:
        raise OttError("the warehouse holds no daily KPIs: nothing to report")
    volumes = _one(
        conn,
        """SELECT SUM(attempts) AS attempts, SUM(plays) AS plays, SUM(watch_hours) AS watch_hours,
                  SUM(ad_impressions) AS ad_impressions, SUM(ad_revenue_usd) AS ad_revenue_usd,
                  SUM(new_signups) AS new_signups,
                  (SELECT COUNT(DISTINCT user_id) FROM silver_sessions WHERE started) AS viewers,
                  (SELECT COUNT(DISTINCT content_id) FROM silver_sessions WHERE started) AS titles_played,
                  (SELECT COUNT(*) FROM silver_users) AS users,
                  (SELECT COUNT(*) FROM silver_content) AS catalog_titles,
                  (SELECT COUNT(*) FROM silver_campaigns) AS campaigns
           FROM gold_daily_kpis""",
    )
    table_names = [
        r["name"]
        for r in _rows(
            conn,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'analytics_%' ORDER BY name",
        )
    ]
    table_rows = [
        {"table": name, "rows": conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]} for name in table_names
    ]
    daily = _rows(
        conn,
        """SELECT k.event_date, k.active_users, k.attempts, k.plays, k.watch_hours,
                  k.avg_watch_min_per_active_user, k.new_signups, k.ad_impressions, k.ad_revenue_usd,
                  r.rolling_7d_active_users, r.dau_wau_ratio,
                  g.active_users_dod, g.plays_dod, g.watch_hours_dod, g.ad_revenue_dod,
                  g.active_users_wow, g.watch_hours_wow
           FROM gold_daily_kpis AS k
           LEFT JOIN analytics_rolling_active_users_7d AS r ON r.event_date = k.event_date
           LEFT JOIN analytics_daily_growth AS g ON g.event_date = k.event_date
           ORDER BY k.event_date""",
    )
    top_titles = _rows(
        conn,
        """SELECT content_id, MAX(title) AS title, MAX(genre) AS genre, MAX(content_type) AS content_type,
                  SUM(plays) AS plays, SUM(watch_hours) AS watch_hours,
                  SUM(completion_rate * plays) / NULLIF(SUM(plays), 0) AS completion_rate
           FROM gold_content_daily GROUP BY content_id
           ORDER BY watch_hours DESC, content_id LIMIT 10""",
    )
    for rank, title in enumerate(top_titles, start=1):
        title["rank"] = rank
    top_by_genre = _rows(conn, "SELECT * FROM analytics_top_titles_by_genre ORDER BY genre, title_rank")
    genres = _rows(
        conn,
        """SELECT genre, SUM(plays) AS plays, SUM(watch_hours) AS watch_hours,
                  SUM(watch_hours) / NULLIF((SELECT SUM(watch_hours) FROM gold_genre_daily), 0) AS watch_share,
                  SUM(completion_rate * plays) / NULLIF(SUM(plays), 0) AS completion_rate
           FROM gold_genre_daily GROUP BY genre ORDER BY watch_hours DESC, genre""",
    )
    devices = _rows(
        conn,
        """SELECT device_type, COUNT(*) AS attempts, SUM(started) AS plays,
                  SUM(start_failure) * 1.0 / COUNT(*) AS video_start_failure_rate,
                  SUM(exit_before_start) * 1.0 / COUNT(*) AS exit_before_start_rate,
                  SUM(playback_failure) * 1.0 / NULLIF(SUM(started), 0) AS playback_failure_rate,
                  SUM(rebuffer_ms) * 1.0 / NULLIF(SUM(rebuffer_ms) + SUM(watch_ms), 0) AS rebuffer_ratio,
                  SUM(rebuffer_count) / NULLIF(SUM(watch_ms) / 3.6e6, 0) AS rebuffers_per_hour,
                  AVG(CASE WHEN started THEN avg_bitrate_kbps END) AS avg_bitrate_kbps
           FROM silver_sessions GROUP BY device_type ORDER BY device_type""",
    )
    for d in devices:
        startups = [
            r[0]
            for r in conn.execute(
                "SELECT startup_ms FROM silver_sessions WHERE device_type = ? AND started AND startup_ms IS NOT NULL",
                (d["device_type"],),
            )
        ]
        d["startup_ms_p50"], d["startup_ms_p95"] = nearest_rank(startups, 50), nearest_rank(startups, 95)
        # the failure score of analytics_worst_qoe_device_day, over the whole window
        d["failure_score"] = sum(d[k] or 0 for k in ("video_start_failure_rate", "playback_failure_rate", "rebuffer_ratio"))
    worst_qoe_days = _rows(conn, "SELECT * FROM analytics_worst_qoe_device_day ORDER BY event_date")
    top_users = _rows(
        conn, "SELECT * FROM gold_user_engagement ORDER BY watch_hours DESC, user_id LIMIT 10"
    )
    binge = _rows(conn, "SELECT * FROM analytics_binge_viewer_watch_share ORDER BY plan")
    placements = _rows(conn, "SELECT * FROM analytics_ad_revenue_by_placement ORDER BY revenue_usd DESC, placement")
    pacing = _rows(conn, "SELECT * FROM gold_campaign_pacing ORDER BY campaign_id")
    # most money at stake first: the gap between actual and expected spend
    alerts = _rows(
        conn,
        """SELECT * FROM analytics_campaign_pacing_alerts
           ORDER BY flight_ended, severity, ABS(spend_usd - expected_spend_usd) DESC, campaign_id""",
    )
    retention = _rows(
        conn,
        "SELECT * FROM (SELECT * FROM analytics_retention_cohort_matrix ORDER BY cohort_week DESC LIMIT ?) "
        "ORDER BY cohort_week",
        (RECENT_COHORTS,),
    )
    cohorts_total = conn.execute("SELECT COUNT(*) FROM analytics_retention_cohort_matrix").fetchone()[0]
    pacing_summary = _rows(
        conn,
        """SELECT status, COUNT(*) AS campaigns, SUM(budget_usd) AS budget_usd, SUM(spend_usd) AS spend_usd
           FROM gold_campaign_pacing GROUP BY status
           ORDER BY CASE status WHEN 'over' THEN 0 WHEN 'under' THEN 1 WHEN 'on_track' THEN 2 ELSE 3 END, status""",
    )
    funnel = _one(
        conn,
        """SELECT SUM(attempts) AS attempts, SUM(plays) AS plays, SUM(completions) AS completions,
                  SUM(start_failures) AS start_failures, SUM(exits_before_start) AS exits_before_start
           FROM analytics_playback_funnel""",
    )
    reason_sums = ", ".join(f"SUM({r}) AS {r}" for r in QUARANTINE_REASONS)
    quality = _rows(
        conn,
        f"""SELECT dataset, COUNT(*) AS partitions, SUM(rows_read) AS rows_read, SUM(rows_valid) AS rows_valid,
                   SUM(rows_quarantined) AS rows_quarantined, SUM(duplicates_dropped) AS duplicates_dropped,
                   SUM(cross_partition_duplicates) AS cross_partition_duplicates, {reason_sums}
            FROM gold_data_quality GROUP BY dataset ORDER BY dataset""",
    )
    total_quarantined = sum(q["rows_quarantined"] or 0 for q in quality)
    reasons = [
        {"reason": r, "rows": sum(q[r] or 0 for q in quality), "share": ratio(sum(q[r] or 0 for q in quality), total_quarantined)}
        for r in QUARANTINE_REASONS
    ]
    reasons = sorted((r for r in reasons if r["rows"]), key=lambda r: (-r["rows"], r["reason"]))
    partial_day = detect_partial_day(daily)
    # day-over-day moves compare the latest complete day with the day before it
    ref_date = partial_day["previous_date"] if partial_day else window["last_date"]
    data = ReportData(
        window, volumes, table_rows, daily, top_titles, top_by_genre, genres, devices, worst_qoe_days,
        top_users, binge, placements, pacing, alerts, retention, cohorts_total, pacing_summary, funnel, quality, reasons,
        watch_hour_moves(conn, "gold_genre_daily", "genre", ref_date),
        # titles are labelled by their title; content_id would be unreadable in a finding
        watch_hour_moves(conn, "gold_content_daily", "title", ref_date),
        partial_day=partial_day,
    )
    data.findings = compute_findings(data)
    return data


# ------------------------------------------------------------------ findings


def compute_findings(d: ReportData) -> list[str]:
    """A few plain-language findings, each computed from the data."""
    findings: list[str] = []
    last = d.latest_complete  # a trailing partial day is never compared with a full one
    # largest mover among the headline KPIs, last (complete) day vs the day before
    movers = [
        (name, last[key])
        for name, key in (("active users", "active_users_dod"), ("plays", "plays_dod"),
                          ("watch hours", "watch_hours_dod"), ("ad revenue", "ad_revenue_dod"))
        if last[key] is not None
    ]
    if movers:
        name, change = max(movers, key=lambda m: (abs(m[1]), m[0]))
        findings.append(
            f"Largest day-over-day mover on {last['event_date']}: {name} "
            f"{'rose' if change >= 0 else 'fell'} {100 * abs(change):.1f}% vs the previous day."
        )
    # genre with the largest watch-hour swing on the last day
    if d.genre_moves:
        genre, prev, cur = d.genre_moves[0]
        findings.append(
            f"Biggest genre swing on {last['event_date']}: {genre} watch time went from "
            f"{fmt_hours(prev)} to {fmt_hours(cur)}."
        )
    if d.title_moves:
        title, prev, cur = d.title_moves[0]
        findings.append(
            f"Biggest title mover on {last['event_date']}: {one_line(title)}, from "
            f"{fmt_hours(prev)} to {fmt_hours(cur)} of watch time vs the previous day."
        )
    if d.devices:
        worst = max(d.devices, key=lambda r: (r["failure_score"], r["device_type"]))
        days = [w for w in d.worst_qoe_days if not (d.partial_day and w["event_date"] == d.partial_day["event_date"])]
        findings.append(
            f"Worst quality of experience: {worst['device_type']} (video start failures "
            f"{fmt_pct(worst['video_start_failure_rate'])}, playback failures {fmt_pct(worst['playback_failure_rate'])}, "
            f"rebuffering {fmt_pct(worst['rebuffer_ratio'], 2)} of viewing time); it was the worst device on "
            f"{sum(1 for w in days if w['device_type'] == worst['device_type'])} of "
            f"{len(days)} {'complete ' if d.partial_day else ''}days."
        )
    live = [a for a in d.alerts if not a["flight_ended"]]
    if live:
        critical = [a for a in live if a["severity"] == "critical"]
        names = ", ".join(
            f"{a['campaign_id']} ({one_line(a['advertiser'])}, {a['status']}, index {fmt_num(a['pacing_index'], 2)})"
            for a in live[:5]
        )
        more = f" and {len(live) - 5} more" if len(live) > 5 else ""
        findings.append(
            f"{len(live)} of {len(d.pacing)} campaigns at risk in live flights, {len(critical)} critical: {names}{more}."
        )
    elif d.alerts:
        findings.append(f"No live campaign is at risk; {len(d.alerts)} pacing alerts concern flights that already ended.")
    else:
        findings.append(f"All {len(d.pacing)} campaigns are on track or not started: no pacing alerts.")
    if d.reasons:
        top = d.reasons[0]
        findings.append(
            f"Biggest quarantine reason: {top['reason']} with {fmt_int(top['rows'])} rows "
            f"({fmt_pct(top['share'])} of all quarantined rows)."
        )
    else:
        findings.append("No rows were quarantined.")
    viewers_hours = sum(b["watch_hours"] or 0 for b in d.binge)
    binge_hours = sum(b["binge_viewer_watch_hours"] or 0 for b in d.binge)
    binge_viewers = sum(b["binge_viewers"] for b in d.binge)
    viewers = sum(b["viewers"] for b in d.binge)
    if viewers:
        findings.append(
            f"Binge viewers are {fmt_pct(ratio(binge_viewers, viewers))} of viewers but watch "
            f"{fmt_pct(ratio(binge_hours, viewers_hours))} of all hours."
        )
    if d.placements:
        top = d.placements[0]
        findings.append(
            f"{top['placement']} earns the most ad revenue: {fmt_usd(top['revenue_usd'])} "
            f"({fmt_pct(top['revenue_share'])} of the total) at an eCPM of {fmt_usd(top['ecpm_usd'])}."
        )
    return findings


# ------------------------------------------------------------------ the text report


def section(title: str) -> list[str]:
    return ["", title.upper(), "=" * len(title)]


def render_report(d: ReportData, generated_at: str) -> str:
    w, v, p = d.window, d.volumes, d.partial_day
    out = ["OTT ANALYTICS REPORT", f"Generated at: {generated_at}", "-" * WIDTH]
    if p:
        out += [
            f"Data window {w['first_date']} to {w['last_date']} ({w['days']} days); "
            f"latest complete day {d.latest_complete['event_date']}.",
            f"{p['event_date']} is a partial day (spill-over only, {fmt_int(p['attempts'])} sessions): "
            f"marked {PARTIAL_MARK} in the tables, see section 2.",
        ]
    else:
        out += [f"Data window {w['first_date']} to {w['last_date']} ({w['days']} days); latest day {d.daily[-1]['event_date']}."]

    out += section("1. Data window and volumes")
    pairs = [
        ("First / last event date", f"{w['first_date']} / {w['last_date']}"),
        ("Days with data", fmt_int(w["days"]) + (
            f" ({fmt_int(w['days'] - 1)} complete, {p['event_date']} partial)" if p else "")),
        ("Playback attempts (sessions)", fmt_int(v["attempts"])),
        ("Plays (started sessions)", fmt_int(v["plays"])),
        ("Watch time", fmt_hours(v["watch_hours"])),
        ("Viewers (users with a play)", f"{fmt_int(v['viewers'])} of {fmt_int(v['users'])} users"),
        ("New signups in the window", fmt_int(v["new_signups"])),
        ("Titles played", f"{fmt_int(v['titles_played'])} of {fmt_int(v['catalog_titles'])} in the catalog"),
        ("Ad impressions", fmt_int(v["ad_impressions"])),
        ("Ad revenue", fmt_usd(v["ad_revenue_usd"])),
        ("Campaigns", fmt_int(v["campaigns"])),
    ]
    label_width = max(len(k) for k, _ in pairs)
    out += [f"  {k:<{label_width}}  {val}" for k, val in pairs]
    out += ["", "  Warehouse tables:"]
    out += render_table(d.table_rows, [Col("table", lambda r: r["table"], "<"), Col("rows", lambda r: fmt_int(r["rows"]))])

    out += section("2. Platform KPIs (daily, with day-over-day change)")
    out += render_table(
        d.daily,
        [
            Col("date", lambda r: d.mark_date(r["event_date"]), "<"),
            Col("active users", lambda r: fmt_int(r["active_users"])),
            Col("DoD", lambda r: fmt_change(r["active_users_dod"])),
            Col("7-day active", lambda r: fmt_int(r["rolling_7d_active_users"])),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("DoD", lambda r: fmt_change(r["plays_dod"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("DoD", lambda r: fmt_change(r["watch_hours_dod"])),
            Col("min/active user", lambda r: fmt_num(r["avg_watch_min_per_active_user"])),
            Col("signups", lambda r: fmt_int(r["new_signups"])),
            Col("ad revenue", lambda r: fmt_usd(r["ad_revenue_usd"])),
            Col("DoD", lambda r: fmt_change(r["ad_revenue_dod"])),
        ],
    )
    if p:
        out.append("")
        out += wrap(
            f"{p['event_date']} is a partial day: it holds only spill-over from viewing that began on "
            f"{p['previous_date']} ({fmt_int(p['attempts'])} sessions, {fmt_int(p['plays'])} plays, vs a median of "
            f"{p['median_attempts']:,.0f} sessions on the other days), so its day-over-day changes are not comparable. "
            f"Findings compare {p['previous_date']}, the latest complete day, with the day before. "
            f"Rule: the last date is partial when its sessions are below {PARTIAL_DAY_SHARE:.0%} of the median "
            f"of the other dates (with at least {PARTIAL_DAY_MIN_DATES} dates).",
            bullet=f"{PARTIAL_MARK} ",
        )
    f = d.funnel
    out += [
        "",
        f"  Playback funnel: {fmt_int(f['attempts'])} attempts -> {fmt_int(f['plays'])} plays "
        f"({fmt_pct(ratio(f['plays'], f['attempts']))}) -> {fmt_int(f['completions'])} completions "
        f"({fmt_pct(ratio(f['completions'], f['plays']))} of plays); "
        f"{fmt_int(f['start_failures'])} start failures, {fmt_int(f['exits_before_start'])} exits before start.",
    ]

    out += section("3. Top titles (by watch hours over the window)")
    out += render_table(
        d.top_titles,
        [
            Col("#", lambda r: str(r["rank"])),
            Col("title", lambda r: cut(r["title"]), "<"),
            Col("genre", lambda r: cut(r["genre"], 16), "<"),
            Col("type", lambda r: r["content_type"] or "–", "<"),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("completion", lambda r: fmt_pct(r["completion_rate"])),
        ],
    )
    out += ["", "  Top 3 per genre:"]
    out += render_table(
        d.top_by_genre,
        [
            Col("genre", lambda r: cut(r["genre"], 16), "<"),
            Col("#", lambda r: str(r["title_rank"])),
            Col("title", lambda r: cut(r["title"]), "<"),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
        ],
    )

    out += section("4. Genres")
    out += render_table(
        d.genres,
        [
            Col("genre", lambda r: cut(r["genre"], 24), "<"),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("share of watch time", lambda r: fmt_pct(r["watch_share"])),
            Col("completion", lambda r: fmt_pct(r["completion_rate"])),
        ],
    )

    out += section("5. Devices and quality of experience (whole window)")
    out += render_table(
        d.devices,
        [
            Col("device", lambda r: r["device_type"], "<"),
            Col("attempts", lambda r: fmt_int(r["attempts"])),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("start fail", lambda r: fmt_pct(r["video_start_failure_rate"])),
            Col("exit pre-start", lambda r: fmt_pct(r["exit_before_start_rate"])),
            Col("playback fail", lambda r: fmt_pct(r["playback_failure_rate"])),
            Col("startup p50", lambda r: fmt_ms(r["startup_ms_p50"])),
            Col("startup p95", lambda r: fmt_ms(r["startup_ms_p95"])),
            Col("rebuffer", lambda r: fmt_pct(r["rebuffer_ratio"], 2)),
            Col("rebuf/h", lambda r: fmt_num(r["rebuffers_per_hour"], 2)),
            Col("kbps", lambda r: fmt_int(r["avg_bitrate_kbps"])),
        ],
    )
    out += ["", "  Worst device per day (failure score = start failure + playback failure + rebuffer ratio):"]
    out += render_table(
        d.worst_qoe_days,
        [
            Col("date", lambda r: d.mark_date(r["event_date"]), "<"),
            Col("device", lambda r: r["device_type"], "<"),
            Col("score", lambda r: fmt_num(r["failure_score"], 3)),
            Col("start fail", lambda r: fmt_pct(r["video_start_failure_rate"])),
            Col("playback fail", lambda r: fmt_pct(r["playback_failure_rate"])),
            Col("rebuffer", lambda r: fmt_pct(r["rebuffer_ratio"], 2)),
        ],
    )

    out += section("6. Top users (by watch hours)")
    out += render_table(
        d.top_users,
        [
            Col("user", lambda r: r["user_id"], "<"),
            Col("plan", lambda r: r["plan"] or "–", "<"),
            Col("country", lambda r: r["country"] or "–", "<"),
            Col("sessions", lambda r: fmt_int(r["sessions"])),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("active days", lambda r: fmt_int(r["active_days"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("favourite genre", lambda r: cut(r["favorite_genre"], 16), "<"),
            Col("binges", lambda r: fmt_int(r["binge_sessions"])),
            Col("last active", lambda r: r["last_active_date"] or "–", "<"),
        ],
    )
    out += ["", "  Binge viewers by plan:"]
    out += render_table(
        d.binge,
        [
            Col("plan", lambda r: r["plan"], "<"),
            Col("viewers", lambda r: fmt_int(r["viewers"])),
            Col("binge viewers", lambda r: fmt_int(r["binge_viewers"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("binge viewers' share", lambda r: fmt_pct(r["binge_watch_share"])),
        ],
    )

    out += section("7. Ads and campaign pacing")
    out += render_table(
        d.placements,
        [
            Col("placement", lambda r: r["placement"], "<"),
            Col("requests", lambda r: fmt_int(r["ad_requests"])),
            Col("fill rate", lambda r: fmt_pct(r["fill_rate"])),
            Col("impressions", lambda r: fmt_int(r["impressions"])),
            Col("CTR", lambda r: fmt_pct(r["ctr"], 2)),
            Col("revenue", lambda r: fmt_usd(r["revenue_usd"])),
            Col("share", lambda r: fmt_pct(r["revenue_share"])),
            Col("eCPM", lambda r: fmt_usd(r["ecpm_usd"])),
        ],
    )
    out += ["", f"  Campaign pacing ({len(d.pacing)} campaigns):"]
    out += render_table(
        d.pacing_summary,
        [
            Col("status", lambda r: r["status"], "<"),
            Col("campaigns", lambda r: fmt_int(r["campaigns"])),
            Col("budget", lambda r: fmt_usd(r["budget_usd"])),
            Col("spend", lambda r: fmt_usd(r["spend_usd"])),
        ],
    )
    live = [a for a in d.alerts if not a["flight_ended"]]
    ended = [a for a in d.alerts if a["flight_ended"]]
    out += ["", f"  Pacing alerts: {len(d.alerts)} ({len(live)} live, {len(ended)} in flights already ended); "
            f"largest money gap first{f', top {TOP_ALERTS}' if len(d.alerts) > TOP_ALERTS else ''}:"]
    for a in d.alerts[:TOP_ALERTS]:
        if a["flight_ended"]:
            text = (
                f"[{a['severity'].upper()}] {a['campaign_id']} {a['advertiser']}: {a['status']}-paced, index "
                f"{fmt_num(a['pacing_index'], 2)}; flight ended {a['end_date']} having spent "
                f"{fmt_usd(a['spend_usd'])} of {fmt_usd(a['budget_usd'])}."
            )
        else:
            text = (
                f"[{a['severity'].upper()}] {a['campaign_id']} {a['advertiser']}: {a['status']}-pacing, index "
                f"{fmt_num(a['pacing_index'], 2)}; spent {fmt_usd(a['spend_usd'])} of {fmt_usd(a['budget_usd'])} "
                f"(expected {fmt_usd(a['expected_spend_usd'])} by now), on course for "
                f"{fmt_usd(a['projected_spend_usd'])} by {a['end_date']}."
            )
        out += wrap(one_line(text), indent="    ")
    if len(d.alerts) > TOP_ALERTS:
        out.append(f"    … and {len(d.alerts) - TOP_ALERTS} more (table analytics_campaign_pacing_alerts).")
    if not d.alerts:
        out.append("    none")

    out += section("8. Retention (share of each signup-week cohort playing in week N)")
    out += render_table(
        d.retention,
        [Col("cohort week", lambda r: r["cohort_week"], "<"), Col("size", lambda r: fmt_int(r["cohort_size"]))]
        + [
            Col(
                f"W{n}",
                (lambda n: lambda r: fmt_pct(r[f"week_{n}"], 0)
                 + (PARTIAL_MARK if r[f"week_{n}"] is not None and d.partial_week_cell(r["cohort_week"], n) else ""))(n),
            )
            for n in range(RETENTION_WEEKS)
        ],
    )
    shown = f"the {len(d.retention)} most recent of {d.cohorts_total} cohorts" if d.cohorts_total > len(d.retention) else "all cohorts"
    out.append(f"  ({shown} with weeks 0-{RETENTION_WEEKS - 1} in the data window; – = week outside the window)")
    if any(
        r[f"week_{n}"] is not None and d.partial_week_cell(r["cohort_week"], n)
        for r in d.retention for n in range(RETENTION_WEEKS)
    ):
        out += wrap(
            f"Incomplete: the only day of the week starting {p['event_date']} in the data window is that partial "
            "day, so these cells understate retention.",
            bullet=f"{PARTIAL_MARK} ",
        )

    out += section("9. Data quality")
    out += render_table(
        d.quality,
        [
            Col("dataset", lambda r: r["dataset"], "<"),
            Col("partitions", lambda r: fmt_int(r["partitions"])),
            Col("rows read", lambda r: fmt_int(r["rows_read"])),
            Col("valid", lambda r: fmt_int(r["rows_valid"])),
            Col("quarantined", lambda r: fmt_int(r["rows_quarantined"])),
            Col("quarantine rate", lambda r: fmt_pct(ratio(r["rows_quarantined"], r["rows_read"]), 2)),
            Col("duplicates", lambda r: fmt_int(r["duplicates_dropped"])),
            Col("cross-partition dups", lambda r: fmt_int(r["cross_partition_duplicates"])),
        ],
    )
    out += ["", "  Quarantined rows by reason:"]
    out += render_table(
        d.reasons,
        [
            Col("reason", lambda r: r["reason"], "<"),
            Col("rows", lambda r: fmt_int(r["rows"])),
            Col("share", lambda r: fmt_pct(r["share"])),
        ],
    )
    balanced = all(q["rows_read"] == q["rows_valid"] + q["rows_quarantined"] + q["duplicates_dropped"] for q in d.quality)
    out.append(
        "  Conservation rows_read = valid + quarantined + duplicates: "
        + ("holds for every dataset." if balanced else "VIOLATED - see sql/tests/assert_data_quality_conservation.sql.")
    )

    out += section("10. Findings")
    for finding in d.findings:
        out += wrap(finding)
    out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------ entry point


def build_report_data(data_dir: str) -> ReportData:
    conn = open_warehouse(data_dir)
    try:
        return read_report_data(conn)
    finally:
        conn.close()


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott report",
        description="Write reports/analysis_report.txt and reports/dashboard.html from the warehouse.",
    )
    add_data_dir(parser)
    parser.add_argument(
        "--generated-at",
        help="text of the report's 'Generated at' line (default: the current UTC time); "
        "pin it to make two reports byte-identical",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from scripts import dashboard  # local: keeps `ott report --help` fast

    args = build_parser().parse_args(argv)
    configure_logging()
    data = build_report_data(args.data_dir)
    # The one wall-clock read of the whole report; never part of the data.
    generated_at = args.generated_at or dt_.datetime.now(dt_.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    report_path, dashboard_path = Path(catalog.report_file(args.data_dir)), Path(catalog.dashboard_file(args.data_dir))
    report_path.parent.mkdir(parents=True, exist_ok=True)
    for path, text in ((report_path, render_report(data, generated_at)), (dashboard_path, dashboard.render_dashboard(data, generated_at))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # readers never see a half-written file
    log.info("wrote %s and %s", report_path, dashboard_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
