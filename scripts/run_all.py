"""``ott run``: every stage in the DAG's order, gates included, in one process.

    ott run                                  # generate → silver → quality gate → gold → SQL data tests
                                             #   → warehouse → analytics → report
    ott run --skip-generate --data-dir D     # process the bronze already in D
    ott run --days 3 --users 2000 --seed 7   # generator flags are forwarded to `ott generate`
    ott run --max-quarantine-rate 0.02       # stricter quality gate
    ott run --direct_num_workers=2 --direct_running_mode=multi_processing
                                             # unknown --flags go to the Beam stages' PipelineOptions

The stages, their order and the options each takes come from :mod:`scripts.stages`, the
list the Airflow DAG is built from too; each stage runs the same ``main(argv)`` as its
own subcommand. A gate that fails stops the run before anything after it is published,
exactly as in the DAG. Silver (without ``--dt``) processes every bronze partition, so the
per-partition quality gate checks each of them.
"""

from __future__ import annotations

import glob
import importlib
import logging
import os
import re
import time
from collections.abc import Sequence

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_data_dir, configure_logging
from scripts.stages import DEFAULT_MAX_QUARANTINE_RATE, GENERATOR_OPTIONS, STAGES, Stage, stage_argv

log = logging.getLogger("ott.run")

_DT_FOLDER = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott run",
        description="Run every stage in the Airflow DAG's order, gates included: "
        + " → ".join(s.name for s in STAGES)
        + ". A failing gate stops the run.",
        epilog="Unrecognised --flags are passed to the Beam stages as PipelineOptions.",
    )
    add_data_dir(parser)
    parser.add_argument("--skip-generate", action="store_true", help="process the bronze already in --data-dir")
    parser.add_argument(
        "--max-quarantine-rate",
        type=float,
        default=DEFAULT_MAX_QUARANTINE_RATE,
        help="quality gate: largest acceptable quarantined/read share per dataset and partition "
        "(default: %(default)s)",
    )
    gen = parser.add_argument_group("generator flags (forwarded to `ott generate`)")
    gen.add_argument("--seed", type=int)
    gen.add_argument("--start-date")
    gen.add_argument("--days", type=int)
    gen.add_argument("--users", type=int)
    gen.add_argument("--events-per-day", type=int)
    gen.add_argument("--defect-rate", type=float)
    return parser


def bronze_partitions(data_dir: str) -> dict[str, set[str]]:
    """Ingest date → the event datasets with a bronze folder for it (what `ott silver` processes)."""
    from beam_pipelines.schema import EVENT_DATASETS

    found: dict[str, set[str]] = {}
    for dataset in EVENT_DATASETS:
        pattern = catalog.bronze_dataset_dir(data_dir, dataset) + "/dt=*/part-*.csv"
        if "://" in data_dir:  # object storage: list the prefix through Beam's filesystems
            from apache_beam.io.filesystems import FileSystems

            paths = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
        else:
            paths = [p.replace(os.sep, "/") for p in glob.glob(pattern)]
        for path in paths:
            if match := _DT_FOLDER.search(path):
                found.setdefault(match.group(1), set()).add(dataset)
    return dict(sorted(found.items()))


def run_stage(stage: Stage, values: dict, beam_argv: Sequence[str]) -> None:
    code = importlib.import_module(stage.module).main(stage_argv(stage, values, beam_argv))
    if code:
        raise OttError(f"step '{stage.name}' failed with exit code {code}")


def run_per_partition(stage: Stage, values: dict, beam_argv: Sequence[str]) -> None:
    """Run a per-partition stage (the silver quality gate) for every bronze ingest date.

    The gate judges both event datasets of a date; a date that only one dataset has (late
    playback events spilling past the last generated day, say) is judged dataset by
    dataset with the gate's own rules. This goes away when `ott silver` gates itself.
    """
    from beam_pipelines.schema import EVENT_DATASETS
    from scripts.quality_gate import QualityGateError, read_partition_quality

    partitions = bronze_partitions(values["data_dir"])
    if not partitions:
        raise OttError(f"step '{stage.name}': no bronze event partitions under {values['data_dir']}")
    for dt, datasets in partitions.items():
        if datasets == set(EVENT_DATASETS):
            run_stage(stage, {**values, "dt": dt}, beam_argv)
            continue
        for dataset in sorted(datasets):
            quality = read_partition_quality(values["data_dir"], dataset, dt)
            problems = quality.problems(values["max_quarantine_rate"])
            if problems:
                raise QualityGateError("quality gate failed: " + "; ".join(problems))
            log.info("quality ok: %s (the only event dataset with dt=%s)", quality.label, dt)


def main(argv: Sequence[str] | None = None) -> int:
    args, beam_argv = build_parser().parse_known_args(argv)
    configure_logging()
    if args.skip_generate and any(getattr(args, n) is not None for n in GENERATOR_OPTIONS):
        raise OttError("generator flags make no sense with --skip-generate")
    if beam_argv and not beam_argv[0].startswith("-"):
        raise OttError(f"unexpected argument '{beam_argv[0]}' (flags only; see `ott run --help`)")
    if not 0.0 <= args.max_quarantine_rate <= 1.0:
        raise OttError(f"--max-quarantine-rate must be within [0, 1], got {args.max_quarantine_rate}")
    values = {"data_dir": args.data_dir, "dt": None, "max_quarantine_rate": args.max_quarantine_rate}
    values.update({name: getattr(args, name) for name in GENERATOR_OPTIONS})
    stages = [s for s in STAGES if not (args.skip_generate and s.name == "generate")]
    total = time.perf_counter()
    for stage in stages:
        log.info("▶ %s", stage.name)
        t0 = time.perf_counter()
        if stage.per_partition:
            run_per_partition(stage, values, beam_argv)
        else:
            run_stage(stage, values, beam_argv)
        log.info("✔ %s in %.1f s", stage.name, time.perf_counter() - t0)
    log.info("pipeline finished in %.1f s", time.perf_counter() - total)
    outputs = (("report", catalog.report_file(args.data_dir)), ("dashboard", catalog.dashboard_file(args.data_dir)))
    for what, path in outputs:
        log.info("%-10s %s", what + ":", path if "://" in path else os.path.abspath(path))
    return 0
