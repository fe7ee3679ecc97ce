"""Incremental silver (SPEC §12) when bronze changes between runs: a partition re-delivered
with rows dropped, late rows landing in another dt, the same event_id arriving in
another dt under another session, event times moved across midnight. After every such
sequence of ``ott silver --dt`` runs, silver (sessions and the event index included) and
the gold exports equal a full rebuild of the final bronze in a fresh data dir.

The generated sequences of ``test_run_sequences`` never change a partition's content
between runs; these do, which is what the incremental session rebuild must get right.
"""

from __future__ import annotations

import csv
import datetime as dt_
import io
import random
import re
import shutil
from pathlib import Path

import pytest
from silver_checks import silver_contents
from test_run_sequences import exports

from beam_pipelines import gold_pipeline, silver_pipeline
from scripts import generate

SCALE = ["--days", "3", "--users", "150", "--events-per-day", "1500", "--seed", "21"]
ACCEPT = ["--max-quarantine-rate", "1"]


def playback_dts(data_dir: Path) -> list[str]:
    return sorted(p.name.removeprefix("dt=") for p in (data_dir / "bronze" / "playback_events").iterdir())


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    path.write_text(out.getvalue(), encoding="utf-8")


def dt_files(data_dir: Path, dt: str) -> list[Path]:
    return sorted((data_dir / "bronze" / "playback_events" / f"dt={dt}").glob("part-*.csv"))


def mutate(rng: random.Random, data_dir: Path, dts: list[str], step: int) -> tuple[str, str]:
    """Change the playback bronze of one dt; returns (what, dt) — the dt to rerun."""
    what = rng.choice(["drop", "drop_sessions", "late", "other_session", "move_sessions"])
    target = rng.choice(dts)
    if what == "drop":  # a partition re-delivered with a tenth of its rows missing
        path = rng.choice(dt_files(data_dir, target))
        header, rows = read_rows(path)
        write_rows(path, header, [r for r in rows if rng.random() > 0.1])
    elif what == "drop_sessions":  # ... or without some sessions at all
        path = rng.choice(dt_files(data_dir, target))
        header, rows = read_rows(path)
        gone = set(rng.sample(sorted({r[header.index("session_id")] for r in rows}), 3))
        write_rows(path, header, [r for r in rows if r[header.index("session_id")] not in gone])
    elif what in ("late", "other_session"):
        # rows of another dt arrive (again) in ``target``: late events of their sessions,
        # or the same event ids under another session of ``target``
        source = rng.choice([d for d in dts if d != target])
        header, rows = read_rows(rng.choice(dt_files(data_dir, source)))
        picked = rng.sample(rows, min(len(rows), 40))
        if what == "other_session":
            _, mine = read_rows(dt_files(data_dir, target)[0])
            sessions = sorted({r[header.index("session_id")] for r in mine})
            for r in picked:
                r[header.index("session_id")] = rng.choice(sessions)
        write_rows(dt_files(data_dir, target)[0].with_name(f"part-zz-{step:03d}.csv"), header, picked)
    else:  # whole sessions move back 90 minutes: a new start, some cross midnight
        path = rng.choice(dt_files(data_dir, target))
        header, rows = read_rows(path)
        ts, sid = header.index("event_ts"), header.index("session_id")
        moved = set(rng.sample(sorted({r[sid] for r in rows}), max(1, len(rows) // 40)))
        for r in rows:
            if r[sid] in moved and re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", r[ts]):
                when = dt_.datetime.fromisoformat(r[ts][:19]) - dt_.timedelta(minutes=90)
                r[ts] = when.isoformat() + r[ts][19:]
        write_rows(path, header, rows)
    return what, target


def gold(data_dir: Path) -> dict:
    """An ``ott gold`` run; returns its plan (mode, reason, slices)."""
    return gold_pipeline.run(["--data-dir", str(data_dir)])["plan"]


def silver(data_dir: Path, *args: str) -> dict:
    return silver_pipeline.run(["--data-dir", str(data_dir), *args, *ACCEPT])


@pytest.mark.parametrize("seed", [3, 4])
def test_changed_partitions_rerun_one_by_one_equal_a_full_rebuild(tmp_path, seed):
    rng = random.Random(seed)
    data_dir = tmp_path / "daily"
    assert generate.main(["--data-dir", str(data_dir), *SCALE]) == 0
    dts = playback_dts(data_dir)
    for i, dt in enumerate(dts):  # the daily runs: after the first, each one incremental
        sessions = silver(data_dir, "--dt", dt)["sessions"]
        if i:
            assert sessions["mode"] == "incremental", sessions
    assert gold(data_dir)["mode"] == "full"  # no gold state yet
    steps = []
    for step in range(5):
        what, dt = mutate(rng, data_dir, dts, step)
        silver(data_dir, "--dt", dt)
        steps.append((what, dt))
        if rng.random() < 0.4:
            again = rng.choice(dts)  # a rerun of an unchanged dt changes nothing
            silver(data_dir, "--dt", again)
            steps.append(("rerun", again))
        if step % 2:  # gold catches up with one change, or with several
            assert gold(data_dir)["mode"] == "incremental", steps
    assert gold(data_dir)["mode"] == "incremental", steps

    full = tmp_path / "full"
    shutil.copytree(data_dir / "bronze", full / "bronze")
    silver(full)
    gold_pipeline.run(["--data-dir", str(full)])
    assert silver_contents(data_dir) == silver_contents(full), steps
    assert exports(data_dir) == exports(full), steps
