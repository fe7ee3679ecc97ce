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
"""

from __future__ import annotations

import contextlib
import glob
import json
import os

from beam_pipelines import catalog
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


def read_dims_params(data_dir: str) -> dict | None:
    path = catalog.manifest_dims_file(data_dir)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh).get("params")


def existing_gen_days(data_dir: str) -> set[str]:
    """Generation days (YYYYMMDD) that have part files anywhere in bronze."""
    days = set()
    for ds in EVENT_DATASETS:
        for path in glob.glob(os.path.join(catalog.bronze_dataset_dir(data_dir, ds), "dt=*", "part-*-*.csv")):
            days.add(os.path.basename(path).split("-")[1])
    return days


def _json(obj) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


@contextlib.contextmanager
def _manifest_lock(data_dir: str):
    folder = catalog.manifest_dir(data_dir)
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


def write_day(data_dir: str, gen_day: str, outputs: dict[str, dict[str, tuple[bytes, dict]]], params: dict) -> None:
    """Replace generation day ``gen_day``'s files and manifest contributions.

    ``outputs``: dataset → dt (YYYY-MM-DD) → (file bytes, counts).
    """
    with _manifest_lock(data_dir):
        # 1. forget the previous run of this generation day, wherever it wrote
        for ds in EVENT_DATASETS:
            pattern = os.path.join(catalog.bronze_dataset_dir(data_dir, ds), "dt=*", f"part-{gen_day}-*.csv")
            for path in sorted(glob.glob(pattern)):
                os.unlink(path)
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.dirname(path))  # only if now empty
        touched: dict[str, dict] = {}
        for path in sorted(glob.glob(os.path.join(catalog.manifest_dir(data_dir), "dt=*.json"))):
            with open(path, encoding="utf-8") as fh:
                manifest = json.load(fh)
            if gen_day_key(gen_day) in manifest.get("contributions", {}):
                del manifest["contributions"][gen_day_key(gen_day)]
                touched[manifest["dt"]] = manifest
        # 2. write this run's part files
        for ds, per_dt in outputs.items():
            for dt, (payload, counts) in per_dt.items():
                path = catalog.bronze_day_part_file(data_dir, ds, dt, gen_day)
                write_atomic(path, payload)
                manifest = touched.get(dt) or _read_manifest(data_dir, dt)
                contrib = manifest["contributions"].setdefault(gen_day_key(gen_day), {"params": params, "files": {}})
                contrib[ds] = counts
                contrib["files"][ds] = os.path.basename(path)
                touched[dt] = manifest
        # 3. merged manifests (a manifest without contributions is removed)
        for dt, manifest in sorted(touched.items()):
            path = catalog.manifest_file(data_dir, dt)
            if manifest["contributions"]:
                manifest["totals"] = _totals(manifest["contributions"])
                write_atomic(path, _json(manifest))
            elif os.path.exists(path):
                os.unlink(path)


def gen_day_key(gen_day: str) -> str:
    """Manifest key of a generation day: YYYYMMDD → YYYY-MM-DD."""
    return f"{gen_day[:4]}-{gen_day[4:6]}-{gen_day[6:]}"


def _read_manifest(data_dir: str, dt: str) -> dict:
    path = catalog.manifest_file(data_dir, dt)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    return {"dt": dt, "contributions": {}}
