"""Publish a silver run: one Iceberg commit per table, then the silver release (SPEC §11).

Runs in the driver after the Beam job has written every data file and checked
conservation (the run summary, see ``silver.transforms.WriteRunSummary``). Workers never
touch the catalog: on Dataflow the launcher holds the catalog credentials, and a job
that fails commits nothing.

What each table gets (one transaction each: remove the partitions rebuilt, add files):

- dimensions ``silver_users/content/campaigns``: replaced whole;
- ``silver_playback_events`` / ``silver_ad_events``: the accepted ``dt`` partitions of
  the run; a rejected partition keeps its committed version (or stays absent);
- ``event_index``: the index files of the accepted event partitions, replaced with them;
- ``silver_sessions``: replaced whole after a full rebuild; after an incremental one
  (``silver.index``) only the ``event_date`` partitions it rewrote. The snapshot summary
  carries the content fingerprint the sessions were built with;
- ``quarantine``: every (dataset, dt) of the run, rejected ones included (for inspection);
- ``audit``: the counts of every accepted partition, replaced with it (the table is
  rewritten whole, one small file: see :func:`audit_change`).

Then one row in ``silver.releases`` pins the snapshot of every silver table: gold and
the warehouse read silver at that release, never a half-committed run.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from beam_pipelines import tables
from beam_pipelines.schema import AUDIT_SCHEMA, DIM_DATASETS, EVENT_DATASETS, NAMESPACE_TABLES, SILVER_TABLE_OF
from beam_pipelines.silver.index import FULL
from beam_pipelines.silver.plan import CONTENT_PROPERTY, SilverPlan

log = logging.getLogger("ott.silver")

SESSIONS = "silver_sessions"


def table_changes(plan: SilverPlan, summary: dict, audit: pa.Table | None = None) -> list[tables.TableChange]:
    """The change of every silver table this run touches, from its plan and summary;
    ``audit``: the committed audit rows (None: none)."""
    partitions = summary["partitions"]
    rejected = {(p["dataset"], p["dt"]) for p in partitions if p["rejected"]}
    accepted = [(ds, dt) for ds, dt in plan.partitions if (ds, dt) not in rejected]
    files: dict[str, list[dict]] = {}
    for record in summary["files"]:
        files.setdefault(record["table"], []).append(record)

    def change(table: str, replace, **properties: str) -> tables.TableChange:
        records = files.get(table, [])
        rows = sum(r["rows"] for r in records)
        return tables.TableChange(
            "silver",
            table,
            replace,
            tuple(r["path"] for r in records),
            summary={"ott.rows-added": str(rows), **properties},
        )

    changes = [change(SILVER_TABLE_OF[ds], tables.whole_table()) for ds in DIM_DATASETS]
    for ds in EVENT_DATASETS:
        days = [(dt,) for d, dt in accepted if d == ds]
        if days:
            changes.append(change(SILVER_TABLE_OF[ds], tables.partition_filter(("dt",), days)))
    event_partitions = [(ds, dt) for ds, dt in accepted if dt]
    if event_partitions:
        changes.append(change("event_index", tables.partition_filter(("dataset", "dt"), event_partitions)))
    scope = summary["sessions"]
    if scope["mode"] == FULL or scope["dates"]:
        replace = sessions_replaced(scope, files.get(SESSIONS, []))
        changes.append(change(SESSIONS, replace, **{CONTENT_PROPERTY: scope["content"]}))
    changes.append(change("quarantine", tables.partition_filter(("dataset", "dt"), plan.partitions)))
    changes.append(audit_change(plan, partitions, set(accepted), audit))
    return changes


def audit_change(plan: SilverPlan, partitions: list[dict], accepted: set, audit: pa.Table | None) -> tables.TableChange:
    """``silver.audit`` is small and unpartitioned: each run rewrites it whole, as ONE
    file — the committed rows of the partitions it did not accept, plus the counts of
    the partitions it accepted — sorted by (dataset, dt)."""
    rows = [
        {**{k: p[k] for k in AUDIT_SCHEMA.names if k != "run_id"}, "run_id": plan.run_id}
        for p in partitions
        if (p["dataset"], p["dt"]) in accepted
    ]
    kept = [r for r in (audit.to_pylist() if audit is not None else []) if (r["dataset"], r["dt"]) not in accepted]
    return tables.TableChange(
        "silver",
        "audit",
        tables.whole_table(),
        rows=pa.Table.from_pylist(sorted(kept + rows, key=lambda r: (r["dataset"], r["dt"])), schema=AUDIT_SCHEMA),
        summary={"ott.rows-added": str(len(rows))},
    )


def sessions_replaced(scope: dict, records: list[dict]):
    """What the sessions commit removes: the whole table after a full rebuild, the
    rewritten event_date partitions after an incremental one (every file written must
    fall in one of them — else the run would duplicate sessions: it fails instead)."""
    if scope["mode"] == FULL:
        return tables.whole_table()
    dates = set(scope["dates"])
    stray = sorted({r["partition"]["event_date"] for r in records} - dates)
    if stray:
        raise RuntimeError(f"incremental sessions wrote event_date {stray[0]} outside the rewritten partitions")
    return tables.partition_filter(("event_date",), [(d,) for d in sorted(dates)])


def publish(cat, plan: SilverPlan, summary: dict) -> tuple[tables.Release, list[dict]]:
    """Commit every table of the run, then record the silver release.

    Returns the release and one record per table (snapshot id, files, rows added).
    """
    audit = tables.read_table(cat, "silver", "audit", tables.snapshot_id(cat, "silver", "audit"))
    changes = table_changes(plan, summary, audit)
    snapshots_of = tables.commit_tables(cat, plan.data_dir, changes, plan.run_id, plan.attempt)
    committed = [
        {
            "table": change.table,
            "snapshot_id": snapshots_of[change.table],
            "files": len(change.files),
            "rows_added": int(change.summary.get("ott.rows-added", change.rows.num_rows if change.rows else 0)),
        }
        for change in changes
    ]
    log.info("committed %d silver tables (%d files)", len(changes), sum(len(c.files) for c in changes))
    snapshots = {
        table: snapshots_of[table] if table in snapshots_of else tables.snapshot_id(cat, "silver", table)
        for table in NAMESPACE_TABLES["silver"]
        if table != "releases"
    }
    release = tables.record_release(cat, plan.data_dir, "silver", plan.run_id, plan.attempt, snapshots)
    return release, committed


def rejection_message(partitions: list[dict], max_rate: float) -> str | None:
    """One line naming every rejected partition (dataset, dt, rate), or None."""
    rejected = [p for p in partitions if p["rejected"]]
    if not rejected:
        return None
    listed = "; ".join(
        f"{p['dataset']} dt={p['dt']} quarantine rate {p['quarantine_rate']:.4f} "
        f"({p['rows_quarantined']} of {p['rows_read']} rows)"
        for p in rejected
    )
    return f"rejected (quarantine rate above --max-quarantine-rate {max_rate}): {listed}; not published, quarantine committed for inspection"
