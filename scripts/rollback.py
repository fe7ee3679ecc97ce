"""``ott rollback RUN_ID``: make the gold release of an earlier run current again.

    ott releases --data-dir data            # find the run id
    ott rollback gold-20261130T120301123 --data-dir data
    ott warehouse --data-dir data           # reload the warehouse from it

Records a NEW release that pins that run's snapshots (nothing is deleted, so a rollback
can itself be undone by rolling forward to a later run id), then rewrites the
``gold/*.jsonl`` exports. Snapshots expired by ``ott maintain`` cannot be restored.
"""

from __future__ import annotations

from collections.abc import Sequence

from beam_pipelines import run_lock
from beam_pipelines.cli_support import OttArgumentParser, add_catalog_uri, add_data_dir, configure_logging


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(prog="ott rollback", description="Make an earlier gold release current again.")
    parser.add_argument("run_id", help="the run id of the release to restore (see `ott releases`)")
    add_data_dir(parser)
    add_catalog_uri(parser)
    run_lock.add_lock_flags(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    from beam_pipelines import maintenance, tables
    from beam_pipelines.marts.publish import sync_exports

    with run_lock.hold(args.data_dir, "ott rollback", wait=args.wait):
        cat = tables.open_for_writing(args.data_dir, args.catalog_uri)
        release = maintenance.rollback(cat, args.data_dir, args.run_id)
        sync_exports(cat, args.data_dir)
    print(f"gold {release.summary()} is current; run `ott warehouse` (or `ott run --skip-generate`) to reload it")
    return 0
