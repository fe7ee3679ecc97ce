"""The gold state: what a gold run keeps so that the next one recomputes only what changed (SPEC §12).

Every partial of :mod:`beam_pipelines.marts` is computed per **slice** — one partition
of a silver event table: a sessions partition (event_date) or an ad / playback event
partition (dt). Iceberg table ``gold.partials`` (``GOLD_STATE_SCHEMA``, partitioned by
(source, slice), pinned by every gold release like the marts) holds, per slice, each
partial's finished frame over that slice and the inputs it was computed from: a digest of the slice's
silver data files (file names are unique per silver run attempt, so equal digests mean
equal rows) and, for sessions, a fingerprint of the content columns the partials join.

:func:`plan` compares the current silver release with the state of the current gold
release and picks the slices to recompute:

- a slice whose silver files changed (a rebuilt or new partition; a sessions partition
  an incremental silver run rewrote), or whose content fingerprint changed;
- for the event tables, also every later dt of that table: which row of an event_id
  wins ("earliest dt") depends on the earlier partitions. Their rows outside the
  recomputed slices are looked up through ``silver.event_index`` (:class:`EarlierScan`,
  integers, then the real ids of the few rows that match);
- every slice, with ``--full``, without a state, or when the marts need a partial the
  state does not hold.

The other slices' state rows are merged unchanged with the recomputed ones, and the
marts are finished from the merged partials: the release equals a full rebuild.
"""

from __future__ import annotations

import datetime as dt_
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from beam_pipelines import catalog, fileio, tables
from beam_pipelines.marts.spec import Kind, Partial
from beam_pipelines.schema import GOLD_STATE_SCHEMA

log = logging.getLogger("ott.gold")

STATE_TABLE = "partials"
# Bumped when what a partial's frame holds changes: a state of another version is
# recomputed (it is part of every slice's inputs).
STATE_VERSION = 3
# snapshot summary of a by_date mart: the digest of the dimension columns it was finished with
DIMS_PROPERTY = "ott.dims-fingerprint"
FULL, INCREMENTAL = "full", "incremental"
Slice = tuple[str, str]  # (silver table, ISO date of its partition)
EPOCH = np.datetime64("1970-01-01", "D")

# ------------------------------------------------------------------ frames in the state


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """A partial's frame as an Arrow IPC stream (pandas dtypes kept in its metadata)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def bytes_frame(data: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(data).read_all().to_pandas()


def day_number(iso: str) -> int:
    return int((np.datetime64(iso, "D") - EPOCH).astype("int64"))


def iso_day(day: int) -> str:
    return str(EPOCH + np.timedelta64(int(day), "D"))


def state_rows(key: tuple[str, int], frames: Mapping[str, pd.DataFrame], inputs: str) -> pa.Table:
    """One slice's state → its rows of ``gold.partials`` (one per partial, by name)."""
    table, day = key
    names = sorted(frames)
    return pa.table(
        {
            "source": [table] * len(names),
            "slice": pa.array([dt_.date.fromisoformat(iso_day(day))] * len(names), pa.date32()),
            "partial": names,
            "frame": [frame_bytes(frames[n]) for n in names],
            "inputs": [inputs] * len(names),
        },
        schema=GOLD_STATE_SCHEMA,
    )


def write_state_file(element: tuple[tuple[str, int], dict], data_dir: str, attempt: str, inputs: Mapping[Slice, str]) -> str:
    """Write one recomputed slice's state as the data file of its partition; returns its path."""
    (table, day), frames = element
    partition = {"source": table, "slice": iso_day(day)}
    path = catalog.lake_data_file(data_dir, "gold", STATE_TABLE, attempt, partition, "part-00000.parquet")
    fileio.write_bytes(path, fileio.parquet_bytes(state_rows((table, day), frames, inputs[(table, iso_day(day))])))
    return path


def read_state_file(path: str) -> tuple[tuple[str, int], dict[str, pd.DataFrame]]:
    """A state data file → ((table, day), {partial: frame}), the shape a recomputed slice has."""
    rows = fileio.read_parquet(path).to_pylist()
    (table,) = {row["source"] for row in rows}
    (day,) = {row["slice"] for row in rows}
    return (table, day_number(day.isoformat())), {row["partial"]: bytes_frame(row["frame"]) for row in rows}


# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class EarlierScan:
    """Where rows of the recomputed dts' event ids may sit outside them (one event table).

    ``recomputed``: the index files of the recomputed dts; ``others``: (index file,
    silver file, dt day) of every dt kept — its rows are in the same order in both.
    """

    kind: str
    recomputed: tuple[str, ...]
    others: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class GoldPlan:
    """What a gold run reads, recomputes, keeps and replaces."""

    mode: str
    reason: str
    recompute: dict[str, tuple[str, ...]]  # silver table → ISO dates of the slices recomputed
    files: dict[str, list[str]]  # silver table → data files to read
    kept: tuple[str, ...] = ()  # state files of the slices kept
    earlier: tuple[EarlierScan, ...] = ()
    inputs: dict[Slice, str] = field(default_factory=dict)  # recomputed slice → its inputs
    dropped: tuple[Slice, ...] = ()  # slices of the state whose partition is gone
    by_date: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by_date mart → event dates rewritten

    def rewritten(self, table: str) -> tuple[str, ...] | None:
        """The event_date partitions of ``table`` this run rewrites (None: the whole table)."""
        return self.by_date.get(table)

    def replaced(self) -> list[Slice]:
        """The state partitions this run replaces (FULL: the whole table)."""
        return sorted({(t, d) for t, days in self.recompute.items() for d in days} | set(self.dropped))

    def record(self) -> dict:
        """For the run audit and the log."""
        return {
            "mode": self.mode,
            "reason": self.reason,
            "slices_recomputed": {t: list(d) for t, d in self.recompute.items()},
            "slices_kept": len(self.kept),
            "marts_by_date": {t: list(d) for t, d in self.by_date.items()},
        }


_PARTITION = re.compile(r"/([a-z_]+)=([^/]+)(?=/)")


def partition_of(path: str) -> dict[str, str]:
    """The partition folders (``column=value``) in a data file's path (catalog layout)."""
    return dict(_PARTITION.findall(path))


def by_partition(paths: Iterable[str], column: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in paths:
        out.setdefault(partition_of(path)[column], []).append(path)
    return {k: sorted(v) for k, v in out.items()}


def digest(values: Iterable[str]) -> str:
    h = hashlib.sha256()
    for value in values:
        h.update(value.encode())
        h.update(b"\n")
    return h.hexdigest()[:32]


def content_fingerprint(content_files: Sequence[str], columns: Sequence[str]) -> str:
    """What the per-slice partials read of the content dimension."""
    frames = [fileio.read_parquet(p, list(columns)) for p in content_files]
    if not frames:
        return digest([])
    rows = pa.concat_tables(frames).sort_by([(columns[0], "ascending")])
    return digest(json.dumps(rows.column(c).to_pylist(), default=str) for c in columns)


def dims_fingerprint(files: Sequence[str], columns: Sequence[str]) -> str:
    """A dimension table's columns that a mart's finish reads, rows in key order (the
    first column), as a digest: equal digests, equal rows."""
    frames = [fileio.read_parquet(p, list(columns)) for p in files]
    if not frames:
        return digest([])
    rows = pa.concat_tables(frames).sort_by([(columns[0], "ascending")]).combine_chunks().replace_schema_metadata(None)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return hashlib.sha256(sink.getvalue()).hexdigest()[:32]


def dates_to_rewrite(
    gold_plan: GoldPlan, marts: Iterable, fingerprints: Mapping[str, str], previous: Mapping[str, str | None]
) -> GoldPlan:
    """``gold_plan`` with the event dates each ``by_date`` mart rewrites: the sessions
    slices recomputed (or gone), when the dimensions the mart reads (``fingerprints``,
    :func:`dims_fingerprint` per mart) are those of its current version (``previous``);
    otherwise, and in a full run, it is rewritten whole."""
    if gold_plan.mode == FULL:
        return gold_plan
    marts = list(marts)
    sliced = {p.kind.table for m in marts if m.by_date for p in m.partials}  # kept per event_date
    days = {d for t, ds in gold_plan.recompute.items() if t in sliced for d in ds}
    days |= {d for t, d in gold_plan.dropped if t in sliced}
    by_date = {
        m.table: tuple(sorted(days))
        for m in marts
        if m.by_date and previous.get(m.table) is not None and previous.get(m.table) == fingerprints.get(m.table)
    }
    return replace(gold_plan, by_date=by_date)


def read_state_index(state_files: Sequence[str]) -> dict[Slice, tuple[str, str, frozenset[str]]]:
    """State files → {slice: (file, inputs, partial names)} without reading the frames."""
    out = {}
    for path in state_files:
        rows = fileio.read_parquet(path, ["source", "slice", "partial", "inputs"])
        if rows.num_rows == 0:
            continue
        key = (rows.column("source")[0].as_py(), rows.column("slice")[0].as_py().isoformat())
        out[key] = (path, rows.column("inputs")[0].as_py(), frozenset(rows.column("partial").to_pylist()))
    return out


def plan(
    kinds: Sequence[Kind],
    partials: Sequence[Partial],
    silver_files: Mapping[str, Sequence[str]],
    index_files: Sequence[str],
    content: str,
    state_files: Sequence[str] | None,
    full: bool = False,
) -> GoldPlan:
    """Decide a gold run (see the module docstring).

    ``silver_files``: data files per silver table of the silver release read;
    ``index_files``: its ``silver.event_index`` files; ``content``: the content
    fingerprint; ``state_files``: the ``gold.partials`` files of the current gold
    release (None: no state).
    """
    kinds = [k for k in kinds if any(p.kind == k for p in partials)]
    wanted: dict[Slice, str] = {}
    partitions: dict[str, dict[str, list[str]]] = {}
    for kind in kinds:
        partitions[kind.table] = by_partition(silver_files.get(kind.table, ()), kind.slice)
        fingerprint = "" if kind.dedupe else content
        for day, paths in partitions[kind.table].items():
            inputs = {"files": digest(paths), "content": fingerprint, "version": STATE_VERSION}
            wanted[(kind.table, day)] = json.dumps(inputs, sort_keys=True)
    dims = {t: list(p) for t, p in silver_files.items() if t not in partitions}

    def everything(reason: str) -> GoldPlan:
        return GoldPlan(
            FULL,
            reason,
            recompute={k.table: tuple(sorted(partitions[k.table])) for k in kinds},
            files={**dims, **{t: [p for ps in parts.values() for p in ps] for t, parts in partitions.items()}},
            inputs=wanted,
        )

    if full:
        return everything("--full")
    if state_files is None:
        return everything("no gold state yet")
    state = read_state_index(state_files)
    needs = {k.table: frozenset(p.name for p in partials if p.kind == k) for k in kinds}
    if any(needs.get(table, frozenset()) - names for (table, _), (_, _, names) in state.items()):
        return everything("the marts need partials the gold state does not hold")

    changed = {s for s, inputs in wanted.items() if s not in state or state[s][1] != inputs}
    dropped = tuple(sorted(s for s in state if s not in wanted))
    recompute: dict[str, set[str]] = {k.table: {d for t, d in changed if t == k.table} for k in kinds}
    for kind in kinds:
        if kind.dedupe:
            moved = [d for t, d in (*changed, *dropped) if t == kind.table]
            if moved:  # a later dt's winners depend on this one
                recompute[kind.table] |= {d for d in partitions[kind.table] if d > min(moved)}
    kept = tuple(sorted(state[s][0] for s in wanted if s[1] not in recompute[s[0]]))

    index = _index_by_partition(index_files)
    earlier = []
    for kind in kinds:
        days = sorted(recompute[kind.table])
        if not kind.dedupe or not days:
            continue
        others = []
        for day in sorted(set(partitions[kind.table]) - set(days)):
            silver_by_name = {p.rsplit("/", 1)[-1]: p for p in partitions[kind.table][day]}
            found = index.get((kind.name, day), [])
            if sorted(p.rsplit("/", 1)[-1] for p in found) != sorted(silver_by_name):
                return everything(f"no event index for {kind.name} dt={day} (rebuild silver once to create it)")
            others.extend((p, silver_by_name[p.rsplit("/", 1)[-1]], day_number(day)) for p in found)
        recomputed = tuple(p for day in days for p in index.get((kind.name, day), []))
        earlier.append(EarlierScan(kind.name, recomputed, tuple(others)))

    return GoldPlan(
        INCREMENTAL,
        f"{sum(map(len, recompute.values()))} slices changed" if changed or dropped else "nothing changed",
        recompute={t: tuple(sorted(d)) for t, d in recompute.items()},
        files={**dims, **{t: [p for d in sorted(recompute[t]) for p in partitions[t][d]] for t in partitions}},
        kept=kept,
        earlier=tuple(earlier),
        inputs={s: wanted[s] for s in wanted if s[1] in recompute[s[0]]},
        dropped=dropped,
    )


def _index_by_partition(paths: Iterable[str]) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for path in paths:
        part = partition_of(path)
        out.setdefault((part["dataset"], part["dt"]), []).append(path)
    return out


# ------------------------------------------------------------------ earlier rows


def earlier_rows(scan: EarlierScan) -> pd.DataFrame:
    """(event_id, dt day) of the kept partitions' rows whose event_id a recomputed dt holds.

    Integers first: the index keys of the recomputed dts against each kept index file;
    only files with a match are opened, and only the matching rows' ids taken (the same
    rows, in the same order, as the index). Hash collisions only add rows; the bucket
    compares real ids.
    """
    from beam_pipelines.silver.index import KeySet

    def keys(path: str) -> np.ndarray:
        column = fileio.read_parquet(path, ["event_key"]).column("event_key")
        return column.combine_chunks().to_numpy(zero_copy_only=False)

    wanted = KeySet(np.concatenate([keys(p) for p in scan.recomputed]) if scan.recomputed else np.zeros(0, np.int64))
    frames = [pd.DataFrame({"event_id": pd.Series([], dtype=object), "dt": pd.Series([], dtype="int64")})]
    if len(wanted):
        for index_file, silver_file, day in scan.others:
            hit = np.flatnonzero(wanted.contains(keys(index_file)))
            if len(hit):
                ids = fileio.read_parquet(silver_file, ["event_id"]).column("event_id")
                taken = ids.combine_chunks().take(pa.array(hit)).to_pylist()
                frames.append(pd.DataFrame({"event_id": pd.Series(taken, dtype=object), "dt": np.int64(day)}))
    return pd.concat(frames, ignore_index=True)


def state_change(data_dir: str, attempt: str, gold_plan: GoldPlan) -> tables.TableChange:
    """The commit of ``gold.partials``: the recomputed (and vanished) slices replaced."""
    files = tuple(sorted(fileio.tree_files(catalog.lake_attempt_dir(data_dir, "gold", STATE_TABLE, attempt))))
    if gold_plan.mode == FULL:
        replace = tables.whole_table()
    else:
        replace = tables.partition_filter(("source", "slice"), gold_plan.replaced())
    return tables.TableChange("gold", STATE_TABLE, replace, files)
