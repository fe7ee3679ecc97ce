"""``ott releases``: list the gold releases (and, with ``--silver``, the silver ones).

    ott releases --data-dir data
    ott releases --data-dir data --silver

One line per release, oldest first; ``*`` marks the current one (what the warehouse,
the analytics, the report and the ``gold/*.jsonl`` exports read). See docs/storage.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from beam_pipelines.cli_support import OttArgumentParser, add_catalog_uri, add_data_dir, configure_logging


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(prog="ott releases", description="List the gold releases (current one marked *).")
    add_data_dir(parser)
    add_catalog_uri(parser)
    parser.add_argument("--silver", action="store_true", help="list the silver releases instead")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    from beam_pipelines import tables

    namespace = "silver" if args.silver else "gold"
    cat = tables.open_catalog(args.data_dir, args.catalog_uri)
    found = tables.releases(cat, args.data_dir, namespace)
    if not found:
        print(f"no {namespace} releases in {args.data_dir}")
        return 0
    for release in found:
        mark = "*" if release is found[-1] else " "
        source = f"  built from silver release {release.inputs['silver.release_id']}" if "silver.release_id" in release.inputs else ""
        print(f"{mark} {release.release_id:>4}  {release.created_at:%Y-%m-%d %H:%M:%S} UTC  {release.kind:<8}  {release.run_id}{source}")
    return 0
