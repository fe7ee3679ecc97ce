"""Pipeline options shared by the Beam stages (beam_pipelines/options.py)."""

from __future__ import annotations

import pickle

import apache_beam as beam
from apache_beam.options.pipeline_options import GoogleCloudOptions, StandardOptions, TypeOptions
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.options import StageOptions, make_pipeline


def test_a_view_is_built_once_and_shares_the_options_values():
    options = StageOptions(["--project", "p1"])
    view = options.view_as(TypeOptions)
    assert options.view_as(TypeOptions) is view
    view.pipeline_type_check = False
    assert options.view_as(TypeOptions).pipeline_type_check is False
    assert options.get_all_options()["pipeline_type_check"] is False
    options.view_as(GoogleCloudOptions).project = "p2"
    assert options.get_all_options(drop_default=True)["project"] == "p2"


def test_options_pickle_without_their_views():
    options = StageOptions(["--project", "p1"])
    options.view_as(TypeOptions)
    copy = pickle.loads(pickle.dumps(options))
    assert "_views" not in copy.__dict__
    assert copy.view_as(GoogleCloudOptions).project == "p1"
    assert copy.view_as(TypeOptions) is copy.view_as(TypeOptions)


def test_stage_pipelines_run_with_stage_options():
    pipeline = make_pipeline(["--direct_num_workers", "1"])
    assert isinstance(pipeline.options, StageOptions)
    assert pipeline.options.view_as(StandardOptions).runner is None
    with pipeline:
        squares = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * x)
        assert_that(squares, equal_to([1, 4, 9]))


def test_local_pipelines_sample_bundle_state_at_a_short_period():
    from apache_beam.runners.worker import statesampler
    from apache_beam.utils.counters import CounterFactory

    from beam_pipelines.options import LOCAL_STATE_SAMPLING_MS

    make_pipeline([])
    sampler = statesampler.StateSampler("step", CounterFactory())
    assert sampler.sampling_period_ms == LOCAL_STATE_SAMPLING_MS < statesampler.DEFAULT_SAMPLING_PERIOD_MS
