"""The event-id index and the scope of an incremental session rebuild (SPEC §12).

``silver.event_index`` holds, for every valid row of every committed event partition,
64-bit keys of its event_id and session_id (null for ad events) and its event_date — one
index file beside each silver data file (same partition, same file name), written and
committed with it. Integers only: a run that adds one day reads a few bytes per row of
history, never the history's strings.

:func:`resolve_scope` decides what a run's sessions must rebuild. Rebuilding the playback
partitions ``R`` (new version ``N``, committed version ``O``) changes which rows win the
"earliest dt" rule only for the event ids of ``O ∪ N``. Hence (keys are hashes, so every
set below is a superset of the exact one — a collision only widens the rebuild):

1. affected sessions ``A`` = session keys of any row (before or after) carrying one of
   those event keys;
2. every row of a session in ``A`` (before or after) → the event dates whose session
   partitions are rewritten, and the event keys ``E`` of the rows those sessions read;
3. the committed rows that must be read again: those of ``A`` and those carrying a key of
   ``E`` (they decide which rows of ``A``'s events win). Only the files holding them are
   read; the exact rule then runs on real ids.

Sessions outside ``A`` keep their rows: none of their rows' event ids changed, so neither
did their events. Falls back to a full rebuild (every committed partition read, every
session replaced) when the committed state cannot say: no sessions yet, a partition
without index files, or the content durations changed (``completed`` reads them).
"""

from __future__ import annotations

import datetime as dt_
import hashlib
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from beam_pipelines import fileio
from beam_pipelines.hashing import stable_hash
from beam_pipelines.schema import EVENT_INDEX_SCHEMA

log = logging.getLogger("ott.silver")

FULL, INCREMENTAL = "full", "incremental"


def index_rows(rows: pa.Table, dataset: str) -> pa.Table:
    """The index rows (EVENT_INDEX_SCHEMA) of silver event rows of ``dataset``, in order."""
    session = rows.column("session_id").combine_chunks() if "session_id" in rows.column_names else None
    return pa.table(
        {
            "dataset": pa.array([dataset] * rows.num_rows, pa.string()),
            "dt": rows.column("dt"),
            "event_key": _keys(rows.column("event_id").combine_chunks()),
            "session_key": _keys(session) if session is not None else pa.nulls(rows.num_rows, pa.int64()),
            "event_date": rows.column("event_date"),
        },
        schema=EVENT_INDEX_SCHEMA,
    )


def _keys(values: pa.Array) -> pa.Array:
    return pa.array(stable_hash(values).view(np.int64))


def row_keys(rows: pa.Table, column: str) -> np.ndarray:
    """The int64 keys of a string column (as stored in the index)."""
    return stable_hash(rows.column(column).combine_chunks()).view(np.int64)


def content_fingerprint(content: pa.Table) -> str:
    """What sessions read of the content dimension (durations, for ``completed``)."""
    pairs = content.select(["content_id", "duration_sec"]).sort_by("content_id")
    digest = hashlib.sha256()
    for column in pairs.columns:
        digest.update(str(column.to_pylist()).encode())
    return digest.hexdigest()[:32]


class KeySet:
    """A set of int64 keys answering membership for whole arrays at numpy speed.

    A bitmap on the low bits rejects most absent keys with one gather; the rest are
    looked up exactly in the sorted keys (keys are hashes: the low bits are uniform).
    """

    BITS = 24

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = np.unique(np.asarray(keys, dtype=np.int64))
        self._mask = np.int64((1 << self.BITS) - 1)
        self._bitmap = np.zeros(1 << self.BITS, dtype=bool)
        self._bitmap[self.keys & self._mask] = True

    def __len__(self) -> int:
        return len(self.keys)

    def contains(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64)
        hit = self._bitmap[values & self._mask]
        if not len(self.keys):
            return hit
        maybe = np.flatnonzero(hit)
        at = np.minimum(np.searchsorted(self.keys, values[maybe]), len(self.keys) - 1)
        hit[maybe] = self.keys[at] == values[maybe]
        return hit


@dataclass(frozen=True)
class CommittedPartition:
    """A committed playback partition: its silver files and index files, by file name."""

    dt: str
    files: tuple[str, ...]
    index_files: tuple[str, ...]

    def complete(self) -> bool:
        return {_name(p) for p in self.files} == {_name(p) for p in self.index_files}

    def silver_file(self, index_file: str) -> str:
        return next(p for p in self.files if _name(p) == _name(index_file))


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class SessionScope:
    """What this run's sessions rebuild (one element, a side input of the session steps).

    ``mode`` FULL: read ``files`` whole, replace the whole sessions table. INCREMENTAL:
    read only the rows of ``files`` that belong to ``sessions`` or carry a key of
    ``events``; keep every committed session outside ``sessions``; rewrite the session
    partitions of ``dates``, reading back ``session_files`` (theirs, as committed).
    """

    mode: str
    reason: str
    files: tuple[str, ...] = ()
    sessions: KeySet | None = None
    events: KeySet | None = None
    dates: tuple[str, ...] = ()
    session_files: tuple[str, ...] = ()
    content: str = ""
    stats: dict = field(default_factory=dict)

    def wanted(self, rows: pa.Table) -> pa.Table:
        """The committed rows this run must read again (all of them in FULL mode)."""
        if self.mode == FULL or rows.num_rows == 0:
            return rows
        mask = self.sessions.contains(row_keys(rows, "session_id")) | self.events.contains(row_keys(rows, "event_id"))
        return rows.filter(pa.array(mask))

    def rebuilt(self, sessions: pa.Table) -> pa.Table:
        """The sessions this run replaces, of those built from the rows it read."""
        if self.mode == FULL or sessions.num_rows == 0:
            return sessions
        return sessions.filter(pa.array(self.sessions.contains(row_keys(sessions, "session_id"))))

    def kept(self, sessions: pa.Table) -> pa.Table:
        """Committed sessions of a rewritten partition that this run does not rebuild."""
        if sessions.num_rows == 0:
            return sessions
        return sessions.filter(pa.array(~self.sessions.contains(row_keys(sessions, "session_id"))))

    def record(self) -> dict:
        """What the run summary (and the driver's commit) needs to know."""
        return {"mode": self.mode, "reason": self.reason, "dates": list(self.dates), "content": self.content, **self.stats}


def _read_index(path: str, columns: Sequence[str]) -> dict[str, np.ndarray]:
    table = pq.read_table(io.BytesIO(fileio.read_bytes(path)), columns=list(columns))
    out = {}
    for name in columns:
        column = table.column(name).combine_chunks()
        if name == "event_date":
            out[name] = column.cast(pa.int32()).to_numpy(zero_copy_only=False)
        else:
            out[name] = pc.fill_null(column, 0).to_numpy(zero_copy_only=False)
    return out


def _iso(days: Iterable[int]) -> list[str]:
    epoch = dt_.date(1970, 1, 1)
    return sorted({(epoch + dt_.timedelta(days=int(d))).isoformat() for d in days})


def resolve_scope(
    fresh: pa.Table | None,
    committed: Sequence[CommittedPartition],
    rebuilt: Iterable[str],
    rejected: Iterable[str],
    content: str,
    previous_content: str | None,
    session_files: Mapping[str, Sequence[str]],
) -> SessionScope:
    """Decide the session rebuild of a run (see the module docstring).

    ``fresh``: index rows of the valid playback rows this run read (:func:`index_rows`);
    ``committed``: every committed playback partition; ``rebuilt``: the playback dts this
    run rebuilds, of which ``rejected`` keep their committed version; ``content`` /
    ``previous_content``: fingerprints of the content durations now and when the
    committed sessions were built; ``session_files``: committed session files by date.
    """
    replaced = set(rebuilt) - set(rejected)
    staying = [p for p in committed if p.dt not in replaced]
    changed = [p for p in committed if p.dt in replaced]

    def full(reason: str) -> SessionScope:
        files = tuple(path for p in staying for path in p.files)
        return SessionScope(FULL, reason, files=files, content=content)

    if previous_content is None:
        return full("no committed sessions")
    if previous_content != content:
        return full("content durations changed")
    if not replaced:
        # nothing accepted to rebuild: the committed sessions already hold every winner
        nothing = KeySet(np.zeros(0))
        return SessionScope(INCREMENTAL, "no partition replaced", sessions=nothing, events=nothing, content=content)
    if not staying:
        return full("every committed partition is rebuilt")
    incomplete = [p.dt for p in committed if not p.complete()]
    if incomplete:
        return full(f"no event index for dt={incomplete[0]} (rebuild every dt once to create it)")

    if fresh is not None and fresh.num_rows:
        days = pa.array([dt_.date.fromisoformat(d) for d in sorted(replaced)], pa.date32())
        new = fresh.filter(pc.is_in(fresh.column("dt"), value_set=days))
    else:
        new = None
    new_cols = (
        {
            "event_key": new.column("event_key").combine_chunks().to_numpy(zero_copy_only=False),
            "session_key": new.column("session_key").combine_chunks().to_numpy(zero_copy_only=False),
            "event_date": new.column("event_date").combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False),
        }
        if new is not None
        else {"event_key": np.zeros(0, np.int64), "session_key": np.zeros(0, np.int64), "event_date": np.zeros(0, np.int32)}
    )

    # 1. the changed event ids: the rebuilt partitions before (O) and after (N)
    changed_keys = [new_cols["event_key"]] + [
        _read_index(path, ["event_key"])["event_key"] for p in changed for path in p.index_files
    ]
    changed_events = KeySet(np.concatenate(changed_keys))
    # ... and the sessions of any row carrying one of them (before or after)
    every = [(p, path) for p in committed for path in p.index_files]
    affected = [new_cols["session_key"][changed_events.contains(new_cols["event_key"])]]
    for _, path in every:
        cols = _read_index(path, ["event_key", "session_key"])
        affected.append(cols["session_key"][changed_events.contains(cols["event_key"])])
    sessions = KeySet(np.concatenate(affected))

    # 2. every row of those sessions: their dates, and the event keys they read
    in_new = sessions.contains(new_cols["session_key"])
    dates = [new_cols["event_date"][in_new]]
    events = [new_cols["event_key"][in_new]]
    for p, path in every:
        cols = _read_index(path, ["event_key", "session_key", "event_date"])
        mine = sessions.contains(cols["session_key"])
        dates.append(cols["event_date"][mine])  # before (a replaced partition) or after
        if p.dt not in replaced:
            events.append(cols["event_key"][mine])
    event_keys = KeySet(np.concatenate(events))

    # 3. the committed files (of partitions that stay) holding rows to read again
    files = []
    for p in staying:
        for path in p.index_files:
            cols = _read_index(path, ["event_key", "session_key"])
            if (sessions.contains(cols["session_key"]).any()) or event_keys.contains(cols["event_key"]).any():
                files.append(p.silver_file(path))
    days = _iso(np.concatenate(dates))
    return SessionScope(
        INCREMENTAL,
        f"{len(sessions)} sessions affected",
        files=tuple(files),
        sessions=sessions,
        events=event_keys,
        dates=tuple(days),
        session_files=tuple(path for day in days for path in session_files.get(day, ())),
        content=content,
        stats={"sessions_affected": len(sessions), "files_read": len(files)},
    )
