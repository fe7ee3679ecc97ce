"""Composite PTransforms of the gold stage: wiring only, the logic lives in the mart modules.

Element shapes (frames use the encoding of :mod:`beam_pipelines.marts.frames`):

- silver inputs: ``PCollection[pandas.DataFrame]``, one element per Parquet record
  batch of the data files a silver release pins (:class:`ReadSilverTables`), or literal
  frames in tests; dimensions one frame each (:class:`ReadDimensions`);
- audits: ``PCollection[dict]``, one gold_data_quality row per row of ``silver.audit``;
- :class:`BuildGoldMarts` returns, per gold table, a ``PCollection`` holding exactly one
  ``pandas.DataFrame``: the finished mart, still in the internal encoding;
- :class:`WriteGoldTable` turns that frame into the Parquet data files of the Iceberg
  table ``gold.<table>`` (one per partition), which the driver then commits.

The graph is kept small on purpose (the runner pays per transform and per stage):
sessions (by user_id), ad and playback events (by event_id) are split into stable hash
buckets and meet in ONE ``GroupByKey``; each bucket becomes a dict of small frames —
the partials the registered marts declare (additive sums, per-user rows, QoE values,
cross-partition duplicate counts) — and ONE lifted ``CombineGlobally``
(:class:`MergeFramesFn`) merges them, each by its partial's ``merge``; one step then
calls every mart's ``finish`` on the merged frames and the dimensions (side inputs).
Which marts, partials and columns: :mod:`beam_pipelines.marts.registry`.
"""

from __future__ import annotations

import datetime as dt_
from collections.abc import Iterator, Sequence

import apache_beam as beam
import numpy as np
import pandas as pd
import pyarrow as pa
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsList, AsSingleton, TaggedOutput

from beam_pipelines import catalog, fileio
from beam_pipelines.hashing import group_positions
from beam_pipelines.marts import registry
from beam_pipelines.marts.frames import (
    ConcatFramesFn,
    jsonl_bytes,
    parquet_bytes,
    read_parquet_frames,
    split_by_bucket,
    to_gold_table,
)
from beam_pipelines.marts.shared import KINDS
from beam_pipelines.marts.state import EarlierScan, earlier_rows, read_state_file, write_state_file
from beam_pipelines.marts.spec import METRICS_NAMESPACE, Bucket, Finish, Mart, Partial, columns_of, partials_of
from beam_pipelines.schema import TABLE_PARTITIONS

# Hash buckets of the per-user / per-event_id steps: enough to keep a few workers busy;
# raise it on Dataflow (each bucket is one pandas job, so very many small ones cost overhead).
DEFAULT_BUCKETS = 4

# ------------------------------------------------------------------ reading


class _ReadTaggedFn(beam.DoFn):
    """``(name, path)`` → the file's normalised frames, on the output tagged ``name``."""

    def __init__(self, tables: dict[str, tuple[tuple[str, ...], str]]):
        self._tables = tables  # name -> (columns, counter)

    def setup(self):
        self._rows = {name: Metrics.counter(METRICS_NAMESPACE, counter) for name, (_, counter) in self._tables.items()}

    def process(self, element):
        name, path = element
        for frame in read_parquet_frames(path, self._tables[name][0]):
            self._rows[name].inc(len(frame))
            yield TaggedOutput(name, frame)


class ReadSilverTables(beam.PTransform):
    """Several silver tables through one ``Reshuffle`` and one reading step.

    ``tables``: {name: (data file paths, columns, counter)} — the files a silver release
    pins (``tables.data_files``). Output: {name: PCollection of frames} (one graph for
    all tables: every transform costs the runner a fixed overhead).
    """

    def __init__(self, tables: dict[str, tuple[Sequence[str], Sequence[str], str]]):
        super().__init__()
        self._files = [(name, path) for name, (paths, _, _) in tables.items() for path in paths]
        self._tables = {name: (tuple(columns), counter) for name, (_, columns, counter) in tables.items()}

    def expand(self, pbegin):
        outputs = (
            pbegin
            | "DataFiles" >> beam.Create(self._files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadBatches" >> beam.ParDo(_ReadTaggedFn(self._tables)).with_outputs(*self._tables)
        )
        return {name: outputs[name] for name in self._tables}


class _ReadDimensionFn(beam.DoFn):
    """``name`` → the whole (small) dimension table as one frame sorted by its keys."""

    def __init__(self, tables: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]]):
        self._tables = tables  # name -> (paths, columns, keys, counter)

    def setup(self):
        self._rows = {name: Metrics.counter(METRICS_NAMESPACE, t[3]) for name, t in self._tables.items()}

    def process(self, name: str):
        paths, columns, keys, _ = self._tables[name]
        frames = [frame for path in paths for frame in read_parquet_frames(path, columns)]
        self._rows[name].inc(sum(len(f) for f in frames))
        yield TaggedOutput(name, ConcatFramesFn({c: "object" for c in columns}, keys).extract_output(frames))


class ReadDimensions(beam.PTransform):
    """Small dimension tables → {name: PCollection holding one frame sorted by its keys}.

    ``tables``: {name: (data file paths, columns, sort keys, counter)}. Each table is
    read whole by one worker: dimensions are small, and a combine per table costs more.
    """

    def __init__(self, tables: dict[str, tuple[Sequence[str], Sequence[str], Sequence[str], str]]):
        super().__init__()
        self._tables = {name: (tuple(paths), tuple(cols), tuple(keys), counter) for name, (paths, cols, keys, counter) in tables.items()}

    def expand(self, pbegin):
        outputs = (
            pbegin
            | "Names" >> beam.Create(list(self._tables))
            | "ReadTables" >> beam.ParDo(_ReadDimensionFn(self._tables)).with_outputs(*self._tables)
        )
        return {name: outputs[name] for name in self._tables}


class FindEarlierRows(beam.PTransform):
    """Per event kind recomputed incrementally, the rows of kept dts that share an
    event_id with the recomputed dts → ONE dict {kind: frame of event_id, dt} (a side
    input of the buckets: those rows may win the "earliest dt" rule)."""

    def __init__(self, scans: Sequence[EarlierScan]):
        super().__init__()
        self._scans = tuple(scans)

    def expand(self, pbegin):
        return (
            pbegin
            | "Scans" >> beam.Create(self._scans)
            | "MatchIndex" >> beam.Map(lambda scan: (scan.kind, earlier_rows(scan)))
            | "ByKind" >> beam.combiners.ToDict()
        )


# ------------------------------------------------------------------ the shared shuffle
#
# Sessions (by user_id), ad events and playback events (by event_id) are split into
# stable hash buckets, tagged with their kind and grouped by ONE GroupByKey; each
# bucket is reduced to a dict of the registered marts' partials and ONE lifted
# CombineGlobally merges those dicts. A few big stages instead of dozens of small ones:
# the per-transform and per-stage costs of the runner were most of the stage's time at
# 1M events.


def _tag_buckets(frame: pd.DataFrame, kind: str, columns: tuple[str, ...], key: str, buckets: int):
    for number, part in split_by_bucket(frame[list(columns)], key, buckets):
        yield (kind, number), part


class MergeFramesFn(beam.CombineFn):
    """Dicts {name: frame} → one dict {name: merged frame}, each name by its own CombineFn."""

    def __init__(self, combiners: dict[str, beam.CombineFn]):
        self._combiners = combiners

    def create_accumulator(self):
        return {name: fn.create_accumulator() for name, fn in self._combiners.items()}

    def add_input(self, accumulator, element: dict):
        for name, frame in element.items():
            accumulator[name] = self._combiners[name].add_input(accumulator[name], frame)
        return accumulator

    def merge_accumulators(self, accumulators):
        accumulators = list(accumulators)
        return {
            name: fn.merge_accumulators([acc[name] for acc in accumulators]) for name, fn in self._combiners.items()
        }

    def compact(self, accumulator):
        return {name: fn.compact(accumulator[name]) for name, fn in self._combiners.items()}

    def extract_output(self, accumulator) -> dict:
        return {name: fn.extract_output(accumulator[name]) for name, fn in self._combiners.items()}


def with_kept_slices(
    merged: dict[str, pd.DataFrame],
    partials: Sequence[Partial],
    slices: dict[str, Sequence[int]] | None,
    kept: Sequence[str],
) -> dict[str, pd.DataFrame]:
    """The merged partials of the slices a run computed and the state files of the slices
    it keeps → {name: frame}: each partial's frames of every slice, in slice order.

    Exact because every partial is keyed (and sorted) by its slice column first: slices
    share no key, and the concatenation is the frame a merge of everything would give.
    The kept slices are read here, in the one step that needs them, rather than carried
    through the runner (at 30 days of history they are most of the gold state).
    """
    states = [*split_slices(merged, partials, slices), *(read_state_file(path) for path in kept)]
    frames: dict[str, list[pd.DataFrame]] = {p.name: [] for p in partials}
    for _, state in sorted(states, key=lambda s: s[0]):
        for name, frame in state.items():
            if name in frames:  # a state may hold partials of marts no longer built
                frames[name].append(frame)
    out = {}
    for partial in partials:
        found = [f for f in frames[partial.name] if len(f)]  # an empty frame's dtypes may be looser
        if not found:
            out[partial.name] = partial.merge.extract_output(partial.merge.create_accumulator())
        else:
            out[partial.name] = pd.concat(found, ignore_index=True) if len(found) > 1 else found[0]
    return out


def split_slices(
    merged: dict[str, pd.DataFrame], partials: Sequence[Partial], slices: dict[str, Sequence[int]] | None = None
) -> Iterator[tuple[tuple[str, int], dict[str, pd.DataFrame]]]:
    """The merged partials of the slices a run computed → ``((table, slice), {name:
    frame})`` per slice: each partial's rows of that slice (by its kind's slice column).

    ``slices``: the slices computed, per silver table (default: those with rows); a slice
    without rows of a partial gets that partial's frame empty — it is state too.
    """
    kinds = {p.kind.table: p.kind for p in partials}
    for table, kind in kinds.items():
        names = [p.name for p in partials if p.kind.table == table]
        groups = {}
        for name in names:
            frame = merged[name]
            if kind.slice not in frame.columns:
                raise ValueError(f"partial {name!r} is not keyed by its slice column {kind.slice!r}")
            groups[name] = group_positions(frame[kind.slice].to_numpy("int64"))
        days = sorted({d for g in groups.values() for d in g}) if slices is None else sorted(slices.get(table, ()))
        for day in days:
            yield (table, day), {
                name: merged[name].iloc[groups[name][day]].reset_index(drop=True)
                if day in groups[name]
                else merged[name].iloc[0:0]
                for name in names
            }


class _SummariseBucketFn(beam.DoFn):
    """((kind, bucket), [frames]) → {name: partial frame} of every partial of that kind."""

    def __init__(self, partials: Sequence[Partial]):
        self._kinds = {p.kind.name: p.kind for p in partials}
        self._partials = {name: [p for p in partials if p.kind.name == name] for name in self._kinds}

    def process(self, element, content: pd.DataFrame, earlier: dict):
        (name, _), frames = element
        bucket = Bucket(self._kinds[name], pd.concat(list(frames), ignore_index=True), content, earlier.get(name))
        yield {p.name: p.compute(bucket) for p in self._partials[name]}


class _FinishFn(beam.DoFn):
    """The merged partials and the dimensions → every mart, each on the output named after its table."""

    def __init__(self, marts: Sequence[Mart], dates: dict[str, tuple[int, ...]]):
        self._marts = tuple(marts)
        self._dates = dates

    def process(self, merged, users, content, campaigns, audits) -> Iterator[TaggedOutput]:
        ctx = Finish(merged, users, content, campaigns, audits, self._dates)
        for mart in self._marts:
            yield TaggedOutput(mart.table, ctx.mart(mart))


class BuildGoldMarts(beam.PTransform):
    """Silver inputs and kept state → the registered gold marts and the new slice states.

    Input: a dict with the event kinds of :mod:`beam_pipelines.marts.shared` (``sessions``,
    ``ad_events``, ``playback_events``: frame batches of the slices this run recomputes),
    ``users``, ``content``, ``campaigns`` (one frame each), ``audits`` (rows), and
    optionally ``earlier`` (one dict {kind: frame of event_id, dt} of rows outside the
    slices read that share their ids). ``marts``: the marts to build (default:
    :data:`beam_pipelines.marts.registry.MARTS`); only the partials they need are
    computed, and only the event kinds those partials read are bucketed. ``slices``: the
    slices recomputed, {silver table: day numbers} (default: those the inputs have rows
    of). ``kept``: the gold state files of the slices it does not recompute (read by the
    step that lays every slice end to end, :func:`with_kept_slices`). ``dates``: for a
    ``by_date`` mart rewritten by date, the event_date day numbers it is finished for
    (its output holds only their rows; other marts and by_date marts not named: all).

    Output: {table: single-frame PCollection} per mart, and ``state``: the recomputed
    slices' ``((table, slice), {partial: frame})``.
    """

    def __init__(
        self,
        buckets: int = DEFAULT_BUCKETS,
        marts: Sequence[Mart] | None = None,
        slices: dict[str, Sequence[int]] | None = None,
        kept: Sequence[str] = (),
        dates: dict[str, Sequence[int]] | None = None,
    ):
        super().__init__()
        self._buckets = buckets
        self._kept = tuple(kept)
        self._dates = {table: tuple(days) for table, days in (dates or {}).items()}
        self._marts = tuple(registry.MARTS if marts is None else marts)
        self._slices = None if slices is None else {t: tuple(days) for t, days in slices.items()}

    def expand(self, inputs):
        users, content, campaigns = inputs["users"], inputs["content"], inputs["campaigns"]
        pipeline = users.pipeline
        partials = partials_of(self._marts)
        combiners = {p.name: p.merge for p in partials}
        tagged = [
            inputs[kind.name]
            | f"Bucket{kind.name.title().replace('_', '')}"
            >> beam.FlatMap(_tag_buckets, kind.name, columns_of(partials, kind), kind.key, self._buckets)
            for kind in KINDS
            if any(p.kind == kind for p in partials)
        ]
        earlier = inputs.get("earlier") or (pipeline | "NoEarlierRows" >> beam.Create([{}]))
        computed = (
            tagged
            | "FlattenBuckets" >> beam.Flatten(pipeline=pipeline)
            | "GroupBuckets" >> beam.GroupByKey()
            | "SummariseBuckets" >> beam.ParDo(_SummariseBucketFn(partials), AsSingleton(content), AsSingleton(earlier))
            | "MergePartials" >> beam.CombineGlobally(MergeFramesFn(combiners))
        )
        state = computed | "SplitSlices" >> beam.FlatMap(split_slices, partials, self._slices)
        if not self._kept:
            # nothing kept (a full run): the merged partials are already in slice order
            merged = computed
        else:
            merged = computed | "WithKeptSlices" >> beam.Map(with_kept_slices, partials, self._slices, self._kept)
        tables = [m.table for m in self._marts]
        marts = merged | "BuildMarts" >> beam.ParDo(
            _FinishFn(self._marts, self._dates),
            AsSingleton(users),
            AsSingleton(content),
            AsSingleton(campaigns),
            AsList(inputs["audits"]),
        ).with_outputs(*tables)
        return {**{table: marts[table] for table in tables}, "state": state}


# ------------------------------------------------------------------ writing


def gold_data_files(arrow: pa.Table, table: str) -> Iterator[tuple[dict, pa.Table]]:
    """A finished mart (:func:`to_gold_table`) → (partition, rows) per data file: one file
    per value of the table's partition column (``TABLE_PARTITIONS``), or one file; rows
    sorted by the grain, so the files in path order hold the mart's rows in order."""
    if arrow.num_rows == 0:
        return
    columns = TABLE_PARTITIONS.get(table, ())
    if not columns:
        yield {}, arrow
        return
    (column,) = columns
    days = arrow.column(column).combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)
    # rows are sorted by the grain, whose first key is the partition column: contiguous runs
    starts = np.concatenate([[0], np.flatnonzero(np.diff(days)) + 1])
    ends = np.append(starts[1:], len(days))
    for start, end in zip(starts.tolist(), ends.tolist()):
        day = dt_.date(1970, 1, 1) + dt_.timedelta(days=int(days[start]))
        yield {column: day.isoformat()}, arrow.slice(start, end - start)


def write_gold_files(frame: pd.DataFrame, data_dir: str, table: str, attempt: str) -> list[str]:
    """Write one finished mart as the Parquet data files of ``gold.<table>``; return their paths.

    Also stages its JSON-lines export (``catalog.gold_staged_export``) from the same Arrow
    table: the rows the data files hold, in their order — what the driver would
    otherwise read back from those files after the release, only to serialise them.
    """
    arrow = to_gold_table(frame, table)
    Metrics.counter(METRICS_NAMESPACE, f"{table}_rows").inc(arrow.num_rows)
    paths = []
    for partition, rows in gold_data_files(arrow, table):
        path = catalog.lake_data_file(data_dir, "gold", table, attempt, partition, "part-00000.parquet")
        fileio.write_bytes(path, parquet_bytes(rows))
        paths.append(path)
    fileio.write_bytes(catalog.gold_staged_export(data_dir, attempt, table), jsonl_bytes(arrow))
    return paths


class WriteGoldTable(beam.PTransform):
    """The single frame of a mart → its data files under ``lake/gold/<table>/data/run=<attempt>/``.

    Output: PCollection holding the list of paths written (committed by the driver).
    """

    def __init__(self, data_dir: str, table: str, attempt: str):
        super().__init__()
        self._data_dir, self._table, self._attempt = data_dir, table, attempt

    def expand(self, frames):
        return frames | "WriteFiles" >> beam.Map(write_gold_files, self._data_dir, self._table, self._attempt)


class WriteGoldState(beam.PTransform):
    """Recomputed slices' states → one data file each of ``gold.partials`` under the
    attempt's folder (committed by the driver with the marts)."""

    def __init__(self, data_dir: str, attempt: str, inputs: dict):
        super().__init__()
        self._data_dir, self._attempt, self._inputs = data_dir, attempt, dict(inputs)

    def expand(self, states):
        return states | "WriteStateFiles" >> beam.Map(write_state_file, self._data_dir, self._attempt, self._inputs)
