"""Lakehouse maintenance (SPEC §11): releases, rollback, snapshot expiry, orphan files.

- :func:`rollback` — make an earlier gold release current again: a NEW release row that
  pins the old snapshots (history is never rewritten, so a rollback can be rolled back).
- :func:`expire_snapshots` — drop snapshots older than ``keep_days`` from every table,
  except the current ones and those pinned by the last ``keep_releases`` releases of
  each namespace (and the silver snapshots those gold releases were built from).
- :func:`remove_orphan_files` — delete files under a table's location that no remaining
  snapshot or metadata file references: data files of killed runs, and what expired
  snapshots alone held. Run with the data dir's lock held (a running writer's files are
  not referenced yet).
"""

from __future__ import annotations

import datetime as dt_
import logging
from dataclasses import dataclass

from beam_pipelines import catalog, fileio, tables
from beam_pipelines.cli_support import OttError
from beam_pipelines.schema import NAMESPACE_TABLES

log = logging.getLogger("ott.maintain")

KEEP_RELEASES = 10


def find_release(cat, data_dir: str, run_id: str) -> tables.Release:
    """The latest gold release recorded for ``run_id`` (a publish or a rollback)."""
    matches = [r for r in tables.releases(cat, data_dir, "gold") if r.run_id == run_id]
    if not matches:
        known = ", ".join(r.run_id for r in tables.releases(cat, data_dir, "gold")[-5:]) or "none"
        raise OttError(f"no gold release of run '{run_id}' (latest: {known}; see `ott releases`)")
    return matches[-1]


def rollback(cat, data_dir: str, run_id: str) -> tables.Release:
    """Record a release that points at the snapshots of ``run_id``'s release."""
    target = find_release(cat, data_dir, run_id)
    for table, snapshot in target.snapshots.items():
        if snapshot is not None and cat.load_table(tables.identifier("gold", table)).snapshot_by_id(snapshot) is None:
            raise OttError(f"cannot roll back to {run_id}: snapshot {snapshot} of gold.{table} was expired by `ott maintain`")
    return tables.record_release(
        cat, data_dir, "gold", target.run_id, target.attempt, target.snapshots, target.inputs, kind="rollback"
    )


def protected_snapshots(cat, data_dir: str, keep_releases: int = KEEP_RELEASES) -> dict[str, set[int]]:
    """{"<namespace>.<table>": snapshot ids no expiry may touch}."""
    keep: dict[str, set[int]] = {}
    for namespace in tables.NAMESPACES:
        for release in tables.releases(cat, data_dir, namespace)[-keep_releases:]:
            for table, snapshot in release.snapshots.items():
                if snapshot is not None:
                    keep.setdefault(f"{namespace}.{table}", set()).add(snapshot)
            for name, snapshot in release.inputs.items():
                if name.startswith("silver.") and isinstance(snapshot, int) and name != "silver.release_id":
                    keep.setdefault(name, set()).add(snapshot)
    return keep


@dataclass
class MaintenanceReport:
    expired: int = 0
    orphans: int = 0
    recovered: int = 0

    def line(self) -> str:
        return (
            f"maintained: {self.recovered} killed run(s) cleaned up, {self.expired} snapshot(s) expired, "
            f"{self.orphans} orphan file(s) removed"
        )


def expire_snapshots(cat, data_dir: str, keep_days: float, keep_releases: int = KEEP_RELEASES) -> int:
    cutoff_ms = (dt_.datetime.now(dt_.timezone.utc) - dt_.timedelta(days=keep_days)).timestamp() * 1000
    keep = protected_snapshots(cat, data_dir, keep_releases)
    expired = 0
    for namespace, table_names in NAMESPACE_TABLES.items():
        for table in table_names:
            tbl = tables.load_table(cat, data_dir, namespace, table)
            current = tbl.current_snapshot()
            pinned = keep.get(f"{namespace}.{table}", set()) | ({current.snapshot_id} if current else set())
            old = [s.snapshot_id for s in tbl.snapshots() if s.timestamp_ms < cutoff_ms and s.snapshot_id not in pinned]
            if old:
                tbl.maintenance.expire_snapshots().by_ids(old).commit()
                expired += len(old)
    return expired


def referenced_files(tbl) -> set[str]:
    """Every file a table's metadata still points at: data files and manifests of all
    its snapshots, their manifest lists, and the metadata files in its log."""
    refs = {tbl.metadata_location}
    refs.update(entry.metadata_file for entry in tbl.metadata.metadata_log)
    for snapshot in tbl.snapshots():
        refs.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(tbl.io):
            refs.add(manifest.manifest_path)
            refs.update(entry.data_file.file_path for entry in manifest.fetch_manifest_entry(tbl.io, discard_deleted=False))
    return {_plain(path) for path in refs}


def _plain(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def remove_orphan_files(cat, data_dir: str) -> int:
    removed = 0
    for namespace, table_names in NAMESPACE_TABLES.items():
        for table in table_names:
            tbl = tables.load_table(cat, data_dir, namespace, table)
            location = catalog.lake_table_dir(tables.resolve_data_dir(data_dir), namespace, table)
            keep = referenced_files(tbl)
            orphans = [p for p in fileio.tree_files(location) if _plain(p) not in keep]
            if orphans:
                fileio.delete_paths(orphans)
                removed += len(orphans)
    scratch = catalog.lake_scratch_dir(tables.resolve_data_dir(data_dir), "")
    for path in fileio.tree_files(scratch):
        fileio.delete_paths([path])
        removed += 1
    return removed


def maintain(cat, data_dir: str, keep_days: float, keep_releases: int = KEEP_RELEASES) -> MaintenanceReport:
    report = MaintenanceReport()
    report.recovered = len(tables.recover(cat, data_dir))
    report.expired = expire_snapshots(cat, data_dir, keep_days, keep_releases)
    report.orphans = remove_orphan_files(cat, data_dir)
    return report
