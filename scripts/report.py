"""``ott report``: the business report and the dashboard, built from the warehouse (SPEC §8).

    ott report                                   # -> data/reports/analysis_report.txt + dashboard.html
    ott report --data-dir /tmp/ott
    ott report --generated-at 2026-03-12T06:00:00Z   # pin the one time-dependent line (tests, diffs)

Reads ``warehouse/ott_analytics.db`` read-only. The work is split in four parts that
only meet here:

- :mod:`scripts.report_data` runs ``sql/report/*.sql`` and returns :class:`ReportData`;
- :mod:`scripts.report_findings` computes the plain-language findings from that data;
- :mod:`scripts.report_text` and :mod:`scripts.dashboard` render the same data and
  findings as text and HTML (they share :mod:`scripts.report_format` and never import
  each other).

Identical data gives a byte-identical report apart from the single ``Generated at``
line, which is the only place the wall clock is used. Both files are rendered before
either is written; each is written to a ``.tmp`` sibling and renamed, and a failure
removes the temporary file, so readers see the old file or the new one, never a part.
"""

from __future__ import annotations

import datetime as dt_
import logging
from collections.abc import Sequence
from pathlib import Path

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttArgumentParser, add_data_dir, configure_logging

# The number formats were importable from here before the split; other modules' tests
# still take them from this module.
from scripts.report_format import fmt_change, fmt_hours, fmt_int, fmt_pct, fmt_usd  # noqa: F401

log = logging.getLogger("ott.report")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through ``path.tmp``; the temporary file never outlives
    a failure."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # readers never see a half-written file
    finally:
        tmp.unlink(missing_ok=True)


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott report",
        description="Write reports/analysis_report.txt and reports/dashboard.html from the warehouse.",
    )
    add_data_dir(parser)
    parser.add_argument(
        "--generated-at",
        help="text of the report's 'Generated at' line (default: the current UTC time); "
        "pin it to make two reports byte-identical",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # local imports keep `ott report --help` fast
    from scripts import dashboard, report_text
    from scripts.report_data import build_report_data
    from scripts.report_findings import compute_findings
    from scripts.warehouse_copy import local_warehouse

    args = build_parser().parse_args(argv)
    configure_logging()
    with local_warehouse(args.data_dir, "read") as db_path:  # gs://: a downloaded copy
        data = build_report_data(args.data_dir, db_path)
    findings = compute_findings(data)
    # The one wall-clock read of the whole report; never part of the data.
    generated_at = args.generated_at or dt_.datetime.now(dt_.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    outputs = (
        (catalog.report_file(args.data_dir), report_text.render_report(data, findings, generated_at)),
        (catalog.dashboard_file(args.data_dir), dashboard.render_dashboard(data, findings, generated_at)),
    )
    if "://" not in outputs[0][0]:
        Path(outputs[0][0]).parent.mkdir(parents=True, exist_ok=True)
        for path, text in outputs:
            write_atomically(Path(path), text)
    else:  # object storage: an object appears whole when its upload completes
        from beam_pipelines import fileio

        for path, text in outputs:
            fileio.write_bytes(path, text.encode("utf-8"), "text/html" if path.endswith(".html") else "text/plain")
    log.info("wrote %s and %s", outputs[0][0], outputs[1][0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
