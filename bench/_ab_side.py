"""One side of ``bench/ab.py``: silver then gold of CHECKOUT's code on DATA_DIR, in this
fresh process, printing CPU (user + sys) and wall seconds per stage as JSON.

    python bench/_ab_side.py CHECKOUT DATA_DIR

Imports happen before the clocks start (as in ``bench/_measure.py``); the stages' own
lazy imports (pyiceberg, SQLAlchemy) are inside them.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from pathlib import Path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    checkout, data_dir = Path(sys.argv[1]).resolve(), sys.argv[2]
    sys.path.insert(0, str(checkout))
    from beam_pipelines import gold_pipeline, silver_pipeline

    for module in (gold_pipeline, silver_pipeline):
        if not Path(module.__file__).resolve().is_relative_to(checkout):
            raise SystemExit(f"{module.__name__} imported from {module.__file__}, not {checkout}")
    logging.disable(logging.INFO)
    # code before the quality gate has no --max-quarantine-rate; the generated spill-over
    # days are tiny, so the gate is opened: the benchmark measures speed
    gate = ["--max-quarantine-rate", "1"] if "--max-quarantine-rate" in silver_pipeline.build_parser().format_help() else []
    out = {}
    for name, module, own in (("silver", silver_pipeline, gate), ("gold", gold_pipeline, [])):
        cpu, wall = _cpu(), time.perf_counter()
        module.run(["--data-dir", data_dir, *own])
        out[name] = {"cpu": round(_cpu() - cpu, 3), "wall": round(time.perf_counter() - wall, 3)}
    print("AB_RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
