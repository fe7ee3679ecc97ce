"""Independent DuckDB reference implementation of SPEC.md (the test oracle) and its helpers.

``duckdb_reference`` recomputes silver counts, sessions and every gold table straight
from bronze with DuckDB SQL; ``compare`` checks the real pipeline's output against it.
Modules here import each other relatively so they work both as ``tests.reference.*``
(``python -m ...`` from the repo root) and as ``reference.*`` (pytest's rootdir-less
``prepend`` import mode puts ``tests/`` on ``sys.path``).
"""
