"""The pipeline's stages, in order: the one list that `ott run` and the Airflow DAG follow.

Each :class:`Stage` names the module whose ``main(argv)`` runs it (the same entry point as
``ott <stage>`` or ``python -m <module>``), the run options it takes, and whether it is a
Beam pipeline or a gate. ``ott run`` (scripts/run_all.py) calls the modules in this order
in one process; the DAG (dags/ott_analytics_pipeline.py) makes one task per stage, chained
in this order; ``run_pipeline.sh`` / ``run_pipeline.ps1`` delegate to ``ott run``.

Run options are plain names (``data_dir``, ``dt``, ``seed``, ``max_quarantine_rate`` …);
:func:`stage_options` turns the values a stage takes into its flags (``--data-dir``,
``--dt`` …), so ``ott run --max-quarantine-rate`` and the DAG's ``max_quarantine_rate``
param both reach ``ott silver --max-quarantine-rate`` (SPEC §11).

Standard library only: the DAG imports this module when Airflow parses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# silver's expectation (= beam_pipelines.cli_args and scripts.quality_gate defaults; a test
# keeps them equal).
DEFAULT_MAX_QUARANTINE_RATE = 0.05

# `ott generate` options that `ott run` forwards (the DAG sets start_date/days itself).
GENERATOR_OPTIONS = ("seed", "start_date", "days", "users", "events_per_day", "defect_rate")


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline."""

    name: str  # step name in `ott run`'s log
    task_id: str  # Airflow task id
    module: str  # module with main(argv)
    doc: str  # one line: what it does
    options: tuple[str, ...] = ()  # run options it takes besides data_dir (None values are left out)
    fixed_argv: tuple[str, ...] = ()  # arguments it always gets
    beam: bool = False  # a Beam pipeline: takes PipelineOptions; the DAG runs it with the Beam operator
    gate: bool = False  # a data check: its failure means unfit data, so it stops the run and is never retried
    dag_only: bool = False  # a DAG task only: `ott run` skips it (what it checks is enforced earlier)
    reports_failure: bool = False  # runs after the previous stage failed too, to say why (DAG)


STAGES: tuple[Stage, ...] = (
    Stage("generate", "generate_bronze", "scripts.generate",
          "`ott generate`: synthetic bronze CSV (+ manifest) of the run's days", options=GENERATOR_OPTIONS),
    Stage("silver", "build_silver", "beam_pipelines.silver_pipeline",
          "Beam `ott silver`: bronze → validated, deduplicated silver + quarantine + sessions; "
          "a partition quarantining more than max_quarantine_rate is not published and the stage fails",
          options=("dt", "max_quarantine_rate"), beam=True),
    # silver enforces the rate before publishing; in the DAG this task shows the partition's
    # audit (quarantine rate, conservation) as its own green or red box.
    Stage("quality_gate", "check_quality_gate", "scripts.quality_gate",
          "Gate: the partition's silver audit — every event dataset's quarantine rate ≤ max_quarantine_rate "
          "and rows conserved, else stop",
          options=("dt", "max_quarantine_rate", "since"), gate=True, dag_only=True, reports_failure=True),
    Stage("gold", "build_gold", "beam_pipelines.gold_pipeline",
          "Beam `ott gold`: every silver partition → the nine gold marts", beam=True),
    Stage("gold_tests", "run_sql_data_tests", "scripts.quality_gate",
          "Gate: the SQL data tests (sql/tests/) on a scratch warehouse built from the new gold, else stop",
          fixed_argv=("--gold-tests",), gate=True),
    Stage("warehouse", "load_warehouse", "scripts.warehouse",
          "`ott warehouse`: gold, sessions and dimensions into the SQLite warehouse (swapped in)"),
    Stage("analytics", "run_analytics", "scripts.analytics",
          "`ott analytics`: the BigQuery-dialect SQL as analytics_* tables, then the SQL data tests"),
    Stage("report", "write_report", "scripts.report",
          "`ott report`: reports/analysis_report.txt and reports/dashboard.html"),
)


def flag(option: str) -> str:
    """``events_per_day`` → ``events-per-day`` (the flag's name without its dashes)."""
    return option.replace("_", "-")


def stage_options(stage: Stage, values: Mapping[str, object]) -> dict[str, object]:
    """``{flag name: value}`` for ``stage``: data-dir, then each option it takes that has a value.

    This dict is what the Beam operator renders as ``--name=value``; :func:`stage_argv`
    renders it for ``main(argv)``.
    """
    options: dict[str, object] = {"data-dir": values["data_dir"]}
    for option in stage.options:
        if values.get(option) is not None:
            options[flag(option)] = values[option]
    return options


def stage_argv(stage: Stage, values: Mapping[str, object], beam_argv: Sequence[str] = ()) -> list[str]:
    """The argv of ``stage``'s ``main``: its fixed arguments, its options, and (Beam stages) ``beam_argv``."""
    argv = list(stage.fixed_argv)
    for name, value in stage_options(stage, values).items():
        argv += [f"--{name}", str(value)]
    if stage.beam:
        argv += list(beam_argv)
    return argv
