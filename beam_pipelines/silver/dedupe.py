"""Deduplication and conservation of silver partitions: plain functions over Arrow tables.

- :func:`dedupe_partitions` — within a partition the first occurrence (file name, then
  line) of an event_id wins (SPEC §4);
- :func:`earliest_dt_wins` — across partitions the earliest dt wins (what sessions read);
- :func:`merge_counts` / :func:`conservation_errors` — the audit counts of a partition
  and the check rows_read = rows_valid + rows_quarantined + duplicates_dropped.
"""

from __future__ import annotations

import datetime as dt_
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beam_pipelines.schema import QUARANTINE_REASONS
from beam_pipelines.validate import ORDER_COLUMNS, empty_counts, first_occurrences


def merge_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total = empty_counts()
    for c in counts:
        for key, value in c.items():
            total[key] = total.get(key, 0) + value
    return total


def conservation_errors(dataset: str, dt: str, c: dict[str, int]) -> list[str]:
    """Why the counts of one partition do not add up (empty when they do)."""
    where = f"{dataset} dt={dt or '-'}"
    errors = []
    if c["rows_read"] != c["rows_valid"] + c["rows_quarantined"] + c["duplicates_dropped"]:
        errors.append(
            f"{where}: rows_read {c['rows_read']} != rows_valid {c['rows_valid']} + rows_quarantined "
            f"{c['rows_quarantined']} + duplicates_dropped {c['duplicates_dropped']}"
        )
    if sum(c[r] for r in QUARANTINE_REASONS) != c["rows_quarantined"]:
        errors.append(f"{where}: quarantine reasons do not add up to rows_quarantined")
    return errors


def dedupe_partitions(fresh: pa.Table) -> tuple[pa.Table, dict[str, dict[str, int]]]:
    """Within-partition dedupe of valid rows of several dts → (kept rows, counts per dt).

    First occurrence by (file name, line) wins, per dt. The kept rows come back sorted
    by (dt, event_id) — the order of the silver files — taken from ``fresh`` in one
    step (every other step works on key columns only). Order columns are dropped.
    """
    dt_days = _days(fresh.column("dt"))
    files, lines = (fresh.column(c).combine_chunks().to_numpy(zero_copy_only=False) for c in ORDER_COLUMNS)
    # (dt, file, line) is unique per row, so numpy's lexsort gives sort_by's order ~5× faster
    order = np.lexsort([lines, files, dt_days])
    event_ids = fresh.column("event_id").combine_chunks()
    first = order[first_occurrences(event_ids.take(pa.array(order)), within=dt_days[order])]
    # an event_id is unique within a dt once deduplicated: (dt, event_id) is a total order
    by_key = pc.sort_indices(
        pa.table({"dt": dt_days[first], "event_id": event_ids.take(pa.array(first))}),
        [("dt", "ascending"), ("event_id", "ascending")],
    ).to_numpy()
    keep = first[by_key]
    kept = fresh.take(pa.array(keep)).drop_columns(list(ORDER_COLUMNS))
    days, read = np.unique(dt_days, return_counts=True)
    valid = np.bincount(np.searchsorted(days, dt_days[keep]), minlength=len(days))
    counts = {
        _iso(day): {"rows_valid": int(v), "duplicates_dropped": int(n - v)} for day, n, v in zip(days, read, valid)
    }
    return kept, counts


def day_slices(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """(dt, rows of that dt) of a table sorted by dt: zero-copy slices, in dt order."""
    dt_days = _days(table.column("dt"))
    days, starts = np.unique(dt_days, return_index=True)
    ends = np.append(starts[1:], len(dt_days))
    for day, start, end in zip(days, starts, ends):
        yield _iso(day), table.slice(int(start), int(end - start))


def _days(dates: pa.ChunkedArray) -> np.ndarray:
    """A date32 column as numpy days since the epoch."""
    return dates.combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)


def _iso(day: int) -> str:
    return (dt_.date(1970, 1, 1) + dt_.timedelta(days=int(day))).isoformat()


def earliest_dt_wins(events: pa.Table, presorted: bool = False) -> pa.Table:
    """Cross-partition rule: for each event_id keep the row of the earliest dt.

    Rows come back in (dt, event_id) order; ``presorted``: they already are.
    """
    if presorted:
        return events.take(pa.array(first_occurrences(events.column("event_id"))))
    order = pc.sort_indices(events.select(["dt", "event_id"]), [("dt", "ascending"), ("event_id", "ascending")])
    ids = events.column("event_id").combine_chunks().take(order)
    return events.take(pa.array(order.to_numpy()[first_occurrences(ids)]))


def quarantine_rate(c: dict[str, int]) -> float:
    """Quarantined share of the rows read (0.0 for an empty partition): what the
    expectation ``--max-quarantine-rate`` compares (SPEC §11)."""
    return c["rows_quarantined"] / c["rows_read"] if c["rows_read"] else 0.0
