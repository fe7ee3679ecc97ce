"""The plain-text report ``reports/analysis_report.txt`` (SPEC §8): ten sections rendered
from :class:`ReportData` and the findings.

    text = render_report(data, findings, generated_at="2026-03-12T06:00:00Z")

One function per section, each returning its lines. Numbers are formatted for people by
:mod:`scripts.report_format`; data text goes through its ``cut``/``render_table`` (one
line, no control or bidi characters, bounded width). Identical data gives identical text
apart from the ``Generated at`` line.
"""

from __future__ import annotations

from collections.abc import Sequence

from scripts.report_data import PARTIAL_DAY_MIN_DATES, PARTIAL_DAY_SHARE, RETENTION_WEEKS, ReportData
from scripts.report_format import (
    NAME_WIDTH,
    PACING_INDEX_NOTE,
    PARTIAL_MARK,
    TOP_ALERTS,
    WIDTH,
    Col,
    cut,
    fmt_change,
    fmt_hours,
    fmt_int,
    fmt_ms,
    fmt_num,
    fmt_pct,
    fmt_usd,
    plural,
    ratio,
    render_table,
    wrap,
)


def section(title: str) -> list[str]:
    return ["", title.upper(), "=" * len(title)]


def mark_date(d: ReportData, date: object) -> str:
    """A date cell, with PARTIAL_MARK if it is the partial day."""
    return f"{date}{PARTIAL_MARK}" if d.is_partial(date) else str(date)


def header(d: ReportData, generated_at: str) -> list[str]:
    w, p = d.window, d.partial_day
    out = ["OTT ANALYTICS REPORT", f"Generated at: {cut(generated_at, 40)}", "-" * WIDTH]
    span = f"Data window {w.first_date} to {w.last_date} ({plural(w.days, 'day')})"
    if p:
        return out + [
            f"{span}; latest complete day {d.comparison.current}.",
            f"{p.event_date} is a partial day (spill-over only, {fmt_int(p.attempts)} sessions): "
            f"marked {PARTIAL_MARK} in the tables, see section 2.",
        ]
    return out + [f"{span}; latest day {d.comparison.current}."]


def volumes(d: ReportData) -> list[str]:
    w, v, p = d.window, d.volumes, d.partial_day
    pairs = [
        ("First / last event date", f"{w.first_date} / {w.last_date}"),
        ("Days with data", fmt_int(w.days) + (f" ({fmt_int(w.days - 1)} complete, {p.event_date} partial)" if p else "")),
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
    out = section("1. Data window and volumes")
    out += [f"  {k:<{label_width}}  {val}" for k, val in pairs]
    out += ["", "  Warehouse tables:"]
    return out + render_table(d.table_rows, [Col("table", lambda r: cut(r["table"], 40), "<"),
                                             Col("rows", lambda r: fmt_int(r["rows"]))])


def platform_kpis(d: ReportData) -> list[str]:
    p = d.partial_day
    out = section("2. Platform KPIs (daily, with day-over-day change)")
    out += render_table(
        d.daily,
        [
            Col("date", lambda r: mark_date(d, r["event_date"]), "<"),
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
    out.append("  (DoD = change vs the previous calendar day; n/a when that day is not in the data)")
    if p:
        out.append("")
        out += wrap(
            f"{p.event_date} is a partial day: it holds only spill-over from viewing that began on "
            f"{p.previous_date} ({fmt_int(p.attempts)} sessions, {fmt_int(p.plays)} plays, vs a median of "
            f"{p.median_attempts:,.0f} sessions on the other days), so its day-over-day changes are not comparable. "
            f"Findings compare {p.previous_date}, the latest complete day, with the day before. "
            f"Rule: the last date is partial when its sessions are below {PARTIAL_DAY_SHARE:.0%} of the median "
            f"of the other dates (with at least {PARTIAL_DAY_MIN_DATES} dates).",
            bullet=f"{PARTIAL_MARK} ",
        )
    f = d.funnel
    out.append("")
    out += wrap(
        f"Playback funnel: {fmt_int(f['attempts'])} attempts -> {fmt_int(f['plays'])} plays "
        f"({fmt_pct(ratio(f['plays'], f['attempts']))}) -> {fmt_int(f['completions'])} completions "
        f"({fmt_pct(ratio(f['completions'], f['plays']))} of plays); "
        f"{fmt_int(f['start_failures'])} start failures, {fmt_int(f['exits_before_start'])} exits before start.",
        bullet="",
    )
    return out


def top_titles(d: ReportData) -> list[str]:
    out = section("3. Top titles (by watch hours over the window)")
    out += render_table(
        d.top_titles,
        [
            Col("#", lambda r: str(r["title_rank"])),
            Col("title", lambda r: cut(r["title"]), "<"),
            Col("genre", lambda r: cut(r["genre"], NAME_WIDTH), "<"),
            Col("type", lambda r: cut(r["content_type"], NAME_WIDTH), "<"),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("completion", lambda r: fmt_pct(r["completion_rate"])),
        ],
    )
    out += ["", "  Top 3 per genre:"]
    return out + render_table(
        d.top_by_genre,
        [
            Col("genre", lambda r: cut(r["genre"], NAME_WIDTH), "<"),
            Col("#", lambda r: str(r["title_rank"])),
            Col("title", lambda r: cut(r["title"]), "<"),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
        ],
    )


def genres(d: ReportData) -> list[str]:
    return section("4. Genres") + render_table(
        d.genres,
        [
            Col("genre", lambda r: cut(r["genre"], 24), "<"),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("share of watch time", lambda r: fmt_pct(r["watch_share"])),
            Col("completion", lambda r: fmt_pct(r["completion_rate"])),
        ],
    )


def devices(d: ReportData) -> list[str]:
    worst_days = [w["device_type"] for w in d.worst_qoe_days if not d.is_partial(w["event_date"])]
    out = section("5. Devices and quality of experience")
    out += ["  Whole window (sums over gold_qoe_daily; rates weighted by their denominators):"]
    out += render_table(
        d.devices,
        [
            Col("device", lambda r: cut(r["device_type"], NAME_WIDTH), "<"),
            Col("attempts", lambda r: fmt_int(r["attempts"])),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("start fail", lambda r: fmt_pct(r["video_start_failure_rate"])),
            Col("exit pre-start", lambda r: fmt_pct(r["exit_before_start_rate"])),
            Col("playback fail", lambda r: fmt_pct(r["playback_failure_rate"])),
            Col("worst on", lambda r: plural(worst_days.count(r["device_type"]), "day")),
        ],
    )
    out += ["", f"  On {d.comparison.current}, the latest complete day (startup percentiles and rebuffering are daily):"]
    out += render_table(
        d.devices_day,
        [
            Col("device", lambda r: cut(r["device_type"], NAME_WIDTH), "<"),
            Col("attempts", lambda r: fmt_int(r["attempts"])),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("start fail", lambda r: fmt_pct(r["video_start_failure_rate"])),
            Col("playback fail", lambda r: fmt_pct(r["playback_failure_rate"])),
            Col("startup p50", lambda r: fmt_ms(r["startup_ms_p50"])),
            Col("startup p95", lambda r: fmt_ms(r["startup_ms_p95"])),
            Col("rebuffer", lambda r: fmt_pct(r["rebuffer_ratio"], 2)),
            Col("rebuf/h", lambda r: fmt_num(r["rebuffers_per_hour"], 2)),
            Col("kbps", lambda r: fmt_int(r["avg_bitrate_kbps"])),
            Col("score", lambda r: fmt_num(r["failure_score"], 3)),
        ],
    )
    out += ["", "  Worst device per day (failure score = start failure + playback failure + rebuffer ratio):"]
    return out + render_table(
        d.worst_qoe_days,
        [
            Col("date", lambda r: mark_date(d, r["event_date"]), "<"),
            Col("device", lambda r: cut(r["device_type"], NAME_WIDTH), "<"),
            Col("score", lambda r: fmt_num(r["failure_score"], 3)),
            Col("start fail", lambda r: fmt_pct(r["video_start_failure_rate"])),
            Col("playback fail", lambda r: fmt_pct(r["playback_failure_rate"])),
            Col("rebuffer", lambda r: fmt_pct(r["rebuffer_ratio"], 2)),
        ],
    )


def users(d: ReportData) -> list[str]:
    out = section("6. Top users (by watch hours)")
    out += render_table(
        d.top_users,
        [
            Col("user", lambda r: cut(r["user_id"], NAME_WIDTH), "<"),
            Col("plan", lambda r: cut(r["plan"], NAME_WIDTH), "<"),
            Col("country", lambda r: cut(r["country"], NAME_WIDTH), "<"),
            Col("sessions", lambda r: fmt_int(r["sessions"])),
            Col("plays", lambda r: fmt_int(r["plays"])),
            Col("active days", lambda r: fmt_int(r["active_days"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("favourite genre", lambda r: cut(r["favorite_genre"], NAME_WIDTH), "<"),
            Col("binges", lambda r: fmt_int(r["binge_sessions"])),
            Col("last active", lambda r: cut(r["last_active_date"], 10), "<"),
        ],
    )
    out += ["", "  Binge viewers by plan:"]
    return out + render_table(
        d.binge,
        [
            Col("plan", lambda r: cut(r["plan"], NAME_WIDTH), "<"),
            Col("viewers", lambda r: fmt_int(r["viewers"])),
            Col("binge viewers", lambda r: fmt_int(r["binge_viewers"])),
            Col("watch hours", lambda r: fmt_hours(r["watch_hours"])),
            Col("binge viewers' share", lambda r: fmt_pct(r["binge_watch_share"])),
        ],
    )


def alert_line(a: dict) -> str:
    who = f"[{cut(a['severity'], NAME_WIDTH).upper()}] {cut(a['campaign_id'], NAME_WIDTH)} {cut(a['advertiser'], 32)}"
    if a["flight_ended"]:
        return (f"{who}: {a['status']}-paced, index {fmt_num(a['pacing_index'], 2)}; flight ended "
                f"{cut(a['end_date'], 10)} having spent {fmt_usd(a['spend_usd'])} of {fmt_usd(a['budget_usd'])}.")
    return (f"{who}: {a['status']}-pacing, index {fmt_num(a['pacing_index'], 2)}; spent {fmt_usd(a['spend_usd'])} "
            f"of {fmt_usd(a['budget_usd'])} (expected {fmt_usd(a['expected_spend_usd'])} by now), on course for "
            f"{fmt_usd(a['projected_spend_usd'])} by {cut(a['end_date'], 10)}.")


def ads(d: ReportData) -> list[str]:
    out = section("7. Ads and campaign pacing")
    out += render_table(
        d.placements,
        [
            Col("placement", lambda r: cut(r["placement"], NAME_WIDTH), "<"),
            Col("requests", lambda r: fmt_int(r["ad_requests"])),
            Col("fill rate", lambda r: fmt_pct(r["fill_rate"])),
            Col("impressions", lambda r: fmt_int(r["impressions"])),
            Col("CTR", lambda r: fmt_pct(r["ctr"], 2)),
            Col("revenue", lambda r: fmt_usd(r["revenue_usd"])),
            Col("share", lambda r: fmt_pct(r["revenue_share"])),
            Col("eCPM", lambda r: fmt_usd(r["ecpm_usd"])),
        ],
    )
    out += ["", f"  Campaign pacing ({plural(d.campaigns, 'campaign')}):"]
    out += render_table(
        d.pacing_summary,
        [
            Col("status", lambda r: cut(r["status"], NAME_WIDTH), "<"),
            Col("campaigns", lambda r: fmt_int(r["campaigns"])),
            Col("budget", lambda r: fmt_usd(r["budget_usd"])),
            Col("spend", lambda r: fmt_usd(r["spend_usd"])),
        ],
    )
    out += wrap(PACING_INDEX_NOTE, bullet="")
    live = [a for a in d.alerts if not a["flight_ended"]]
    top = f", top {TOP_ALERTS}" if len(d.alerts) > TOP_ALERTS else ""
    out += ["", f"  Pacing alerts: {len(d.alerts)} ({len(live)} live, {len(d.alerts) - len(live)} in flights "
                f"already ended); largest money gap first{top}:"]
    for a in d.alerts[:TOP_ALERTS]:
        out += wrap(alert_line(a), indent="    ")
    if len(d.alerts) > TOP_ALERTS:
        out.append(f"    … and {len(d.alerts) - TOP_ALERTS} more (table analytics_campaign_pacing_alerts).")
    if not d.alerts:
        out.append("    none")
    return out


def retention(d: ReportData) -> list[str]:
    def cell(n: int):
        def text(r: dict) -> str:
            v = r[f"week_{n}"]
            return fmt_pct(v, 0) + (PARTIAL_MARK if v is not None and d.partial_week_cell(r["cohort_week"], n) else "")
        return text

    out = section("8. Retention (share of each signup-week cohort playing in week N)")
    out += render_table(
        d.retention,
        [Col("cohort week", lambda r: cut(r["cohort_week"], 10), "<"), Col("size", lambda r: fmt_int(r["cohort_size"]))]
        + [Col(f"W{n}", cell(n)) for n in range(RETENTION_WEEKS)],
    )
    shown = (f"the {len(d.retention)} most recent of {d.cohorts_total} cohorts"
             if d.cohorts_total > len(d.retention) else "all cohorts")
    out.append(f"  ({shown} with weeks 0-{RETENTION_WEEKS - 1} in the data window; – = week outside the window)")
    if d.partial_day and any(r[f"week_{n}"] is not None and d.partial_week_cell(r["cohort_week"], n)
                             for r in d.retention for n in range(RETENTION_WEEKS)):
        out += wrap(
            f"Incomplete: the only day of the week starting {d.partial_day.event_date} in the data window is that "
            "partial day, so these cells understate retention.",
            bullet=f"{PARTIAL_MARK} ",
        )
    return out


def data_quality(d: ReportData) -> list[str]:
    out = section("9. Data quality")
    out += render_table(
        d.quality,
        [
            Col("dataset", lambda r: cut(r["dataset"], 24), "<"),
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
    return out


def findings_section(findings: Sequence[str]) -> list[str]:
    out = section("10. Findings")
    for finding in findings:
        out += wrap(finding)
    return out


def render_report(d: ReportData, findings: Sequence[str], generated_at: str) -> str:
    """The whole report as one string (ends with a newline)."""
    out = header(d, generated_at)
    for part in (volumes, platform_kpis, top_titles, genres, devices, users, ads, retention, data_quality):
        out += part(d)
    out += findings_section(findings)
    out.append("")
    return "\n".join(out)
