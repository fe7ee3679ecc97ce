"""Publish gold: one commit per mart, one release for all nine, and the JSON-lines exports.

- :func:`silver_inputs` — what a gold run reads: the data files and audit rows of the
  current **silver release** (never a half-committed silver run).
- :func:`publish` — after the Beam job wrote every mart's data files: each
  ``gold.<table>`` is replaced whole in one commit, then ONE row in ``gold.releases``
  pins the nine snapshots (and the silver snapshots they were built from). That row is
  the moment the new gold becomes current; a crash before it leaves the previous
  release current (SPEC §11).
- :func:`export_release` / :func:`sync_exports` — ``gold/<table>.jsonl`` and
  ``gold/_release.json`` from a release (a gold run moves the exports its Beam job
  staged from the rows it committed, or splices a by_date mart's rewritten dates into
  its export). Every file is replaced atomically and the
  marker is written last; any writing command re-exports when the marker does not name
  the current release (e.g. after a kill during the export).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from beam_pipelines import catalog, fileio, tables
from beam_pipelines.cli_support import OttError
from beam_pipelines.marts.data_quality import audit_row
from beam_pipelines.marts.frames import jsonl_bytes, splice_jsonl
from beam_pipelines.marts.state import DIMS_PROPERTY, GoldPlan
from beam_pipelines.schema import GOLD_SCHEMAS, GOLD_TABLES

log = logging.getLogger("ott.gold")

SILVER_INPUTS = (
    "silver_sessions",
    "silver_ad_events",
    "silver_playback_events",
    "silver_users",
    "silver_content",
    "silver_campaigns",
)


@dataclass(frozen=True)
class SilverInputs:
    """The silver release a gold run reads: data files per table and the audit rows."""

    release: tables.Release
    files: dict[str, list[str]]
    audits: list[dict]
    index: list[str]  # data files of silver.event_index


def silver_inputs(cat, data_dir: str) -> SilverInputs:
    release = tables.current_release(cat, data_dir, "silver")
    if release is None:
        raise OttError(f"silver table missing: no silver release in {data_dir} (run `ott silver --data-dir {data_dir}` first)")
    files = {t: tables.data_files(cat, "silver", t, release.snapshots.get(t)) for t in SILVER_INPUTS}
    audit = tables.read_table(cat, "silver", "audit", release.snapshots.get("audit")).to_pylist()
    rows = [audit_row(r["dataset"], r["dt"], r) for r in sorted(audit, key=lambda r: (r["dataset"], r["dt"]))]
    index = tables.data_files(cat, "silver", "event_index", release.snapshots.get("event_index"))
    return SilverInputs(release, files, rows, index)


def publish(
    cat,
    data_dir: str,
    run_id: str,
    attempt: str,
    silver: SilverInputs,
    state: tables.TableChange,
    gold_plan: GoldPlan | None = None,
    fingerprints: dict[str, str] | None = None,
) -> tuple[tables.Release, dict[str, list[str]]]:
    """Commit every mart's files (written under the attempt's folder) and the gold state
    (``state``), then the release pinning all of them.

    A mart is replaced whole, or — a ``by_date`` mart the plan rewrites by date — only
    its event_date partitions of ``gold_plan.by_date``; ``fingerprints`` (the dimensions
    each by_date mart read) go into its snapshot summary for the next run's plan.
    Returns the release and {table: the data files this run added}: for a mart replaced
    whole, the release's (what :func:`export_release` reads).
    """
    marts = []
    for table in GOLD_TABLES:
        dates = gold_plan.rewritten(table) if gold_plan else None
        replace = tables.whole_table() if dates is None else tables.partition_filter(("event_date",), [(d,) for d in dates])
        summary = {DIMS_PROPERTY: fingerprints[table]} if fingerprints and table in fingerprints else {}
        files = tuple(sorted(fileio.tree_files(catalog.lake_attempt_dir(data_dir, "gold", table, attempt))))
        marts.append(tables.TableChange("gold", table, replace, files, summary=summary))
    snapshots = tables.commit_tables(cat, data_dir, [*marts, state], run_id, attempt)
    inputs = {f"silver.{t}": s for t, s in silver.release.snapshots.items()}
    inputs["silver.release_id"] = silver.release.release_id
    release = tables.record_release(cat, data_dir, "gold", run_id, attempt, snapshots, inputs)
    log.info("gold %s", release.summary())
    return release, {change.table: list(change.files) for change in marts}


def release_data_files(data_dir: str, names, catalog_uri: str | None = None) -> tuple[tables.Release, dict[str, list[str]]]:
    """(current gold release, {table: data files}) for gold marts and for the silver tables
    the release was built from (sessions, dimensions): what the warehouse and BigQuery load."""
    cat = tables.open_catalog(data_dir, catalog_uri)
    release = tables.current_release(cat, data_dir, "gold")
    if release is None:
        raise OttError(f"no gold release in {data_dir} (run `ott silver` and `ott gold` first)")
    files = {}
    for name in names:
        if name in GOLD_SCHEMAS:
            files[name] = tables.data_files(cat, "gold", name, release.snapshots.get(name))
        else:
            files[name] = tables.data_files(cat, "silver", name, release.inputs.get(f"silver.{name}"))
    return release, files


def read_mart(cat, table: str, release: tables.Release, paths: list[str] | None = None) -> pa.Table:
    """One mart at a release, in the contract's types, rows in grain order (``paths``:
    the release's data files of the mart, when the caller knows them).

    The data files are read in path order: each holds one partition's rows sorted by
    the grain, and the partition column is the grain's first key.
    """
    if paths is None:
        paths = tables.data_files(cat, "gold", table, release.snapshots.get(table))
    paths = sorted(paths)
    schema = GOLD_SCHEMAS[table]
    parts = [fileio.read_parquet(p).select(schema.names).cast(schema) for p in paths]
    return pa.concat_tables(parts) if parts else schema.empty_table()


def export_release(
    cat,
    data_dir: str,
    release: tables.Release,
    files: dict[str, list[str]] | None = None,
    spliced: dict[str, tuple[tuple[str, ...], list[str]]] | None = None,
    staged: Iterable[str] = (),
) -> None:
    """Write ``gold/<table>.jsonl`` for every mart of ``release``, then the marker.

    ``files``: {table: the release's data files}, when the caller knows them (others are
    listed from the release). ``spliced``: {by_date mart: (the event dates a run
    rewrote, their new data files)}, given only when the exports hold the release before
    that run: the mart's export keeps its lines of the other dates and gets the
    rewritten dates' lines from the new files alone. ``staged``: marts whose lines the
    run's Beam job staged (``marts.transforms.write_gold_files``, from the very rows it
    wrote as data files) — the whole mart, or a spliced mart's rewritten dates; the gold
    run calls this before its scratch folder goes, and staged lines are used instead of
    reading the data files back.
    """
    staged = set(staged)
    for table in GOLD_TABLES:
        path = catalog.gold_jsonl_file(data_dir, table)
        ready = catalog.gold_staged_export(data_dir, release.attempt, table) if table in staged else None
        if ready is not None and not fileio.exists(ready):
            ready = None
        if table in (spliced or {}) and fileio.exists(path):
            dates, new_files = spliced[table]
            fresh = fileio.read_bytes(ready) if ready else jsonl_bytes(read_mart(cat, table, release, new_files))
            fileio.write_atomically(path, splice_jsonl(fileio.read_bytes(path), fresh, dates))
        elif ready is not None and table not in (spliced or {}):
            fileio.replace(ready, path)
        else:
            fileio.write_atomically(path, jsonl_bytes(read_mart(cat, table, release, (files or {}).get(table))))
    marker = {"release_id": release.release_id, "run_id": release.run_id}
    fileio.write_atomically(catalog.gold_export_marker(data_dir), (json.dumps(marker) + "\n").encode(), "application/json")


def exported_release(data_dir: str) -> int | None:
    path = catalog.gold_export_marker(data_dir)
    if not fileio.exists(path):
        return None
    try:
        return int(json.loads(fileio.read_bytes(path))["release_id"])
    except (ValueError, KeyError, TypeError):
        return None


def sync_exports(cat, data_dir: str) -> tables.Release | None:
    """Make the exports hold the current gold release (no-op when they already do)."""
    release = tables.current_release(cat, data_dir, "gold")
    if release is not None and exported_release(data_dir) != release.release_id:
        log.info("exporting gold %s to %s", release.summary(), catalog.gold_jsonl_file(data_dir, "<table>"))
        export_release(cat, data_dir, release)
    return release
