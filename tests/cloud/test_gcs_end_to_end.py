"""The whole pipeline on a ``gs://`` data dir, offline, against a GCS emulator.

Every stage runs through the real ``ott`` console script with ``--data-dir
gs://<bucket>/ott`` and a local SQLite catalog (``--catalog-uri sqlite:///…``); a local
run of the same arguments is the reference: bronze byte for byte, the nine gold marts
of the current release cell for cell, the exports and the report (pinned
``--generated-at``) byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import time

import pyarrow as pa
import pytest

from beam_pipelines import catalog, fileio, tables
from beam_pipelines.schema import GOLD_TABLES, TABLE_KEYS

GENERATE = ["--days", "2", "--users", "200", "--events-per-day", "2000", "--seed", "7"]
GENERATED_AT = ["--generated-at", "2026-11-30T00:00:00Z"]
STAGES = [
    ("generate", GENERATE, False),
    ("silver", [], True),
    ("gold", [], True),
    ("warehouse", [], True),
    ("analytics", [], False),
    ("report", GENERATED_AT, False),
    ("maintain", [], True),  # must not remove anything the current releases use
]


def _ott(ott_bin: str, command: str, data_dir: str, extra: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [ott_bin, command, "--data-dir", data_dir, *extra], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, f"ott {command} on {data_dir} failed:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    return time.perf_counter() - start


def _run_all(ott_bin: str, data_dir: str, catalog_uri: str | None, env: dict[str, str]) -> dict[str, float]:
    seconds = {}
    for command, extra, takes_catalog in STAGES:
        flags = list(extra) + (["--catalog-uri", catalog_uri] if takes_catalog and catalog_uri else [])
        seconds[command] = _ott(ott_bin, command, data_dir, flags, env)
    return seconds


def _gold(data_dir: str, catalog_uri: str | None = None) -> dict[str, pa.Table]:
    cat = tables.open_catalog(data_dir, catalog_uri)
    release = tables.current_release(cat, data_dir, "gold")
    assert release is not None
    out = {}
    for table in GOLD_TABLES:
        rows = tables.read_table(cat, "gold", table, release.snapshots[table])
        out[table] = rows.sort_by([(k, "ascending", "at_start") for k in TABLE_KEYS[table]])
    return out


def _relative_files(root: str) -> dict[str, bytes]:
    """Every file under ``root`` (local or gs://) by its path relative to ``root``."""
    root = root.rstrip("/")
    return {path[len(root) + 1 :]: fileio.read_bytes(path) for path in fileio.tree_files(root)}


@pytest.mark.timeout(1200)
def test_pipeline_on_gcs_equals_the_local_run(gcs_env, ott_bin, tmp_path):
    gcs_dir = f"gs://{gcs_env.bucket}/ott"
    catalog_uri = f"sqlite:///{tmp_path / 'catalog.db'}"
    local_dir = str(tmp_path / "local")
    env = {**os.environ, **gcs_env.env()}

    gcs_seconds = _run_all(ott_bin, gcs_dir, catalog_uri, env)
    local_seconds = _run_all(ott_bin, local_dir, None, {k: v for k, v in env.items() if k != "STORAGE_EMULATOR_HOST"})
    print("\nseconds per stage, gs:// vs local:", {k: (round(gcs_seconds[k], 1), round(local_seconds[k], 1)) for k in gcs_seconds})

    # regenerating a day on gs:// replaces that day's files and manifest contributions
    _ott(ott_bin, "generate", gcs_dir, [*GENERATE[2:], "--start-date", "2026-11-03", "--days", "1"], env)

    # nothing of the gs:// run landed on the local disk next to the catalog
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.db", "local"]

    # bronze: byte-identical, manifests included
    gcs_bronze = _relative_files(catalog.bronze_dataset_dir(gcs_dir, ""))
    local_bronze = _relative_files(catalog.bronze_dataset_dir(local_dir, ""))
    local_bronze.pop("_manifest/.lock", None)  # the local generator's flock file
    assert gcs_bronze.keys() == local_bronze.keys()
    assert gcs_bronze == local_bronze

    # gold at the current release: cell for cell
    gcs_gold, local_gold = _gold(gcs_dir, catalog_uri), _gold(local_dir)
    for table in GOLD_TABLES:
        assert gcs_gold[table].num_rows > 0, table
        assert gcs_gold[table].equals(local_gold[table]), table

    # the table files really live in the bucket
    cat = tables.open_catalog(gcs_dir, catalog_uri)
    release = tables.current_release(cat, gcs_dir, "gold")
    files = tables.data_files(cat, "gold", "gold_daily_kpis", release.snapshots["gold_daily_kpis"])
    assert files and all(f.startswith(f"{gcs_dir}/lake/gold/gold_daily_kpis/") for f in files)

    # exports, warehouse and report exist in the bucket; exports and report equal the local ones
    for table in GOLD_TABLES:
        path = catalog.gold_jsonl_file(gcs_dir, table)
        assert fileio.read_bytes(path) == fileio.read_bytes(catalog.gold_jsonl_file(local_dir, table)), table
    assert fileio.read_bytes(catalog.report_file(gcs_dir)) == fileio.read_bytes(catalog.report_file(local_dir))
    assert fileio.read_bytes(catalog.dashboard_file(gcs_dir)) == fileio.read_bytes(catalog.dashboard_file(local_dir))
    assert fileio.read_bytes(catalog.warehouse_file(gcs_dir))[:16] == b"SQLite format 3\x00"
    assert fileio.list_files(catalog.runs_dir(gcs_dir) + "/*.json")
    # no run left a marker or scratch behind
    assert not fileio.tree_files(catalog.lake_runs_dir(gcs_dir))
    assert not fileio.tree_files(f"{gcs_dir}/lake/_scratch")


def test_gcs_data_dir_without_catalog_uri_is_one_line(gcs_env, ott_bin):
    env = {**os.environ, **gcs_env.env()}
    env.pop("OTT_CATALOG_URI", None)
    proc = subprocess.run(
        [ott_bin, "gold", "--data-dir", f"gs://{gcs_env.bucket}/nothing"], capture_output=True, text=True,
        timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "--catalog-uri" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.timeout(900)
def test_ott_run_on_gcs_with_the_catalog_from_the_environment(gcs_env, ott_bin, tmp_path):
    """``ott run`` (every stage and gate, one process) on gs://, the catalog named by
    ``OTT_CATALOG_URI`` as a deployment sets it; gold equals a local ``ott run``."""
    gcs_dir = f"gs://{gcs_env.bucket}/ott-run"
    env = {**os.environ, **gcs_env.env(), "OTT_CATALOG_URI": f"sqlite:///{tmp_path / 'catalog.db'}"}
    _ott(ott_bin, "run", gcs_dir, [*GENERATE, "--max-quarantine-rate", "1"], env)
    local_dir = str(tmp_path / "local")
    local_env = {k: v for k, v in env.items() if k not in ("STORAGE_EMULATOR_HOST", "OTT_CATALOG_URI")}
    _ott(ott_bin, "run", local_dir, [*GENERATE, "--max-quarantine-rate", "1"], local_env)
    gcs_gold = _gold(gcs_dir, env["OTT_CATALOG_URI"])
    local_gold = _gold(local_dir)
    for table in GOLD_TABLES:
        assert gcs_gold[table].equals(local_gold[table]), table
    assert fileio.read_bytes(catalog.warehouse_file(gcs_dir))[:16] == b"SQLite format 3\x00"
