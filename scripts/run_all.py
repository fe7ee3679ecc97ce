"""``ott run``: every stage in order, in one process, with per-step timing.

    ott run                                  # generate → silver → gold → warehouse → analytics → report
    ott run --skip-generate --data-dir D     # process the bronze already in D
    ott run --days 3 --users 2000 --seed 7   # generator flags are forwarded to `ott generate`
    ott run --direct_num_workers=2 --direct_running_mode=multi_processing
                                             # unknown --flags go to the Beam stages' PipelineOptions

Each step calls the same ``main(argv)`` as its own ``ott <step>`` subcommand, so the
CLI, the one-click scripts and the Airflow DAG all run identical code.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Sequence

from beam_pipelines import run_lock
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_data_dir, configure_logging
from beam_pipelines.options import parse_stage_args

log = logging.getLogger("ott.run")

# (step, module) in execution order; the Beam stages receive the pass-through flags.
STEPS: tuple[tuple[str, str], ...] = (
    ("generate", "scripts.generate"),
    ("silver", "beam_pipelines.silver_pipeline"),
    ("gold", "beam_pipelines.gold_pipeline"),
    ("warehouse", "scripts.warehouse"),
    ("analytics", "scripts.analytics"),
    ("report", "scripts.report"),
)
BEAM_STEPS = frozenset({"silver", "gold"})
GENERATOR_FLAGS = ("seed", "start_date", "days", "users", "events_per_day", "defect_rate")


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott run",
        description="Run every stage in order: " + " → ".join(s for s, _ in STEPS) + ".",
        epilog="Unrecognised --flags are passed to the Beam stages as PipelineOptions.",
    )
    add_data_dir(parser)
    run_lock.add_lock_flags(parser)
    parser.add_argument(
        "--max-quarantine-rate", type=float, help="forwarded to `ott silver` (its expectation before publish)"
    )
    parser.add_argument("--skip-generate", action="store_true", help="process the bronze already in --data-dir")
    gen = parser.add_argument_group("generator flags (forwarded to `ott generate`)")
    gen.add_argument("--seed", type=int)
    gen.add_argument("--start-date")
    gen.add_argument("--days", type=int)
    gen.add_argument("--users", type=int)
    gen.add_argument("--events-per-day", type=int)
    gen.add_argument("--defect-rate", type=float)
    return parser


def step_argv(step: str, args, beam_argv: Sequence[str]) -> list[str]:
    """The argv one step receives: --data-dir, plus its own forwarded flags."""
    argv = ["--data-dir", args.data_dir]
    if step == "generate":
        for name in GENERATOR_FLAGS:
            value = getattr(args, name)
            if value is not None:
                argv += [f"--{name.replace('_', '-')}", str(value)]
    if step == "silver" and args.max_quarantine_rate is not None:
        argv += ["--max-quarantine-rate", str(args.max_quarantine_rate)]
    if step in BEAM_STEPS:
        argv += list(beam_argv)
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    args, beam_argv = parse_stage_args(build_parser(), argv)
    configure_logging()
    steps = [(s, m) for s, m in STEPS if not (args.skip_generate and s == "generate")]
    if args.skip_generate and any(getattr(args, n) is not None for n in GENERATOR_FLAGS):
        raise OttError("generator flags make no sense with --skip-generate")
    with run_lock.hold(args.data_dir, "ott run", wait=args.wait):  # the stages re-enter it
        _run_steps(steps, args, beam_argv)
    return 0


def _run_steps(steps, args, beam_argv: Sequence[str]) -> None:
    total = time.perf_counter()
    for step, module_name in steps:
        log.info("▶ %s", step)
        t0 = time.perf_counter()
        code = importlib.import_module(module_name).main(step_argv(step, args, beam_argv))
        if code:
            raise OttError(f"step '{step}' failed with exit code {code}")
        log.info("✔ %s in %.1f s", step, time.perf_counter() - t0)
    log.info("pipeline finished in %.1f s", time.perf_counter() - total)
