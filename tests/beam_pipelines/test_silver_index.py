"""The event-id index and the scope of an incremental session rebuild (silver/index.py),
on small literal index files: which sessions are affected, which partitions are
rewritten, which committed files are read again, and when the rebuild is full."""

from __future__ import annotations

import datetime as dt_

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_pipelines.schema import EVENT_INDEX_SCHEMA
from beam_pipelines.silver.index import (
    FULL,
    INCREMENTAL,
    CommittedPartition,
    KeySet,
    SessionScope,
    index_rows,
    resolve_scope,
    row_keys,
)

D1, D2, D3 = dt_.date(2026, 11, 1), dt_.date(2026, 11, 2), dt_.date(2026, 11, 3)


@pytest.fixture(autouse=True, params=["local", "object storage"])
def keep_budget(request, monkeypatch):
    """Every scope rule holds whether a file's event keys are read again (local files) or
    kept from the first read (object storage, where a second read is a download)."""
    if request.param == "object storage":
        monkeypatch.setattr("beam_pipelines.silver.index._keep_budget", lambda path: 1 << 30)


def rows(dt, *events) -> pa.Table:
    """Index rows: (event_key, session_key, event_date) of partition ``dt``."""
    return pa.table(
        {
            "dataset": ["playback_events"] * len(events),
            "dt": [dt] * len(events),
            "event_key": [e for e, _, _ in events],
            "session_key": [s for _, s, _ in events],
            "event_date": [d for _, _, d in events],
        },
        schema=EVENT_INDEX_SCHEMA,
    )


def committed(tmp_path, dt, *events, complete=True) -> CommittedPartition:
    """A committed partition: one index file (written) beside one silver file (named
    only: the scope pairs them by file name and never reads silver)."""
    index = tmp_path / f"dt={dt.isoformat()}" / "part-00000.parquet"
    index.parent.mkdir(parents=True)
    pq.write_table(rows(dt, *events), index)
    silver = f"/silver/dt={dt.isoformat()}/part-00000.parquet"
    return CommittedPartition(dt.isoformat(), (silver,), (str(index),) if complete else ())


@pytest.fixture
def history(tmp_path):
    """dt1: s1 = {e1, e2} on D1, s2 = {e3} on D1; dt2: s3 = {e4} on D2, and e1 again
    under another session s4 (a cross-partition duplicate) on D2; dt3: s5 = {e5} on D3."""
    return [
        committed(tmp_path, D1, (1, 101, D1), (2, 101, D1), (3, 102, D1)),
        committed(tmp_path, D2, (4, 103, D2), (1, 104, D2)),
        committed(tmp_path, D3, (5, 105, D3)),
    ]


def sessions_by_date(history):
    return {p.dt: [f"/sessions/event_date={p.dt}/part-00000.parquet"] for p in history}


def test_key_set_answers_yes_for_members_and_rarely_for_others():
    rng = np.random.default_rng(7)
    keys = rng.integers(-(2**62), 2**62, 50_000)
    others = rng.integers(-(2**62), 2**62, 200_000)
    found = KeySet(keys)
    assert found.contains(keys).all()
    assert found.contains(others).mean() < 0.03  # ~1.5 %: a false yes only widens a rebuild
    assert sorted(found.keys) == sorted(set(keys.tolist()))
    assert not KeySet(np.zeros(0)).contains(others).any()


def test_index_rows_hash_ids_and_keep_dates():
    silver = pa.table(
        {
            "event_id": ["a", "b"],
            "session_id": ["s", None],
            "event_date": pa.array([D1, D2], pa.date32()),
            "dt": pa.array([D2, D2], pa.date32()),
        }
    )
    index = index_rows(silver, "playback_events")
    assert index.schema == EVENT_INDEX_SCHEMA
    assert index.column("event_key").to_pylist() == list(row_keys(silver, "event_id"))
    assert index.column("event_key")[0] != index.column("event_key")[1]
    assert index.column("event_date").to_pylist() == [D1, D2]
    ads = index_rows(silver.drop_columns(["session_id"]), "ad_events")
    assert ads.column("session_key").null_count == 2


def test_a_rebuilt_partition_rewrites_the_sessions_of_its_events_before_and_after(history):
    # dt2 comes again: e4 moved to D3 (s3 changes its date), e1 is gone, e6 is new (s6, D3)
    fresh = rows(D2, (4, 103, D3), (6, 106, D3))
    scope = resolve_scope(fresh, history, ["2026-11-02"], [], "c", "c", sessions_by_date(history))
    assert scope.mode == INCREMENTAL
    # e4, e1 and e6 changed: the sessions holding them anywhere — s1 (e1 in dt1),
    # s4 (lost e1), s3 and s6
    assert sorted(scope.sessions.keys) == [101, 103, 104, 106]
    # the dates of those sessions before (D2: s3, s4) and after (D1: s1, D3: s3, s6)
    assert scope.dates == ("2026-11-01", "2026-11-02", "2026-11-03")
    assert scope.session_files == tuple(f"/sessions/event_date={d}/part-00000.parquet" for d in scope.dates)
    # read again: dt1's file (s1's rows); never dt3 (s5 is untouched) nor dt2 (rebuilt)
    assert scope.files == ("/silver/dt=2026-11-01/part-00000.parquet",)
    assert sorted(scope.events.keys) == [1, 2, 4, 6]


def test_old_dates_of_affected_sessions_are_rewritten_even_when_no_row_stays_there(tmp_path):
    history = [
        committed(tmp_path, D1, (1, 101, D1)),
        committed(tmp_path, D2, (2, 102, D2)),
    ]
    # dt2 again: s2's only event now starts the day after: D2 must be rewritten (emptied)
    scope = resolve_scope(rows(D2, (2, 102, D3)), history, ["2026-11-02"], [], "c", "c", {})
    assert scope.dates == ("2026-11-02", "2026-11-03")
    assert scope.files == ()  # dt1 holds nothing of s2


def test_a_duplicate_in_another_session_is_read_to_decide_the_winner(tmp_path):
    # dt2 holds s1 = {e7, e8}; e7 is also in dt1 under s2 (dt1's row wins). Rebuilding dt3
    # with e8 (and without e5) affects s1 and s5 — but s1's e7 is decided by dt1's row, so dt1's file
    # is read though its session s2 is not affected
    history = [
        committed(tmp_path, D1, (7, 102, D1), (9, 109, D1)),
        committed(tmp_path, D2, (7, 101, D2), (8, 101, D2)),
        committed(tmp_path, D3, (5, 105, D3)),
    ]
    scope = resolve_scope(rows(D3, (8, 101, D3)), history, ["2026-11-03"], [], "c", "c", {})
    assert sorted(scope.sessions.keys) == [101, 105]  # s5 lost its only event (e5)
    assert sorted(scope.events.keys) == [7, 8]
    assert scope.files == ("/silver/dt=2026-11-01/part-00000.parquet", "/silver/dt=2026-11-02/part-00000.parquet")
    assert scope.dates == ("2026-11-02", "2026-11-03")


def test_a_rejected_partition_keeps_its_committed_rows(history):
    scope = resolve_scope(rows(D2, (4, 103, D2)), history, ["2026-11-02"], ["2026-11-02"], "c", "c", {})
    assert scope.mode == INCREMENTAL and scope.dates == () and scope.files == ()


@pytest.mark.parametrize(
    "previous, complete, rebuilt, reason",
    [
        (None, True, ["2026-11-02"], "no committed sessions"),
        ("old", True, ["2026-11-02"], "content durations changed"),
        ("c", False, ["2026-11-02"], "no event index for dt=2026-11-01"),
        ("c", True, ["2026-11-01", "2026-11-02"], "every committed partition is rebuilt"),
    ],
)
def test_full_rebuild_when_the_committed_state_cannot_say(tmp_path, previous, complete, rebuilt, reason):
    history = [committed(tmp_path, D1, (1, 101, D1), complete=complete), committed(tmp_path, D2, (2, 102, D2))]
    scope = resolve_scope(rows(D2, (2, 102, D2)), history, rebuilt, [], "c", previous, {})
    assert scope.mode == FULL and scope.reason.startswith(reason)
    staying = [p for p in history if p.dt not in rebuilt]
    assert scope.files == tuple(f for p in staying for f in p.files)
    rows_in = pa.table({"session_id": ["x"], "event_id": ["y"]})
    assert scope.wanted(rows_in) == rows_in  # a full rebuild reads whole files


def test_scope_filters_rows_and_sessions_by_key():
    silver = pa.table({"session_id": ["s1", "s2", "s3"], "event_id": ["e1", "e2", "e3"]})
    s_keys, e_keys = row_keys(silver, "session_id"), row_keys(silver, "event_id")
    scope = SessionScope(INCREMENTAL, "", sessions=KeySet(s_keys[:1]), events=KeySet(e_keys[2:]))
    assert scope.wanted(silver).column("event_id").to_pylist() == ["e1", "e3"]
    assert scope.rebuilt(silver).column("session_id").to_pylist() == ["s1"]
    assert scope.kept(silver).column("session_id").to_pylist() == ["s2", "s3"]


def reference_scope(history_rows: dict, fresh: list, replaced: set) -> dict:
    """The scope rules of silver/index.py written out on whole row lists (no index
    files, no bitmaps, no reading order): what resolve_scope must find.

    ``history_rows``: {(dt, file): [(event, session, date)]}; ``fresh``: the rows of the
    replaced dts now.
    """
    before = [r for (dt, _), rs in history_rows.items() if dt in replaced for r in rs]
    staying = {k: rs for k, rs in history_rows.items() if k[0] not in replaced}
    changed = {e for e, _, _ in before + fresh}
    every = before + fresh + [r for rs in staying.values() for r in rs]
    sessions = {s for e, s, _ in every if e in changed}
    dates = {d for _, s, d in every if s in sessions}
    late = {e for rs in staying.values() for e, s, _ in rs if s in sessions}
    files = sorted(k for k, rs in staying.items() if any(s in sessions or e in late for e, s, _ in rs))
    return {
        "sessions": sorted(sessions),
        "events": sorted({e for e, _, _ in fresh} | late),
        "dates": sorted(d.isoformat() for d in dates),
        "files": [f"/silver/dt={dt.isoformat()}/part-{n:05d}.parquet" for dt, n in files],
    }


@pytest.mark.parametrize("seed", range(60))
def test_scope_equals_the_rules_on_random_histories(tmp_path, seed):
    """Random small histories (few ids, so duplicates across partitions, sessions over
    several dates and late copies under other sessions are common), one or two dts
    rebuilt or a new one added: the scope equals the rules applied to every row,
    whatever order the files are read in."""
    rng = np.random.default_rng(seed)
    days = [D1 + dt_.timedelta(days=i) for i in range(int(rng.integers(3, 9)))]
    # few sessions: most files hold an affected one; many: most do not, and their copies
    # of an affected session's ids are what step 3 must find
    sessions = int(rng.choice([12, 60]))

    def random_rows(dt):
        """Rows of one file of ``dt``: event ids unique, dates up to 2 days late."""
        found = {}
        for _ in range(int(rng.integers(0, 6))):
            event = int(rng.integers(1, 40))
            found[event] = (event, int(rng.integers(100, 100 + sessions)), dt - dt_.timedelta(days=int(rng.integers(0, 3))))
        return list(found.values())

    history_rows, partitions = {}, []
    for dt in days:
        index, silver = [], []
        for number in range(int(rng.integers(1, 4))):
            history_rows[(dt, number)] = random_rows(dt)
            path = tmp_path / f"dt={dt.isoformat()}" / f"part-{number:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(rows(dt, *history_rows[(dt, number)]), path)
            index.append(str(path))
            silver.append(f"/silver/dt={dt.isoformat()}/part-{number:05d}.parquet")
        partitions.append(CommittedPartition(dt.isoformat(), tuple(silver), tuple(index)))
    if rng.random() < 0.3:
        replaced = {days[-1] + dt_.timedelta(days=1)}  # a new day
    else:
        replaced = {days[i] for i in rng.choice(len(days), size=int(rng.integers(1, 3)), replace=False)}
    fresh = {dt: random_rows(dt) for dt in sorted(replaced)}
    fresh_table = pa.concat_tables([rows(dt, *rs) for dt, rs in fresh.items()])
    scope = resolve_scope(fresh_table, partitions, [d.isoformat() for d in replaced], [], "c", "c", {})
    expected = reference_scope(history_rows, [r for rs in fresh.values() for r in rs], replaced)
    assert scope.mode == INCREMENTAL
    assert sorted(scope.sessions.keys.tolist()) == expected["sessions"]
    assert sorted(scope.events.keys.tolist()) == expected["events"]
    assert list(scope.dates) == expected["dates"]
    assert list(scope.files) == expected["files"]
