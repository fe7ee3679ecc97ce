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
- ``needs`` — other marts whose finished rows ``finish`` reads (``ctx.mart(...)``);
- ``by_date`` — each event_date's rows come from the partial rows of that event_date and
  the dimensions named in ``dims`` only: an incremental run then finishes and rewrites
  only the event_date partitions whose sessions it recomputed (SPEC §12), while the
  dimensions it reads are unchanged. ``finish`` then sees only its own partials (their
  rows of those dates) and only the dimensions it names; anything else raises.

The gold graph (:class:`beam_pipelines.marts.transforms.BuildGoldMarts`) keeps ONE
shuffle, ONE combine and ONE finish step whatever the marts: every bucket computes the
partials of all registered marts (:class:`Bucket` shares work between them), one
``MergeFramesFn`` merges them by name, one step calls every ``finish``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
import pandas as pd
import pyarrow as pa

from beam_pipelines.schema import GOLD_SCHEMAS, SILVER_SCHEMAS, TABLE_KEYS, TABLE_PARTITIONS

METRICS_NAMESPACE = "ott.gold"
DIMENSION_NAMES: tuple[str, ...] = ("users", "content", "campaigns")  # the dimensions a finish reads


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
    by_date: bool = False
    dims: tuple[str, ...] = DIMENSION_NAMES

    def __post_init__(self) -> None:
        if not self.by_date:
            return
        kinds = {p.kind.slice for p in self.partials}
        if self.partition != "event_date" or kinds != {"event_date"} or self.needs:
            raise ValueError(
                f"{self.table}: a by_date mart is partitioned by event_date, reads partials "
                "kept per event_date (sessions) only and no other mart"
            )
        unknown = set(self.dims) - set(DIMENSION_NAMES)
        if unknown:
            raise ValueError(f"{self.table}: unknown dimensions {sorted(unknown)} (known: {DIMENSION_NAMES})")

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
    dates: Mapping[str, Iterable[int]] = field(default_factory=dict)  # by_date mart → event_date days to finish
    _finished: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def partial(self, partial: Partial) -> pd.DataFrame:
        if partial.name not in self.merged:
            raise KeyError(f"partial {partial.name!r} is not among the partials of this mart")
        return self.merged[partial.name]

    def mart(self, mart: Mart) -> pd.DataFrame:
        """The finished rows of ``mart`` (built once, whichever mart asks first). A
        ``by_date`` mart is finished on its own partials (their rows of the event dates in
        ``dates``, when it has an entry) and the dimensions it names."""
        if mart.table not in self._finished:
            self._finished[mart.table] = mart.finish(self._by_date(mart) if mart.by_date else self)
        return self._finished[mart.table]

    def _by_date(self, mart: Mart) -> Finish:
        days = self.dates.get(mart.table)
        merged = {}
        for partial in mart.partials:
            frame = self.merged[partial.name]
            if days is not None:
                frame = frame[frame["event_date"].isin(sorted(days)).to_numpy(bool)].reset_index(drop=True)
            merged[partial.name] = frame
        dims = {name: getattr(self, name) if name in mart.dims else _Undeclared(mart.table, name) for name in DIMENSION_NAMES}
        return Finish(merged, audits=(), **dims)


class _Undeclared:
    """Stands for a dimension a by_date mart did not name in ``Mart.dims``: any use raises
    (its rows of kept dates would not be rewritten when that dimension changes)."""

    def __init__(self, table: str, name: str) -> None:
        self._message = f"{table} reads the {name} dimension: name it in Mart(dims=...)"

    def __getattr__(self, attribute: str):
        raise AttributeError(self._message)

    def __getitem__(self, key):
        raise KeyError(self._message)
