"""Tests of ``ott analytics``: the BigQuery SQL files, their SQLite results against an
independent pandas computation on the fixture data, and the zero-row SQL data tests."""

from __future__ import annotations

import datetime as dt_
import re
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlglot
from sqlglot.optimizer.qualify import qualify
from wh_fixtures import _built_dir, built_data_dir, fixture_dataset  # noqa: F401

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttError
from beam_pipelines.schema import GOLD_SCHEMAS, NULLABLE_KEYS, SILVER_SCHEMAS, TABLE_KEYS, WAREHOUSE_TABLES
from scripts import analytics

ANALYTIC_FILES = sorted((analytics.SQL_DIR / "analytics").glob("*.sql"))
TEST_FILES = sorted((analytics.SQL_DIR / "tests").glob("*.sql"))
REQUIRED_ANALYTICS = {
    "rolling_active_users_7d",
    "daily_growth",
    "top_titles_by_genre",
    "playback_funnel",
    "ad_revenue_by_placement",
    "campaign_pacing_alerts",
    "retention_cohort_matrix",
    "worst_qoe_device_day",
    "binge_viewer_watch_share",
}


def read_table(data_dir: Path, table: str) -> pd.DataFrame:
    conn = sqlite3.connect(catalog.warehouse_file(str(data_dir)))
    try:
        return pd.read_sql_query(f'SELECT * FROM "{table}"', conn)
    finally:
        conn.close()


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    """Same columns (in order), same rows after sorting by keys, floats to 1e-9."""
    assert list(actual.columns) == list(expected.columns)
    a = actual.sort_values(keys).reset_index(drop=True)
    e = expected.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(e)
    for col in a.columns:
        av, ev = a[col].tolist(), e[col].tolist()
        for i, (x, y) in enumerate(zip(av, ev)):
            x_null = x is None or (isinstance(x, float) and np.isnan(x))
            y_null = y is None or (isinstance(y, float) and np.isnan(y))
            assert x_null == y_null, (col, i, x, y)
            if not x_null:
                if isinstance(y, float) or isinstance(x, float):
                    assert x == pytest.approx(y, rel=1e-9, abs=1e-12), (col, i, x, y)
                else:
                    assert x == y, (col, i, x, y)


def iso(d: dt_.date | None) -> str | None:
    return None if d is None else d.isoformat()


def div(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


# ------------------------------------------------------------------ the SQL files


def test_required_analytics_exist() -> None:
    assert REQUIRED_ANALYTICS <= {p.stem for p in ANALYTIC_FILES}
    assert len(TEST_FILES) >= 5


@pytest.mark.parametrize("path", ANALYTIC_FILES + TEST_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sql_file_is_one_bigquery_statement_with_header(path: Path, built_data_dir: Path) -> None:  # noqa: F811
    text = path.read_text(encoding="utf-8")
    statements = [s for s in sqlglot.parse(text, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE) if s]
    assert len(statements) == 1
    header = [line for line in text.splitlines() if line.startswith("--")]
    assert any("Grain" in line for line in header), "header comment must state the grain"
    if path.parent.name == "analytics":
        assert any("Question" in line for line in header), "header comment must state the question"
    # house style: lowercase keywords, import CTEs first, `select * from final` last
    assert not re.search(r"\b(SELECT|FROM|WHERE|GROUP BY|JOIN)\b", text)
    assert text.rstrip().endswith("select * from final")
    # and the translation runs on SQLite
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    try:
        conn.execute(analytics.to_sqlite(text)).fetchall()
    finally:
        conn.close()


def test_generic_data_tests_follow_the_house_style_and_run(built_data_dir: Path) -> None:  # noqa: F811
    generic = analytics.generic_data_tests()
    assert [t.name for t in generic] == ["assert_unique_grain", "assert_not_null_keys"]
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    try:
        for test in generic:
            header = [line for line in test.bigquery_sql.splitlines() if line.startswith("--")]
            assert any("Grain" in line for line in header)
            assert not re.search(r"\b(SELECT|FROM|WHERE|GROUP BY|JOIN)\b", test.bigquery_sql)
            assert test.bigquery_sql.rstrip().endswith("select * from final")
            assert conn.execute(test.sqlite_sql).fetchall() == []
    finally:
        conn.close()


def test_generic_data_tests_cover_every_warehouse_table() -> None:
    unique, not_null = (t.bigquery_sql for t in analytics.generic_data_tests())
    for table in WAREHOUSE_TABLES:
        assert f"from {table} group by {', '.join(TABLE_KEYS[table])} having" in unique, table
        assert f"from {table}\n" in not_null, table
    names = [t.name for t in analytics.load_data_tests(analytics.SQL_DIR / "tests")]
    assert names == ["assert_unique_grain", "assert_not_null_keys", *(p.stem for p in TEST_FILES)]


def test_generic_data_tests_of_a_new_table_catch_duplicates_and_null_keys(monkeypatch) -> None:
    """A table the contract gains is tested from its declaration alone (grain, nullable keys)."""
    monkeypatch.setitem(TABLE_KEYS, "gold_toy", ("event_date", "slot", "campaign_id"))
    monkeypatch.setitem(NULLABLE_KEYS, "gold_toy", ("campaign_id",))
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE gold_toy (event_date TEXT, slot TEXT, campaign_id TEXT, n INTEGER)")
    conn.executemany(
        "INSERT INTO gold_toy VALUES (?, ?, ?, 1)",
        [("2026-03-02", "a", None), ("2026-03-02", "b", None), ("2026-03-02", "a", "k1"), ("2026-03-03", "a", None)],
    )
    unique, not_null = analytics.generic_data_tests(["gold_toy"])
    assert conn.execute(unique.sqlite_sql).fetchall() == []
    assert conn.execute(not_null.sqlite_sql).fetchall() == []  # a null campaign_id is allowed
    conn.execute("INSERT INTO gold_toy VALUES ('2026-03-02', 'b', NULL, 2)")  # null keys are one value
    conn.execute("INSERT INTO gold_toy VALUES (NULL, 'c', 'k1', 1)")
    assert conn.execute(unique.sqlite_sql).fetchall() == [("gold_toy", "2026-03-02|b|", 2)]
    assert conn.execute(not_null.sqlite_sql).fetchall() == [("gold_toy", 1)]


def _bigquery_schema(data_dir: Path) -> dict[str, dict[str, str]]:
    """Contract tables with BigQuery types, plus the analytics_* tables' columns."""
    bq = {"string": "STRING", "int64": "INT64", "double": "FLOAT64", "bool": "BOOL", "date32[day]": "DATE"}
    schema = {
        name: {f.name: bq.get(str(f.type), "TIMESTAMP") for f in arrow}
        for name, arrow in {**GOLD_SCHEMAS, **SILVER_SCHEMAS}.items()
    }
    conn = sqlite3.connect(catalog.warehouse_file(str(data_dir)))
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'analytics_%'"):
        schema[table] = {row[1]: "STRING" for row in conn.execute(f"PRAGMA table_info({table})")}
    conn.close()
    return schema


def test_sql_resolves_every_column_against_the_contract(built_data_dir: Path) -> None:  # noqa: F811
    """Column resolution under BigQuery's rules (sqlglot's qualifier) against the
    contract schemas: a misspelt or non-contract column fails here, not on BigQuery."""
    schema = _bigquery_schema(built_data_dir)
    texts = [path.read_text() for path in ANALYTIC_FILES + TEST_FILES]
    for text in texts + [t.bigquery_sql for t in analytics.generic_data_tests()]:
        expression = sqlglot.parse_one(text, read="bigquery")
        qualify(expression, schema=schema, dialect="bigquery", validate_qualify_columns=True)
    with pytest.raises(sqlglot.errors.OptimizeError):
        qualify(sqlglot.parse_one("select not_a_column from gold_daily_kpis", read="bigquery"),
                schema=schema, dialect="bigquery", validate_qualify_columns=True)


def test_qualify_is_kept_in_bigquery_and_rewritten_for_sqlite() -> None:
    text = (analytics.SQL_DIR / "analytics" / "top_titles_by_genre.sql").read_text()
    assert "qualify" in text
    assert "QUALIFY" not in analytics.to_sqlite(text).upper()


def test_bad_sql_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "two.sql").write_text("select 1; select 2")
    with pytest.raises(OttError, match="exactly one statement"):
        analytics.load_sql_files(tmp_path)
    (tmp_path / "two.sql").write_text("select from where (")
    with pytest.raises(OttError, match="not valid BigQuery SQL"):
        analytics.load_sql_files(tmp_path)


def test_missing_warehouse_is_a_one_line_error(ott_bin: str, tmp_path: Path) -> None:
    result = subprocess.run([ott_bin, "analytics", "--data-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("(run `ott warehouse` first)")
    assert result.stderr.count("\n") == 1


# ----------------------------------------- each analytic vs an independent pandas computation


def test_rolling_active_users_7d(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    sessions = fixture_dataset.tables["silver_sessions"]
    plays = sessions[sessions.started]
    days = sorted(fixture_dataset.tables["gold_daily_kpis"].event_date)
    rows = []
    for day in days:
        window = plays[(plays.event_date > day - dt_.timedelta(days=7)) & (plays.event_date <= day)]
        dau = plays[plays.event_date == day].user_id.nunique()
        wau = window.user_id.nunique()
        rows.append((iso(day), dau, wau, div(dau, wau), int((day - days[0]).days >= 6)))
    expected = pd.DataFrame(
        rows, columns=["event_date", "active_users", "rolling_7d_active_users", "dau_wau_ratio", "window_complete"]
    )
    assert_same(read_table(built_data_dir, "analytics_rolling_active_users_7d"), expected, ["event_date"])
    assert expected.window_complete.sum() > 0 and expected.rolling_7d_active_users.max() > expected.active_users.max()


def test_daily_growth(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    kpis = fixture_dataset.tables["gold_daily_kpis"].set_index("event_date")
    metrics = {"active_users": "active_users", "plays": "plays", "watch_hours": "watch_hours", "ad_revenue": "ad_revenue_usd"}
    rows = []
    for day, today in kpis.iterrows():
        row = {"event_date": iso(day), **{c: today[c] for c in ("active_users", "plays", "watch_hours", "ad_revenue_usd")}}
        for suffix, lag in (("dod", 1), ("wow", 7)):
            base_day = day - dt_.timedelta(days=lag)
            for name, col in metrics.items():
                base = kpis[col].get(base_day)
                row[f"{name}_{suffix}"] = None if base is None else div(today[col] - base, base)
        rows.append(row)
    expected = pd.DataFrame(rows)[read_table(built_data_dir, "analytics_daily_growth").columns]
    assert_same(read_table(built_data_dir, "analytics_daily_growth"), expected, ["event_date"])
    assert expected.active_users_wow.notna().sum() == 3  # days 8..10 of a 10-day window


def test_top_titles_by_genre(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    cd = fixture_dataset.tables["gold_content_daily"].copy()
    cd["completed"] = cd.completion_rate.fillna(0) * cd.plays
    titles = cd.groupby(["genre", "content_id", "title", "content_type"], as_index=False).agg(
        plays=("plays", "sum"), watch_hours=("watch_hours", "sum"), completed=("completed", "sum")
    )
    titles["completion_rate"] = [div(c, p) for c, p in zip(titles.completed, titles.plays)]
    titles = titles[titles.plays > 0].sort_values(["genre", "watch_hours", "content_id"], ascending=[True, False, True])
    titles["title_rank"] = titles.groupby("genre").cumcount() + 1
    expected = titles[titles.title_rank <= 3][
        ["genre", "title_rank", "content_id", "title", "content_type", "plays", "watch_hours", "completion_rate"]
    ]
    actual = read_table(built_data_dir, "analytics_top_titles_by_genre")
    assert_same(actual, expected, ["genre", "title_rank"])
    assert actual.groupby("genre").size().max() == 3


def test_playback_funnel(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    s = fixture_dataset.tables["silver_sessions"]
    rows = []
    for day, g in s.groupby("event_date"):
        attempts, plays, completions = len(g), int(g.started.sum()), int(g.completed.sum())
        rows.append(
            (iso(day), attempts, plays, completions, int(g.start_failure.sum()), int(g.exit_before_start.sum()),
             div(plays, attempts), div(completions, plays), div(completions, attempts))
        )
    expected = pd.DataFrame(
        rows,
        columns=["event_date", "attempts", "plays", "completions", "start_failures", "exits_before_start",
                 "play_rate", "completion_rate", "attempt_to_completion_rate"],
    )
    assert_same(read_table(built_data_dir, "analytics_playback_funnel"), expected, ["event_date"])


def test_ad_revenue_by_placement(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    ads = fixture_dataset.tables["gold_ads_daily"]
    total = ads.revenue_usd.sum()
    rows = []
    for placement, g in ads.groupby("placement"):
        requests, impressions, clicks, revenue = g.ad_requests.sum(), g.impressions.sum(), g.clicks.sum(), g.revenue_usd.sum()
        filled = g[g.campaign_id.notna()].ad_requests.sum()
        rows.append((placement, requests, impressions, clicks, revenue, div(revenue, total),
                     div(revenue * 1000, impressions), div(filled, requests), div(clicks, impressions)))
    expected = pd.DataFrame(
        rows,
        columns=["placement", "ad_requests", "impressions", "clicks", "revenue_usd", "revenue_share", "ecpm_usd", "fill_rate", "ctr"],
    )
    actual = read_table(built_data_dir, "analytics_ad_revenue_by_placement")
    assert_same(actual, expected, ["placement"])
    assert actual.revenue_share.sum() == pytest.approx(1.0)


def test_campaign_pacing_alerts(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    pacing = fixture_dataset.tables["gold_campaign_pacing"]
    campaigns = fixture_dataset.tables["silver_campaigns"].set_index("campaign_id")
    last_date = max(fixture_dataset.tables["gold_daily_kpis"].event_date)
    rows = []
    for p in pacing[pacing.status.isin(["under", "over"])].itertuples():
        c = campaigns.loc[p.campaign_id]
        rows.append(
            (p.campaign_id, p.advertiser, c.bid_strategy, iso(c.end_date), int(c.end_date < last_date), p.status,
             "critical" if p.pacing_index < 0.5 or p.pacing_index > 1.5 else "warning", p.pacing_index,
             p.budget_usd, p.spend_usd, p.budget_usd * p.days_elapsed / p.flight_days,
             div(p.spend_usd * p.flight_days, p.days_elapsed), p.days_elapsed, p.flight_days)
        )
    expected = pd.DataFrame(
        rows,
        columns=["campaign_id", "advertiser", "bid_strategy", "end_date", "flight_ended", "status", "severity", "pacing_index",
                 "budget_usd", "spend_usd", "expected_spend_usd", "projected_spend_usd", "days_elapsed", "flight_days"],
    )
    actual = read_table(built_data_dir, "analytics_campaign_pacing_alerts")
    assert_same(actual, expected, ["campaign_id"])
    assert "not_started" in set(pacing.status) and not actual.empty  # the filter really filters


def test_retention_cohort_matrix(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    r = fixture_dataset.tables["gold_retention_cohorts"]
    rows = []
    for week, g in r.groupby("cohort_week"):
        rates = dict(zip(g.week_number, g.retention_rate))
        if min(rates) <= 7:  # cohorts whose first eight weeks overlap the window
            rows.append((iso(week), int(g.cohort_size.max()), *[rates.get(n) for n in range(8)]))
    expected = pd.DataFrame(rows, columns=["cohort_week", "cohort_size"] + [f"week_{n}" for n in range(8)])
    assert_same(read_table(built_data_dir, "analytics_retention_cohort_matrix"), expected, ["cohort_week"])
    assert len(expected) < r.cohort_week.nunique(), "fixture must hold an old cohort that is left out"


def test_worst_qoe_device_day(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    q = fixture_dataset.tables["gold_qoe_daily"].copy()
    q["failure_score"] = (
        q.video_start_failure_rate.fillna(0) + q.playback_failure_rate.fillna(0) + q.rebuffer_ratio.fillna(0)
    )
    worst = q.sort_values(["event_date", "failure_score", "device_type"], ascending=[True, False, True]).groupby("event_date").head(1)
    expected = worst[["event_date", "device_type", "failure_score", "attempts", "plays", "video_start_failure_rate",
                      "playback_failure_rate", "rebuffer_ratio", "startup_ms_p95"]].copy()
    expected["event_date"] = expected.event_date.map(iso)
    assert_same(read_table(built_data_dir, "analytics_worst_qoe_device_day"), expected, ["event_date"])


def test_binge_viewer_watch_share(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    e = fixture_dataset.tables["gold_user_engagement"]
    e = e[e.plays > 0]
    rows = []
    for plan, g in e.groupby("plan"):
        binge = g[g.binge_sessions > 0]
        rows.append((plan, len(g), len(binge), div(len(binge), len(g)), g.watch_hours.sum(),
                     binge.watch_hours.sum() if len(binge) else 0, div(binge.watch_hours.sum(), g.watch_hours.sum())))
    expected = pd.DataFrame(
        rows,
        columns=["plan", "viewers", "binge_viewers", "binge_viewer_rate", "watch_hours", "binge_viewer_watch_hours", "binge_watch_share"],
    )
    actual = read_table(built_data_dir, "analytics_binge_viewer_watch_share")
    assert_same(actual, expected, ["plan"])
    assert actual.binge_viewers.sum() > 0, "fixture must contain binge viewers"


def test_rerun_replaces_analytics(built_data_dir: Path) -> None:  # noqa: F811
    before = read_table(built_data_dir, "analytics_daily_growth")
    counts, results = analytics.run_analytics(str(built_data_dir))
    assert counts["analytics_daily_growth"] == len(before)
    assert all(r.failing_rows == 0 for r in results)
    pd.testing.assert_frame_equal(read_table(built_data_dir, "analytics_daily_growth"), before)


# ------------------------------------------------------- the data tests catch broken tables


def _rebuild_without_constraints(conn: sqlite3.Connection, table: str) -> None:
    """Replace a table by an unconstrained copy, so a test can plant duplicates or nulls."""
    conn.execute(f"CREATE TABLE tmp_copy AS SELECT * FROM {table}")
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE tmp_copy RENAME TO {table}")


BREAKAGES = {
    "assert_unique_grain": [
        ("rebuild", "gold_user_engagement"),
        "INSERT INTO gold_user_engagement SELECT * FROM gold_user_engagement LIMIT 1",
    ],
    "assert_not_null_keys": [
        ("rebuild", "gold_qoe_daily"),
        "UPDATE gold_qoe_daily SET device_type = NULL WHERE rowid = (SELECT MIN(rowid) FROM gold_qoe_daily)",
    ],
    "assert_rates_within_unit_interval": [
        "UPDATE gold_genre_daily SET completion_rate = 1.25 WHERE genre = 'Drama'",
    ],
    "assert_revenue_equals_sum_by_placement": [
        "UPDATE gold_daily_kpis SET ad_revenue_usd = ad_revenue_usd + 0.5 WHERE event_date = '2026-03-04'",
    ],
    "assert_sessions_have_user_and_day": [
        ("rebuild", "silver_sessions"),
        "UPDATE silver_sessions SET user_id = NULL WHERE session_id = (SELECT MAX(session_id) FROM silver_sessions WHERE NOT started)",
    ],
    "assert_data_quality_conservation": [
        "UPDATE gold_data_quality SET rows_read = rows_read + 1 WHERE dataset = 'users'",
    ],
    "assert_sessions_reconcile_daily_kpis": [
        "DELETE FROM silver_sessions WHERE session_id = (SELECT MIN(session_id) FROM silver_sessions)",
    ],
}


@pytest.mark.parametrize("test_name", sorted(BREAKAGES))
def test_data_test_fails_on_broken_table(built_data_dir: Path, test_name: str) -> None:  # noqa: F811
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    for step in BREAKAGES[test_name]:
        if isinstance(step, tuple):
            _rebuild_without_constraints(conn, step[1])
        else:
            assert conn.execute(step).rowcount != 0
    conn.commit()
    conn.close()
    with pytest.raises(OttError) as info:
        analytics.run_analytics(str(built_data_dir))
    message = str(info.value)
    assert "SQL data tests failed" in message and test_name in message
    others = set(BREAKAGES) - {test_name}
    assert not any(f"{other} (" in message for other in others), message


def test_cli_fails_with_one_line_naming_the_failing_test(ott_bin: str, built_data_dir: Path) -> None:  # noqa: F811
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    conn.execute("UPDATE gold_data_quality SET rows_valid = rows_valid - 1 WHERE dataset = 'content'")
    conn.commit()
    conn.close()
    result = subprocess.run([ott_bin, "analytics", "--data-dir", str(built_data_dir)], capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ott analytics: error: 1 of") and "assert_data_quality_conservation (1 row)" in last
    assert "Traceback" not in result.stderr
