"""Argument parsers of the Beam stages, kept apart from the pipelines.

``ott silver --help`` and ``ott gold --help`` build these parsers without importing Beam,
pyarrow or pandas (about 2 s of imports on the reference machine), so help and bad-flag
errors are instant. Each stage module re-exports its parser as ``build_parser``.

Standard library and :mod:`beam_pipelines.cli_support` only: keep it that way.
"""

from __future__ import annotations

from beam_pipelines.cli_support import OttArgumentParser, add_data_dir

# Hash buckets of the stages' shuffles (= files per silver partition). gold's default is
# ``marts.transforms.DEFAULT_BUCKETS``; a test keeps the two equal.
DEFAULT_BUCKETS = 4


def silver_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott silver",
        description="Beam: bronze CSV → validated, deduplicated silver Parquet, quarantine, sessions, audit.",
        epilog="Unrecognised --flags are Beam PipelineOptions (--runner, --project, --region, "
        "--temp_location, --direct_running_mode, --direct_num_workers, ...).",
    )
    add_data_dir(parser)
    parser.add_argument("--dt", help="one ingest date YYYY-MM-DD (default: every dt folder in bronze)")
    parser.add_argument("--run-id", help="audit id: runs/<run-id>.json (default: silver-<dt or all>)")
    parser.add_argument(
        "--buckets", type=int, default=DEFAULT_BUCKETS, help="hash buckets of the shuffles = files per partition"
    )
    return parser


def gold_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott gold",
        description="Beam: silver Parquet → the nine gold marts (Parquet + JSON lines).",
        epilog="Unrecognised --flags are passed to Beam's PipelineOptions (--runner, --project, ...).",
    )
    add_data_dir(parser)
    parser.add_argument(
        "--dt",
        help="accepted for symmetry with `ott silver`; gold always recomputes from all partitions "
        "(the cross-partition duplicate rule needs them)",
    )
    parser.add_argument(
        "--buckets",
        type=int,
        default=DEFAULT_BUCKETS,
        help="hash buckets for the per-user and per-event_id steps (default: %(default)s)",
    )
    return parser
