"""Pipeline construction shared by the Beam stages: one place that picks the runner.

Unrecognised command-line flags become Beam ``PipelineOptions`` (``--runner``,
``--project``, ``--region``, ``--temp_location``, ``--direct_num_workers`` …). When no
``--runner`` is given we pin Beam's in-process FnApiRunner: the plain DirectRunner
first tries to download the Prism runner binary, which an offline machine cannot do.
``--direct_running_mode`` / ``--direct_num_workers`` are honoured by the FnApiRunner.

``--runner DataflowRunner --dry_run=True`` builds the complete Dataflow job (graph
translation, environments, the job request) and submits nothing. A dry run never talks to
Google Cloud, so it skips Beam's checks of the service names (a project id such as ``p``
or a bucket such as ``gs://b`` is fine for an offline build); a real Dataflow run checks
them up front and fails in one line (:func:`check_service_names`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    TestOptions,
)
from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator

from beam_pipelines.cli_support import OttError

LOCAL_RUNNERS = (None, "DirectRunner", "FnApiRunner")
DATAFLOW_RUNNERS = ("DataflowRunner", "dataflow")


def pipeline_options(beam_argv: Sequence[str]) -> PipelineOptions:
    """PipelineOptions from the pass-through flags, with ``save_main_session`` off."""
    options = PipelineOptions(list(beam_argv))
    # Workers import our installed modules; they never need the main session pickled.
    options.view_as(SetupOptions).save_main_session = False
    return options


def is_dataflow_dry_run(options: PipelineOptions) -> bool:
    return options.view_as(StandardOptions).runner in DATAFLOW_RUNNERS and bool(options.view_as(TestOptions).dry_run)


def check_service_names(options: PipelineOptions) -> None:
    """Fail fast, in one line, on names Beam's Dataflow validator would reject.

    Beam 2.77 rejects a project id or a bucket that does not match GCP's naming rules and,
    for bad buckets, first tries to create a default bucket over the network — minutes of
    retries on an offline machine before a traceback. Dry runs are exempt (see module doc).
    """
    if options.view_as(StandardOptions).runner not in DATAFLOW_RUNNERS or is_dataflow_dry_run(options):
        return
    cloud = options.view_as(GoogleCloudOptions)
    if cloud.project and not re.fullmatch(PipelineOptionsValidator.PROJECT_ID_PATTERN, cloud.project):
        raise OttError(f"--project '{cloud.project}' is not a valid GCP project id (6-30 chars: a-z, 0-9, -)")
    for name in ("temp_location", "staging_location"):
        value = getattr(cloud, name)
        bucket = value[5:].split("/", 1)[0] if value and value.startswith("gs://") else None
        if bucket is not None and not re.fullmatch(PipelineOptionsValidator.GCS_BUCKET, bucket):
            raise OttError(f"--{name} '{value}': '{bucket}' is not a valid GCS bucket name (3-63 chars)")


class DataflowDryRunPipeline(beam.Pipeline):
    """A pipeline whose ``run()`` builds the Dataflow job offline and submits nothing.

    It is constructed on the local runner so that ``Pipeline.__init__`` does not validate
    service names; ``run()`` then hands the graph to ``DataflowRunner.run_pipeline``, which
    translates it and, because ``dry_run`` is set, returns before any network call.
    """

    def run(self, test_runner_api="AUTO"):  # noqa: ARG002 - same signature as Pipeline.run
        from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner

        return DataflowRunner().run_pipeline(self, self._options)


def make_pipeline(beam_argv: Sequence[str]) -> beam.Pipeline:
    """A Pipeline on the requested runner, or the in-process FnApiRunner by default."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    options = pipeline_options(beam_argv)
    check_service_names(options)
    if is_dataflow_dry_run(options):
        return DataflowDryRunPipeline(runner=FnApiRunner(), options=options)
    if options.view_as(StandardOptions).runner in LOCAL_RUNNERS:
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)
