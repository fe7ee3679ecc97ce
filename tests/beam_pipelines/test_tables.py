"""beam_pipelines.tables and maintenance: commits, releases, recovery, conflicts, orphans —
on a real embedded Iceberg catalog in a temporary data dir."""

from __future__ import annotations

import datetime as dt_
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_pipelines import catalog, maintenance, run_lock, tables
from beam_pipelines.cli_support import OttError
from beam_pipelines.schema import GOLD_SCHEMAS

KPIS = "gold_daily_kpis"


def kpi_rows(day: str, attempts: int) -> pa.Table:
    schema = GOLD_SCHEMAS[KPIS]
    row = {name: 0 for name in schema.names}
    row.update(event_date=dt_.date.fromisoformat(day), attempts=attempts, watch_hours=1.0)
    return pa.Table.from_pylist([row], schema=schema)


def write_file(data_dir: str, attempt: str, day: str, attempts: int) -> str:
    path = catalog.lake_data_file(data_dir, "gold", KPIS, attempt, {"event_date": day}, "part-00000.parquet")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(kpi_rows(day, attempts), path)
    return path


@pytest.fixture
def lake(tmp_path):
    data_dir = str(tmp_path / "data")
    cat = tables.open_catalog(data_dir)
    tables.ensure_tables(cat, data_dir, "gold")
    return data_dir, cat


def publish(data_dir, cat, run_id, days: dict[str, int], replace=None) -> tables.Release:
    attempt = tables.new_attempt(run_id)
    files = tuple(write_file(data_dir, attempt, d, n) for d, n in days.items())
    change = tables.TableChange("gold", KPIS, replace if replace is not None else tables.whole_table(), files)
    snapshot = tables.commit_table(cat, data_dir, change, run_id, attempt)
    return tables.record_release(cat, data_dir, "gold", run_id, attempt, {KPIS: snapshot})


def attempts_at(cat, release) -> dict[str, int]:
    rows = tables.read_table(cat, "gold", KPIS, release.snapshots[KPIS]).to_pylist()
    return {r["event_date"].isoformat(): r["attempts"] for r in rows}


def test_partition_replace_keeps_the_other_partitions_and_releases_pin_snapshots(lake):
    data_dir, cat = lake
    first = publish(data_dir, cat, "r1", {"2026-11-02": 1, "2026-11-03": 2})
    second = publish(data_dir, cat, "r2", {"2026-11-03": 30}, replace=tables.partition_filter(("event_date",), [("2026-11-03",)]))
    assert attempts_at(cat, second) == {"2026-11-02": 1, "2026-11-03": 30}
    assert attempts_at(cat, first) == {"2026-11-02": 1, "2026-11-03": 2}  # the old release still reads whole
    assert [r.run_id for r in tables.releases(cat, data_dir, "gold")] == ["r1", "r2"]
    summary = cat.load_table("gold.gold_daily_kpis").current_snapshot().summary.additional_properties
    assert summary["ott.run_id"] == "r2"


def test_rollback_records_a_release_pointing_at_the_old_snapshots(lake):
    data_dir, cat = lake
    first = publish(data_dir, cat, "r1", {"2026-11-02": 1})
    publish(data_dir, cat, "r2", {"2026-11-02": 9})
    back = maintenance.rollback(cat, data_dir, "r1")
    assert back.kind == "rollback" and back.snapshots == first.snapshots
    assert tables.current_release(cat, data_dir, "gold").release_id == 3
    with pytest.raises(OttError, match="no gold release of run 'r9'"):
        maintenance.rollback(cat, data_dir, "r9")


def test_a_killed_attempt_is_rolled_back_and_its_files_removed(lake):
    data_dir, cat = lake
    publish(data_dir, cat, "r1", {"2026-11-02": 1})
    before = cat.load_table("gold.gold_daily_kpis").current_snapshot().snapshot_id
    attempt = tables.new_attempt("killed")
    tables.begin_attempt(data_dir, "gold", "killed", attempt)
    path = write_file(data_dir, attempt, "2026-11-02", 666)
    change = tables.TableChange("gold", KPIS, tables.whole_table(), (path,))
    tables.commit_table(cat, data_dir, change, "killed", attempt)  # committed, but no release: then "kill -9"
    cleaned = tables.recover(cat, data_dir)
    assert len(cleaned) == 1 and "rolled back" in cleaned[0]
    tbl = cat.load_table("gold.gold_daily_kpis")
    assert tbl.current_snapshot().snapshot_id == before
    assert not Path(path).exists()
    assert not list(Path(catalog.lake_runs_dir(data_dir)).iterdir())
    assert tables.recover(cat, data_dir) == []


def test_a_commit_conflict_is_one_line_and_keeps_the_winner(lake, monkeypatch):
    data_dir, cat = lake
    publish(data_dir, cat, "r1", {"2026-11-02": 1})
    stale = cat.load_table("gold.gold_daily_kpis")  # what a second writer loaded earlier
    winner = publish(data_dir, cat, "winner", {"2026-11-02": 2})
    monkeypatch.setattr(tables, "load_table", lambda *_: stale)
    attempt = tables.new_attempt("loser")
    change = tables.TableChange("gold", KPIS, tables.whole_table(), (write_file(data_dir, attempt, "2026-11-02", 3),))
    with pytest.raises(OttError, match=r"commit of gold.gold_daily_kpis failed: another writer changed it") as err:
        tables.commit_table(cat, data_dir, change, "loser", attempt)
    assert "\n" not in str(err.value)
    monkeypatch.undo()
    assert attempts_at(cat, tables.current_release(cat, data_dir, "gold")) == {"2026-11-02": 2}
    assert cat.load_table("gold.gold_daily_kpis").current_snapshot().snapshot_id == winner.snapshots[KPIS]


def test_maintain_expires_old_snapshots_but_not_those_of_recent_releases_and_removes_orphans(lake):
    data_dir, cat = lake
    releases = [publish(data_dir, cat, f"r{i}", {"2026-11-02": i}) for i in range(12)]
    orphan = Path(catalog.lake_data_file(data_dir, "gold", KPIS, "never-committed", {}, "part-00000.parquet"))
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"debris of a killed run")
    report = maintenance.maintain(cat, data_dir, keep_days=0, keep_releases=10)
    assert report.expired > 0 and report.orphans >= 1
    assert not orphan.exists()
    for release in releases[-10:]:  # every recent release still reads whole (rollback works)
        assert attempts_at(cat, release) == {"2026-11-02": int(release.run_id[1:])}
    snapshot_ids = {s.snapshot_id for s in cat.load_table("gold.gold_daily_kpis").snapshots()}
    assert releases[0].snapshots[KPIS] not in snapshot_ids
    with pytest.raises(OttError, match="expired"):
        maintenance.rollback(cat, data_dir, "r0")
    assert maintenance.maintain(cat, data_dir, keep_days=0).orphans == 0  # nothing left to remove


def test_lock_names_the_holder_and_is_reentrant(tmp_path):
    data_dir = str(tmp_path / "data")
    with run_lock.hold(data_dir, "ott test"):
        with run_lock.hold(data_dir, "ott test (nested)"):
            assert "ott test" in run_lock.holder(data_dir)
    import subprocess
    import sys

    code = (
        "import sys; from beam_pipelines import run_lock\n"
        "with run_lock.hold(sys.argv[1], 'ott holder'):\n"
        "    print('held', flush=True); sys.stdin.readline()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, data_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OttError, match=rf"another run holds the lock of .*: pid {holder.pid} \(ott holder, started "):
            with run_lock.hold(data_dir, "ott second"):
                pass
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=60)
    with run_lock.hold(data_dir, "ott after"):  # released when the holder exits
        pass


def test_a_gs_data_dir_needs_a_catalog_uri(monkeypatch):
    monkeypatch.delenv(tables.CATALOG_ENV, raising=False)
    with pytest.raises(OttError, match="pass --catalog-uri"):
        tables.catalog_uri("gs://bucket/ott")
    assert tables.catalog_uri("gs://bucket/ott", "sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_data_files_built_once_per_table_equal_what_add_files_builds(lake):
    """tables._data_files skips add_files' per-file overhead; the manifest entries it
    builds must be pyiceberg's own, field by field (guards a pyiceberg upgrade)."""
    from pyiceberg.io.pyarrow import parquet_file_to_data_file

    data_dir, cat = lake
    attempt = tables.new_attempt("r1")
    paths = [write_file(data_dir, attempt, day, n) for day, n in (("2026-11-02", 1), ("2026-11-03", 2))]
    table = tables.load_table(cat, data_dir, "gold", KPIS)
    ours = tables._data_files(table, paths)
    theirs = [parquet_file_to_data_file(table.io, table.metadata, p) for p in paths]
    for a, b in zip(ours, theirs):
        assert repr(a) == repr(b)


def test_one_snapshot_per_commit_replacing_whole_partitions(lake):
    data_dir, cat = lake
    publish(data_dir, cat, "r1", {"2026-11-02": 1, "2026-11-03": 2})
    before = len(cat.load_table("gold.gold_daily_kpis").snapshots())
    publish(data_dir, cat, "r2", {"2026-11-03": 30}, replace=tables.partition_filter(("event_date",), [("2026-11-03",)]))
    table = cat.load_table("gold.gold_daily_kpis")
    assert len(table.snapshots()) == before + 1
    summary = table.current_snapshot().summary
    assert summary.operation.value == "overwrite"
    assert summary["deleted-data-files"] == "1" and summary["added-data-files"] == "1"
    for run in ("r3", "r4", "r5"):
        publish(data_dir, cat, run, {"2026-11-02": 5, "2026-11-03": 6})
    table = cat.load_table("gold.gold_daily_kpis")
    # the live files' manifest and this commit's deleted entries: earlier deleted-entries
    # manifests are not carried along (every commit would read them again)
    assert len(table.current_snapshot().manifests(table.io)) == 2
    assert attempts_at(cat, tables.current_release(cat, data_dir, "gold")) == {"2026-11-02": 5, "2026-11-03": 6}


def test_a_file_that_does_not_fit_the_table_is_refused_and_a_fitting_one_skips_the_report(lake, monkeypatch):
    import pyiceberg.io.pyarrow as pyiceberg_arrow

    data_dir, cat = lake
    table = tables.load_table(cat, data_dir, "gold", KPIS)
    full_checks = []
    check = pyiceberg_arrow._check_pyarrow_schema_compatible
    monkeypatch.setattr(pyiceberg_arrow, "_check_pyarrow_schema_compatible", lambda *a, **k: full_checks.append(1) or check(*a, **k))
    attempt = tables.new_attempt("r1")
    good = write_file(data_dir, attempt, "2026-11-02", 1)
    assert len(tables._data_files(table, [good])) == 1
    assert full_checks == []  # the file maps onto the table exactly: no report built
    bad = catalog.lake_data_file(data_dir, "gold", KPIS, attempt, {"event_date": "2026-11-03"}, "part-00001.parquet")
    rows = kpi_rows("2026-11-03", 2)
    Path(bad).parent.mkdir(parents=True)
    pq.write_table(rows.set_column(rows.schema.get_field_index("attempts"), "attempts", pa.array(["2"])), bad)
    with pytest.raises(ValueError, match="attempts"):
        tables._data_files(table, [bad])
    assert full_checks == [1]


def test_the_embedded_catalog_writes_ahead(lake):
    import sqlite3

    data_dir, _ = lake
    connection = sqlite3.connect(catalog.catalog_db_file(data_dir))
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept in the file
    finally:
        connection.close()


def test_a_partition_replace_reads_each_manifest_once(lake, monkeypatch):
    from pyiceberg.manifest import ManifestFile

    data_dir, cat = lake
    publish(data_dir, cat, "r1", {"2026-11-02": 1, "2026-11-03": 2})
    publish(data_dir, cat, "r2", {"2026-11-04": 3}, replace=tables.partition_filter(("event_date",), [("2026-11-04",)]))
    reads = []
    fetch = ManifestFile.fetch_manifest_entry

    def counted(self, io, discard_deleted=True):
        reads.append(self.manifest_path)
        return fetch(self, io, discard_deleted)

    monkeypatch.setattr(ManifestFile, "fetch_manifest_entry", counted)
    third = publish(data_dir, cat, "r3", {"2026-11-03": 30}, replace=tables.partition_filter(("event_date",), [("2026-11-03",)]))
    assert reads and len(reads) == len(set(reads))  # found, kept and deleted entries: one read
    assert ManifestFile.fetch_manifest_entry is counted  # the commit put back what it found
    assert attempts_at(cat, third) == {"2026-11-02": 1, "2026-11-03": 30, "2026-11-04": 3}



def test_commits_in_one_process_take_turns_with_manifest_reading():
    import threading

    from pyiceberg.manifest import ManifestFile

    original = ManifestFile.fetch_manifest_entry
    entered = threading.Event()

    def second() -> None:
        with tables._manifests_read_once():
            entered.set()

    with tables._manifests_read_once():
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.3)  # the second commit waits for the first
        assert ManifestFile.fetch_manifest_entry is not original
    thread.join(5)
    assert entered.is_set()
    assert ManifestFile.fetch_manifest_entry is original  # each put back what it found
