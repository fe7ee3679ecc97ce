"""Findings as plain functions over ReportData: literal data, no warehouse, plus the
one-day / two-day / partial-day warehouses of a real run (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import build_report_dir, one_day_dataset, two_day_dataset

from beam_pipelines import catalog
from scripts.report_data import Comparison, Move, PartialDay, ReportData, build_report_data, comparison_days
from scripts.report_findings import compute_findings, genre_swing, kpi_mover, title_mover, worst_device


def day(date: str, attempts: int = 100, **dod: float | None) -> dict:
    row = {"event_date": date, "attempts": attempts, "plays": attempts}
    for key in ("active_users_dod", "plays_dod", "watch_hours_dod", "ad_revenue_dod"):
        row[key] = dod.get(key)
    return row


def data(daily: list[dict], partial: PartialDay | None = None, **fields) -> ReportData:
    """A ReportData with only what the findings read; the comparison follows the rule."""
    comparison = comparison_days(daily, partial)
    moves = [Move("Fantasy", 0.0, 19.8), Move("Drama", 5.0, 6.0)] if comparison.previous else []
    base = dict(
        window=None, volumes={}, table_rows=[], daily=daily, top_titles=[], top_by_genre=[], genres=[], devices=[],
        devices_day=[], worst_qoe_days=[], top_users=[], binge=[], placements=[], pacing_summary=[], alerts=[],
        retention=[], cohorts_total=0, funnel={}, quality=[], reasons=[], comparison=comparison,
        genre_moves=moves, title_moves=moves, partial_day=partial,
    )
    return ReportData(**{**base, **fields})


def test_one_day_compares_nothing() -> None:
    d = data([day("2026-11-30")])
    assert d.comparison == Comparison("2026-11-30", None)
    assert kpi_mover(d) is None and genre_swing(d) is None and title_mover(d) is None
    findings = compute_findings(d)
    assert findings[0].startswith("No day-over-day comparison: 2026-11-30 is the latest complete day")
    assert not any("swing" in f or "mover" in f for f in findings)


def test_day_over_day_findings_ignore_moves_without_a_previous_day() -> None:
    # even if moves were read, a comparison without a previous day reports none
    d = data([day("2026-11-30")], genre_moves=[Move("Fantasy", 0.0, 19.8)], title_moves=[Move("T", 0.0, 1.0)])
    assert genre_swing(d) is None and title_mover(d) is None


def test_two_days_compare_the_second_with_the_first() -> None:
    d = data([day("2026-11-29"), day("2026-11-30", plays_dod=0.5, watch_hours_dod=-0.75)])
    assert d.comparison == Comparison("2026-11-30", "2026-11-29")
    assert kpi_mover(d) == "Largest day-over-day mover on 2026-11-30: watch hours fell 75.0% vs the previous day."
    assert genre_swing(d) == "Biggest genre swing on 2026-11-30: Fantasy watch time went from 0.0 h to 19.8 h."


def test_a_gap_before_the_last_day_is_not_compared() -> None:
    d = data([day("2026-11-27"), day("2026-11-28"), day("2026-11-30")])
    assert d.comparison == Comparison("2026-11-30", None)
    assert genre_swing(d) is None and kpi_mover(d) is None


def test_partial_day_compares_the_latest_complete_day() -> None:
    daily = [day("2026-11-28"), day("2026-11-29"), day("2026-11-30", attempts=3)]
    partial = PartialDay("2026-11-30", "2026-11-29", 3, 3, 100)
    d = data(daily, partial, worst_qoe_days=[
        {"event_date": "2026-11-28", "device_type": "tv"}, {"event_date": "2026-11-29", "device_type": "tv"},
        {"event_date": "2026-11-30", "device_type": "tablet"}])
    assert d.comparison == Comparison("2026-11-29", "2026-11-28")
    assert "on 2026-11-29:" in genre_swing(d)
    assert worst_device(d).startswith("Worst quality of experience: tv was the worst device on 2 of 2 complete days")


def test_partial_day_after_a_single_complete_day_compares_nothing() -> None:
    daily = [day("2026-11-28"), day("2026-11-29"), day("2026-11-30", attempts=3)]
    d = data(daily[1:], PartialDay("2026-11-30", "2026-11-29", 3, 3, 100))
    assert d.comparison == Comparison("2026-11-29", None) and genre_swing(d) is None


def test_findings_cut_and_clean_data_text() -> None:
    d = data([day("2026-11-29"), day("2026-11-30")], title_moves=[Move("\u202eevil\n" + "x" * 500, 1.0, 2.0)])
    text = title_mover(d)
    assert "\u202e" not in text and "\n" not in text and "x" * 40 not in text and "evil xxx" in text


@pytest.mark.parametrize("make, days", [(one_day_dataset, 1), (two_day_dataset, 2)])
def test_real_runs_never_compare_with_a_missing_day(tmp_path: Path, make, days: int) -> None:
    data_dir = build_report_dir(tmp_path, make())
    d = build_report_data(str(data_dir))
    text = Path(catalog.report_file(str(data_dir))).read_text(encoding="utf-8")
    page = Path(catalog.dashboard_file(str(data_dir))).read_text(encoding="utf-8")
    findings = text[text.index("10. FINDINGS"):]
    if days == 1:
        assert d.comparison == Comparison("2026-03-02", None) and not d.genre_moves and not d.title_moves
        assert "(1 day)" in text and "(1 day)" in page and "1 days" not in text + page
        for phrase in ("Biggest genre swing", "Biggest title mover", "Largest day-over-day mover"):
            assert phrase not in findings and phrase not in page
        assert "No day-over-day comparison: 2026-03-02" in findings
    else:
        assert d.comparison == Comparison("2026-03-03", "2026-03-02")
        assert "Biggest genre swing on 2026-03-03" in findings and "(2 days)" in page
