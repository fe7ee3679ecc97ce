"""Which slices a gold run recomputes (beam_pipelines.marts.state.plan), on literal paths.

The end-to-end proof that the result equals a full rebuild is in
test_incremental_silver.py and test_run_sequences.py; here each rule of the plan.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from beam_pipelines import fileio
from beam_pipelines.marts import registry, state
from beam_pipelines.marts.shared import KINDS
from beam_pipelines.marts.spec import partials_of

PARTIALS = partials_of(registry.MARTS)
LAKE = "/lake/silver"


def silver_file(table: str, column: str, day: str, run: str, part: int = 0) -> str:
    return f"{LAKE}/{table}/data/run={run}/{column}={day}/part-{part:05d}.parquet"


def index_file(dataset: str, day: str, run: str, part: int = 0) -> str:
    return f"{LAKE}/event_index/data/run={run}/dataset={dataset}/dt={day}/part-{part:05d}.parquet"


DAYS = ("2026-12-01", "2026-12-02", "2026-12-03")


def release(run: str = "r1", changed: dict | None = None) -> tuple[dict, list[str]]:
    """Silver files of every day written by ``run`` (``changed``: {table: {day: run}})."""
    changed = changed or {}
    files, index = {"silver_content": ["/c.parquet"]}, []
    for kind in KINDS:
        files[kind.table] = []
        for day in DAYS:
            by = changed.get(kind.table, {}).get(day, run)
            files[kind.table].append(silver_file(kind.table, kind.slice, day, by))
            if kind.dedupe:
                index.append(index_file(kind.name, day, by))
    return files, index


def write_state(tmp_path, gold_plan: state.GoldPlan, names=None) -> list[str]:
    """State files for every slice the plan recomputes (empty frames), as a run writes them."""
    paths = []
    for (table, day), inputs in gold_plan.inputs.items():
        kind_partials = [p.name for p in PARTIALS if p.kind.table == table]
        frames = {n: pd.DataFrame({"x": [1]}) for n in (names or kind_partials)}
        path = str(tmp_path / f"{table}-{day}.parquet")
        fileio.write_bytes(path, fileio.parquet_bytes(state.state_rows((table, state.day_number(day)), frames, inputs)))
        paths.append(path)
    return paths


def plan(files, index, state_files, content="c1", full=False) -> state.GoldPlan:
    return state.plan(KINDS, PARTIALS, files, index, content, state_files, full)


def recomputed(p: state.GoldPlan) -> dict[str, tuple[str, ...]]:
    return {t: d for t, d in p.recompute.items() if d}


def test_first_run_and_full_flag_recompute_everything(tmp_path):
    files, index = release()
    first = plan(files, index, None)
    assert (first.mode, first.reason) == (state.FULL, "no gold state yet")
    assert recomputed(first) == {k.table: DAYS for k in KINDS}
    assert sorted(first.files["silver_sessions"]) == sorted(files["silver_sessions"])
    assert plan(files, index, write_state(tmp_path, first), full=True).reason == "--full"


def test_nothing_changed_keeps_every_slice(tmp_path):
    files, index = release()
    again = plan(files, index, write_state(tmp_path, plan(files, index, None)))
    assert again.mode == state.INCREMENTAL and recomputed(again) == {}
    assert len(again.kept) == 3 * len(KINDS)
    assert all(not paths for table, paths in again.files.items() if table != "silver_content")
    assert again.replaced() == []


def test_a_rewritten_sessions_date_is_recomputed_alone(tmp_path):
    files, index = release()
    state_files = write_state(tmp_path, plan(files, index, None))
    files2, index2 = release(changed={"silver_sessions": {"2026-12-02": "r2"}})
    p = plan(files2, index2, state_files)
    assert recomputed(p) == {"silver_sessions": ("2026-12-02",)}
    assert p.files["silver_sessions"] == [silver_file("silver_sessions", "event_date", "2026-12-02", "r2")]
    assert p.replaced() == [("silver_sessions", "2026-12-02")]
    assert p.earlier == ()


def test_a_changed_dt_recomputes_the_later_dts_and_scans_the_earlier_ones(tmp_path):
    files, index = release()
    state_files = write_state(tmp_path, plan(files, index, None))
    files2, index2 = release(changed={"silver_ad_events": {"2026-12-02": "r2"}})
    p = plan(files2, index2, state_files)
    assert recomputed(p) == {"silver_ad_events": ("2026-12-02", "2026-12-03")}
    (scan,) = p.earlier
    assert scan.kind == "ad_events"
    assert scan.recomputed == (index_file("ad_events", "2026-12-02", "r2"), index_file("ad_events", "2026-12-03", "r1"))
    assert scan.others == ((index_file("ad_events", "2026-12-01", "r1"), silver_file("silver_ad_events", "dt", "2026-12-01", "r1"), state.day_number("2026-12-01")),)


def test_a_new_latest_dt_is_the_only_event_slice_recomputed(tmp_path):
    files, index = release()
    state_files = write_state(tmp_path, plan(files, index, None))
    files["silver_playback_events"].append(silver_file("silver_playback_events", "dt", "2026-12-04", "r2"))
    index.append(index_file("playback_events", "2026-12-04", "r2"))
    p = plan(files, index, state_files)
    assert recomputed(p) == {"silver_playback_events": ("2026-12-04",)}
    assert [o[2] for o in p.earlier[0].others] == [state.day_number(d) for d in DAYS]


def test_a_vanished_partition_is_dropped_from_the_state(tmp_path):
    files, index = release()
    state_files = write_state(tmp_path, plan(files, index, None))
    files["silver_sessions"] = files["silver_sessions"][:2]
    p = plan(files, index, state_files)
    assert p.dropped == (("silver_sessions", "2026-12-03"),) and recomputed(p) == {}
    assert p.replaced() == [("silver_sessions", "2026-12-03")]


def test_changed_content_recomputes_every_sessions_slice_only(tmp_path):
    files, index = release()
    state_files = write_state(tmp_path, plan(files, index, None))
    p = plan(files, index, state_files, content="c2")
    assert recomputed(p) == {"silver_sessions": DAYS}


@pytest.mark.parametrize(
    "case, reason",
    [("missing partial", "the marts need partials the gold state does not hold"), ("no index", "no event index")],
)
def test_falls_back_to_a_full_rebuild_when_the_state_cannot_say(tmp_path, case, reason):
    files, index = release()
    first = plan(files, index, None)
    if case == "missing partial":
        state_files = write_state(tmp_path, first, names=["content_sums"])
    else:
        state_files = write_state(tmp_path, first)
        files["silver_ad_events"][2] = silver_file("silver_ad_events", "dt", "2026-12-03", "r2")
        index = [p for p in index if "dataset=ad_events/dt=2026-12-01" not in p]
    p = plan(files, index, state_files)
    assert p.mode == state.FULL and p.reason.startswith(reason)


def test_state_frames_round_trip_with_their_dtypes():
    frame = pd.DataFrame(
        {
            "event_date": pd.Series([20_000, 20_001], dtype="int64"),
            "user_id": ["u1", None],
            "startup_ms_p50": pd.array([5, None], dtype="Int64"),
            "bitrate": [1.5, float("nan")],
        }
    )
    back = state.bytes_frame(state.frame_bytes(frame))
    pd.testing.assert_frame_equal(back, frame)
    assert json.loads(plan(*release(), None).inputs[("silver_sessions", DAYS[0])])["content"] == "c1"


def test_a_state_of_another_version_is_recomputed(tmp_path, monkeypatch):
    files, index = release()
    state_files = write_state(tmp_path, plan(files, index, None))
    monkeypatch.setattr(state, "STATE_VERSION", state.STATE_VERSION + 1)
    p = plan(files, index, state_files)
    assert recomputed(p) == {k.table: DAYS for k in KINDS}


def test_by_date_marts_rewrite_the_recomputed_and_vanished_sessions_dates_while_their_dimensions_hold(tmp_path):
    files, index = release()
    state_files = write_state(tmp_path, plan(files, index, None))
    files2, index2 = release(changed={"silver_sessions": {"2026-12-02": "r2"}, "silver_ad_events": {"2026-12-03": "r2"}})
    files2["silver_sessions"] = [f for f in files2["silver_sessions"] if "2026-12-03" not in f]  # a date emptied
    p = plan(files2, index2, state_files)
    by_date = [m.table for m in registry.MARTS if m.by_date]
    same = {t: "fp" for t in by_date}
    rewritten = state.dates_to_rewrite(p, registry.MARTS, same, same)
    # ad slices feed no by_date mart; the vanished date's rows are deleted
    assert rewritten.by_date == {t: ("2026-12-02", "2026-12-03") for t in by_date}
    assert rewritten.rewritten("gold_daily_kpis") is None  # not by_date: whole
    # a mart whose dimensions changed, or that has no fingerprint yet, is rewritten whole
    changed = state.dates_to_rewrite(p, registry.MARTS, same, {**same, "gold_content_daily": "old"})
    assert set(changed.by_date) == set(by_date) - {"gold_content_daily"}
    assert state.dates_to_rewrite(p, registry.MARTS, same, {}).by_date == {}
    # a full run rewrites everything
    assert state.dates_to_rewrite(plan(files2, index2, None), registry.MARTS, same, same).by_date == {}


def test_a_dimension_fingerprint_follows_the_rows_not_their_files(tmp_path):
    import pyarrow as pa

    def write(name, rows):
        path = str(tmp_path / name)
        fileio.write_bytes(path, fileio.parquet_bytes(pa.table({"content_id": [r[0] for r in rows], "title": [r[1] for r in rows]})))
        return path

    one = state.dims_fingerprint([write("a.parquet", [("c1", "A"), ("c2", "B")])], ["content_id", "title"])
    split = state.dims_fingerprint([write("b.parquet", [("c2", "B")]), write("c.parquet", [("c1", "A")])], ["content_id", "title"])
    retitled = state.dims_fingerprint([write("d.parquet", [("c1", "A"), ("c2", "B2")])], ["content_id", "title"])
    assert one == split != retitled
