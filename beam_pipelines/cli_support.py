"""Command-line plumbing shared by every ``ott`` subcommand.

- :class:`OttError` is the one exception type for bad input: its message is printed as
  a single line and the command exits non-zero, never with a traceback.
- :class:`OttArgumentParser` turns argparse errors into that same one-line form.
- :func:`guarded` wraps a subcommand's ``main`` with that policy (set ``OTT_DEBUG=1``
  to see the traceback of an unexpected error).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from beam_pipelines.catalog import DEFAULT_DATA_DIR


class OttError(Exception):
    """Bad input or a failed precondition, reported to the user as one line."""


class OttArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2) instead of usage dumps."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("OTT_DATA_DIR", DEFAULT_DATA_DIR),
        help="root of bronze/silver/gold/warehouse/reports/runs (default: %(default)s; "
        "env OTT_DATA_DIR). May be a gs:// URL for the Beam stages.",
    )


def add_catalog_uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog-uri",
        default=None,
        help="Iceberg catalog: a SQLAlchemy URL (sqlite:///…, postgresql+psycopg://…) or an Iceberg REST "
        "endpoint (e.g. BigLake metastore); default: env OTT_CATALOG_URI, else the embedded "
        "<data-dir>/catalog/ott.db (required when --data-dir is gs://…)",
    )


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # Beam and Airflow are chatty at INFO; keep the user's console readable.
    for noisy in ("apache_beam", "airflow", "sqlalchemy", "faker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def guarded(main: Callable[[Sequence[str] | None], int | None], prog: str, argv: Sequence[str] | None) -> int:
    """Run ``main(argv)`` turning expected failures into one-line errors."""
    try:
        return int(main(argv) or 0)
    except OttError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, non-zero
        if os.environ.get("OTT_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        sys.stderr.write(f"{prog}: error: {type(exc).__name__}: {first} (set OTT_DEBUG=1 for a traceback)\n")
        return 1
