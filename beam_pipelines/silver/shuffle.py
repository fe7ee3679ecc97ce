"""The silver shuffles: stable hash buckets, spilled to files, and the batch coder.

Every element of the silver pipeline is a batch (a bronze file, a hash bucket), never a
row. The two big shuffles group file paths, not rows (:func:`spill_buckets`), and the
batches that do travel use :class:`BatchCoder`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa

from beam_pipelines import fileio
from beam_pipelines.bronze_csv import BronzeBatch
from beam_pipelines.hashing import group_positions, stable_hash
from beam_pipelines.validate import ValidatedBatch


def bucket_of(values: pa.Array, buckets: int) -> np.ndarray:
    """Stable bucket (hash mod n) of each string: same key → same bucket in every process."""
    return (stable_hash(values) % np.uint64(buckets)).astype(np.int64)


def split_by_bucket(table: pa.Table, column: str, buckets: int) -> Iterator[tuple[int, pa.Table]]:
    """(bucket, rows of that bucket in their original order) for every non-empty bucket."""
    if table.num_rows == 0:
        return
    ids = bucket_of(table.column(column).combine_chunks(), buckets)
    for bucket, rows in group_positions(ids).items():
        yield bucket, table.take(pa.array(rows))


def spill_buckets(table: pa.Table, column: str, buckets: int, folder: str, name: str) -> Iterator[tuple[int, str]]:
    """Write each bucket's rows to ``folder/bBBBBB/name.arrow`` → (bucket, path) per non-empty bucket.

    What a shuffle carries instead of the rows. The in-process runner keeps a whole
    GroupByKey in memory (at 10M events the dedupe shuffle alone held ~5 GiB), so the
    rows wait on the file system — in the run's staging folder, deleted with it — and
    only the paths are grouped. ``name`` must be unique per producer (file or bucket):
    a retried bundle rewrites the same files.
    """
    for bucket, rows in split_by_bucket(table, column, buckets):
        path = f"{folder}/b{bucket:05d}/{name}.arrow"
        fileio.write_arrow(path, rows)
        yield bucket, path


def approx_bytes(value: Any) -> int:
    """Buffer bytes of a batch, a table or a tuple holding them (no copy, no encoding)."""
    if isinstance(value, pa.Table):
        return value.get_total_buffer_size()
    if isinstance(value, BronzeBatch):
        return value.columns.get_total_buffer_size() + value.line_numbers.nbytes
    if isinstance(value, ValidatedBatch):
        return value.valid.get_total_buffer_size() + value.quarantine.get_total_buffer_size()
    if isinstance(value, tuple):
        return sum(approx_bytes(v) for v in value)
    return 64


class BatchCoder(beam.coders.Coder):
    """Pickle, as Beam's fallback coder does, but a size estimate that does not encode.

    The SDK worker estimates the size of the first ten elements of every PCollection
    (then ~7 more per doubling) for its metrics, by encoding them: with a few batches
    of tens of MB per PCollection, that pickled nearly every batch once more just to
    measure it. Registered for the batch types; PCollections of them are typed.
    """

    def encode(self, value: Any) -> bytes:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Any:
        return pickle.loads(encoded)

    def is_deterministic(self) -> bool:
        return False

    def estimate_size(self, value: Any) -> int:
        return approx_bytes(value)

    def to_type_hint(self):
        return Any


for _batch_type in (pa.Table, BronzeBatch, ValidatedBatch):
    beam.coders.registry.register_coder(_batch_type, BatchCoder)
