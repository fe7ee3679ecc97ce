"""Keep Python's cyclic garbage collector off the objects a stage never frees.

A stage process holds ~250,000 objects that live as long as it does: the modules of
Beam, pyarrow, pandas, pyiceberg (pydantic models) and SQLAlchemy, and what they
build at import. CPython's collector walks all of them again on every full
(generation 2) collection: 0.2–0.3 s each on the shared 2-core machine, two or three
per silver run and one per gold run at 1M events, none of which can free anything
imported. :func:`long_lived_frozen` moves them into the permanent generation
(``gc.freeze``) for the duration of a stage and gives them back afterwards
(``gc.unfreeze``), so a long-lived process (tests, an Airflow worker) still collects
what a stage left behind, at its next full collection. Nothing else changes: reference
counting frees what it always freed, and objects created during the stage are collected
as before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


_depth = 0  # blocks of long_lived_frozen entered and not left


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Within the block, objects alive at its start (or at a later :func:`freeze_now`)
    are not traversed by the cyclic collector; when the outermost block ends they are again."""
    global _depth
    gc.freeze()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()


def freeze_now() -> None:
    """Inside :func:`long_lived_frozen`, also leave out what exists now (called right
    after the catalog is opened: importing pyiceberg makes ~60,000 objects). Outside
    one, nothing: a freeze is only ever undone by the block that made it."""
    if _depth:
        gc.freeze()
