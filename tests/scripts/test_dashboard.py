"""Tests of the HTML dashboard: self-contained, escaped, and rendered by a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from wh_fixtures import build_dataset, write_dataset

from beam_pipelines import catalog
from scripts import analytics, dashboard, report, warehouse

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
INJECTED = '<script>alert("x")</script> & "Friends"'


@pytest.fixture(scope="module")
def dashboard_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("dash")
    # a title that tries to inject a script, on a title that makes the top-10 chart
    write_dataset(build_dataset(title_override={"c02": INJECTED}), data_dir)
    warehouse.build_warehouse(str(data_dir))
    analytics.run_analytics(str(data_dir))
    assert report.main(["--data-dir", str(data_dir), "--generated-at", "T"]) == 0
    return Path(catalog.dashboard_file(str(data_dir)))


def test_no_external_references(dashboard_file: Path) -> None:
    page = dashboard_file.read_text(encoding="utf-8")
    assert not re.search(r"https?:|ftp:|//[a-z0-9]|\bsrc\s*=|\bhref\s*=|@import|url\(|<link|<iframe|<img", page, re.I)
    assert "<script" not in page.lower(), "no scripts at all, so nothing can fetch"


def test_injected_title_is_escaped(dashboard_file: Path) -> None:
    page = dashboard_file.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Friends&quot;" in page
    assert 'alert("x")' not in page


def test_every_chart_is_present(dashboard_file: Path) -> None:
    page = dashboard_file.read_text(encoding="utf-8")
    for heading in (
        "Daily and 7-day active users",
        "Watch hours per day",
        "Top titles by watch hours",
        "Genre mix",
        "Quality of experience by device",
        "Ad revenue by placement",
        "Retention by signup-week cohort",
        "Campaign pacing alerts",
        "Findings",
    ):
        assert f"<h2>{heading}" in page
    assert page.count("<svg") >= 7
    assert 'class="heat"' in page and "<polyline" in page


def test_axis_ticks_are_round() -> None:
    assert dashboard.axis_ticks(40) == [0, 10, 20, 30, 40]
    assert dashboard.axis_ticks(21.4) == [0, 5, 10, 15, 20, 25]
    ticks = dashboard.axis_ticks(0.194)
    assert ticks[-1] == pytest.approx(0.2) and len(ticks) == 5


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (apt-get install -y chromium)")
def test_renders_in_headless_chromium(dashboard_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "dashboard.png"
    result = subprocess.run(
        [str(REPO / "scripts" / "screenshot_dashboard.sh"), str(dashboard_file), str(png)],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # a blank page compresses to a few KB; charts, text and colours do not
    assert len(data) > 60_000


def test_screenshot_script_reports_missing_dashboard(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash not available")
    result = subprocess.run(
        [str(REPO / "scripts" / "screenshot_dashboard.sh"), str(tmp_path / "nope.html"), str(tmp_path / "x.png")],
        capture_output=True, text=True,
    )
    assert result.returncode == 1 and "no dashboard at" in result.stderr
