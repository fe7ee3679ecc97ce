"""SPEC §12's invariant, through the real stages: after any sequence of runs over any
partitions — in order, out of order, reruns of an old dt, late events (the generator
spills each day's late events into later dt folders), a partition rejected then
accepted — the current release equals, cell for cell, a full rebuild from the same
accepted bronze (silver tables and the gold exports)."""

from __future__ import annotations

import csv
import random
import shutil

import pytest
from silver_checks import silver_contents

from beam_pipelines import catalog, gold_pipeline, silver_pipeline
from beam_pipelines.cli_support import OttError
from beam_pipelines.marts import registry
from beam_pipelines.schema import GOLD_TABLES
from scripts import generate

SCALE = ["--days", "3", "--users", "200", "--events-per-day", "2500", "--seed", "13"]
ACCEPT = ["--max-quarantine-rate", "1"]
REJECT = ["--max-quarantine-rate", "0"]  # any quarantined row rejects the partition
BY_DATE = {m.table for m in registry.MARTS if m.by_date}


def exports(data_dir) -> dict[str, bytes]:
    return {t: open(catalog.gold_jsonl_file(str(data_dir), t), "rb").read() for t in GOLD_TABLES}


def bronze_dts(data_dir) -> list[str]:
    return sorted(p.name.removeprefix("dt=") for p in (data_dir / "bronze" / "playback_events").iterdir())


@pytest.fixture(scope="module")
def full_rebuild(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("full") / "data"
    assert generate.main(["--data-dir", str(data_dir), *SCALE]) == 0
    silver_pipeline.run(["--data-dir", str(data_dir), *ACCEPT])
    gold_pipeline.run(["--data-dir", str(data_dir)])
    return data_dir, silver_contents(data_dir), exports(data_dir)


def plan_sequence(rng: random.Random, dts: list[str]) -> list[tuple[str, str, bool]]:
    """A random sequence of (stage, dt, accept) steps that ends with every dt accepted."""
    steps: list[tuple[str, str, bool]] = []
    order = dts[:] if rng.random() < 0.3 else rng.sample(dts, len(dts))
    rejected_first = rng.choice(dts[:3])  # generated days (the later dts hold a few late rows)
    for dt in order:
        if dt == rejected_first:
            steps.append(("silver", dt, False))  # rejected: never published...
            if rng.random() < 0.5:
                steps.append(("gold", "", True))  # ...not even by a gold run in between
        steps.append(("silver", dt, True))
        if rng.random() < 0.4:
            steps.append(("gold", "", True))
        if rng.random() < 0.3:
            steps.append(("silver", rng.choice(dts), True))  # rerun an older (or any) dt
    steps.append(("gold", "", True))
    return steps


@pytest.mark.parametrize("seed", [1, 2])
def test_any_sequence_of_runs_equals_a_full_rebuild(full_rebuild, tmp_path, seed):
    source, want_silver, want_exports = full_rebuild
    data_dir = tmp_path / "data"
    assert generate.main(["--data-dir", str(data_dir), *SCALE]) == 0
    steps = plan_sequence(random.Random(seed), bronze_dts(data_dir))
    computed = []  # per gold run: whether it computed any slice (left a state)
    for stage, dt, accept in steps:
        if stage == "gold":
            try:
                plan = gold_pipeline.run(["--data-dir", str(data_dir)])["plan"]
                # once a gold run computed a slice, every later one keeps state: incremental,
                # and rewrites the by_date marts by date (the dimensions never change here)
                assert plan["mode"] == "incremental" or not any(computed), (plan, steps)
                assert plan["mode"] == "full" or set(plan["marts_by_date"]) == BY_DATE, (plan, steps)
                computed.append(any(plan["slices_recomputed"].values()))
            except OttError as exc:  # no silver release yet (the first silver run was rejected)
                assert "silver table missing" in str(exc)
            continue
        argv = ["--data-dir", str(data_dir), "--dt", dt, *(ACCEPT if accept else REJECT)]
        if accept:
            silver_pipeline.run(argv)
        else:
            with pytest.raises(OttError, match=f"dt={dt}"):
                silver_pipeline.run(argv)
    assert silver_contents(data_dir) == want_silver, steps
    assert exports(data_dir) == want_exports, steps


def test_a_changed_dimension_rewrites_whole_the_by_date_marts_that_read_it(tmp_path):
    """content_daily and genre_daily read the content dimension, qoe_daily none: after a
    retitle only qoe_daily is rewritten by date, and every export equals a full rebuild
    (the kept dates' titles too)."""
    data_dir = tmp_path / "data"
    scale = ["--days", "8", "--users", "150", "--events-per-day", "1500", "--seed", "29"]
    assert generate.main(["--data-dir", str(data_dir), *scale]) == 0
    silver_pipeline.run(["--data-dir", str(data_dir), *ACCEPT])
    gold_pipeline.run(["--data-dir", str(data_dir)])
    content = data_dir / "bronze" / "dims" / "content.csv"
    with content.open(encoding="utf-8-sig", newline="") as f:
        head, *rows = list(csv.reader(f))
    title = head.index("title")
    with content.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(head)
        # only titles change: defective rows (a missing title among them) stay as they are
        writer.writerows([*r[:title], f"Restored {r[title]}", *r[title + 1 :]] if len(r) == len(head) and r[title] else r for r in rows)
    dts = bronze_dts(data_dir)
    silver_pipeline.run(["--data-dir", str(data_dir), "--dt", dts[-1], *ACCEPT])  # late rows of the last days
    plan = gold_pipeline.run(["--data-dir", str(data_dir)])["plan"]
    assert plan["mode"] == "incremental" and set(plan["marts_by_date"]) == {"gold_qoe_daily"}
    assert dts[0] not in plan["slices_recomputed"]["silver_sessions"]  # kept dates exist to go stale

    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(data_dir / "bronze", rebuilt / "bronze")
    silver_pipeline.run(["--data-dir", str(rebuilt), *ACCEPT])
    gold_pipeline.run(["--data-dir", str(rebuilt)])
    assert exports(data_dir) == exports(rebuilt)
    assert b"Restored " in exports(data_dir)["gold_content_daily"]
