"""Where the ``.sql`` files are: ``sql/`` of the checkout, or the installed ``ott_sql``.

The repository keeps its SQL in the top-level ``sql/`` folder (``analytics/``,
``report/``, ``tests/``, ``bigquery/schemas/``). An installed distribution — the sdist
Beam's stager builds from ``--setup_file ./pyproject.toml`` for Dataflow workers, or a
wheel — carries the same files as the data package ``ott_sql`` (pyproject.toml maps it
onto ``sql/``). Code asks :func:`sql_dir` and never builds that path itself.
"""

from __future__ import annotations

from pathlib import Path

CHECKOUT_SQL = Path(__file__).resolve().parents[1] / "sql"


def sql_dir() -> Path:
    """The folder holding ``analytics/``, ``report/``, ``tests/`` and ``bigquery/``."""
    if CHECKOUT_SQL.is_dir():
        return CHECKOUT_SQL
    import importlib.util

    # ott_sql is a data-only namespace package (sql/ has no __init__.py): its one folder
    spec = importlib.util.find_spec("ott_sql")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"no SQL files: neither {CHECKOUT_SQL} nor an installed ott_sql package")
    return Path(next(iter(spec.submodule_search_locations)))
