"""Argument parsers of the stages whose modules import Beam, kept apart from them.

``ott silver --help``, ``ott gold --help`` and ``ott warehouse --help`` build these parsers
without importing Beam, pyarrow or pandas (seconds of imports), so help is instant. Each
stage module re-exports its parser as ``build_parser``.

Standard library, :mod:`beam_pipelines.cli_support` and :mod:`beam_pipelines.run_lock`
(filelock) only: keep it that way.
"""

from __future__ import annotations

from beam_pipelines import run_lock
from beam_pipelines.cli_support import OttArgumentParser, add_catalog_uri, add_data_dir

# Hash buckets of the stages' shuffles (= files per silver partition). gold's default is
# ``marts.transforms.DEFAULT_BUCKETS``; a test keeps the two equal.
DEFAULT_BUCKETS = 4
# silver's expectation before publish (SPEC §11)
DEFAULT_MAX_QUARANTINE_RATE = 0.05


def silver_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott silver",
        description="Beam: bronze CSV → validated, deduplicated silver Iceberg tables, quarantine, sessions, audit.",
        epilog="Flags that Beam's PipelineOptions define pass through (--runner, --project, --region, "
        "--temp_location, --direct_running_mode, --direct_num_workers, ...).",
    )
    add_data_dir(parser)
    add_catalog_uri(parser)
    parser.add_argument("--dt", help="one ingest date YYYY-MM-DD (default: every dt folder in bronze)")
    parser.add_argument("--run-id", help="audit id: runs/<run-id>.json (default: silver-<dt or all>-<UTC time>)")
    parser.add_argument(
        "--buckets", type=int, default=DEFAULT_BUCKETS, help="hash buckets of the shuffles = files per partition"
    )
    parser.add_argument(
        "--max-quarantine-rate",
        type=float,
        default=DEFAULT_MAX_QUARANTINE_RATE,
        help="expectation before publish: an event partition quarantining more than this share of its rows "
        "is not committed (its quarantine is); the command then exits non-zero (default: %(default)s)",
    )
    run_lock.add_lock_flags(parser)
    return parser


def gold_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott gold",
        description="Beam: the current silver release → the nine gold Iceberg marts, one release, JSON-lines exports.",
        epilog="Flags that Beam's PipelineOptions define pass through (--runner, --project, ...).",
    )
    add_data_dir(parser)
    add_catalog_uri(parser)
    parser.add_argument("--run-id", help="release id: what `ott releases` lists and `ott rollback` takes "
                        "(default: gold-<UTC time>)")
    run_lock.add_lock_flags(parser)
    parser.add_argument(
        "--dt",
        help="accepted for symmetry with `ott silver` and only logged: gold recomputes whatever changed "
        "in silver since its current release, whichever dt that was",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="recompute every slice of silver instead of only those that changed since the current "
        "gold release (the result is the same; use it to rebuild the gold state)",
    )
    parser.add_argument(
        "--buckets",
        type=int,
        default=DEFAULT_BUCKETS,
        help="hash buckets for the per-user and per-event_id steps (default: %(default)s)",
    )
    return parser


def warehouse_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott warehouse",
        description="Load the current gold release (marts, and the silver sessions and dimensions it was "
        "built from) into the SQLite warehouse (built in a temporary file, then swapped in).",
    )
    add_data_dir(parser)
    add_catalog_uri(parser)
    run_lock.add_lock_flags(parser)
    return parser
