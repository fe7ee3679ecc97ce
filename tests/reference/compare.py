"""Compare the real pipeline's tables with the DuckDB reference.

Usage in a test::

    from .compare import assert_frames_match, load_gold      # inside tests/reference
    # elsewhere: from tests.reference.compare import ...     (repo root on sys.path)

    assert_frames_match(load_gold(data_dir, "gold_daily_kpis"),
                        ref.gold["gold_daily_kpis"], keys=TABLE_KEYS["gold_daily_kpis"])

Rules: rows are matched on ``keys`` (not on position); integers and strings compare
exactly, floats to ``rel`` relative tolerance (exactly equal is always a match), a null
only equals a null (None, NaN, NaT and pd.NA are all "null"), dates and timestamps compare
as values (a timezone-aware timestamp is compared in UTC, a naive one is taken as UTC; a
datetime64 holding a midnight compares equal to the same date). Column sets must be equal.
"""

from __future__ import annotations

import datetime as dt_
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

MAX_REPORTED = 8


def load_table(data_dir: str | Path, namespace: str, table: str) -> pd.DataFrame:
    """A pipeline table at the current release of its namespace (the Iceberg table as
    every reader sees it) as one frame."""
    from beam_pipelines import tables

    data_dir = str(data_dir)
    cat = tables.open_catalog(data_dir)
    release = tables.current_release(cat, data_dir, namespace)
    if release is None:
        raise FileNotFoundError(f"no {namespace} release in {data_dir}")
    arrow = tables.read_table(cat, namespace, table, release.snapshots.get(table))
    return arrow.to_pandas(types_mapper=pd.ArrowDtype)


def load_gold(data_dir: str | Path, table: str) -> pd.DataFrame:
    """A gold mart at the current gold release."""
    return load_table(data_dir, "gold", table)


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, np.floating) and np.isnan(value):
        return True
    return isinstance(value, np.datetime64) and np.isnat(value)


def _plain(value: object) -> object:
    """A comparable Python value: None, bool, int, float, str, date or UTC datetime."""
    if _is_null(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt_.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt_.timezone.utc)
        return value.astimezone(dt_.timezone.utc)
    return value


def _equal(actual: object, expected: object, rel: float) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, float) or isinstance(expected, float):
        if not isinstance(actual, int | float) or not isinstance(expected, int | float):
            return False
        return actual == expected or math.isclose(actual, expected, rel_tol=rel, abs_tol=0.0)
    if isinstance(actual, dt_.datetime) and isinstance(expected, dt_.date) and not isinstance(
        expected, dt_.datetime
    ):
        return actual.time() == dt_.time(0) and actual.date() == expected
    if isinstance(expected, dt_.datetime) and isinstance(actual, dt_.date) and not isinstance(
        actual, dt_.datetime
    ):
        return expected.time() == dt_.time(0) and expected.date() == actual
    return type(actual) is type(expected) and actual == expected


def _rows(frame: pd.DataFrame, keys: Sequence[str], name: str) -> dict[tuple, dict[str, object]]:
    rows: dict[tuple, dict[str, object]] = {}
    for record in frame.to_dict(orient="records"):
        clean = {col: _plain(val) for col, val in record.items()}
        key = tuple(clean[k] for k in keys)
        if key in rows:
            raise AssertionError(f"{name} frame has duplicate key {dict(zip(keys, key))}")
        rows[key] = clean
    return rows


def assert_frames_match(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    keys: Sequence[str],
    rel: float = 1e-9,
) -> None:
    """Raise AssertionError with a readable diff unless the frames hold the same rows."""
    keys = list(keys)
    missing_cols = sorted(set(expected.columns) - set(actual.columns))
    extra_cols = sorted(set(actual.columns) - set(expected.columns))
    if missing_cols or extra_cols:
        raise AssertionError(f"column mismatch: missing {missing_cols}, unexpected {extra_cols}")
    got = _rows(actual, keys, "actual")
    want = _rows(expected, keys, "expected")
    problems: list[str] = []
    for key in sorted(want.keys() - got.keys(), key=repr)[:MAX_REPORTED]:
        problems.append(f"missing row {dict(zip(keys, key))}")
    for key in sorted(got.keys() - want.keys(), key=repr)[:MAX_REPORTED]:
        problems.append(f"unexpected row {dict(zip(keys, key))}")
    differing = 0
    for key in sorted(want.keys() & got.keys(), key=repr):
        for col in expected.columns:
            a, e = got[key][col], want[key][col]
            if not _equal(a, e, rel):
                differing += 1
                if differing <= MAX_REPORTED:
                    problems.append(f"{dict(zip(keys, key))} {col}: actual {a!r} != expected {e!r}")
    if problems:
        summary = (
            f"frames differ: {len(want.keys() - got.keys())} missing rows, "
            f"{len(got.keys() - want.keys())} unexpected rows, {differing} differing cells "
            f"(actual {len(got)} rows, expected {len(want)} rows)"
        )
        raise AssertionError("\n  ".join([summary, *problems]))
