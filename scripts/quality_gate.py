"""The data-quality gates of the Airflow DAG: silver → gold, and gold → warehouse.

**Silver gate** (:func:`enforce_quality_gate`) — the DAG's report of the expectation that
``ott silver --max-quarantine-rate`` enforces before publishing (SPEC §11).

Reads the run audit of the latest silver run that processed one ingest date
(``runs/<run_id>.json``: per partition ``rows_read``, ``rows_valid``,
``duplicates_dropped``, ``rows_quarantined``, one key per quarantine reason and its
``status``) — both event datasets at ``dt`` plus the three dimension files — and fails
when

- an event partition's quarantine rate ``rows_quarantined / rows_read`` exceeds the
  threshold (strictly greater: a rate equal to the threshold passes) — silver then did
  not commit it, so gold cannot include it —, or
- conservation does not hold: ``rows_read != rows_valid + rows_quarantined +
  duplicates_dropped``, or the per-reason counts do not add up to ``rows_quarantined``, or
- there is no silver run audit for that date (silver did not run).

    python -m scripts.quality_gate --data-dir data --dt 2026-11-02
    python -m scripts.quality_gate --data-dir data --dt 2026-11-02 --max-quarantine-rate 0.02

Exit code 0 and one summary line per dataset when the gate passes; a one-line error and
exit code 1 when it trips.

**Gold gate** (:func:`enforce_gold_data_tests`): the zero-row SQL data tests of
``sql/tests/`` run against a scratch warehouse built from the current gold release (with
the ``analytics_*`` tables materialised, since some tests check them), so a mart that
breaks a test is never published to ``warehouse/ott_analytics.db``.

    python -m scripts.quality_gate --data-dir data --gold-tests

The DAG calls both functions directly.
"""

from __future__ import annotations

import datetime as dt_
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_data_dir, configure_logging, guarded
from beam_pipelines.schema import DIM_DATASETS, EVENT_DATASETS, QUARANTINE_REASONS

log = logging.getLogger("ott.quality_gate")

DEFAULT_MAX_QUARANTINE_RATE = 0.05
COUNT_KEYS: tuple[str, ...] = ("rows_read", "rows_valid", "duplicates_dropped", "rows_quarantined")


class QualityGateError(OttError):
    """The silver output of a partition is not fit to publish."""


@dataclass(frozen=True)
class PartitionQuality:
    """Audit counts of one dataset partition (``dt`` is None for a dimension file)."""

    dataset: str
    dt: str | None
    rows_read: int
    rows_valid: int
    duplicates_dropped: int
    rows_quarantined: int
    quarantined_by_reason: dict[str, int]

    @property
    def quarantine_rate(self) -> float:
        """Quarantined share of the rows read; 0.0 for an empty partition."""
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def label(self) -> str:
        return f"{self.dataset} dt={self.dt}" if self.dt else self.dataset

    def problems(self, max_quarantine_rate: float) -> list[str]:
        """Human-readable reasons this partition fails the gate (empty list: it passes)."""
        found: list[str] = []
        accounted = self.rows_valid + self.rows_quarantined + self.duplicates_dropped
        if accounted != self.rows_read:
            found.append(
                f"{self.label}: conservation broken (rows_read {self.rows_read} != rows_valid {self.rows_valid}"
                f" + rows_quarantined {self.rows_quarantined} + duplicates_dropped {self.duplicates_dropped})"
            )
        by_reason = sum(self.quarantined_by_reason.values())
        if by_reason != self.rows_quarantined:
            found.append(
                f"{self.label}: quarantine reasons add up to {by_reason}, rows_quarantined is {self.rows_quarantined}"
            )
        # silver's expectation applies to event partitions (SPEC §11); dimensions are reported
        if self.dt and self.quarantine_rate > max_quarantine_rate:
            found.append(
                f"{self.label}: quarantine rate {self.quarantine_rate:.2%} exceeds {max_quarantine_rate:.2%}"
                f" ({self.rows_quarantined} of {self.rows_read} rows)"
            )
        return found


def parse_audit(dataset: str, dt: str | None, audit: dict) -> PartitionQuality:
    """One audit JSON object → :class:`PartitionQuality`; missing or non-integer counts are errors."""
    counts: dict[str, int] = {}
    for key in COUNT_KEYS + QUARANTINE_REASONS:
        value = audit.get(key, 0 if key in QUARANTINE_REASONS else None)
        # bool is an int subclass; a true/false count is a corrupt audit, not 1/0.
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise QualityGateError(f"audit of {dataset} dt={dt}: '{key}' is {value!r}, expected a count")
        counts[key] = value
    return PartitionQuality(
        dataset=dataset,
        dt=dt,
        rows_read=counts["rows_read"],
        rows_valid=counts["rows_valid"],
        duplicates_dropped=counts["duplicates_dropped"],
        rows_quarantined=counts["rows_quarantined"],
        quarantined_by_reason={r: counts[r] for r in QUARANTINE_REASONS},
    )


def latest_silver_audit(data_dir: str, dt: str, since: str | None = None) -> dict:
    """The run audit of the latest silver run that read ingest date ``dt`` (finished at or
    after ``since``, an ISO-8601 instant, when given: the DAG's gate judges its own run only)."""
    from beam_pipelines import fileio  # Beam's FileSystems: local or gs:// alike

    found = []
    for path in fileio.list_files(catalog.run_audit_file(data_dir, "silver-*")):
        try:
            audit = json.loads(fileio.read_bytes(path))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise QualityGateError(f"unreadable silver run audit {path}: {exc}") from None
        if isinstance(audit, dict) and any(p.get("dt") == dt for p in audit.get("partitions", [])):
            found.append(audit)
    if since:
        cutoff = dt_.datetime.fromisoformat(since)
        found = [a for a in found if a.get("finished_at") and dt_.datetime.fromisoformat(a["finished_at"]) >= cutoff]
        if not found:
            raise QualityGateError(f"no silver run for dt={dt} finished since {since}: build_silver did not complete (see its log)")
    if not found:
        raise QualityGateError(f"no silver run audit for dt={dt} in {catalog.runs_dir(data_dir)}; did `ott silver` run?")
    return max(found, key=lambda a: (a.get("finished_at", ""), a.get("run_id", "")))


def collect_quality(data_dir: str, dt: str, since: str | None = None) -> list[PartitionQuality]:
    """The partitions the gate judges for ingest date ``dt``: the dimensions, then each event dataset."""
    audit = latest_silver_audit(data_dir, dt, since)
    by_key = {(p["dataset"], p["dt"]): p for p in audit["partitions"]}
    found = []
    for dataset, day in [(ds, "") for ds in DIM_DATASETS] + [(ds, dt) for ds in EVENT_DATASETS]:
        if (dataset, day) not in by_key:
            raise QualityGateError(f"silver run {audit.get('run_id')} has no audit of {dataset} dt={day or '-'}")
        found.append(parse_audit(dataset, day or None, by_key[(dataset, day)]))
    return found


def enforce_quality_gate(
    data_dir: str, dt: str, max_quarantine_rate: float = DEFAULT_MAX_QUARANTINE_RATE, since: str | None = None
) -> list[PartitionQuality]:
    """Raise :class:`QualityGateError` naming every problem; return the audits when all pass."""
    if not 0.0 <= max_quarantine_rate <= 1.0:
        raise QualityGateError(f"max quarantine rate must be within [0, 1], got {max_quarantine_rate}")
    partitions = collect_quality(data_dir, dt, since)
    problems = [p for part in partitions for p in part.problems(max_quarantine_rate)]
    if problems:
        raise QualityGateError("quality gate failed: " + "; ".join(problems))
    for part in partitions:
        log.info(
            "quality ok: %s read=%d valid=%d quarantined=%d (%.2f%%) duplicates=%d",
            part.label,
            part.rows_read,
            part.rows_valid,
            part.rows_quarantined,
            100 * part.quarantine_rate,
            part.duplicates_dropped,
        )
    return partitions


def enforce_gold_data_tests(data_dir: str, sql_dir: str | None = None) -> int:
    """Run the data tests (generic ones and ``sql/tests/*.sql``) on a scratch warehouse
    (+ analytics) built from the current gold.

    Raises :class:`QualityGateError` naming every test that returned rows; returns the
    number of tests that passed. The scratch database lives in a temporary folder and is
    deleted afterwards, so the published warehouse is untouched either way.
    """
    # pandas/SQLAlchemy/sqlglot are heavy: import them only when this gate runs.
    from scripts.analytics import SQL_DIR, failure_message, load_data_tests, load_sql_files, materialise_and_test
    from scripts.warehouse import build_warehouse

    root = Path(sql_dir) if sql_dir else SQL_DIR
    queries, tests = load_sql_files(root / "analytics"), load_data_tests(root / "tests")
    if not tests:
        raise QualityGateError("no SQL data tests found; refusing to pass an empty gate")
    with tempfile.TemporaryDirectory(prefix="ott-gold-tests-") as scratch:
        scratch_db = os.path.join(scratch, "ott_analytics.db")
        build_warehouse(data_dir, target=scratch_db)
        _, results = materialise_and_test(scratch_db, queries, tests)
    message = failure_message(results, " on gold")
    if message:
        raise QualityGateError(message)
    log.info("gold passed %d SQL data tests", len(results))
    return len(results)


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="python -m scripts.quality_gate",
        description="Silver gate: fail when a partition's quarantine rate is too high or its counts do not "
        "conserve rows. Gold gate (--gold-tests): fail when a SQL data test returns rows.",
    )
    add_data_dir(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--dt", help="silver gate: ingest date YYYY-MM-DD of the event partitions to check")
    which.add_argument("--gold-tests", action="store_true", help="gold gate: run sql/tests/*.sql on the current gold")
    parser.add_argument(
        "--max-quarantine-rate",
        type=float,
        default=DEFAULT_MAX_QUARANTINE_RATE,
        help="largest acceptable quarantined/read fraction per dataset (default: %(default)s)",
    )
    parser.add_argument(
        "--since", help="judge only silver runs finished at or after this ISO-8601 instant (the DAG run's start)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    if args.gold_tests:
        enforce_gold_data_tests(args.data_dir)
    else:
        enforce_quality_gate(args.data_dir, args.dt, args.max_quarantine_rate, args.since)
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main, "quality_gate", None))
