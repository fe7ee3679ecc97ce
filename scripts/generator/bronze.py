"""Writing bronze: dimension snapshots, day part files and the merged manifests.

Layout (SPEC §2, catalog paths):
- ``bronze/dims/{users,content,campaigns}.csv`` — rewritten by every run (they depend
  only on ``(seed, users)``, so every run writes the same bytes);
- ``bronze/<dataset>/dt=D/part-YYYYMMDD-00000.csv`` — the rows that generation day
  YYYYMMDD contributed to ingest date D (D = that day … that day + 3);
- ``bronze/_manifest/dt=D.json`` — ``{"dt", "contributions": {gen_day: {...}},
  "totals": {dataset: counts}}``, merged read-modify-write so the totals describe all
  rows in partition D whichever order days were generated in;
- ``bronze/_manifest/dims.json`` — ``{"params", "users"|"content"|"campaigns": counts}``.

Rerunning a generation day first deletes that day's own part files in every dt folder
and its contribution in every manifest, so reruns are idempotent. Every file is written
to a temp file and renamed into place.

A ``gs://`` data dir works too: there every access goes through Beam's ``FileSystems``
(``beam_pipelines.fileio``) — an object appears whole when its upload completes, so no
temp file is needed, and there is no manifest lock (one ``ott generate`` per data dir
at a time). A local data dir keeps the plain ``os`` calls (the generator's hot path).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os

from beam_pipelines import catalog, fileio
from beam_pipelines.schema import EVENT_DATASETS
from scripts.generator.dims import Dims
import pyarrow as pa

from scripts.generator.render import header_bytes, join_lines, lines_buffer, write_atomic

try:  # POSIX advisory lock around manifest read-modify-write; Windows runs without it
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def dims_payload(table) -> list:
    """A dimension CSV: content.csv carries a BOM, campaigns.csv CRLF (contract-valid).
    Valid rows first (in key order), then the extra rows (defects, repeated keys)."""
    eol = "\r\n" if table.name == "campaigns" else "\n"
    valid = join_lines([pa.array(col.tolist(), pa.string()) for col in table.columns], eol)
    extra = "".join(",".join(r) + eol for r in table.extra)
    return [header_bytes(table.header, eol, bom=table.name == "content"), lines_buffer(valid), extra.encode()]


def write_dims(data_dir: str, dims: Dims, params: dict) -> None:
    for name, table in dims.tables.items():
        write_atomic(catalog.bronze_dim_file(data_dir, name), dims_payload(table))
    manifest = {"params": params, **{name: t.counts for name, t in dims.tables.items()}}
    write_atomic(catalog.manifest_dims_file(data_dir), _json(manifest))


def _remote(path: str) -> bool:
    return "://" in path


def _exists(path: str) -> bool:
    return fileio.exists(path) if _remote(path) else os.path.exists(path)


def _read_json(path: str) -> dict:
    if _remote(path):
        return json.loads(fileio.read_bytes(path))
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _glob(folder: str, *parts: str) -> list[str]:
    """Paths matching ``folder/<parts…>`` (each part a one-level glob)."""
    if _remote(folder):
        return fileio.list_files("/".join([folder.rstrip("/"), *parts]))
    return glob.glob(os.path.join(folder, *parts))


def _unlink(path: str) -> None:
    if _remote(path):
        fileio.delete_paths([path])
        return
    os.unlink(path)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(path))  # only if now empty


def read_dims_params(data_dir: str) -> dict | None:
    path = catalog.manifest_dims_file(data_dir)
    if not _exists(path):
        return None
    return _read_json(path).get("params")


def existing_gen_days(data_dir: str) -> set[str]:
    """Generation days (YYYYMMDD) that have part files anywhere in bronze."""
    days = set()
    for ds in EVENT_DATASETS:
        for path in _glob(catalog.bronze_dataset_dir(data_dir, ds), "dt=*", "part-*-*.csv"):
            days.add(path.rsplit("/", 1)[-1].split("-")[1])
    return days


def _json(obj) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


@contextlib.contextmanager
def _manifest_lock(data_dir: str):
    folder = catalog.manifest_dir(data_dir)
    if _remote(folder):  # no file locks on object storage: one generate per data dir
        yield
        return
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".lock"), "a+") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _totals(contributions: dict) -> dict:
    totals: dict[str, dict[str, int]] = {}
    for contrib in contributions.values():
        for ds in EVENT_DATASETS:
            if ds in contrib:
                acc = totals.setdefault(ds, {})
                for k, v in contrib[ds].items():
                    acc[k] = acc.get(k, 0) + v
    return totals


def purge_days(data_dir: str, gen_days: list[str]) -> None:
    """Forget earlier runs of these generation days (YYYYMMDD): delete their part files in
    every dt folder and their contributions in every manifest. Runs before any worker
    writes, so deleting a now-empty dt folder cannot race with a write into it."""
    wanted = set(gen_days)
    with _manifest_lock(data_dir):
        for ds in EVENT_DATASETS:
            for path in sorted(_glob(catalog.bronze_dataset_dir(data_dir, ds), "dt=*", "part-*.csv")):
                if path.rsplit("/", 1)[-1].split("-")[1] in wanted:
                    _unlink(path)
        keys = {gen_day_key(d) for d in gen_days}
        for path in sorted(_glob(catalog.manifest_dir(data_dir), "dt=*.json")):
            manifest = _read_json(path)
            if keys & set(manifest.get("contributions", {})):
                for key in keys:
                    manifest["contributions"].pop(key, None)
                _write_manifest(path, manifest)


def write_parts(data_dir: str, gen_day: str, outputs: dict[str, dict[str, tuple[list, dict]]]) -> dict:
    """Write one generation day's part files; return ``{dt: {dataset: counts}}``.

    ``outputs``: dataset → dt (YYYY-MM-DD) → (file chunks, counts).
    """
    counts: dict[str, dict] = {}
    for ds, per_dt in outputs.items():
        for dt, (payload, c) in per_dt.items():
            write_atomic(catalog.bronze_day_part_file(data_dir, ds, dt, gen_day), payload)
            counts.setdefault(dt, {})[ds] = c
    return counts


def merge_manifests(data_dir: str, gen_day: str, counts: dict[str, dict], params: dict) -> None:
    """Add generation day ``gen_day``'s contribution to the manifest of every dt it wrote
    (read-modify-write under a lock; totals recomputed from all contributions)."""
    with _manifest_lock(data_dir):
        for dt, per_ds in sorted(counts.items()):
            path = catalog.manifest_file(data_dir, dt)
            manifest = _read_manifest(data_dir, dt)
            files = {ds: os.path.basename(catalog.bronze_day_part_file(data_dir, ds, dt, gen_day)) for ds in per_ds}
            manifest["contributions"][gen_day_key(gen_day)] = {"params": params, "files": files, **per_ds}
            _write_manifest(path, manifest)


def _write_manifest(path: str, manifest: dict) -> None:
    """Write a manifest with fresh totals; one without contributions is removed."""
    if manifest["contributions"]:
        manifest["totals"] = _totals(manifest["contributions"])
        write_atomic(path, _json(manifest))
    elif _exists(path):
        _unlink(path)


def gen_day_key(gen_day: str) -> str:
    """Manifest key of a generation day: YYYYMMDD → YYYY-MM-DD."""
    return f"{gen_day[:4]}-{gen_day[4:6]}-{gen_day[6:]}"


def _read_manifest(data_dir: str, dt: str) -> dict:
    path = catalog.manifest_file(data_dir, dt)
    if _exists(path):
        return _read_json(path)
    return {"dt": dt, "contributions": {}}
