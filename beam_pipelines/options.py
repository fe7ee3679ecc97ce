"""Pipeline construction shared by the Beam stages: one place that picks the runner.

Unrecognised command-line flags become Beam ``PipelineOptions`` (``--runner``,
``--project``, ``--region``, ``--temp_location``, ``--direct_num_workers`` …). When no
``--runner`` is given we pin Beam's in-process FnApiRunner: the plain DirectRunner
first tries to download the Prism runner binary, which an offline machine cannot do.
``--direct_running_mode`` / ``--direct_num_workers`` are honoured by the FnApiRunner.

Pass-through flags are checked against Beam's options registry (SPEC §9): a flag passes
only when some ``PipelineOptions`` class defines it (:func:`parse_stage_args`). Beam itself
would log "Discarding unparseable args" and go on, so a typo such as ``--data_dir`` (for
``--data-dir``) or ``--bogus-flag`` would silently run on the default data dir; here it is
a one-line error with exit code 2.

``--runner DataflowRunner --dry_run=True`` builds the complete Dataflow job (graph
translation, environments, the job request) and submits nothing. A dry run never talks to
Google Cloud, so it skips Beam's checks of the service names (a project id such as ``p``
or a bucket such as ``gs://b`` is fine for an offline build); a real Dataflow run checks
them up front and fails in one line (:func:`check_service_names`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import re
import sys
from collections.abc import Iterator, Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DirectOptions,
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    TestOptions,
    _BeamArgumentParser,
)
from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator

from beam_pipelines.cli_support import OttError, debug_enabled, details_log_path

LOCAL_RUNNERS = (None, "DirectRunner", "FnApiRunner")
DATAFLOW_RUNNERS = ("DataflowRunner", "dataflow")


class _FlagError(Exception):
    """A pass-through flag that Beam's options registry rejects."""


class _StrictBeamParser(_BeamArgumentParser):
    """Beam's own argument parser, raising instead of printing a usage dump and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _FlagError(message)


def _options_classes(cls: type = PipelineOptions) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _options_classes(sub)


@functools.cache
def _beam_parser() -> _StrictBeamParser:
    """One parser holding every flag of every ``PipelineOptions`` class imported so far.

    Built like ``PipelineOptions.get_all_options`` builds its own (``allow_abbrev=False``:
    Beam does not expand ``--run`` to ``--runner`` either), but over subclasses at any depth.
    """
    parser = _StrictBeamParser(allow_abbrev=False, add_help=False)
    seen: dict[str, type] = {}
    for cls in _options_classes():
        seen.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
    for cls in seen.values():
        cls._add_argparse_args(parser)  # noqa: SLF001 - the registry Beam itself reads
    return parser


def check_pass_through_flags(beam_argv: Sequence[str], own: argparse.ArgumentParser | None = None) -> None:
    """Raise OttError naming the first flag no ``PipelineOptions`` class defines.

    ``own`` (the stage's parser) only improves the message: ``--data_dir`` → "did you
    mean --data-dir?". A bad value of a Beam flag (``--direct_num_workers=x``) and a stray
    positional word are errors too.
    """
    try:
        _, unknown = _beam_parser().parse_known_args(list(beam_argv))
    except _FlagError as exc:
        raise OttError(f"bad Beam option: {exc}") from None
    for token in unknown:
        if token == "--":
            continue
        if not token.startswith("-"):
            raise OttError(f"unexpected argument '{token}'")
        name = token.split("=", 1)[0]
        hint = ""
        if own is not None:
            for candidate in {name.replace("_", "-"), name.replace("-", "_")} - {name}:
                if candidate in own._option_string_actions:  # noqa: SLF001 - argparse has no public lookup
                    hint = f" (did you mean {candidate}?)"
        raise OttError(f"unknown flag {name}{hint}")


def parse_stage_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """``parser.parse_known_args`` whose leftovers must all be Beam pipeline options.

    Returns (the stage's own args, the pass-through flags for PipelineOptions). Anything
    else is ``parser.error`` — with ``OttArgumentParser`` one line
    ``ott silver: error: unknown flag --bogus-flag`` and exit code 2.
    """
    args, beam_argv = parser.parse_known_args(argv)
    try:
        check_pass_through_flags(beam_argv, parser)
    except OttError as exc:
        parser.error(str(exc))
    return args, beam_argv


class StageOptions(PipelineOptions):
    """Beam's ``PipelineOptions``, each view built once.

    ``view_as`` builds a fresh argparse parser and parses the flags on every call, and the
    SDK asks for ``TypeOptions`` each time it applies a transform: ~450 calls per stage,
    0.13 s of the silver stage's 0.34 s of graph construction (1M events, 2026-11-30). A
    view keeps no values of its own — they live in the options' shared ``_all_options``
    (Beam's contract: a change made through any view shows in all of them) — so handing
    back the view built the first time changes nothing else.
    """

    def view_as(self, cls):
        views = self.__dict__.get("_views")
        if views is None:
            views = {}
            object.__setattr__(self, "_views", views)  # PipelineOptions.__setattr__ only takes options
        view = views.get(cls)
        if view is None:
            view = views[cls] = super().view_as(cls)
        return view

    def __getstate__(self):
        state = super().__getstate__()
        return {k: v for k, v in state.items() if k != "_views"}


def pipeline_options(beam_argv: Sequence[str]) -> PipelineOptions:
    """PipelineOptions from the pass-through flags, with ``save_main_session`` off."""
    options = StageOptions(list(beam_argv))
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


# Beam's in-process runner samples each bundle's state on a thread that sleeps up to
# 200 ms between samples, and joins that thread at the end of every bundle: on average
# ~0.1 s of idle wall time per bundle (0.36 s of the silver stage's 18 bundles and
# 0.22 s of gold's at 1M events, 2026-11-30). The sampler sleeps without the GIL, so a
# shorter period costs no measurable CPU.
LOCAL_STATE_SAMPLING_MS = 10


def shorten_state_sampling() -> None:
    """Cap the local runner's state-sampling period at ``LOCAL_STATE_SAMPLING_MS``
    (this process only: Dataflow workers keep Beam's default). Beam has no option for
    it: the period is the default argument of ``StateSampler``, which each bundle
    processor builds; left alone when that signature is not the one measured."""
    from apache_beam.runners.worker import statesampler

    init = statesampler.StateSampler.__init__
    if init.__defaults__ == (statesampler.DEFAULT_SAMPLING_PERIOD_MS,):
        init.__defaults__ = (LOCAL_STATE_SAMPLING_MS,)


def make_pipeline(beam_argv: Sequence[str]) -> beam.Pipeline:
    """A Pipeline on the requested runner, or the in-process FnApiRunner by default."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    options = pipeline_options(beam_argv)
    check_service_names(options)
    if is_dataflow_dry_run(options):
        return DataflowDryRunPipeline(runner=FnApiRunner(), options=options)
    if options.view_as(StandardOptions).runner in LOCAL_RUNNERS:
        shorten_state_sampling()
        multi = options.view_as(DirectOptions).direct_running_mode == "multi_processing"
        if multi and not debug_enabled():
            return QuietWorkersPipeline(runner=FnApiRunner(), options=options)
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)


@contextlib.contextmanager
def stderr_fd_to(path: str) -> Iterator[None]:
    """Point file descriptor 2 at ``path`` (append) for the block: what child processes
    print goes there. If ``path`` cannot be opened, nothing changes."""
    existed = os.path.exists(path)
    try:
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        with contextlib.suppress(OSError):
            if not existed and os.path.getsize(path) == 0:
                os.unlink(path)  # nothing was printed: leave no empty log behind


class QuietWorkersPipeline(beam.Pipeline):
    """A pipeline whose worker subprocesses print into the details log, not the console.

    With ``--direct_running_mode=multi_processing`` each SDK worker is a subprocess that
    inherits stderr, and Beam's ``SdkWorker._execute`` prints the traceback of a failing
    bundle there with ``print(..., file=sys.stderr)`` — out of reach of any logging
    handler. The FnApiRunner runs the whole job inside ``run()``, so pointing fd 2 at the
    details log (``cli_support.details_log_path``) for ``run()`` keeps the console to the
    one-line error. ``OTT_DEBUG=1`` uses a plain Pipeline.
    """

    def run(self, test_runner_api="AUTO"):
        with stderr_fd_to(details_log_path()):
            return super().run(test_runner_api)
