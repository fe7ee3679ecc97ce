"""Command-line plumbing shared by every ``ott`` subcommand.

- :class:`OttError` is the one exception type for bad input: its message is printed as
  a single line and the command exits non-zero, never with a traceback.
- :class:`OttArgumentParser` turns argparse errors into that same one-line form.
- :func:`guarded` wraps a subcommand's ``main`` with that policy: any failure, expected
  or not, is one line on stderr and a non-zero exit code, never a traceback.
- :func:`configure_logging` keeps Beam's own logged worker tracebacks (the runner logs a
  failing DoFn at ERROR, with its traceback, before the exception reaches ``guarded``)
  off the console.

Where the details go: the traceback of an unexpected error and Beam's error records are
appended to a log file, ``$OTT_LOG_FILE`` or ``<tmp>/ott-<pid>.log``, created only when
there is something to write; the one-line error names it. ``OTT_DEBUG=1`` shows
everything on the console instead (and re-raises, so the traceback is printed).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import traceback
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


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Beam and Airflow are chatty at INFO; keep the user's console readable.
NOISY_LOGGERS = ("apache_beam", "airflow", "sqlalchemy", "faker")


def debug_enabled() -> bool:
    """``OTT_DEBUG`` set to anything but "" or "0": tracebacks on the console."""
    return os.environ.get("OTT_DEBUG", "") not in ("", "0")


def details_log_path() -> str:
    """Where tracebacks go when the console shows one line: ``$OTT_LOG_FILE`` or a tmp file."""
    return os.environ.get("OTT_LOG_FILE") or os.path.join(tempfile.gettempdir(), f"ott-{os.getpid()}.log")


def _is_beam_error(record: logging.LogRecord) -> bool:
    return record.name.startswith("apache_beam") and (record.levelno >= logging.ERROR or bool(record.exc_info))


class _QuietFileHandler(logging.FileHandler):
    """A log file that never turns its own failure (disk full) into a console traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        return


def configure_logging(verbose: bool = False) -> None:
    """Console logging at INFO (DEBUG when ``verbose`` or OTT_DEBUG), Beam errors to a file.

    Like ``logging.basicConfig`` it installs handlers only when the root logger has none,
    so a host that configured logging (pytest, an Airflow worker) keeps its own.
    """
    verbose = verbose or debug_enabled()
    root = logging.getLogger()
    if not root.handlers:
        formatter = logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S")
        console = logging.StreamHandler()
        console.setFormatter(formatter)
        root.addHandler(console)
        if not verbose:
            # Beam logs a failing DoFn with its worker traceback (12-27 lines) before the
            # exception reaches guarded(), which reports it once, in one line.
            console.addFilter(lambda record: not _is_beam_error(record))
            details = _QuietFileHandler(details_log_path(), delay=True)  # created on first record
            details.addFilter(_is_beam_error)
            details.setFormatter(formatter)
            root.addHandler(details)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _first_line(exc: BaseException) -> str:
    """The line that names the problem: the first, or for a message that carries a remote
    traceback (Beam's worker errors: "Traceback (most recent call last): …") its last line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]


def _save_traceback(prog: str, exc: BaseException) -> str | None:
    """Append ``exc``'s traceback to the details log; its path, or None if it cannot be written."""
    path = details_log_path()
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{prog}: unexpected error\n")
            handle.write("".join(traceback.format_exception(exc)))
    except OSError:  # the disk may be what failed: the one line must still get out
        return None
    return path


def guarded(main: Callable[[Sequence[str] | None], int | None], prog: str, argv: Sequence[str] | None) -> int:
    """Run ``main(argv)`` turning every failure into one line on stderr and a non-zero exit."""
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
        if debug_enabled():
            raise
        saved = _save_traceback(prog, exc)
        where = f"traceback in {saved}; " if saved else ""
        sys.stderr.write(f"{prog}: error: {type(exc).__name__}: {_first_line(exc)} ({where}OTT_DEBUG=1 shows it)\n")
        return 1
