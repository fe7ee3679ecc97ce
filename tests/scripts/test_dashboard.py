"""Tests of the HTML dashboard: self-contained, escaped, and rendered by a real browser
(Debian's /usr/bin/chromium driven by Playwright, no browser download) at desktop and
phone widths."""

from __future__ import annotations

import os
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
SCREENSHOT_DIR = "OTT_SCREENSHOT_DIR"  # set it to keep the PNGs (otherwise in pytest's tmp_path)
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
    assert page.count("<svg") >= 3, "two line charts and the QoE bars"
    assert page.count('<div class="bars">') == 3, "top titles, plays by genre, ad revenue"
    assert page.count('<div class="share">') == 1
    assert 'class="heat"' in page and "<polyline" in page


def test_small_fixes(dashboard_file: Path) -> None:
    page = dashboard_file.read_text(encoding="utf-8")
    assert "(10 days)" in page
    assert "pacing index = (spend / budget) / (days elapsed / flight days)" in page and "<th>index*</th>" in page
    # every genre slice has a legend key, and the plays bars use a colour no genre uses
    share = page[page.index('<div class="share">'):page.index("<h3>Plays by genre</h3>")]
    slice_colours = re.findall(r'<i style="width:[\d.]+%;background:(#[0-9a-f]{6})"', share)
    keys = re.findall(r'<span class="key"><i style="background:(#[0-9a-f]{6})"></i>([^<]+)</span>', share)
    assert [c for c, _ in keys] == slice_colours and len(keys) == 4
    assert [label.split(" · ")[0] for _, label in keys] == ["Drama", "Comedy", "Documentary", "Kids"]
    plays = page[page.index("<h3>Plays by genre</h3>"):]
    plays = plays[:plays.index("</section>")]
    bar_colours = set(re.findall(r"background:(#[0-9a-f]{6})", plays))
    assert bar_colours == {dashboard.BAR} and dashboard.BAR not in dashboard.PALETTE


@pytest.mark.parametrize("count", [1, 8, 9, 12, 30])
def test_genre_mix_colours_are_distinct(count: int) -> None:
    genres = [(f"g{i:02d}", float(100 - i)) for i in range(count)]
    mix, colours = dashboard.genre_mix(genres)
    assert len(mix) == len(colours) == min(count, dashboard.MIX_GENRES + 1)
    assert len(set(colours)) == len(colours) and dashboard.BAR not in colours
    assert sum(h for _, h in mix) == sum(h for _, h in genres)
    if count > dashboard.MIX_GENRES + 1:
        assert mix[-1][0] == f"{count - dashboard.MIX_GENRES} other genres"


def test_axis_ticks_are_round() -> None:
    assert dashboard.axis_ticks(40) == [0, 10, 20, 30, 40]
    assert dashboard.axis_ticks(21.4) == [0, 5, 10, 15, 20, 25]
    ticks = dashboard.axis_ticks(0.194)
    assert ticks[-1] == pytest.approx(0.2) and len(ticks) == 5


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin/chromium (apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


@needs_chromium
@pytest.mark.parametrize("width", [1400, 390])
def test_fits_the_screen_without_errors(browser, dashboard_file: Path, width: int, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append(f"request {r.url}") if not r.url.startswith("file:") else None)
    page.goto(dashboard_file.as_uri())
    assert errors == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no horizontal scroll"
    assert page.evaluate("document.querySelector('header').getBoundingClientRect().width") == width
    lefts = page.evaluate("[...document.querySelectorAll('main > section.card')].map(e => e.getBoundingClientRect().left)")
    assert len(set(lefts)) == (1 if width < 600 else 2), "one column on a phone, two on a desktop"
    # nothing sticks out of the viewport, except inside a wide table's own scroll box
    rights = page.evaluate("[...document.querySelectorAll('main *')].filter(e => !e.parentElement.closest('.scroll'))"
                           ".map(e => e.getBoundingClientRect().right)")
    assert rights and max(rights) <= width
    folder = Path(os.environ.get(SCREENSHOT_DIR) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"dashboard-{width}.png"
    page.screenshot(path=str(png), full_page=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 60_000, "a blank page compresses to a few KB; charts, text and colours do not"
    page.close()


@needs_chromium
def test_renders_in_headless_chromium(dashboard_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "dashboard.png"
    result = subprocess.run(
        [str(REPO / "scripts" / "screenshot_dashboard.sh"), str(dashboard_file), str(png), "390"],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 30_000


def test_screenshot_script_reports_missing_dashboard(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash not available")
    result = subprocess.run(
        [str(REPO / "scripts" / "screenshot_dashboard.sh"), str(tmp_path / "nope.html"), str(tmp_path / "x.png")],
        capture_output=True, text=True,
    )
    assert result.returncode == 1 and "no dashboard at" in result.stderr
