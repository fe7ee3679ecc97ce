"""The local copy of the SQLite warehouse of a data dir (SPEC §2, §7).

SQLite works on a local file only. For a local data dir the warehouse *is*
``<data-dir>/warehouse/ott_analytics.db`` and nothing here copies anything. For a data
dir on object storage (``gs://…``) the warehouse is still stored at that path in the
bucket, and each command works on a private local copy in a temporary folder:

- ``ott warehouse`` builds the database locally, then uploads it (``mode="build"``);
- ``ott analytics`` downloads it, adds the ``analytics_*`` tables, uploads it
  (``mode="update"``) — under the data dir's lock, like every writer;
- ``ott report`` downloads it and reads it (``mode="read"``).

An object appears whole when its upload completes, so a reader never sees half a
warehouse; a failed command uploads nothing. The copy is deleted when the command ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttError

log = logging.getLogger("ott.warehouse")

MODES = ("build", "update", "read")


@contextlib.contextmanager
def local_warehouse(data_dir: str, mode: str) -> Iterator[str]:
    """Yield a local path of the warehouse of ``data_dir`` (see the module doc)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    path = catalog.warehouse_file(data_dir)
    if "://" not in path or path.startswith("file://"):
        yield path
        return
    from beam_pipelines import fileio  # Beam's FileSystems: only for object storage

    with tempfile.TemporaryDirectory(prefix="ott-warehouse-") as folder:
        local = os.path.join(folder, os.path.basename(path))
        if mode != "build":
            if not fileio.exists(path):
                raise OttError(f"no warehouse at {path} (run `ott warehouse` first)")
            log.info("downloading %s", path)
            fileio.download(path, local)
        yield local
        if mode != "read":
            log.info("uploading the warehouse to %s", path)
            fileio.upload(local, path, "application/vnd.sqlite3")
