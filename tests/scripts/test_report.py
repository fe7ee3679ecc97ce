"""Tests of ``ott report``: every section, numbers equal to the warehouse, determinism."""

from __future__ import annotations

import datetime as dt_
import re
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from wh_fixtures import Dataset, _built_dir, build_dataset, built_data_dir, derive_gold, fixture_dataset, write_dataset  # noqa: F401

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttError
from scripts import report, report_data
from scripts.report_data import PartialDay
from scripts.report_format import Col, clean_text, fmt_change, fmt_hours, fmt_int, fmt_pct, fmt_usd, render_table

SECTIONS = (
    "1. DATA WINDOW AND VOLUMES",
    "2. PLATFORM KPIS",
    "3. TOP TITLES",
    "4. GENRES",
    "5. DEVICES AND QUALITY OF EXPERIENCE",
    "6. TOP USERS",
    "7. ADS AND CAMPAIGN PACING",
    "8. RETENTION",
    "9. DATA QUALITY",
    "10. FINDINGS",
)


@pytest.fixture()
def report_text(built_data_dir: Path) -> str:  # noqa: F811
    assert report.main(["--data-dir", str(built_data_dir), "--generated-at", "2026-03-12T06:00:00Z"]) == 0
    return Path(catalog.report_file(str(built_data_dir))).read_text(encoding="utf-8")


def query(data_dir: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(catalog.warehouse_file(str(data_dir)))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def section_text(text: str, number: int) -> str:
    start = text.index(SECTIONS[number - 1])
    end = text.index(SECTIONS[number]) if number < len(SECTIONS) else len(text)
    return text[start:end]


def line_of(text: str, start: str) -> str:
    matches = [line for line in text.splitlines() if line.strip().startswith(start)]
    assert matches, f"no line starting with {start!r}"
    return matches[0]


def test_formatting_helpers() -> None:
    assert fmt_int(1234567) == "1,234,567"
    assert fmt_hours(1234.56) == "1,234.6 h"
    assert fmt_pct(0.1234) == "12.3%"
    assert fmt_usd(1234.5) == "$1,234.50" and fmt_usd(-2) == "-$2.00"
    assert fmt_change(0.5) == "+50.0%" and fmt_change(-0.125) == "-12.5%" and fmt_change(None) == "n/a"
    assert fmt_int(None) == "–"


def test_render_table_aligns_columns() -> None:
    lines = render_table(
        [{"a": "x", "b": 1}, {"a": "longer", "b": 12345}],
        [Col("name", lambda r: r["a"], "<"), Col("n", lambda r: fmt_int(r["b"]))],
    )
    assert lines == ["  name         n", "  ------  ------", "  x            1", "  longer  12,345"]


def test_every_section_present_in_order(report_text: str) -> None:
    positions = [report_text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert report_text.splitlines()[1] == "Generated at: 2026-03-12T06:00:00Z"


def test_daily_kpis_equal_the_warehouse(report_text: str, built_data_dir: Path) -> None:  # noqa: F811
    kpis = section_text(report_text, 2)
    rows = query(
        built_data_dir,
        """SELECT k.event_date, k.active_users, k.plays, k.watch_hours, k.ad_revenue_usd, g.active_users_dod,
                  r.rolling_7d_active_users
           FROM gold_daily_kpis k JOIN analytics_daily_growth g USING (event_date)
           JOIN analytics_rolling_active_users_7d r USING (event_date) ORDER BY event_date""",
    )
    assert len(rows) == 10
    for day, active, plays, hours, revenue, dod, rolling in rows:
        cells = line_of(kpis, day).split()
        assert cells[1:5] == [fmt_int(active), fmt_change(dod), fmt_int(rolling), fmt_int(plays)]
        assert fmt_hours(hours).split()[0] in cells and fmt_usd(revenue) in cells
    assert "n/a" in line_of(kpis, rows[0][0]), "first day has no day-over-day base"


def test_volumes_equal_the_warehouse(report_text: str, built_data_dir: Path) -> None:  # noqa: F811
    volumes = section_text(report_text, 1)
    attempts, plays, hours, impressions, revenue = query(
        built_data_dir,
        "SELECT SUM(attempts), SUM(plays), SUM(watch_hours), SUM(ad_impressions), SUM(ad_revenue_usd) FROM gold_daily_kpis",
    )[0]
    assert line_of(volumes, "Playback attempts").endswith(fmt_int(attempts))
    assert line_of(volumes, "Plays (started").endswith(fmt_int(plays))
    assert line_of(volumes, "Watch time").endswith(fmt_hours(hours))
    assert line_of(volumes, "Ad impressions").endswith(fmt_int(impressions))
    assert line_of(volumes, "Ad revenue").endswith(fmt_usd(revenue))
    (sessions,) = query(built_data_dir, "SELECT COUNT(*) FROM silver_sessions")[0]
    assert line_of(volumes, "silver_sessions").split() == ["silver_sessions", fmt_int(sessions)]


def test_top_titles_genres_and_users_equal_the_warehouse(report_text: str, built_data_dir: Path) -> None:  # noqa: F811
    titles = section_text(report_text, 3)
    top = query(
        built_data_dir,
        "SELECT title, SUM(watch_hours) AS h FROM gold_content_daily GROUP BY content_id ORDER BY h DESC, content_id LIMIT 3",
    )
    for rank, (title, hours) in enumerate(top, start=1):
        line = line_of(titles, f"{rank}  {' '.join(title.split())}")
        assert re.split(r"\s{2,}", line.strip())[-2] == fmt_hours(hours)
    genres = section_text(report_text, 4)
    for genre, plays, hours in query(built_data_dir, "SELECT genre, SUM(plays), SUM(watch_hours) FROM gold_genre_daily GROUP BY genre"):
        cells = line_of(genres, genre).split()
        assert cells[1] == fmt_int(plays) and cells[2] == fmt_hours(hours).split()[0]
    users = section_text(report_text, 6)
    (user_id, hours), *_ = query(built_data_dir, "SELECT user_id, watch_hours FROM gold_user_engagement ORDER BY watch_hours DESC, user_id")
    assert fmt_hours(hours) in line_of(users, user_id)


def daily_failure_scores(sessions: pd.DataFrame) -> dict[tuple, float]:
    """Failure score per (event_date, device_type) straight from the sessions (SPEC §6)."""
    scores = {}
    for (day, device), g in sessions.groupby(["event_date", "device_type"]):
        plays = g[g.started]
        rebuffer, watch = g.rebuffer_ms.sum(), g.watch_ms.sum()
        scores[(day, device)] = (
            g.start_failure.sum() / len(g)
            + (plays.playback_failure.sum() / len(plays) if len(plays) else 0)
            + (rebuffer / (rebuffer + watch) if rebuffer + watch else 0)
        )
    return scores


def test_devices_equal_an_independent_computation(report_text: str, fixture_dataset) -> None:  # noqa: F811
    devices = section_text(report_text, 5)
    window, day = devices.split("On 2026-03-11, the latest complete day")
    s = fixture_dataset.tables["silver_sessions"]
    scores = daily_failure_scores(s)
    for device, g in s.groupby("device_type"):
        plays = g[g.started]
        cells = line_of(window, device).split()
        assert cells[1] == fmt_int(len(g)) and cells[2] == fmt_int(g.started.sum())
        assert cells[3] == fmt_pct(g.start_failure.sum() / len(g))
        assert cells[4] == fmt_pct(g.exit_before_start.sum() / len(g))
        assert cells[5] == fmt_pct(plays.playback_failure.sum() / len(plays))
        worst_days = sum(1 for d in set(s.event_date) if max(
            (k for k in scores if k[0] == d), key=lambda k: (scores[k], [-ord(c) for c in k[1]])) == (d, device))
        assert " ".join(cells[6:]) == f"{worst_days} day" + ("" if worst_days == 1 else "s")
        # the latest complete day: startup percentiles and rebuffering of gold_qoe_daily
        last = g[g.event_date == dt_.date(2026, 3, 11)]
        if len(last):
            startups = sorted(int(x) for x in last[last.started].startup_ms.dropna())
            p50, p95 = (startups[-(-len(startups) * p // 100) - 1] for p in (50, 95))
            cells = line_of(day, device).split()
            assert cells[5:9] == [f"{p50:,}", "ms", f"{p95:,}", "ms"]
            rebuffer = last.rebuffer_ms.sum() / (last.rebuffer_ms.sum() + last.watch_ms.sum())
            assert cells[9] == fmt_pct(rebuffer, 2)


def test_ads_pacing_retention_and_quality_equal_the_warehouse(report_text: str, built_data_dir: Path) -> None:  # noqa: F811
    ads = section_text(report_text, 7)
    for placement, revenue, share in query(built_data_dir, "SELECT placement, revenue_usd, revenue_share FROM analytics_ad_revenue_by_placement"):
        line = line_of(ads, placement)
        assert fmt_usd(revenue) in line and fmt_pct(share) in line
    for status, campaigns, budget, spend in query(
        built_data_dir, "SELECT status, COUNT(*), SUM(budget_usd), SUM(spend_usd) FROM gold_campaign_pacing GROUP BY status"
    ):
        assert line_of(ads, status).split() == [status, fmt_int(campaigns), fmt_usd(budget), fmt_usd(spend)]
    alerts = query(built_data_dir, "SELECT campaign_id, severity FROM analytics_campaign_pacing_alerts")
    assert alerts and all(f"[{sev.upper()}] {cid} " in ads for cid, sev in alerts)
    assert f"Pacing alerts: {len(alerts)} " in ads
    retention = section_text(report_text, 8)
    recent = query(
        built_data_dir,
        "SELECT cohort_week, cohort_size, week_0, week_1 FROM analytics_retention_cohort_matrix ORDER BY cohort_week DESC LIMIT 12",
    )
    assert recent
    for week, size, w0, w1 in recent:
        cells = line_of(retention, week).split()
        assert cells[1:4] == [fmt_int(size), fmt_pct(w0, 0) if w0 is not None else "–", fmt_pct(w1, 0) if w1 is not None else "–"]
    quality = section_text(report_text, 9)
    for dataset, read, valid, quarantined, dups in query(
        built_data_dir,
        "SELECT dataset, SUM(rows_read), SUM(rows_valid), SUM(rows_quarantined), SUM(duplicates_dropped) FROM gold_data_quality GROUP BY dataset",
    ):
        cells = line_of(quality, dataset).split()
        assert cells[2:5] == [fmt_int(read), fmt_int(valid), fmt_int(quarantined)] and cells[6] == fmt_int(dups)
    (invalid_ts,) = query(built_data_dir, "SELECT SUM(invalid_timestamp) FROM gold_data_quality")[0]
    assert line_of(quality, "invalid_timestamp").split()[1] == fmt_int(invalid_ts)


def test_findings_are_computed_from_the_data(report_text: str, built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    findings = section_text(report_text, 10)
    # worst QoE device: worst on most days, computed independently from the sessions
    s = fixture_dataset.tables["silver_sessions"]
    scores = daily_failure_scores(s)
    worst_of_day = [max((k for k in scores if k[0] == d), key=lambda k: (scores[k], [-ord(c) for c in k[1]]))[1]
                    for d in sorted(set(s.event_date))]
    worst = max(set(worst_of_day), key=lambda dev: (worst_of_day.count(dev), dev))
    assert (f"Worst quality of experience: {worst} was the worst device on {worst_of_day.count(worst)} of 10 days"
            in " ".join(findings.split()))
    # biggest quarantine reason
    dq = fixture_dataset.tables["gold_data_quality"]
    totals = {r: int(dq[r].sum()) for r in ("missing_field", "invalid_timestamp", "unknown_user")}
    top_reason = max(totals, key=lambda r: (totals[r], [-ord(c) for c in r]))
    assert f"Biggest quarantine reason: {top_reason} with {totals[top_reason]:,} rows" in findings
    # campaigns at risk are named
    for (campaign_id,) in query(built_data_dir, "SELECT campaign_id FROM analytics_campaign_pacing_alerts"):
        assert campaign_id in findings
    assert "Largest day-over-day mover on 2026-03-11" in findings
    # biggest title mover between the last two days, from the fixture's content marts
    cd = fixture_dataset.tables["gold_content_daily"]
    last, prev = dt_.date(2026, 3, 11), dt_.date(2026, 3, 10)
    hours = {
        title: (g[g.event_date == prev].watch_hours.sum(), g[g.event_date == last].watch_hours.sum())
        for title, g in cd[cd.event_date.isin([prev, last])].groupby("title")
    }
    title = min(hours, key=lambda t: (-abs(hours[t][1] - hours[t][0]), t))
    mover = f"Biggest title mover on 2026-03-11: {' '.join(title.split())}, from {fmt_hours(hours[title][0])} to {fmt_hours(hours[title][1])}"
    assert mover in " ".join(findings.split())


def test_identical_data_gives_identical_report_but_for_generated_at(built_data_dir: Path) -> None:  # noqa: F811
    path = Path(catalog.report_file(str(built_data_dir)))
    report.main(["--data-dir", str(built_data_dir), "--generated-at", "A"])
    first = path.read_text()
    report.main(["--data-dir", str(built_data_dir), "--generated-at", "A"])
    assert path.read_text() == first
    report.main(["--data-dir", str(built_data_dir)])  # wall clock: only that line may change
    second = path.read_text().splitlines()
    diff = [i for i, (a, b) in enumerate(zip(first.splitlines(), second)) if a != b]
    assert diff == [1] and re.fullmatch(r"Generated at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", second[1])


def test_report_needs_analytics(built_data_dir: Path) -> None:  # noqa: F811
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    conn.execute("DROP TABLE analytics_daily_growth")
    conn.commit()
    conn.close()
    with pytest.raises(OttError, match=r"lacks analytics_daily_growth \(run `ott analytics` first\)"):
        report_data.build_report_data(str(built_data_dir))


def test_text_from_the_data_cannot_break_the_layout(report_text: str) -> None:
    # the fixture title "Stand-Up\nSundays" holds a newline: it shows on one line
    assert "Stand-Up Sundays" in report_text and "Stand-Up\n" not in report_text
    assert clean_text("a\r\n\tb\x00c") == "a b c"


def test_cli_without_warehouse_is_one_line(ott_bin: str, tmp_path: Path) -> None:
    result = subprocess.run([ott_bin, "report", "--data-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "no warehouse at" in result.stderr


# ------------------------------------------------------------------ trailing partial day

PARTIAL = dt_.date(2026, 3, 9)  # a Monday, like the generator's spill-over day after a Mon-Sun week
LAST_COMPLETE = dt_.date(2026, 3, 8)


def partial_day_dataset() -> Dataset:
    """The fixture cut to 7 complete days (2026-03-02..08) plus a tiny trailing day
    2026-03-09 holding 3 sessions just after midnight and a few ad rows (spill-over)."""
    base = build_dataset()
    t = base.tables
    dims = {k: t[k] for k in ("silver_users", "silver_content", "silver_campaigns")}
    s = t["silver_sessions"]
    spill = s[(s.event_date == LAST_COMPLETE) & s.started].sort_values("session_id").head(3).copy()
    midnight = dt_.datetime.combine(PARTIAL, dt_.time(), dt_.timezone.utc)
    spill["session_id"] = [f"p{i:05d}" for i in range(len(spill))]
    spill["end_ts"] = [midnight + (end - start) + dt_.timedelta(minutes=5 * i)
                       for i, (start, end) in enumerate(zip(spill.session_start_ts, spill.end_ts))]
    spill["session_start_ts"] = [midnight + dt_.timedelta(minutes=5 * i) for i in range(len(spill))]
    spill["event_date"] = PARTIAL
    sessions = pd.concat([s[s.event_date <= LAST_COMPLETE], spill], ignore_index=True)
    ads = t["gold_ads_daily"]
    ads = pd.concat([ads[ads.event_date <= LAST_COMPLETE], ads[ads.event_date == PARTIAL].head(2)], ignore_index=True)
    gold = derive_gold(dims, sessions, ads)
    return Dataset({**dims, "silver_sessions": sessions, **gold}, base.first_day, PARTIAL)


@pytest.fixture(scope="module")
def partial_dataset() -> Dataset:
    return partial_day_dataset()


@pytest.fixture(scope="module")
def partial_report(tmp_path_factory: pytest.TempPathFactory, partial_dataset: Dataset) -> tuple[Path, str]:
    from scripts import analytics, warehouse

    data_dir = tmp_path_factory.mktemp("partial")
    write_dataset(partial_dataset, data_dir)
    warehouse.build_warehouse(str(data_dir))
    analytics.run_analytics(str(data_dir))
    assert report.main(["--data-dir", str(data_dir), "--generated-at", "T"]) == 0
    return data_dir, Path(catalog.report_file(str(data_dir))).read_text(encoding="utf-8")


def test_detect_partial_day_rule() -> None:
    def days(*attempts: int) -> list[dict]:
        return [{"event_date": f"2026-03-{i + 1:02d}", "attempts": a, "plays": a} for i, a in enumerate(attempts)]

    found = report_data.detect_partial_day(days(100, 120, 80, 24))  # 24 < 25% of median 100
    assert found == PartialDay(event_date="2026-03-04", previous_date="2026-03-03", attempts=24, plays=24,
                               median_attempts=100)
    assert report_data.detect_partial_day(days(100, 120, 80, 25)) is None, "exactly 25% is not below it"
    assert report_data.detect_partial_day(days(100, 1)) is None, "fewer than 3 dates: no detection"
    assert report_data.detect_partial_day(days(100, 100, 100, 100)) is None
    assert report_data.detect_partial_day(days(1, 100, 100, 100)) is None, "only the latest date can be partial"


def test_partial_day_is_marked_and_findings_use_the_last_complete_day(
    partial_report: tuple[Path, str], partial_dataset: Dataset
) -> None:
    data_dir, text = partial_report
    kpis_frame = partial_dataset.tables["gold_daily_kpis"].set_index("event_date")
    attempts = kpis_frame.attempts
    assert attempts[PARTIAL] == 3 and attempts[PARTIAL] < 0.25 * attempts.drop(PARTIAL).median()
    lines = text.splitlines()
    assert lines[3] == "Data window 2026-03-02 to 2026-03-09 (8 days); latest complete day 2026-03-08."
    assert lines[4].startswith("2026-03-09 is a partial day (spill-over only, 3 sessions)")
    assert line_of(section_text(text, 1), "Days with data").endswith("8 (7 complete, 2026-03-09 partial)")
    # (1) the partial row stays in the KPI table, marked, with its warehouse numbers, and a footnote
    kpis = section_text(text, 2)
    cells = line_of(kpis, "2026-03-09").split()
    assert cells[0] == "2026-03-09*" and cells[4] == fmt_int(kpis_frame.plays[PARTIAL])
    assert line_of(kpis, "2026-03-08").split()[0] == "2026-03-08"
    footnote = " ".join(kpis.split())
    assert "* 2026-03-09 is a partial day: it holds only spill-over from viewing that began on 2026-03-08 (3 sessions" in footnote
    assert "Findings compare 2026-03-08, the latest complete day, with the day before." in footnote
    # (2) day-over-day findings: 2026-03-08 vs 2026-03-07, computed independently
    findings = " ".join(section_text(text, 10).split())
    assert "2026-03-09" not in findings
    growth = dict(zip(("active users", "plays", "watch hours", "ad revenue"), query(
        data_dir,
        "SELECT active_users_dod, plays_dod, watch_hours_dod, ad_revenue_dod FROM analytics_daily_growth "
        "WHERE event_date = '2026-03-08'",
    )[0]))
    name = max(growth, key=lambda n: (abs(growth[n]), n))
    verb = "rose" if growth[name] >= 0 else "fell"
    assert f"Largest day-over-day mover on 2026-03-08: {name} {verb} {100 * abs(growth[name]):.1f}% vs the previous day." in findings
    prev = LAST_COMPLETE - dt_.timedelta(days=1)
    for table, label, lead in (("gold_genre_daily", "genre", "Biggest genre swing"),
                               ("gold_content_daily", "title", "Biggest title mover")):
        frame = partial_dataset.tables[table]
        hours = {
            key: (g[g.event_date == prev].watch_hours.sum(), g[g.event_date == LAST_COMPLETE].watch_hours.sum())
            for key, g in frame[frame.event_date.isin([prev, LAST_COMPLETE])].groupby(label)
        }
        top = min(hours, key=lambda k: (-abs(hours[k][1] - hours[k][0]), k))
        assert f"{lead} on 2026-03-08: {' '.join(top.split())}" in findings
        assert f"{fmt_hours(hours[top][0])} to {fmt_hours(hours[top][1])}" in findings
    assert "of 7 complete days (failure score" in findings
    # (4) retention: cells of the week starting on the partial day are marked incomplete
    retention = section_text(text, 8)
    assert line_of(retention, "2026-03-09").split()[2].endswith("%*")  # cohort 2026-03-09, W0
    assert line_of(retention, "2026-03-02").split()[3].endswith("%*")  # cohort 2026-03-02, W1
    assert not line_of(retention, "2026-03-02").split()[2].endswith("*")  # its W0 is complete
    assert "* Incomplete: the only day of the week starting 2026-03-09 in the data window" in retention
    # the dashboard's tiles show the latest complete day too
    page = Path(catalog.dashboard_file(str(data_dir))).read_text(encoding="utf-8")
    assert "Active users 2026-03-08" in page and "Active users 2026-03-09" not in page
    assert "(8 days) · 2026-03-09 is a partial day (spill-over only, 3 sessions); tiles show 2026-03-08" in page


def test_partial_report_is_deterministic(partial_report: tuple[Path, str]) -> None:
    data_dir, text = partial_report
    assert report.main(["--data-dir", str(data_dir), "--generated-at", "T"]) == 0
    assert Path(catalog.report_file(str(data_dir))).read_text(encoding="utf-8") == text


def test_without_a_partial_day_the_report_is_unchanged(report_text: str, built_data_dir: Path) -> None:  # noqa: F811
    data = report_data.build_report_data(str(built_data_dir))
    assert data.partial_day is None and data.latest_complete["event_date"] == "2026-03-11"
    assert report_text.splitlines()[3] == "Data window 2026-03-02 to 2026-03-11 (10 days); latest day 2026-03-11."
    assert "partial" not in report_text and "Incomplete" not in report_text
    assert line_of(section_text(report_text, 1), "Days with data").split() == ["Days", "with", "data", "10"]
    assert line_of(section_text(report_text, 2), "2026-03-11").split()[0] == "2026-03-11"
    assert "*" not in section_text(report_text, 8)
    findings = " ".join(section_text(report_text, 10).split())
    assert "Largest day-over-day mover on 2026-03-11" in findings and "Biggest genre swing on 2026-03-11" in findings
    assert "of 10 days (failure score" in findings
