"""``ott analytics``: run the BigQuery-dialect analytic SQL and the SQL data tests (SPEC §7).

    ott analytics                        # sql/analytics/*.sql -> analytics_* tables, then sql/tests/*.sql
    ott analytics --data-dir /tmp/ott
    ott analytics --sql-dir path/to/sql  # another folder holding analytics/ and tests/

Every ``sql/analytics/<name>.sql`` is one BigQuery Standard SQL statement. At run time it
is translated to SQLite with ``sqlglot.transpile(sql, read="bigquery", write="sqlite")``
and materialised as the warehouse table ``analytics_<name>`` (dropped and re-created, all
in one transaction, so a failing query leaves the previous analytics in place).
Then the data tests — queries that must return zero rows — run against the warehouse: the
generic ones generated for every warehouse table from the contract (unique grain, not-null
keys: :func:`generic_data_tests`) and every ``sql/tests/<name>.sql``; if any returns rows
the command fails with one line naming them.

The SQL references tables unqualified (``gold_daily_kpis``). On BigQuery the same files
run unchanged with a default dataset, e.g.
``bq query --use_legacy_sql=false --dataset_id=PROJECT:ott_analytics < sql/analytics/daily_growth.sql``
or ``QueryJobConfig(default_dataset="PROJECT.ott_analytics")`` in the Python client.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlglot
import sqlglot.errors

from beam_pipelines import run_lock
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_data_dir, configure_logging
from beam_pipelines.schema import NULLABLE_KEYS, TABLE_KEYS, WAREHOUSE_TABLES
from scripts.sql_dir import sql_dir
from scripts.warehouse_copy import local_warehouse

log = logging.getLogger("ott.analytics")

SQL_DIR = sql_dir()
ANALYTICS_PREFIX = "analytics_"


@dataclass(frozen=True)
class SqlFile:
    """One ``.sql`` file: its name (file stem), BigQuery source and SQLite translation."""

    name: str
    path: Path
    bigquery_sql: str
    sqlite_sql: str


def to_sqlite(bigquery_sql: str, source: str = "<sql>") -> str:
    """Translate exactly one BigQuery Standard SQL statement to SQLite."""
    try:
        statements = [s for s in sqlglot.parse(bigquery_sql, read="bigquery") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise OttError(f"{source} is not valid BigQuery SQL: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise OttError(f"{source} must hold exactly one statement, found {len(statements)}")
    return statements[0].sql(dialect="sqlite")


def load_sql_files(folder: Path) -> list[SqlFile]:
    """Every ``*.sql`` of ``folder`` in name order, translated to SQLite."""
    if not folder.is_dir():
        raise OttError(f"missing SQL folder {folder}")
    files = []
    for path in sorted(folder.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        files.append(SqlFile(path.stem, path, text, to_sqlite(text, str(path))))
    return files


def connect(db_path: str) -> sqlite3.Connection:
    """Open an existing warehouse (never create an empty one by accident)."""
    if not Path(db_path).is_file():
        raise OttError(f"no warehouse at {db_path} (run `ott warehouse` first)")
    return sqlite3.connect(f"file:{db_path}?mode=rw", uri=True)


def materialise(conn: sqlite3.Connection, queries: Sequence[SqlFile]) -> dict[str, int]:
    """Replace ``analytics_<name>`` for every query, all in one transaction; row counts."""
    counts: dict[str, int] = {}
    try:
        conn.execute("BEGIN")
        for query in queries:
            table = ANALYTICS_PREFIX + query.name
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
            try:
                conn.execute(f'CREATE TABLE "{table}" AS {query.sqlite_sql}')
            except sqlite3.Error as exc:
                raise OttError(f"{query.path.name} failed on SQLite: {exc}") from exc
            counts[table] = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return counts


# ------------------------------------------------------------------ generic data tests

GENERIC_TESTS_SOURCE = Path("<generated from beam_pipelines.schema>")


def _grain_key(keys: Sequence[str]) -> str:
    """The grain of a row as one text, for the failure sample ('a|b'; null → '')."""
    parts = [f"coalesce(cast({key} as string), '')" for key in keys]
    return parts[0] if len(parts) == 1 else "concat(" + ", '|', ".join(parts) + ")"


def _generic_test(name: str, rule: str, grain: str, cte: str, selects: list[str], final: str) -> SqlFile:
    union = "\n    union all\n".join(selects)
    sql = f"""-- Data test, generated for every warehouse table (scripts/analytics.py): {rule};
-- must return 0 rows.
-- Grain of the result: {grain}.
with

{cte} as (
{union}
),

final as (
    {final}
)

select * from final
"""
    return SqlFile(name, GENERIC_TESTS_SOURCE / f"{name}.sql", sql, to_sqlite(sql, name))


def generic_data_tests(tables: Sequence[str] = WAREHOUSE_TABLES) -> list[SqlFile]:
    """The generic zero-row data tests of ``tables``, generated from the contract (dbt's
    ``unique`` and ``not_null``): ``assert_unique_grain`` (no two rows share their
    ``TABLE_KEYS`` value) and ``assert_not_null_keys`` (no grain column is null, except
    the contract's ``NULLABLE_KEYS``). A new gold mart is covered by its registry line."""
    unique = [
        f"    select '{t}' as table_name, {_grain_key(TABLE_KEYS[t])} as grain_key, count(*) as copies\n"
        f"    from {t} group by {', '.join(TABLE_KEYS[t])} having count(*) > 1"
        for t in tables
    ]
    not_null = []
    for t in tables:
        keys = [k for k in TABLE_KEYS[t] if k not in NULLABLE_KEYS.get(t, ())]
        if keys:
            nulls = " or ".join(f"{k} is null" for k in keys)
            not_null.append(f"    select '{t}' as table_name, countif({nulls}) as null_key_rows from {t}")
    return [
        _generic_test(
            "assert_unique_grain",
            "every table is unique on its grain (TABLE_KEYS)",
            "one row per duplicated key value (table_name, grain_key)",
            "duplicates",
            unique,
            "select * from duplicates",
        ),
        _generic_test(
            "assert_not_null_keys",
            "grain columns are never null (the contract's NULLABLE_KEYS excepted)",
            "one row per table with null-key rows",
            "null_keys",
            not_null,
            "select * from null_keys\n    where null_key_rows > 0",
        ),
    ]


def load_data_tests(folder: Path) -> list[SqlFile]:
    """Every data test: the generic ones (:func:`generic_data_tests`), then ``folder/*.sql``."""
    return generic_data_tests() + load_sql_files(folder)


@dataclass(frozen=True)
class DataTestResult:
    name: str
    failing_rows: int
    sample: list[tuple]


def run_data_tests(conn: sqlite3.Connection, tests: Sequence[SqlFile]) -> list[DataTestResult]:
    """Run each zero-row data test; the result lists every test with its failing row count."""
    results = []
    for test in tests:
        try:
            rows = conn.execute(test.sqlite_sql).fetchall()
        except sqlite3.Error as exc:
            raise OttError(f"data test {test.path.name} failed to run on SQLite: {exc}") from exc
        results.append(DataTestResult(test.name, len(rows), rows[:5]))
    return results


def failure_message(results: Sequence[DataTestResult], where: str = "") -> str | None:
    """Log every failed data test (with sample rows) → the one-line error, or None if all passed.

    ``where`` names what was tested (e.g. " on gold"); `ott analytics` and the gold
    quality gate report failures with this same line.
    """
    failed = [r for r in results if r.failing_rows]
    for r in failed:
        log.error("data test %s returned %d row(s)%s, e.g. %s", r.name, r.failing_rows, where, r.sample)
    if not failed:
        return None
    names = ", ".join(f"{r.name} ({r.failing_rows} row{'s' if r.failing_rows != 1 else ''})" for r in failed)
    return f"{len(failed)} of {len(results)} SQL data tests failed{where}: {names}"


def materialise_and_test(db_path: str, queries, tests) -> tuple[dict[str, int], list[DataTestResult]]:
    """Materialise the ``analytics_*`` tables in ``db_path``, then run the data tests there
    (some tests read the analytics tables). Returns (row counts, test results)."""
    conn = connect(db_path)
    try:
        conn.isolation_level = None  # explicit BEGIN/COMMIT in materialise()
        counts = materialise(conn, queries)
        return counts, run_data_tests(conn, tests)
    finally:
        conn.close()


def run_analytics(data_dir: str, sql_dir: Path = SQL_DIR) -> tuple[dict[str, int], list[DataTestResult]]:
    """Materialise the analytics, then run the data tests (raises OttError if any fails)."""
    queries = load_sql_files(sql_dir / "analytics")
    tests = load_data_tests(sql_dir / "tests")
    with local_warehouse(data_dir, "update") as db_path:  # gs://: a local copy, uploaded after
        counts, results = materialise_and_test(db_path, queries, tests)
        message = failure_message(results)
        if message:
            raise OttError(message)
    return counts, results


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott analytics",
        description="Translate sql/analytics/*.sql (BigQuery) to SQLite, materialise them as analytics_* "
        "tables in the warehouse, then run the zero-row data tests in sql/tests/*.sql.",
    )
    add_data_dir(parser)
    run_lock.add_lock_flags(parser)
    parser.add_argument("--sql-dir", type=Path, default=SQL_DIR, help="folder with analytics/ and tests/ (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    with run_lock.hold(args.data_dir, "ott analytics", wait=args.wait):
        counts, results = run_analytics(args.data_dir, args.sql_dir)
    for table, n in counts.items():
        log.info("%-40s %8s rows", table, f"{n:,}")
    log.info("%d analytic tables written; %d SQL data tests passed", len(counts), len(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
