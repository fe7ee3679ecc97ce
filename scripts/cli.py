"""``ott``: the one console command (SPEC §9).

Each subcommand lives in its own module with its own ``main(argv)``; this file only
dispatches, so ``ott <cmd> --help`` shows that module's flags and the CLI, the Airflow
DAG and the tests all drive the same entry points.

Help is instant: this file imports nothing heavy, and for the stages whose modules import
Beam (seconds: silver, gold, warehouse), ``--help`` is answered by their parsers in the
light :mod:`beam_pipelines.cli_args` without importing the stage (``bench/bench_cli.py``
times it).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from beam_pipelines.cli_support import guarded

# subcommand -> (module with main(argv), one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("scripts.generate", "write deterministic synthetic bronze CSV (+ manifest)"),
    "silver": ("beam_pipelines.silver_pipeline", "Beam: bronze -> validated, deduplicated silver Iceberg tables + sessions"),
    "gold": ("beam_pipelines.gold_pipeline", "Beam: silver -> the nine gold marts (Iceberg, one release, JSON lines)"),
    "warehouse": ("scripts.warehouse", "load gold, sessions and dimensions into the SQLite warehouse"),
    "analytics": ("scripts.analytics", "run the BigQuery-dialect SQL analytics and SQL data tests"),
    "report": ("scripts.report", "write analysis_report.txt and dashboard.html from the warehouse"),
    "bigquery": ("scripts.bigquery", "load the current gold release into BigQuery and run the analytic SQL there"),
    "releases": ("scripts.releases", "list the gold releases (the current one is what every reader sees)"),
    "rollback": ("scripts.rollback", "make an earlier gold release current again"),
    "maintain": ("scripts.maintain", "clean up killed runs, expire old snapshots, remove orphan files"),
    "run": ("scripts.run_all", "run every stage in the DAG's order, quality gates included"),
}
# subcommand -> "module:function" of a parser that answers --help without importing the stage
HELP_PARSERS: dict[str, str] = {
    "silver": "beam_pipelines.cli_args:silver_parser",
    "gold": "beam_pipelines.cli_args:gold_parser",
    "warehouse": "beam_pipelines.cli_args:warehouse_parser",
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: ott <command> [options]   (ott <command> --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        sys.stderr.write(f"ott: error: unknown command '{name}' (choose from {', '.join(COMMANDS)})\n")
        return 2
    if name in HELP_PARSERS and ("-h" in rest or "--help" in rest):
        module_name, function = HELP_PARSERS[name].split(":")
        # prints the help and exits 0 (or a one-line error for a bad value before --help)
        getattr(importlib.import_module(module_name), function)().parse_known_args(rest)
    module = importlib.import_module(COMMANDS[name][0])
    return guarded(module.main, f"ott {name}", rest)


if __name__ == "__main__":
    raise SystemExit(main())
