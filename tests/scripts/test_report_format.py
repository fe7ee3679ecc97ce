"""Data text made safe for the report and the dashboard (issue 14): control and bidi
characters stripped, long text cut with an ellipsis, HTML still escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_fixtures import HOSTILE_ADVERTISER, LONG_COUNTRY, RLO, build_report_dir, hostile_dataset

from beam_pipelines import catalog
from scripts.dashboard import esc
from scripts.report_format import WIDTH, clean_text, cut, plural, wrap

BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # any control but the line feed


def test_clean_text_strips_controls_and_bidi() -> None:
    assert clean_text(f"{RLO}abc\u202c") == "abc"
    assert clean_text("a\u2066b\u2069\u200e\u200fc\u061c") == "abc"
    assert clean_text("line one\r\nline two\ttab\x00nul\x1bESC\x85NEL\x7f") == "line one line two tab nul ESC NEL"
    assert clean_text("  many   spaces \u2028 ") == "many spaces"
    assert clean_text(None) == "–" and clean_text(12) == "12"
    assert clean_text("Café Noir — 東京") == "Café Noir — 東京", "ordinary text is untouched"


def test_cut_bounds_the_width_with_an_ellipsis() -> None:
    assert cut("x" * 20_000, 16) == "x" * 15 + "…"
    assert cut("short", 16) == "short"
    assert len(cut(LONG_COUNTRY, 16)) == 16


def test_wrap_never_exceeds_the_width() -> None:
    lines = wrap("word " * 50 + "y" * 500)
    assert all(len(line) < WIDTH for line in lines) and lines[-1].endswith("…")


def test_plural() -> None:
    assert plural(1, "day") == "1 day" and plural(2, "day") == "2 days" and plural(1_000, "day") == "1,000 days"


@pytest.mark.parametrize("payload", ['<script>alert("x")</script>', '"><img onerror=x>', "a&b", f"{RLO}<b>"])
def test_dashboard_escaping_holds(payload: str) -> None:
    out = esc(payload)
    assert "<" not in out and ">" not in out and '"' not in out and RLO not in out


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report_dir(tmp_path_factory.mktemp("hostile"), hostile_dataset())


def test_hostile_text_in_the_report(hostile_dir: Path) -> None:
    text = Path(catalog.report_file(str(hostile_dir))).read_text(encoding="utf-8")
    assert not BIDI.search(text) and not CONTROL.search(text)
    longest = max(len(line) for line in text.splitlines())
    assert longest <= 140, f"a line of {longest} characters"  # the widest table (daily KPIs) is 132
    assert "Q" * 17 not in text and "QQQQQQQQQQQQQQQ…" in text  # country cut to 16
    assert "A" * 40 not in text
    # the title with line breaks stays on its table row, its pieces in order
    assert re.search(r"^ +1  gnp\.exe Evil Title <script>alert\(… ", text, re.M)


def test_hostile_text_in_the_dashboard(hostile_dir: Path) -> None:
    page = Path(catalog.dashboard_file(str(hostile_dir))).read_text(encoding="utf-8")
    assert not BIDI.search(page) and not CONTROL.search(page)
    assert "<script" not in page.lower() and "&lt;script&gt;alert(1)" in page
    assert "Q" * 201 not in page and "A" * 201 not in page
    assert len(page) < 60_000, "a 20,000-character value is not repeated in full"
    assert HOSTILE_ADVERTISER not in page
