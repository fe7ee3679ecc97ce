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

Cost, on the daily hot path: each committed index file is read once (its three columns),
nearest partitions to the rebuilt ones first. Step 2 needs ``A`` whole, which needs every
file, so that one read does step 1 and step 2 for the sessions affected so far, and
leaves per file a bitmap of its session keys (about 0.6 B a row). Step 3 is done in the
same read for a file without an affected row, against the keys of ``E`` found so far:
``E`` comes from the rows of affected sessions, which sit in the partitions next to the
rebuilt ones (midnight spans, late events), so reading those first finds ``E`` (nearly)
whole before the rest of the history. Read again: a file whose bitmap may hold a session
found affected only after it was read (a late copy under another session id: rare), and
the event keys of a file tested before ``E`` grew, for the keys added since (kept from
the first read on object storage, up to ``KEEP_EVENT_KEYS_BYTES``). (Keeping the three
columns of every file instead would cost 20 B a row of history.)
"""

from __future__ import annotations

import datetime as dt_
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beam_pipelines import fileio
from beam_pipelines.hashing import stable_hash
from beam_pipelines.schema import EVENT_INDEX_SCHEMA

log = logging.getLogger("ott.silver")

FULL, INCREMENTAL = "full", "incremental"


# Columns of an index file written without dictionary encoding (fileio.parquet_bytes):
# 64-bit hashes of distinct ids, so a dictionary never pays.
PLAIN_COLUMNS = ("event_key", "session_key")


def index_rows(rows: pa.Table, dataset: str) -> pa.Table:
    """The index rows (EVENT_INDEX_SCHEMA) of silver event rows of ``dataset``, in order."""
    session = rows.column("session_id").combine_chunks() if "session_id" in rows.column_names else None
    return pa.table(
        {
            "dataset": pa.repeat(pa.scalar(dataset, pa.string()), rows.num_rows),
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


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy's hash-based ``unique`` is ~10× slower here)."""
    values = np.sort(np.asarray(values))
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


class KeySet:
    """A set of int64 keys answering membership for whole arrays at numpy speed.

    A packed bitmap on the low bits (64 bits per key, 8 bytes per key) rejects ~98.5 % of
    absent keys with one gather; the few left, and the members, are looked up exactly in
    the sorted keys. Keys are hashes: their low bits are uniform. (Exact matters: across
    a long history even a 1 % false "yes" would pull in sessions by the thousand.)
    """

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = _sorted_unique(np.asarray(keys, dtype=np.int64))
        bits = int(np.clip(np.ceil(np.log2(max(len(self.keys), 1) * 64)), 10, 32))
        self._mask = np.int64((1 << bits) - 1)
        self._words = np.zeros(1 << (bits - 6), dtype=np.uint64)
        low = self.keys & self._mask
        np.bitwise_or.at(self._words, low >> 6, np.left_shift(np.uint64(1), (low & 63).astype(np.uint64)))

    def __len__(self) -> int:
        return len(self.keys)

    def contains(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64)
        low = values & self._mask
        hit = ((self._words[low >> 6] >> (low & 63).astype(np.uint64)) & np.uint64(1)).astype(bool)
        maybe = np.flatnonzero(hit)
        if len(maybe):
            probe = values[maybe]
            at = np.minimum(np.searchsorted(self.keys, probe), len(self.keys) - 1)
            hit[maybe] = self.keys[at] == probe
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


_COLUMNS = ("event_key", "session_key", "event_date")

# Event keys of staying files without an affected row are kept for the final test (step 3)
# up to this many bytes (8 per row); files beyond it have that one column read again.
# Only for object storage, where a second read is another download: a local file
# reads one column again from the page cache faster than memory would keep it (measured:
# 1.5 s vs 1.9 s on 24M rows, and +200 MB of memory that grows with the history).
KEEP_EVENT_KEYS_BYTES = 256 << 20


def _keep_budget(path: str) -> int:
    return 0 if fileio.is_local(path) else KEEP_EVENT_KEYS_BYTES


def _read_index(path: str, columns: Sequence[str] = _COLUMNS) -> dict[str, np.ndarray]:
    """The columns of an index file as numpy arrays (null session keys → 0, dates → int32
    days); only the columns asked for are read."""
    table = fileio.read_parquet(path, list(columns))
    out = {}
    for name in columns:
        column = table.column(name).combine_chunks()
        if name == "event_date":
            out[name] = column.cast(pa.int32()).to_numpy(zero_copy_only=False)
        else:
            out[name] = (pc.fill_null(column, 0) if column.null_count else column).to_numpy(zero_copy_only=False)
    return out


def _low_bits(keys: np.ndarray) -> int:
    """Bits of a file's session bitmap: ~4 bits per row (at most 1 in 4 false "maybe")."""
    return max(10, int(np.ceil(np.log2(max(len(keys), 1)))) + 2)


def _bitmap(keys: np.ndarray, bits: int) -> np.ndarray:
    """A packed bitmap of the low ``bits`` bits of ``keys`` (a superset test, see :func:`_maybe`)."""
    table = np.zeros(1 << bits, dtype=bool)
    table[keys & np.int64((1 << bits) - 1)] = True
    return np.packbits(table)


def _maybe(bitmap: np.ndarray, bits: int, keys: np.ndarray) -> bool:
    """Whether the keys summed up in ``bitmap`` may hold one of ``keys`` (never a false "no")."""
    low = keys & np.int64((1 << bits) - 1)
    return bool(((bitmap[low >> 3] >> (7 - (low & 7)).astype(np.uint8)) & 1).any())


@dataclass
class _Staying:
    """What the one read of a staying index file leaves for the steps that need all of them."""

    path: str
    silver: str
    hit: bool  # holds a row of an affected session, or (step 3) a key of E
    known: int  # how many batches of affected sessions were discovered when it was read
    bits: int
    sessions: np.ndarray  # packed bitmap of its session keys
    events: np.ndarray | None  # its event keys, for step 3 (None: hit already, or over budget)
    order: tuple[int, int]  # (partition, file) position in the committed order
    tested: int  # how many batches of E's keys it was tested against (step 3)


def _affected_rows(
    cols: dict[str, np.ndarray], sessions: KeySet, dates: list[np.ndarray], events: list[np.ndarray]
) -> bool:
    """Add the dates and event keys of the rows of ``sessions``; whether there were any."""
    mine = sessions.contains(cols["session_key"])
    if not mine.any():
        return False
    dates.append(cols["event_date"][mine])
    events.append(cols["event_key"][mine])
    return True


def _iso(days: np.ndarray) -> list[str]:
    epoch = dt_.date(1970, 1, 1)
    return [(epoch + dt_.timedelta(days=int(d))).isoformat() for d in _sorted_unique(days)]


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

    # 1. the changed event ids: the rebuilt partitions before (O) and after (N) ...
    before = [_read_index(path) for p in changed for path in p.index_files]
    changed_events = KeySet(np.concatenate([new_cols["event_key"]] + [c["event_key"] for c in before]))
    # ... and the sessions of any row carrying one of them: every row of O and N, and the
    # rows of other partitions that share an id with them (late copies, replays)
    sessions = KeySet(np.concatenate([new_cols["session_key"]] + [c["session_key"] for c in before]))
    dates = [new_cols["event_date"]] + [c["event_date"] for c in before]
    events: list[np.ndarray] = []  # the event keys of the staying rows of those sessions

    # one read of each staying index file does step 1, step 2 for the sessions known so
    # far and step 3 for the keys of E found so far (see _scan_staying); what later files
    # add is completed below
    nearest = _nearest_first(staying, replaced)
    seen, discovered = _scan_staying(nearest, changed_events, sessions, dates, events)
    if discovered:
        sessions = KeySet(np.concatenate([sessions.keys, *discovered]))
    _complete_late_sessions(seen, discovered, dates, events)
    event_keys = KeySet(np.concatenate([new_cols["event_key"], *events]))

    # 3. the committed files (of partitions that stay) holding rows to read again: those
    # holding a row of an affected session (known), or a key of E. Only E's keys from
    # staying rows can be found in a file without an affected row: a staying row carrying
    # a key of N is a row of an affected session (step 1). A file tested before E grew is
    # tested again for the keys added since.
    _test_late_events(seen, events)
    seen.sort(key=lambda file: file.order)
    files = [file.silver for file in seen if file.hit]
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


def _nearest_first(staying: Sequence[CommittedPartition], replaced: set[str]) -> list[tuple[int, CommittedPartition]]:
    """The staying partitions with their position, nearest (in days) to a replaced one first."""
    days = [dt_.date.fromisoformat(d).toordinal() for d in replaced]

    def distance(item: tuple[int, CommittedPartition]) -> tuple[int, int]:
        day = dt_.date.fromisoformat(item[1].dt).toordinal()
        return min(abs(day - d) for d in days), item[0]

    return sorted(enumerate(staying), key=distance)


def _scan_staying(
    staying: Sequence[tuple[int, CommittedPartition]],
    changed_events: KeySet,
    sessions: KeySet,
    dates: list[np.ndarray],
    events: list[np.ndarray],
) -> tuple[list[_Staying], list[np.ndarray]]:
    """Read each staying index file once: step 1 (the sessions of its rows carrying a
    changed event key join the affected ones, ``sessions`` grows), step 2 for the
    sessions affected so far (their rows' dates and event keys are added to ``dates``
    and ``events``) and, for a file without a row of them, step 3 for the event keys in
    ``events`` so far.

    ``staying``: (position, partition) in the order to read them. Returns one record per
    file, in reading order, and the batches of sessions discovered here (in the order
    found): a file read before a batch has not been searched for it.
    """
    seen: list[_Staying] = []
    discovered: list[np.ndarray] = []
    kept = 0
    probe = _EventTests(changed_events, events)
    for position, p in staying:
        for number, path in enumerate(p.index_files):
            cols = _read_index(path)
            hits = cols["session_key"][probe.changed_rows(cols["event_key"])]
            new = _sorted_unique(hits[~sessions.contains(hits)])
            if len(new):
                discovered.append(new)
                sessions = KeySet(np.concatenate([sessions.keys, new]))
            hit = _affected_rows(cols, sessions, dates, events)
            tested = len(events)
            if not hit:
                hit = probe.late_row(cols["event_key"])
            probe.settled(hit)
            keep = not hit and kept + cols["event_key"].nbytes <= _keep_budget(path)
            kept += cols["event_key"].nbytes if keep else 0
            bits = _low_bits(cols["session_key"])
            seen.append(
                _Staying(
                    path,
                    p.silver_file(path),
                    hit,
                    len(discovered),
                    bits,
                    _bitmap(cols["session_key"], bits),
                    cols["event_key"] if keep else None,
                    (position, number),
                    tested,
                )
            )
    return seen, discovered


def _members(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mask of ``values`` found in the sorted distinct ``keys``."""
    if not len(keys):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return keys[at] == values


class _EventTests:
    """Steps 1 and 3 on the event keys of one file: the rows carrying a changed key, and
    whether a row carries a key of E (the staying rows' keys of the affected sessions
    found so far, ``events``).

    While E grows (the files next to the rebuilt partitions, which hold most affected
    sessions), a file is tested against the changed keys, and against E only when it
    holds no affected row. Once a file without one has been read, E has mostly stopped
    growing: both questions are then answered by ONE membership test against changed ∪
    E, and the few rows found are split exactly (built again only if E grows again).
    """

    def __init__(self, changed: KeySet, events: list[np.ndarray]) -> None:
        self._changed, self._events, self._late = changed, events, _LateEvents(events)
        self._union: KeySet | None = None
        self._union_of = -1  # how many batches of E the union holds
        self._settled = False
        self._late_found: bool | None = None  # the last file's answer from the union

    def changed_rows(self, keys: np.ndarray) -> np.ndarray:
        self._late_found = None
        if self._settled and self._union_of != len(self._events):
            late = np.concatenate([np.zeros(0, np.int64), *self._events])
            self._union = KeySet(np.concatenate([self._changed.keys, late]))
            self._union_of, self._late_keys = len(self._events), _sorted_unique(late)
        if self._union is None or self._union_of != len(self._events):
            return self._changed.contains(keys)
        found = np.flatnonzero(self._union.contains(keys))
        mask = np.zeros(len(keys), dtype=bool)
        mask[found] = _members(self._changed.keys, keys[found])
        self._late_found = bool(_members(self._late_keys, keys[found]).any())
        return mask

    def late_row(self, keys: np.ndarray) -> bool:
        """For a file without an affected row (E as it was for :meth:`changed_rows`)."""
        if self._late_found is not None and self._union_of == len(self._events):
            return self._late_found
        return self._late.found_in(keys)

    def settled(self, hit: bool) -> None:
        self._settled = not hit


class _LateEvents:
    """Membership in the event keys of ``events`` (a list that grows, in batches), each
    set built once: the keys so far, or those from a batch on."""

    def __init__(self, events: list[np.ndarray]) -> None:
        self._events = events
        self._sets: dict[tuple[int, int], KeySet] = {}

    def found_in(self, keys: np.ndarray, start: int = 0) -> bool:
        """Whether ``keys`` hold one of the keys of ``events[start:]`` (as it is now)."""
        span = (start, len(self._events))
        if span not in self._sets:
            self._sets = {span: KeySet(np.concatenate([np.zeros(0, np.int64), *self._events[start:]]))}
        found = self._sets[span]
        return bool(len(found)) and bool(found.contains(keys).any())


def _test_late_events(seen: list[_Staying], events: list[np.ndarray]) -> None:
    """Step 3 for the keys ``events`` gained after a file without an affected row was
    tested (its event keys kept from the first read, or read again)."""
    late = _LateEvents(events)
    for file in seen:
        if not file.hit and file.tested < len(events) and any(len(e) for e in events[file.tested :]):
            keys = file.events if file.events is not None else _read_index(file.path, ["event_key"])["event_key"]
            file.hit = late.found_in(keys, file.tested)
        file.events = None


def _complete_late_sessions(
    seen: list[_Staying], discovered: list[np.ndarray], dates: list[np.ndarray], events: list[np.ndarray]
) -> None:
    """Step 2 for the sessions a file was read too early to know: read again only the
    files whose session bitmap may hold one of them (late copies in another session are
    rare: usually none is read)."""
    for file in seen:
        if file.known == len(discovered):
            continue
        late = np.concatenate(discovered[file.known :])
        if not _maybe(file.sessions, file.bits, late):
            continue
        if _affected_rows(_read_index(file.path), KeySet(late), dates, events):
            file.hit, file.events = True, None
