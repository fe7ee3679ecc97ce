"""``ott run``: every stage in the DAG's order, gates included, in one process.

    ott run                                  # generate → silver (quarantine-rate expectation) → gold
                                             #   → SQL data tests → warehouse → analytics → report
    ott run --skip-generate --data-dir D     # process the bronze already in D
    ott run --days 3 --users 2000 --seed 7   # generator flags are forwarded to `ott generate`
    ott run --max-quarantine-rate 0.02       # stricter expectation in `ott silver`
    ott run --direct_num_workers=2 --direct_running_mode=multi_processing
                                             # unknown --flags go to the Beam stages' PipelineOptions

The stages, their order and the options each takes come from :mod:`scripts.stages`, the
list the Airflow DAG is built from too; each stage runs the same ``main(argv)`` as its
own subcommand. Silver publishes no event partition above ``--max-quarantine-rate`` and
then exits non-zero; gold must pass the SQL data tests on a scratch warehouse. Either
failure stops the run before the warehouse and report are published, as in the DAG. The
DAG's own ``check_quality_gate`` task re-reads silver's audit of its partition
(``dag_only``: silver has already enforced it here). The run holds the data dir's lock.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Sequence

from beam_pipelines import catalog, run_lock
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_data_dir, configure_logging
from beam_pipelines.options import parse_stage_args
from scripts.stages import DEFAULT_MAX_QUARANTINE_RATE, GENERATOR_OPTIONS, STAGES, Stage, stage_argv

log = logging.getLogger("ott.run")


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott run",
        description="Run every stage in the Airflow DAG's order, gates included: "
        + " → ".join(s.name for s in STAGES if not s.dag_only)
        + ". A rejected partition or a failing SQL data test stops the run.",
        epilog="Unrecognised --flags are passed to the Beam stages as PipelineOptions.",
    )
    add_data_dir(parser)
    run_lock.add_lock_flags(parser)
    parser.add_argument("--skip-generate", action="store_true", help="process the bronze already in --data-dir")
    parser.add_argument(
        "--max-quarantine-rate",
        type=float,
        default=DEFAULT_MAX_QUARANTINE_RATE,
        help="forwarded to `ott silver`: an event partition quarantining more than this share of its rows "
        "is not published and the run stops (default: %(default)s)",
    )
    gen = parser.add_argument_group("generator flags (forwarded to `ott generate`)")
    gen.add_argument("--seed", type=int)
    gen.add_argument("--start-date")
    gen.add_argument("--days", type=int)
    gen.add_argument("--users", type=int)
    gen.add_argument("--events-per-day", type=int)
    gen.add_argument("--defect-rate", type=float)
    return parser


def run_stage(stage: Stage, values: dict, beam_argv: Sequence[str]) -> None:
    code = importlib.import_module(stage.module).main(stage_argv(stage, values, beam_argv))
    if code:
        raise OttError(f"step '{stage.name}' failed with exit code {code}")


def main(argv: Sequence[str] | None = None) -> int:
    args, beam_argv = parse_stage_args(build_parser(), argv)
    configure_logging()
    if args.skip_generate and any(getattr(args, n) is not None for n in GENERATOR_OPTIONS):
        raise OttError("generator flags make no sense with --skip-generate")
    if beam_argv and not beam_argv[0].startswith("-"):
        raise OttError(f"unexpected argument '{beam_argv[0]}' (flags only; see `ott run --help`)")
    if not 0.0 <= args.max_quarantine_rate <= 1.0:
        raise OttError(f"--max-quarantine-rate must be within [0, 1], got {args.max_quarantine_rate}")
    values = {"data_dir": args.data_dir, "dt": None, "max_quarantine_rate": args.max_quarantine_rate}
    values.update({name: getattr(args, name) for name in GENERATOR_OPTIONS})
    stages = [s for s in STAGES if not s.dag_only and not (args.skip_generate and s.name == "generate")]
    total = time.perf_counter()
    with run_lock.hold(args.data_dir, "ott run", wait=args.wait):  # the stages re-enter it
        for stage in stages:
            log.info("▶ %s", stage.name)
            t0 = time.perf_counter()
            run_stage(stage, values, beam_argv)
            log.info("✔ %s in %.1f s", stage.name, time.perf_counter() - t0)
    log.info("pipeline finished in %.1f s", time.perf_counter() - total)
    outputs = (("report", catalog.report_file(args.data_dir)), ("dashboard", catalog.dashboard_file(args.data_dir)))
    for what, path in outputs:
        log.info("%-10s %s", what + ":", path if "://" in path else os.path.abspath(path))
    return 0
