"""Findings: a few plain-language sentences computed from :class:`ReportData` (SPEC §8).

    findings = compute_findings(build_report_data("data"))   # -> list[str]

Each finding is a plain function of the report data that returns a sentence, or None
when the data cannot support it. The rule they share: no finding compares with a day
that is not in the data. Day-over-day findings use ``data.comparison`` — the latest
complete day (never a trailing partial day) and the calendar day before it only when
that day exists — so one day of data, or a gap before the last day, gives no
day-over-day finding rather than a comparison with zero.

Data text inside a sentence (titles, genres, advertisers) is cleaned and cut here
(:func:`scripts.report_format.cut`); renderers still escape it for their medium.
"""

from __future__ import annotations

from collections import Counter

from scripts.report_data import ReportData
from scripts.report_format import (
    NAME_WIDTH,
    TITLE_WIDTH,
    cut,
    fmt_hours,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_usd,
    plural,
    ratio,
)

KPI_CHANGES = (("active users", "active_users_dod"), ("plays", "plays_dod"),
               ("watch hours", "watch_hours_dod"), ("ad revenue", "ad_revenue_dod"))
AT_RISK_NAMED = 5  # live at-risk campaigns named in the finding


def kpi_mover(d: ReportData) -> str | None:
    """The headline KPI that changed most, latest complete day vs the day before."""
    if d.comparison.previous is None:
        return None
    last = d.latest_complete
    movers = [(name, last[key]) for name, key in KPI_CHANGES if last[key] is not None]
    if not movers:
        return None
    name, change = max(movers, key=lambda m: (abs(m[1]), m[0]))
    return (f"Largest day-over-day mover on {d.comparison.current}: {name} "
            f"{'rose' if change >= 0 else 'fell'} {100 * abs(change):.1f}% vs the previous day.")


def genre_swing(d: ReportData) -> str | None:
    """The genre whose watch hours moved most between the compared days."""
    if d.comparison.previous is None or not d.genre_moves:
        return None
    m = d.genre_moves[0]
    return (f"Biggest genre swing on {d.comparison.current}: {cut(m.label, NAME_WIDTH + 8)} watch time went from "
            f"{fmt_hours(m.previous_hours)} to {fmt_hours(m.current_hours)}.")


def title_mover(d: ReportData) -> str | None:
    """The title whose watch hours moved most between the compared days."""
    if d.comparison.previous is None or not d.title_moves:
        return None
    m = d.title_moves[0]
    return (f"Biggest title mover on {d.comparison.current}: {cut(m.label, TITLE_WIDTH)}, from "
            f"{fmt_hours(m.previous_hours)} to {fmt_hours(m.current_hours)} of watch time vs the previous day.")


def worst_device(d: ReportData) -> str | None:
    """The device that was worst (analytics_worst_qoe_device_day) on most complete days;
    ties go to the alphabetically last device, like the other max() rules here."""
    days = [w for w in d.worst_qoe_days if not d.is_partial(w["event_date"])]
    if not days:
        return None
    counts = Counter(w["device_type"] for w in days)
    device, worst_days = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    window = next((r for r in d.devices if r["device_type"] == device), None)
    rates = (
        f"; over the window its video start failures were {fmt_pct(window['video_start_failure_rate'])} "
        f"and playback failures {fmt_pct(window['playback_failure_rate'])}"
        if window else ""
    )
    return (f"Worst quality of experience: {cut(device, NAME_WIDTH)} was the worst device on {worst_days} of "
            f"{plural(len(days), 'complete day' if d.partial_day else 'day')} (failure score = start failure + "
            f"playback failure + rebuffer ratio){rates}.")


def pacing_risk(d: ReportData) -> str:
    """Live campaigns off pace, most money at stake first."""
    live = [a for a in d.alerts if not a["flight_ended"]]
    if live:
        critical = [a for a in live if a["severity"] == "critical"]
        names = ", ".join(
            f"{cut(a['campaign_id'], NAME_WIDTH)} ({cut(a['advertiser'], 24)}, {a['status']}, "
            f"index {fmt_num(a['pacing_index'], 2)})"
            for a in live[:AT_RISK_NAMED]
        )
        more = f" and {len(live) - AT_RISK_NAMED} more" if len(live) > AT_RISK_NAMED else ""
        return f"{len(live)} of {d.campaigns} campaigns at risk in live flights, {len(critical)} critical: {names}{more}."
    if d.alerts:
        return f"No live campaign is at risk; {plural(len(d.alerts), 'pacing alert')} concern flights that already ended."
    return f"All {d.campaigns} campaigns are on track or not started: no pacing alerts."


def quarantine_reason(d: ReportData) -> str:
    if not d.reasons:
        return "No rows were quarantined."
    top = d.reasons[0]
    return (f"Biggest quarantine reason: {top['reason']} with {fmt_int(top['rows'])} rows "
            f"({fmt_pct(top['share'])} of all quarantined rows).")


def binge_share(d: ReportData) -> str | None:
    viewers = sum(b["viewers"] or 0 for b in d.binge)
    if not viewers:
        return None
    hours = sum(b["watch_hours"] or 0 for b in d.binge)
    binge_hours = sum(b["binge_viewer_watch_hours"] or 0 for b in d.binge)
    binge_viewers = sum(b["binge_viewers"] or 0 for b in d.binge)
    return (f"Binge viewers are {fmt_pct(ratio(binge_viewers, viewers))} of viewers but watch "
            f"{fmt_pct(ratio(binge_hours, hours))} of all hours.")


def top_placement(d: ReportData) -> str | None:
    if not d.placements:
        return None
    top = d.placements[0]
    return (f"{cut(top['placement'], NAME_WIDTH)} earns the most ad revenue: {fmt_usd(top['revenue_usd'])} "
            f"({fmt_pct(top['revenue_share'])} of the total) at an eCPM of {fmt_usd(top['ecpm_usd'])}.")


FINDINGS = (kpi_mover, genre_swing, title_mover, worst_device, pacing_risk, quarantine_reason, binge_share,
            top_placement)


def compute_findings(d: ReportData) -> list[str]:
    """Every finding the data supports, in a fixed order; says so when a day-over-day
    comparison is impossible."""
    found = [f for f in (rule(d) for rule in FINDINGS) if f]
    if d.comparison.previous is None:
        found.insert(0, f"No day-over-day comparison: {d.comparison.current} is the latest complete day and "
                        f"the day before it is not in the data.")
    return found
