"""Pipeline construction shared by the Beam stages: one place that picks the runner.

Unrecognised command-line flags become Beam ``PipelineOptions`` (``--runner``,
``--project``, ``--region``, ``--temp_location``, ``--direct_num_workers`` …). When no
``--runner`` is given we pin Beam's in-process FnApiRunner: the plain DirectRunner
first tries to download the Prism runner binary, which an offline machine cannot do.
``--direct_running_mode`` / ``--direct_num_workers`` are honoured by the FnApiRunner.
"""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions, StandardOptions


def pipeline_options(beam_argv: Sequence[str]) -> PipelineOptions:
    """PipelineOptions from the pass-through flags, with ``save_main_session`` off."""
    options = PipelineOptions(list(beam_argv))
    # Workers import our installed modules; they never need the main session pickled.
    options.view_as(SetupOptions).save_main_session = False
    return options


def make_pipeline(beam_argv: Sequence[str]) -> beam.Pipeline:
    """A Pipeline on the requested runner, or the in-process FnApiRunner by default."""
    options = pipeline_options(beam_argv)
    runner_name = options.view_as(StandardOptions).runner
    if runner_name in (None, "DirectRunner", "FnApiRunner"):
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)
