"""The report's SQL files and data module: one statement per file with its grain, the
quarantine reasons equal to the contract, read-only, and the CLI's file handling."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest
import sqlglot
from wh_fixtures import _built_dir, built_data_dir, fixture_dataset  # noqa: F401

from beam_pipelines import catalog
from beam_pipelines.schema import QUARANTINE_REASONS
from scripts import report, report_data, report_text

SQL_FILES = sorted(report_data.SQL_DIR.glob("*.sql"))


def test_every_query_file_is_used_and_documented() -> None:
    source = Path(report_data.__file__).read_text(encoding="utf-8")
    for path in SQL_FILES:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("-- Question:") and "\n-- Grain:" in text, path.name
        statements = sqlglot.parse(text, read="sqlite")
        assert len(statements) == 1 and isinstance(statements[0], sqlglot.exp.Select), f"{path.name}: one select"
        name = path.stem
        assert f'"{name}"' in source or name.startswith("watch_hour_moves_"), f"{path.name} is not run"


def test_quarantine_reasons_match_the_contract() -> None:
    text = (report_data.SQL_DIR / "quarantine_by_reason.sql").read_text(encoding="utf-8")
    listed = [line.split("'")[1] for line in text.splitlines() if "as reason" in line]
    assert listed == list(QUARANTINE_REASONS)


def test_every_query_runs_on_the_warehouse(built_data_dir: Path) -> None:  # noqa: F811
    conn = report_data.open_warehouse(str(built_data_dir))
    try:
        params = {"top_n": 3, "recent_cohorts": 2, "event_date": "2026-03-11", "current_date": "2026-03-11",
                  "previous_date": "2026-03-10"}
        for path in SQL_FILES:
            rows = report_data.query(conn, path.stem, params)
            assert rows, f"{path.name} returned no rows on the fixture"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("CREATE TABLE x (a)")
    finally:
        conn.close()


def test_qoe_is_read_from_gold_qoe_daily(built_data_dir: Path) -> None:  # noqa: F811
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    conn.execute("DELETE FROM silver_sessions WHERE device_type = 'tablet'")  # gold must win
    conn.commit()
    conn.close()
    d = report_data.build_report_data(str(built_data_dir))
    tablet = next(r for r in d.devices if r["device_type"] == "tablet")
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    (attempts,) = conn.execute("SELECT SUM(attempts) FROM gold_qoe_daily WHERE device_type = 'tablet'").fetchone()
    conn.close()
    assert tablet["attempts"] == attempts > 0
    for path in SQL_FILES:
        if path.stem.startswith("device_qoe"):
            assert "silver_sessions" not in path.read_text(encoding="utf-8")


def test_failed_render_leaves_no_temporary_file(built_data_dir: Path, monkeypatch) -> None:  # noqa: F811
    report_path = Path(catalog.report_file(str(built_data_dir)))

    def broken_write(self: Path, *args, **kwargs):
        Path.write_bytes(self, b"half")
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", broken_write)
    with pytest.raises(OSError, match="disk full"):
        report.main(["--data-dir", str(built_data_dir), "--generated-at", "T"])
    monkeypatch.undo()
    assert not list(report_path.parent.glob("*.tmp"))
    assert not report_path.exists(), "nothing half-written is published"


def imported_modules(module) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_renderers_do_not_import_each_other() -> None:
    from scripts import dashboard, report_findings

    for module in (dashboard, report_text, report_findings, report_data):
        imports = imported_modules(module)
        assert not imports & {"scripts.report", "scripts.report_text", "scripts.dashboard"}, module.__name__
