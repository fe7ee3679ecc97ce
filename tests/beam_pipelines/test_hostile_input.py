"""Regression tests for the red-team findings of issue 14, through the real ``ott`` binary.

Each test replays one finding on generated bronze (``ott generate --days 2 --users 300
--events-per-day 5000 --seed 7``, the red team's data) and checks the written rule:
1. a playback ``event_ts`` that is year 0 in UTC is ``invalid_timestamp`` (was an
   OverflowError in sessions);
2. the same value in an ad event is quarantined too (it passed silver and broke gold);
3. a 400-digit ``bid_usd`` and an underflowing ``budget_usd`` are ``out_of_range`` (were
   ``inf`` — bare ``Infinity`` in gold — and a silent 0);
4. a FIFO, directory, dangling symlink or symlink loop named ``part-*.csv`` is a one-line
   error (the FIFO hung ``ott silver``, the others were skipped silently);
5. a failure inside the gold Beam pipeline is one line on stderr, no traceback;
6. a pass-through flag no PipelineOptions class defines is a one-line error, exit 2.

Counts are checked against the generator's manifest (its truth per partition) and the
run audit ``runs/<run_id>.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DT = "2026-11-02"
YEAR_ZERO = "0001-01-01T00:00:00+14:00"  # valid form; 0000-12-31T10:00:00Z in UTC
BEAM_TIMEOUT = 300
RUN_ID = "hostile"  # silver --run-id: the audit is runs/hostile.json


def ott(ott_bin: str, *args: str, timeout: float = BEAM_TIMEOUT, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, **env}
    environ.pop("OTT_DEBUG", None)
    return subprocess.run([ott_bin, *args], capture_output=True, text=True, timeout=timeout, env=environ)


@pytest.fixture(scope="module")
def generated(ott_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("hostile") / "generated"
    args = ("--days", "2", "--users", "300", "--events-per-day", "5000", "--seed", "7")
    result = ott(ott_bin, "generate", "--data-dir", str(data), *args)
    assert result.returncode == 0, result.stderr
    return data


def copy_of(generated: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(generated, data, symlinks=True)
    return data


def part_file(data: Path, dataset: str) -> Path:
    return data / "bronze" / dataset / f"dt={DT}" / f"part-{DT.replace('-', '')}-00000.csv"


def replace_line(path: Path, number: int, pattern: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    new = re.sub(pattern, value, lines[number - 1], count=1)
    assert new != lines[number - 1], f"line {number} of {path} has no match for {pattern}"
    lines[number - 1] = new
    path.write_text("\n".join(lines), encoding="utf-8")


def manifest(data: Path, dataset: str) -> dict[str, int]:
    return json.loads((data / "bronze" / "_manifest" / f"dt={DT}.json").read_text())["contributions"][DT][dataset]


def audit(data: Path, dataset: str, dt: str = DT, run_id: str = RUN_ID) -> dict[str, int]:
    record = json.loads((data / "runs" / f"{run_id}.json").read_text())
    [partition] = [p for p in record["partitions"] if p["dataset"] == dataset and p["dt"] == dt]
    return partition


def strict_json(line: str) -> dict:
    """A JSON object; NaN, Infinity and -Infinity are errors, not numbers."""

    def reject(constant: str) -> None:
        raise ValueError(f"non-finite number {constant} in {line[:200]}")

    return json.loads(line, parse_constant=reject)


def gold_rows(data: Path, table: str) -> list[dict]:
    return [strict_json(line) for line in (data / "gold" / f"{table}.jsonl").read_text().splitlines() if line]


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ 1. year 0 in silver


@pytest.fixture(scope="module")
def year_zero_playback(ott_bin: str, generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = copy_of(generated, tmp_path_factory.mktemp("repro1"))
    replace_line(part_file(data, "playback_events"), 6, rf"{DT}T[0-9:.]*Z", YEAR_ZERO)
    assert_ok(ott(ott_bin, "silver", "--data-dir", str(data), "--run-id", RUN_ID))
    return data


def test_1_year_zero_playback_timestamp_is_invalid_not_a_crash(year_zero_playback: Path) -> None:
    truth, got = manifest(year_zero_playback, "playback_events"), audit(year_zero_playback, "playback_events")
    assert got["invalid_timestamp"] == truth["invalid_timestamp"] + 1
    assert got["rows_valid"] == truth["rows_valid"] - 1
    assert got["rows_read"] == got["rows_valid"] + got["rows_quarantined"] + got["duplicates_dropped"]


# ------------------------------------------------------------------- 2. year 0 in gold


def test_2_year_zero_ad_timestamp_is_quarantined_and_gold_runs(ott_bin: str, generated: Path, tmp_path: Path) -> None:
    data = copy_of(generated, tmp_path)
    replace_line(part_file(data, "ad_events"), 3, rf"^{DT}T[0-9:.]*Z", YEAR_ZERO)
    assert_ok(ott(ott_bin, "silver", "--data-dir", str(data), "--run-id", RUN_ID))
    truth, got = manifest(data, "ad_events"), audit(data, "ad_events")
    assert got["invalid_timestamp"] == truth["invalid_timestamp"] + 1
    assert got["rows_valid"] == truth["rows_valid"] - 1
    assert_ok(ott(ott_bin, "gold", "--data-dir", str(data)))
    dates = {row["event_date"] for row in gold_rows(data, "gold_ads_daily")}
    assert dates and all(d >= "0001-01-01" and d.startswith("2026-") for d in dates)


# ------------------------------------------------------- 3. overflowing decimals in gold


def test_3_unrepresentable_decimals_are_out_of_range_not_infinity(
    ott_bin: str, generated: Path, tmp_path: Path
) -> None:
    data = copy_of(generated, tmp_path)
    campaigns = data / "bronze" / "dims" / "campaigns.csv"
    lines = campaigns.read_text().split("\n")
    header = lines[0].split(",")
    bid, budget = header.index("bid_usd"), header.index("budget_usd")
    # every campaign id whose line is a plain (unquoted) record we can edit by splitting
    editable = [
        i for i, line in enumerate(lines[1:], 1) if line and '"' not in line and len(line.split(",")) == len(header)
    ]
    overflow, underflow = editable[0], editable[1]
    for index, column, value in ((overflow, bid, "9" * 400), (underflow, budget, "0." + "0" * 400 + "1")):
        fields = lines[index].split(",")
        fields[column] = value
        lines[index] = ",".join(fields)
    campaigns.write_text("\n".join(lines))
    rejected = {lines[overflow].split(",")[0], lines[underflow].split(",")[0]}

    assert_ok(ott(ott_bin, "silver", "--data-dir", str(data), "--run-id", RUN_ID))
    assert_ok(ott(ott_bin, "gold", "--data-dir", str(data)))
    assert audit(data, "campaigns", dt="")["out_of_range"] >= 2
    for table in ("gold_ads_daily", "gold_campaign_pacing", "gold_daily_kpis"):
        gold_rows(data, table)  # strict parse: no Infinity anywhere
    assert not rejected & {row["campaign_id"] for row in gold_rows(data, "gold_campaign_pacing")}
    assert not rejected & {row["campaign_id"] for row in gold_rows(data, "gold_ads_daily")}


# --------------------------------------------------------- 4. unreadable bronze entries


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "missing.csv")


def _loop(path: Path) -> None:
    path.symlink_to(path)


@pytest.mark.parametrize(
    "make, kind",
    [(_fifo, "a FIFO"), (_directory, "a directory"), (_dangling, "a dangling symlink"), (_loop, "a symlink loop")],
)
def test_4_non_regular_bronze_entry_is_a_one_line_error(
    ott_bin: str, generated: Path, tmp_path: Path, make, kind: str
) -> None:
    data = copy_of(generated, tmp_path)
    bad = part_file(data, "playback_events").with_name("part-99999.csv")
    make(bad)
    result = ott(ott_bin, "silver", "--data-dir", str(data), timeout=120)  # the FIFO used to hang here
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("ott silver: error: ")
    assert str(bad) in result.stderr and kind in result.stderr


# -------------------------------------------------------------- 5. one line, no traceback


@pytest.fixture(scope="module")
def corrupt_silver(ott_bin: str, generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = copy_of(generated, tmp_path_factory.mktemp("repro5"))
    assert_ok(ott(ott_bin, "silver", "--data-dir", str(data), "--run-id", RUN_ID))
    # a silver data file that is no Parquet: reading it fails inside the gold Beam pipeline
    sessions = sorted(p for p in data.rglob("*.parquet") if "silver_sessions" in str(p))
    assert sessions
    for path in sessions:
        path.write_bytes(b"not parquet at all")
    return data


@pytest.mark.parametrize("mode", ["in_memory", "multi_processing"])
def test_5_failure_inside_the_gold_pipeline_is_one_line(
    ott_bin: str, corrupt_silver: Path, tmp_path: Path, mode: str
) -> None:
    log_file = tmp_path / "details.log"
    flags = [f"--direct_running_mode={mode}"] + (["--direct_num_workers=2"] if mode == "multi_processing" else [])
    result = ott(ott_bin, "gold", "--data-dir", str(corrupt_silver), *flags, OTT_LOG_FILE=str(log_file))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("ott gold: error: ") and "Traceback" not in result.stderr
    assert "Parquet" in result.stderr  # the line names the problem, not "Traceback (most recent…"
    assert str(log_file) in result.stderr
    assert "Traceback" in log_file.read_text()  # the details are kept, off the console


# ---------------------------------------------------------------------- 6. strict flags


@pytest.mark.parametrize("command", ["silver", "gold", "run"])
@pytest.mark.parametrize("flag", ["--bogus-flag", "--data_dir"])
def test_6_unknown_flag_is_a_one_line_error(ott_bin: str, generated: Path, command: str, flag: str) -> None:
    extra = ["--skip-generate"] if command == "run" else []
    result = ott(ott_bin, command, *extra, flag, str(generated), timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"ott {command}: error: unknown flag {flag}")


def test_6_beam_flags_still_pass(ott_bin: str, tmp_path: Path) -> None:
    # the flags pass the check: the error is the missing silver, not the flags
    flags = ["--runner", "DirectRunner", "--direct_num_workers=2", "--direct_running_mode", "in_memory"]
    result = ott(ott_bin, "gold", "--data-dir", str(tmp_path / "empty"), *flags, timeout=120)
    assert result.returncode == 1
    assert "silver table missing" in result.stderr and "unknown flag" not in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--runner", "DataflowRunner", "--project", "p", "--region", "europe-west1"],
        ["--direct_num_workers=2", "--direct_running_mode=multi_processing"],
        ["--dry_run=True", "--no_auth", "--setup_file", "./setup.py", "--temp_location", "gs://b/tmp"],
        ["--staging_location=gs://b/s", "--labels", "a=b", "--job_name", "j", "--experiments", "x"],
    ],
)
def test_6_every_pipeline_options_flag_is_accepted(argv: list[str]) -> None:
    from beam_pipelines.options import check_pass_through_flags

    check_pass_through_flags(argv)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--bogus-flag"], "unknown flag --bogus-flag"),
        (["--data_dir", "D"], "unknown flag --data_dir (did you mean --data-dir?)"),
        (["--run=DataflowRunner"], "unknown flag --run"),  # Beam does not expand abbreviations
        (["stray"], "unexpected argument 'stray'"),
        (["--direct_num_workers=two"], "invalid int value: 'two'"),
    ],
)
def test_6_anything_else_is_rejected(argv: list[str], message: str) -> None:
    from beam_pipelines.cli_support import OttError
    from beam_pipelines.options import check_pass_through_flags
    from beam_pipelines.silver_pipeline import build_parser

    with pytest.raises(OttError) as info:
        check_pass_through_flags(argv, build_parser())
    assert message in str(info.value)
