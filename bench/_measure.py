"""Run one side of the benchmark in a fresh process and print its figures as JSON.

    python bench/_measure.py beam   DATA_DIR [beam flags…]
    python bench/_measure.py duckdb DATA_DIR OUT_DIR
    python bench/_measure.py daily  DATA_DIR DT [beam flags…]   # ott silver --dt DT, then ott gold

Fresh processes keep the two sides from sharing caches and let ``ru_maxrss`` measure
each side's own peak resident memory (children: Beam's multi-processing workers).
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the DuckDB oracle lives in tests/reference


def _peak_mib() -> tuple[float, float]:
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return self_kib / 1024, child_kib / 1024


def run_beam(data_dir: str, beam_argv: list[str], dt: str | None = None) -> dict:
    """ott silver (every dt, or ``--dt dt``: a daily run) then ott gold, timed apart."""
    from beam_pipelines import gold_pipeline, silver_pipeline

    logging.disable(logging.INFO)
    stages, commits = {}, {}
    for name, module, own in (
        # the generated spill-over days are tiny: the benchmark measures speed, not expectations
        ("silver", silver_pipeline, ["--max-quarantine-rate", "1", *(["--dt", dt] if dt else [])]),
        ("gold", gold_pipeline, []),
    ):
        t0 = time.perf_counter()
        audit = module.run(["--data-dir", data_dir, *own, *beam_argv])
        stages[name] = time.perf_counter() - t0
        # the Iceberg commits (+ release) after the Beam job: SPEC §11's publish overhead
        commits[name] = audit["timing_s"]["commit"]
    return {"stages": stages, "commit_s": commits}


def run_duckdb(data_dir: str, out_dir: str) -> dict:
    import pyarrow.parquet as pq

    from tests.reference.duckdb_reference import build_reference_tables

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    tables = build_reference_tables(data_dir, timings)
    compute = time.perf_counter() - t0
    t1 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, out / f"{name}.parquet")
    return {"stages": {"silver+gold": compute, "write": time.perf_counter() - t1}, "steps": timings}


def main() -> None:
    side, data_dir, *rest = sys.argv[1:]
    t0 = time.perf_counter()
    if side == "beam":
        result = run_beam(data_dir, rest)
    elif side == "daily":
        result = run_beam(data_dir, rest[1:], dt=rest[0])
    else:
        result = run_duckdb(data_dir, rest[0])
    # the work itself (stages); interpreter start-up and imports are reported apart
    result["process_seconds"] = time.perf_counter() - t0
    result["seconds"] = sum(result["stages"].values())
    result["peak_rss_mib"], result["peak_rss_children_mib"] = _peak_mib()
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
