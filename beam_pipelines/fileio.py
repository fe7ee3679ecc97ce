"""File I/O through Beam's ``FileSystems``: the same calls for local paths and ``gs://``.

- :func:`read_bytes`, :func:`write_bytes`, :func:`list_files`, :func:`delete_tree`: plain
  file access (object stores have no folders: a "folder" is a prefix, listed with ``**``).
- :func:`parquet_bytes` / :func:`read_parquet`: deterministic Parquet (same table →
  same bytes: no timestamps or host names in the footer).
- :func:`write_arrow` / :func:`read_arrow`: Arrow IPC files for the batches the silver
  shuffles park on the file system (see ``silver.shuffle.spill_buckets``).
- :func:`write_atomically`: a whole small file or nothing (temporary file + rename);
  :func:`replace` moves a file written elsewhere onto its place the same way.
- :func:`download` / :func:`upload`: stream a file between a local path and any file
  system (the SQLite warehouse of a ``gs://`` data dir is worked on in a local copy).

Tables are never published by renaming folders: Beam workers write data files and the
stage commits them to Iceberg (``beam_pipelines.tables``).
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

log = logging.getLogger("ott.fileio")

_RAW = CompressionTypes.UNCOMPRESSED

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"


def connect_anonymously_to_emulator() -> None:
    """Against a local GCS emulator (``$STORAGE_EMULATOR_HOST``, tests and offline runs)
    there are no credentials to find; Beam would retry ``google.auth.default()`` with
    backoff for ~25 s in every process before connecting anonymously. Record "no
    credentials" in Beam's credential cache up front instead. Never set on Dataflow."""
    if not os.environ.get(EMULATOR_ENV):
        return
    from apache_beam.internal.gcp import auth

    with auth._Credentials._credentials_lock:  # noqa: SLF001 - Beam has no public switch for this
        auth._Credentials._credentials_init = True  # noqa: SLF001
        auth._Credentials._credentials = None  # noqa: SLF001


connect_anonymously_to_emulator()


def is_local(path: str) -> bool:
    return FileSystems.get_filesystem(path).scheme() in (None, "file")


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type=_RAW) as handle:
        return handle.read()


def write_bytes(path: str, data: bytes, mime_type: str = "application/octet-stream") -> None:
    with FileSystems.create(path, mime_type=mime_type, compression_type=_RAW) as handle:
        handle.write(data)


def write_atomically(path: str, data: bytes, mime_type: str = "application/octet-stream") -> None:
    """Write ``path.tmp-<random>`` then move it onto ``path``: readers never see half a file,
    and a failure removes the temporary file."""
    staging = f"{path}.tmp-{secrets.token_hex(4)}"
    try:
        write_bytes(staging, data, mime_type)
    except BaseException:
        delete_paths([staging])
        raise
    replace(staging, path)


def replace(staged: str, path: str) -> None:
    """Move the whole file ``staged`` onto ``path`` (same file system): readers see the
    old file or the new one, never part of one."""
    _ensure_parent(path)
    if is_local(path):
        # os.rename: atomic even when the target exists
        FileSystems.rename([staged], [path])
        return
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([staged], [path])


def _ensure_parent(path: str) -> None:
    """Local renames need the target folder; object stores have no folders."""
    if is_local(path):
        parent = path.rstrip("/").rsplit("/", 1)[0]
        if not FileSystems.exists(parent):
            FileSystems.mkdirs(parent)


def list_files(pattern: str) -> list[str]:
    """Paths matching a glob (``**`` recurses), sorted; none → []."""
    result = FileSystems.match([pattern])[0]
    return sorted(m.path for m in result.metadata_list)


def tree_files(folder: str) -> list[str]:
    return list_files(folder.rstrip("/") + "/**")


def exists(path: str) -> bool:
    if is_local(path):
        return FileSystems.exists(path)
    return FileSystems.exists(path) or bool(tree_files(path))


def download(path: str, local_path: str, chunk: int = 8 << 20) -> None:
    """Copy ``path`` (any file system) to the local file ``local_path``, streaming."""
    with FileSystems.open(path, compression_type=_RAW) as src, open(local_path, "wb") as dst:
        while block := src.read(chunk):
            dst.write(block)


def upload(local_path: str, path: str, mime_type: str = "application/octet-stream", chunk: int = 8 << 20) -> None:
    """Copy the local file ``local_path`` to ``path`` (an object appears whole when its
    upload completes), streaming."""
    with open(local_path, "rb") as src, FileSystems.create(path, mime_type=mime_type, compression_type=_RAW) as dst:
        while block := src.read(chunk):
            dst.write(block)


def parquet_bytes(table: pa.Table, plain: Sequence[str] = ()) -> bytes:
    """``table`` as one Parquet file. ``plain``: columns written without dictionary
    encoding — for values that are all distinct (hash keys), where the writer would build
    a dictionary per page only to throw it away (CPU for nothing, and larger pages)."""
    sink = io.BytesIO()
    dictionary = [c for c in table.column_names if c not in plain] if plain else True
    pq.write_table(table, sink, compression="snappy", use_dictionary=dictionary)
    return sink.getvalue()


def read_parquet(path: str, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file, or only ``columns`` of it: a local file is read in place, a remote
    one through a seekable handle (ranged reads: the other columns are not fetched)."""
    if columns is None:
        return pq.read_table(io.BytesIO(read_bytes(path)))
    if is_local(path):
        return pq.read_table(path[len("file://") :] if path.startswith("file://") else path, columns=columns)
    with FileSystems.open(path, compression_type=_RAW) as handle:
        return pq.ParquetFile(handle).read(columns=columns)


def write_arrow(path: str, table: pa.Table) -> None:
    """A table as an uncompressed Arrow IPC stream: the cheapest format to write and read back."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    write_bytes(path, memoryview(sink.getvalue()))


def read_arrow(path: str) -> pa.Table:
    """Inverse of :func:`write_arrow` (the table points into the bytes read: no copy)."""
    return pa.ipc.open_stream(pa.py_buffer(read_bytes(path))).read_all()


def delete_paths(paths: list[str]) -> None:
    """Delete files that exist (missing ones are fine)."""
    present = [p for p in paths if FileSystems.exists(p)]
    if present:
        FileSystems.delete(present)


def delete_tree(folder: str) -> None:
    if is_local(folder):
        if FileSystems.exists(folder):
            FileSystems.delete([folder])
        return
    files = tree_files(folder)
    if files:
        FileSystems.delete(files)
