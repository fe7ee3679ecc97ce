"""What a gold mart module declares, and the two contexts its functions receive.

A mart module (``beam_pipelines/marts/<mart>.py``) ends with one :class:`Mart`:

- ``table`` — its gold table; the Arrow schema, the grain and the partition column are
  the contract's (``GOLD_SCHEMAS``, ``TABLE_KEYS``, ``TABLE_PARTITIONS`` in
  :mod:`beam_pipelines.schema`), exposed here as :attr:`Mart.schema`, :attr:`Mart.keys`,
  :attr:`Mart.partition`;
- ``partials`` — the :class:`Partial` frames it needs from every hash bucket, each with
  the :class:`~apache_beam.CombineFn` that merges them across buckets (partials shared
  by several marts live in :mod:`beam_pipelines.marts.shared`);
- ``finish`` — ``finish(ctx: Finish) -> pandas.DataFrame``: the merged partials and the
  dimensions → the mart's rows (internal encoding of :mod:`beam_pipelines.marts.frames`);
- ``needs`` — other marts whose finished rows ``finish`` reads (``ctx.mart(...)``).

The gold graph (:class:`beam_pipelines.marts.transforms.BuildGoldMarts`) keeps ONE
shuffle, ONE combine and ONE finish step whatever the marts: every bucket computes the
partials of all registered marts (:class:`Bucket` shares work between them), one
``MergeFramesFn`` merges them by name, one step calls every ``finish``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
import pandas as pd
import pyarrow as pa

from beam_pipelines.schema import GOLD_SCHEMAS, SILVER_SCHEMAS, TABLE_KEYS, TABLE_PARTITIONS

METRICS_NAMESPACE = "ott.gold"


@dataclass(frozen=True)
class Kind:
    """A silver event table split into hash buckets of ``key`` before the shuffle.

    Its partials are kept per **slice**: one partition of the table (``slice`` column,
    its Iceberg partition: event_date for sessions, dt for events). A gold run recomputes
    the slices whose silver files changed and merges the others from the gold state.
    """

    name: str  # the input name of BuildGoldMarts and the bucket tag
    table: str  # the silver table it is read from
    key: str  # rows of one key value always meet in one bucket
    dedupe: bool = False  # rows of an event_id in several dts: the earliest dt wins

    @property
    def slice(self) -> str:
        (column,) = TABLE_PARTITIONS[self.table]
        return column


@dataclass(frozen=True)
class Partial:
    """A small frame every bucket of ``kind`` emits, merged across buckets by ``merge``.

    ``compute(bucket) -> DataFrame`` reads ``bucket.rows`` (only ``columns`` of the
    kind's table are guaranteed to be there) and the content dimension. Its frame is
    **keyed by the kind's slice column** (``Kind.slice``: event_date for sessions, dt for
    events): the rows of each slice, merged, are that slice's gold state, and frames of
    different slices never share a key, so merging kept and recomputed slices is exact
    whatever the metric (distinct counts, percentiles, per-user rows).
    """

    name: str
    kind: Kind
    columns: tuple[str, ...]
    compute: Callable[[Bucket], pd.DataFrame]
    merge: beam.CombineFn


@dataclass(frozen=True)
class Mart:
    """One gold table: the partials it needs, the marts it reads, and how it is finished."""

    table: str
    partials: tuple[Partial, ...]
    finish: Callable[[Finish], pd.DataFrame]
    needs: tuple[Mart, ...] = ()

    @property
    def schema(self) -> pa.Schema:
        return GOLD_SCHEMAS[self.table]

    @property
    def keys(self) -> tuple[str, ...]:
        return TABLE_KEYS[self.table]

    @property
    def partition(self) -> str | None:
        (column,) = TABLE_PARTITIONS.get(self.table, (None,))
        return column


# ------------------------------------------------------------------ registries of marts


def with_needs(marts: Iterable[Mart]) -> list[Mart]:
    """The marts and, transitively, every mart they need (each once, needs first)."""
    out: dict[str, Mart] = {}

    def visit(mart: Mart) -> None:
        if mart.table not in out:
            for need in mart.needs:
                visit(need)
            out[mart.table] = mart

    for mart in marts:
        visit(mart)
    return list(out.values())


def partials_of(marts: Iterable[Mart]) -> list[Partial]:
    """Every partial the marts (and the marts they need) use, each name once.

    Two different partials under one name are an error: their frames would be merged
    into one.
    """
    found: dict[str, Partial] = {}
    for mart in with_needs(marts):
        for partial in mart.partials:
            if found.setdefault(partial.name, partial) is not partial:
                raise ValueError(f"two different partials are named {partial.name!r} ({mart.table})")
    return list(found.values())


def columns_of(partials: Iterable[Partial], kind: Kind) -> tuple[str, ...]:
    """The columns of ``kind``'s silver table the partials read (its key and slice
    column included), in the table's column order."""
    wanted = {kind.key, kind.slice, *(c for p in partials if p.kind == kind for c in p.columns)}
    return tuple(c for c in SILVER_SCHEMAS[kind.table].names if c in wanted)


# ------------------------------------------------------------------ contexts


class _Memo:
    def __init__(self) -> None:
        self._memo: dict[Callable, Any] = {}

    def shared(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(self)``, computed once per context: work several partials or marts share."""
        if fn not in self._memo:
            self._memo[fn] = fn(self)
        return self._memo[fn]


class Bucket(_Memo):
    """Rows of one hash bucket of one kind, with the content dimension (a side input).

    ``earlier``: (event_id, dt) of rows of the same ids in partitions this run does not
    read (an incremental run of an event kind), which may win the "earliest dt" rule.
    """

    def __init__(self, kind: Kind, rows: pd.DataFrame, content: pd.DataFrame, earlier: pd.DataFrame | None = None) -> None:
        super().__init__()
        self.kind, self.rows, self.content, self.earlier = kind, rows, content, earlier


@dataclass(eq=False)
class Finish(_Memo):
    """The merged partials (by name), the dimensions and the audit rows, for ``finish``."""

    merged: dict[str, pd.DataFrame]
    users: pd.DataFrame
    content: pd.DataFrame
    campaigns: pd.DataFrame
    audits: Sequence[dict]
    _finished: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def partial(self, partial: Partial) -> pd.DataFrame:
        return self.merged[partial.name]

    def mart(self, mart: Mart) -> pd.DataFrame:
        """The finished rows of ``mart`` (built once, whichever mart asks first)."""
        if mart.table not in self._finished:
            self._finished[mart.table] = mart.finish(self)
        return self._finished[mart.table]
