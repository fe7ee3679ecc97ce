"""Fuzz suite (issue 14): hostile bronze never crashes a stage, drops a record or makes Infinity.

Hypothesis builds whole bronze data sets from a few hundred mutated rows each
(``fuzz_bronze``: quoting, BOM, CRLF, reordered/extra columns, blank lines, bad UTF-8,
huge fields, control characters, out-of-range timestamps/decimals/integers, empty
fields, duplicates, unknown and hostile dimension keys). Each example costs one real
``ott silver`` + ``ott gold`` run, so cases are batched: the CI budget is
``FUZZ_EXAMPLES`` × ``FUZZ_CASES`` ≥ 2,000 cases (env ``OTT_FUZZ_EXAMPLES`` /
``OTT_FUZZ_CASES`` change it; ``bench/fuzz.py --cases 20000`` is the long run).

Checked per example, through the ``ott`` binary:
- both stages exit 0 and print no traceback;
- per partition of the run audit ``runs/<run_id>.json``: rows_read = rows_valid +
  rows_quarantined + duplicates_dropped, the reasons add up to rows_quarantined, and
  rows_read equals the records counted with Python's csv module *and* the records the
  test wrote (nothing dropped silently);
- the audit's counts equal the outcome the mutation catalog predicts, reason by reason
  (partitions holding a case the contract leaves open are checked for conservation only);
- every gold export ``gold/<table>.jsonl`` parses with NaN/Infinity rejected, and
  ``gold_data_quality`` repeats the audit's counts;
- the independent DuckDB reference (``tests/reference``) run on the same bronze gives the
  same quality counts, quarantine and nine gold tables (a differential test on hostile
  input, where the edge fixture only has hand-picked rows).

Shrinking is off by default (each step is a Beam run); set ``OTT_FUZZ_SHRINK=1`` to
minimise a failing example.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from beam_pipelines.schema import GOLD_TABLES, QUARANTINE_REASONS, TABLE_KEYS
from tests.beam_pipelines.fuzz_bronze import (
    DTS,
    FILES_PER_DT,
    build_bronze,
    count_records,
    dim_cases,
    event_cases,
    file_formats,
    strict_json_rows,
    write_bronze,
)
from tests.reference.compare import assert_frames_match, load_gold, load_table
from tests.reference.duckdb_reference import compute_reference

FUZZ_EXAMPLES = int(os.environ.get("OTT_FUZZ_EXAMPLES", "5"))
FUZZ_CASES = int(os.environ.get("OTT_FUZZ_CASES", "420"))  # 5 × 420 = 2,100 cases in CI
PHASES = (Phase.explicit, Phase.generate) + ((Phase.shrink,) if os.environ.get("OTT_FUZZ_SHRINK") else ())
COUNT_KEYS = ("rows_read", "rows_valid", "rows_quarantined", "duplicates_dropped") + QUARANTINE_REASONS
RUN_ID = "fuzz"


def ott(ott_bin: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OTT_DEBUG"}
    return subprocess.run([ott_bin, *args], capture_output=True, text=True, timeout=timeout, env=env)


def assert_clean_exit(result: subprocess.CompletedProcess, stage: str) -> None:
    assert result.returncode == 0, f"ott {stage} failed:\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


def check_example(ott_bin: str, data: Path, dim_list, cases, formats) -> dict:
    """Build, run silver + gold, check every property; returns the audit partitions."""
    bronze = build_bronze(dim_list, cases)
    write_bronze(bronze, data, formats)

    # fuzzed partitions quarantine far more than the default 5% expectation on purpose
    silver = ott(ott_bin, "silver", "--data-dir", str(data), "--run-id", RUN_ID, "--max-quarantine-rate", "1")
    assert_clean_exit(silver, "silver")
    audit = json.loads((data / "runs" / f"{RUN_ID}.json").read_text())
    partitions = {(p["dataset"], p["dt"]): p for p in audit["partitions"]}
    expected = bronze.expected()
    assert set(partitions) == set(expected), "a partition was skipped or invented"

    written: dict[tuple[str, str], int] = {}
    for (ds, index), records in bronze.files.items():
        key = (ds, DTS[index // FILES_PER_DT])
        written[key] = written.get(key, 0) + len(records)
    for (ds, dt), got in partitions.items():
        where = f"{ds} dt={dt or '-'}"
        assert got["rows_read"] == got["rows_valid"] + got["rows_quarantined"] + got["duplicates_dropped"], where
        assert got["rows_quarantined"] == sum(got[r] for r in QUARANTINE_REASONS), where
        bronze_dir = data / "bronze" / (f"{ds}/dt={dt}" if dt else "dims")
        files = sorted(bronze_dir.glob("part-*.csv")) if dt else [bronze_dir / f"{ds}.csv"]
        assert got["rows_read"] == sum(count_records(f) for f in files), f"{where}: rows_read ≠ csv-module count"
        if dt:
            assert got["rows_read"] == written[(ds, dt)], f"{where}: rows_read ≠ records written"
        want = expected[(ds, dt)]
        if want is not None:
            mismatch = {k: (got[k], want.get(k, 0)) for k in COUNT_KEYS if got[k] != want.get(k, 0)}
            assert not mismatch, f"{where}: audit vs catalog (got, expected): {mismatch}"

    assert_clean_exit(ott(ott_bin, "gold", "--data-dir", str(data)), "gold")
    exports = sorted((data / "gold").glob("*.jsonl"))
    assert [p.stem for p in exports] == sorted(GOLD_TABLES)
    rows = {path.stem: strict_json_rows(path) for path in exports}  # raises on NaN / Infinity
    quality = {(r["dataset"], r["dt"] or ""): r for r in rows["gold_data_quality"]}
    for key, got in partitions.items():
        for k in ("rows_read", "rows_valid", "rows_quarantined", "duplicates_dropped"):
            assert quality[key][k] == got[k], f"gold_data_quality {key} {k}"
    assert_matches_reference(data, partitions)
    return partitions


def assert_matches_reference(data: Path, partitions: dict) -> None:
    """The DuckDB reference on the same bronze: same counts, quarantine and gold tables."""
    ref = compute_reference(data)
    for row in ref.quality.to_dict("records"):
        key = (row["dataset"], str(row["dt"]) if row["dt"] else "")
        diff = {k: (partitions[key][k], row[k]) for k in COUNT_KEYS if partitions[key][k] != row[k]}
        assert not diff, f"{key}: audit vs reference (pipeline, reference): {diff}"
    for table in GOLD_TABLES:
        assert_frames_match(load_gold(data, table), ref.gold[table], keys=TABLE_KEYS[table])
    quarantine = load_table(data, "silver", "quarantine")[list(ref.quarantine.columns)]
    assert_frames_match(quarantine, ref.quarantine, keys=["dataset", "dt", "source_file", "line_number"])


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    phases=PHASES,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
@given(
    dim_list=st.lists(dim_cases, min_size=10, max_size=40),
    cases=st.lists(event_cases, min_size=FUZZ_CASES, max_size=FUZZ_CASES),
    formats=st.lists(file_formats, min_size=8, max_size=8),
)
def test_hostile_rows_never_crash_drop_or_overflow(
    ott_bin: str, tmp_path_factory: pytest.TempPathFactory, dim_list, cases, formats
) -> None:
    check_example(ott_bin, tmp_path_factory.mktemp("fuzz"), dim_list, cases, formats)


# ------------------------------------------------------- unreadable bronze entries


def _make_entry(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "dangling":
        path.symlink_to(path.parent / "gone.csv")
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "socket":
        sock, cwd = socket.socket(socket.AF_UNIX), os.getcwd()
        os.chdir(path.parent)  # a relative bind: tmp paths can exceed AF_UNIX's 108 bytes
        try:
            sock.bind(path.name)
        finally:
            os.chdir(cwd)
            sock.close()


@settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(("fifo", "directory", "dangling", "loop", "socket")),
    dataset=st.sampled_from(("playback_events", "ad_events")),
    dt=st.sampled_from(DTS),
    name=st.from_regex(r"part-[a-z0-9_-]{1,12}\.csv", fullmatch=True),
    cases=st.lists(event_cases, min_size=20, max_size=20),
)
def test_non_regular_bronze_entries_are_one_line_errors(
    ott_bin: str, tmp_path_factory: pytest.TempPathFactory, kind, dataset, dt, name, cases
) -> None:
    data = tmp_path_factory.mktemp("entries")
    write_bronze(build_bronze([], cases), data, [])
    folder = data / "bronze" / dataset / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    bad = folder / name
    if bad.exists() or bad.is_symlink():
        bad.unlink()
    _make_entry(bad, kind)
    result = ott(ott_bin, "silver", "--data-dir", str(data), timeout=120)  # a FIFO must not hang
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("ott silver: error: bronze entry")
    assert str(bad) in result.stderr


def test_every_mutation_once_has_its_catalogued_outcome(ott_bin: str, tmp_path: Path) -> None:
    """The catalog itself, deterministically: every mutation × dataset × a few parameters."""
    from tests.beam_pipelines.fuzz_bronze import MUTATIONS, PLAIN, Case, DimCase, FileFormat

    cases = [
        Case(dataset, (i + k) % (len(DTS) * FILES_PER_DT), mutation, 7919 * i + k, text)
        for i, mutation in enumerate(sorted(MUTATIONS))
        for dataset in ("playback_events", "ad_events")
        for k, text in enumerate(("", " \t", "\x0c\xa0,\"\x01🙂"))
    ]
    dims = [DimCase(ds, a, b, c) for ds in ("users", "content", "campaigns") for a, b, c in
            [(0, 0, 0), (1, 1, 1), (2, 3, 5), (4, 4, 7), (5, 6, 13), (6, 2, 8), (12, 14, 9), (3, 5, 2)]]
    formats = [PLAIN, FileFormat(True, True, True, (3, 1, 2, 0) * 4, 2, True, False)]
    check_example(ott_bin, tmp_path, dims, cases, formats)
