"""``ott maintain``: clean up after killed runs, expire old snapshots, remove orphan files.

    ott maintain --data-dir data                 # keep 7 days of snapshots
    ott maintain --data-dir data --keep-days 30

Snapshots pinned by the last 10 releases of each namespace are always kept (so
``ott rollback`` to any of them works), whatever their age. See docs/storage.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from beam_pipelines import run_lock
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_catalog_uri, add_data_dir, configure_logging


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott maintain",
        description="Roll back killed runs, expire snapshots older than --keep-days (except those of the "
        "last 10 releases), delete files no snapshot references.",
    )
    add_data_dir(parser)
    add_catalog_uri(parser)
    parser.add_argument("--keep-days", type=float, default=7.0, help="snapshot age to keep (default: %(default)s)")
    run_lock.add_lock_flags(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.keep_days < 0:
        raise OttError(f"--keep-days must be ≥ 0, got {args.keep_days}")
    configure_logging()
    from beam_pipelines import maintenance, tables
    from beam_pipelines.marts.publish import sync_exports

    with run_lock.hold(args.data_dir, "ott maintain", wait=args.wait):
        cat = tables.open_catalog(args.data_dir, args.catalog_uri)
        report = maintenance.maintain(cat, args.data_dir, args.keep_days)
        sync_exports(cat, args.data_dir)
    print(report.line())
    return 0
