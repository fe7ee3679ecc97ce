"""End to end on a small generated dataset: ott generate → silver → gold → warehouse →
analytics → report, each through the real `ott` console command.

It checks what only real upstream data can show: the warehouse loads what the Beam
stages wrote, every SQL data test passes on it, and the report reconciles with gold.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lake_fixtures import read_current

from beam_pipelines import catalog
from scripts.report import fmt_int, fmt_usd


def ott(ott_bin: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([ott_bin, *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"ott {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def pipeline_dir(ott_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = str(tmp_path_factory.mktemp("e2e"))
    ott(ott_bin, "generate", "--data-dir", data_dir, "--days", "2", "--users", "150", "--events-per-day", "1500")
    ott(ott_bin, "silver", "--data-dir", data_dir, "--max-quarantine-rate", "1")  # tiny spill-over days
    ott(ott_bin, "gold", "--data-dir", data_dir)
    ott(ott_bin, "warehouse", "--data-dir", data_dir)
    ott(ott_bin, "analytics", "--data-dir", data_dir)
    ott(ott_bin, "report", "--data-dir", data_dir, "--generated-at", "E2E")
    return Path(data_dir)


def test_warehouse_holds_every_gold_row(pipeline_dir: Path) -> None:
    conn = sqlite3.connect(catalog.warehouse_file(str(pipeline_dir)))
    for table in ("gold_daily_kpis", "gold_ads_daily", "gold_data_quality", "gold_campaign_pacing"):
        gold_rows = read_current(pipeline_dir, "gold", table).num_rows
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == gold_rows, table
    sessions = read_current(pipeline_dir, "silver", "silver_sessions").num_rows
    assert sessions > 0
    assert conn.execute("SELECT COUNT(*) FROM silver_sessions").fetchone()[0] == sessions
    assert conn.execute("SELECT COUNT(*) FROM analytics_daily_growth").fetchone()[0] >= 2
    conn.close()


def test_report_reconciles_with_gold(pipeline_dir: Path) -> None:
    text = Path(catalog.report_file(str(pipeline_dir))).read_text(encoding="utf-8")
    kpis = [json.loads(line) for line in Path(catalog.gold_jsonl_file(str(pipeline_dir), "gold_daily_kpis")).read_text().splitlines()]
    attempts = sum(k["attempts"] for k in kpis)
    revenue = sum(k["ad_revenue_usd"] for k in kpis)
    assert f"Playback attempts (sessions)  {fmt_int(attempts)}" in text
    assert fmt_usd(revenue) in text
    assert "10. FINDINGS" in text and text.splitlines()[1] == "Generated at: E2E"
    dashboard = Path(catalog.dashboard_file(str(pipeline_dir))).read_text(encoding="utf-8")
    assert "<svg" in dashboard and "http" not in dashboard
